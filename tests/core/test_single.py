"""The one-record path gives the batch path's results, to the last bit, on random records."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from supplier_risk.explain import CHINA_SHARE_TARGETS
from supplier_risk.record import (
    END_USES,
    LICENCE_ORDER,
    SUPPLIER_TYPE_ORDER,
    SupplierRecord,
    material_codes,
)
from supplier_risk.scorer import Scorer, build_scorer
from supplier_risk.settings import default_model_path
from supplier_risk.single import _KEY_LICENCE, _KEY_SHARE, SingleScorer, _Inputs
from tests.conftest import TODAY
from tests.core.test_policy_check import (
    Policy,
    copy_reference,
    japan_korea_ban_suspended_except_korea,
    october_list_suspended_except_japan,
)

SCENARIOS: list[str | None] = [
    None,
    "baseline",
    "suspension_renewed",
    "suspension_lapses",
    "general_licences_revoked",
    "military_end_use_denied",
    "country_targeted",
]


def _policy_days() -> list[dt.date]:
    """Return each date of the shipped policy table and scenarios, the eve of it, and the
    first day and the eve of the 90 days before it (when a change-ahead note starts)."""
    from supplier_risk.features import _dates_in
    from supplier_risk.reference import load_reference
    from supplier_risk.scenarios import load_scenarios

    book = load_scenarios()
    reference = load_reference()
    policies = [reference.policy, *(book.reference_for(n, reference).policy for n in book.names())]
    dates = {d for policy in policies for d in _dates_in(policy)}
    return sorted({d - dt.timedelta(days=k) for d in dates for k in (0, 1, 90, 91)})


POLICY_DAYS = _policy_days()

records: st.SearchStrategy[dict[str, Any]] = st.builds(
    dict,
    supplier_id=st.text("AB0123-", min_size=1, max_size=8),
    material=st.sampled_from(material_codes()),
    origin_country=st.sampled_from(["CN", "JP", "US", "DE", "MY", "VN"]),
    china_share=st.one_of(st.none(), st.sampled_from([0.0, 0.0005, 0.001, 0.3, 0.5, 0.95, 1.0])),
    licence_type=st.sampled_from(LICENCE_ORDER),
    end_use=st.sampled_from(END_USES),
    inventory_buffer_days=st.one_of(
        # 1e-05 and 2.5e-07: str() and JSON write them differently (a pair term shows str's)
        st.sampled_from([0, 30, 44.5, 45, 60, 90, 365, 3650, 1e-05, 2.5e-07, 1e-4]),
        st.floats(0, 3650, allow_nan=False),
    ),
    alternate_suppliers=st.one_of(st.none(), st.integers(0, 1000)),
    supplier_type=st.one_of(st.none(), st.sampled_from(SUPPLIER_TYPE_ORDER)),
    destination_country=st.one_of(st.none(), st.sampled_from(["JP", "US", "DE", "CN", "KR"])),
    as_of=st.one_of(
        st.none(),
        st.dates(dt.date(2025, 1, 1), dt.date(2028, 12, 31)),
        st.sampled_from(POLICY_DAYS),
        st.sampled_from(
            [
                dt.date(2025, 4, 4),
                dt.date(2025, 11, 7),
                dt.date(2025, 12, 1),  # the eve of the first general licences
                dt.date(2025, 12, 2),
                dt.date(2026, 11, 10),
                dt.date(2027, 11, 10),
                # a change's note starts 90 days before it (and its span in the cache with it)
                dt.date(2025, 1, 3),
                dt.date(2025, 1, 4),
                dt.date(2026, 8, 12),
                dt.date(2027, 8, 11),
                dt.date(2027, 8, 12),
            ]
        ),
    ),
)


@pytest.fixture(scope="module")
def single(scorer: Scorer) -> SingleScorer:
    return SingleScorer(scorer)


@settings(max_examples=300, deadline=None)
@given(data=records, scenario=st.sampled_from(SCENARIOS), explain=st.booleans())
def test_single_score_equals_batch_score(
    scorer: Scorer, single: SingleScorer, data: dict[str, Any], scenario: str | None, explain: bool
) -> None:
    record = SupplierRecord.model_validate({k: v for k, v in data.items() if v is not None})
    one = json.loads(to_json(single.score(record, TODAY, explain=explain, scenario=scenario)))
    batch = scorer.score_records([record], TODAY, explain=explain, scenario=scenario)[0]
    assert one == json.loads(to_json(batch)), (one, batch)  # to the last bit of every float


@settings(max_examples=200, deadline=None)
@given(
    inputs=st.builds(
        _Inputs,
        material=st.integers(0, len(material_codes()) - 1),
        origin=st.sampled_from(["CN", "JP", "DE"]),
        china_share=st.sampled_from([0.0, 0.0005, 0.001, 0.3, 1.0]),
        licence=st.integers(0, len(LICENCE_ORDER) - 1),
        end_use=st.integers(0, len(END_USES) - 1),
        buffer_days=st.just(30.0),
        alternates=st.just(0),
        supplier_type=st.integers(0, len(SUPPLIER_TYPE_ORDER) - 1),
        destination=st.sampled_from([None, "JP", "US", "DE", "CN"]),
        day=st.sampled_from(POLICY_DAYS),
    )
)
def test_recourse_looks_a_changed_record_up_under_the_key_it_is_kept_under(
    single: SingleScorer, inputs: _Inputs
) -> None:
    # A key built otherwise (one input short, say) is never found: the cache goes unused.
    outcomes = single.outcomes_for(None)
    key = outcomes.key(inputs)
    for code in range(len(LICENCE_ORDER)):
        changed = outcomes.key(inputs._replace(licence=code))
        assert outcomes.key_with(key, _KEY_LICENCE, code) == changed
    for target in CHINA_SHARE_TARGETS:
        changed = outcomes.key(inputs._replace(china_share=target))
        assert outcomes.key_with(key, _KEY_SHARE, outcomes.share_bucket(target)) == changed


def test_single_score_raises_for_unknown_scenario(single: SingleScorer, make_record: Any) -> None:
    from supplier_risk.errors import UnknownScenarioError

    with pytest.raises(UnknownScenarioError, match="scenario 'nope' is not defined; allowed"):
        single.score(make_record(), TODAY, scenario="nope")


TYPES: list[str | None] = [None, *SUPPLIER_TYPE_ORDER]


def _grid() -> list[SupplierRecord]:
    """Return records around every boundary the policy table draws."""
    out: list[SupplierRecord] = []
    dates = [None, dt.date(2025, 4, 3), dt.date(2025, 12, 1), dt.date(2027, 11, 9)]
    dates += [dt.date(2027, 11, 10), dt.date(2027, 8, 11), dt.date(2027, 8, 12)]
    for material in ("ndfeb_magnet_heavy", "ho_oxide", "la_ce_oxide"):
        for origin in ("CN", "JP"):
            for share in (None, 0.0, 0.0005, 0.001, 0.6):
                for licence in LICENCE_ORDER:
                    for destination in (None, "JP", "US", "DE", "CN"):
                        for as_of in dates:
                            data = {
                                "supplier_id": f"G{len(out)}",
                                "material": material,
                                "origin_country": origin,
                                "china_share": share,
                                "licence_type": licence,
                                "end_use": "defense" if len(out) % 2 else "automotive",
                                "inventory_buffer_days": 20 + len(out) % 200,
                                # general-licence holders and not (policy table)
                                "supplier_type": TYPES[len(out) % len(TYPES)],
                                "destination_country": destination,
                                "as_of": as_of,
                            }
                            out.append(
                                SupplierRecord.model_validate(
                                    {k: v for k, v in data.items() if v is not None}
                                )
                            )
    return out


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_single_score_equals_batch_score_at_policy_boundaries(
    scorer: Scorer, scenario: str | None
) -> None:
    grid = _grid()
    fresh = SingleScorer(scorer)  # an empty cache, filled by the grid itself
    batch = scorer.score_records(grid, TODAY, scenario=scenario)
    for record, expected in zip(grid, batch, strict=True):
        one = fresh.score(record, TODAY, scenario=scenario)
        assert json.loads(to_json(one)) == json.loads(to_json(expected)), record


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_single_score_equals_batch_score_around_every_policy_date(
    scorer: Scorer, scenario: str | None
) -> None:
    # A note of a change ahead starts 90 days before the change: the cache's spans must too.
    grid = [
        SupplierRecord.model_validate(
            {
                "supplier_id": "P",
                "material": material,
                "origin_country": origin,
                "licence_type": licence,
                "end_use": "defense",  # the bans' end use: every rule may reach the record
                "inventory_buffer_days": 30,
                "as_of": as_of,
                **({} if destination is None else {"destination_country": destination}),
            }
        )
        for material in ("ndfeb_magnet_heavy", "ho_oxide", "dy_oxide")
        for origin in ("CN", "JP")
        for destination in (None, "JP", "US", "CN", "DE")
        for licence in ("not_required", "general", "individual")
        for as_of in POLICY_DAYS
    ]
    fresh = SingleScorer(scorer)
    batch = scorer.score_records(grid, TODAY, scenario=scenario)
    for record, expected in zip(grid, batch, strict=True):
        one = fresh.score(record, TODAY, scenario=scenario)
        assert json.loads(to_json(one)) == json.loads(to_json(expected)), record


def test_buffer_and_alternates_never_enter_the_policy_part_of_the_features(
    scorer: Scorer,
) -> None:
    """Both recourse paths change these two columns without re-deriving the features."""
    import numpy as np

    from supplier_risk.features import FEATURE_NAMES, columns_from_records, derive_features

    grid = _grid()
    for scenario in SCENARIOS:
        reference = scorer.reference_for(scenario)
        columns = columns_from_records(grid, reference)
        base = derive_features(columns, reference, TODAY)
        n = len(columns)
        changed = derive_features(
            columns.replace(
                buffer_days=np.linspace(0, 3650, n), alternates=np.arange(n, dtype=float) % 7
            ),
            reference,
            TODAY,
        )
        kept = [
            i
            for i, name in enumerate(FEATURE_NAMES)
            if name not in ("inventory_buffer_days", "alternate_suppliers")
        ]
        assert np.array_equal(base.matrix[:, kept], changed.matrix[:, kept])
        for name in ("rule_applied", "destination_unknown_rule", "policy_note"):
            assert list(getattr(base, name)) == list(getattr(changed, name)), name


def test_single_score_never_words_a_negative_zero(single: SingleScorer, make_record: Any) -> None:
    record = make_record(inventory_buffer_days=-0.0)
    text = to_json(single.score(record, TODAY)).decode()
    assert "Stock covers only 0 days" in text
    assert not re.search(r"-0(\.0+)?(?![.\d])", text)  # no -0 as a number or in words


def test_single_score_notes_match_the_batch_across_cached_dates(
    scorer: Scorer, make_record: Any
) -> None:
    # The one-record path caches policy outcomes per span of dates: a note naming one
    # record's own date would reach the next caller's record in the same span.
    fresh = SingleScorer(scorer)
    for as_of in ("2025-06-01", "2025-06-03", "2025-08-20"):
        record = make_record(licence_type="general", as_of=as_of, material="dy_oxide")
        one = fresh.score(record, TODAY)
        batch = scorer.score_records([record], TODAY)[0]
        assert one["assumptions"] == batch["assumptions"], as_of
        assert any("check the record" in line for line in one["assumptions"])


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: p["general_licences"].pop("holders"),  # every supplier type may hold one
        lambda p: p.pop("general_licences"),  # the table does not say when or to whom
        japan_korea_ban_suspended_except_korea,  # notes per buyer country
        october_list_suspended_except_japan,  # a buyer in Japan's own controlled flags
    ],
    ids=[
        "no holders",
        "no general_licences",
        "ban suspended except for one country",
        "list suspended except for one country",
    ],
)
def test_single_score_equals_batch_score_under_other_policy_tables(
    tmp_path: Path, edit: Callable[[Policy], object]
) -> None:
    # Recourse offers a general licence as the policy table allows; both paths must read it
    # alike where the shipped table is not the one served.
    scorer = build_scorer(default_model_path(), copy_reference(tmp_path / "reference", edit))
    grid = _grid()
    fresh = SingleScorer(scorer)
    offered = 0
    for record, expected in zip(grid, scorer.score_records(grid, TODAY), strict=True):
        one = json.loads(to_json(fresh.score(record, TODAY)))
        assert one == json.loads(to_json(expected)), record
        offered += any(o["change"].get("licence_type") == "general" for o in one["recourse"])
    assert offered  # the grid reaches the case


def test_every_recourse_candidate_row_equals_the_features_derived_in_full(
    scorer: Scorer,
) -> None:
    """Candidates that skip derive_features (buffer, alternates, China shares on the same side
    of every threshold) get the very row a full derivation gives."""
    import numpy as np

    from supplier_risk.explain import apply_candidates, recourse_candidates
    from supplier_risk.features import columns_from_records, derive_features

    grid = _grid()
    for scenario in SCENARIOS:
        reference = scorer.reference_for(scenario)
        scored = scorer.score_columns(columns_from_records(grid, reference), TODAY, scenario)
        features = scored.features
        candidates = recourse_candidates(
            scored.columns, features.matrix[:, 0], np.ones(len(grid), dtype=bool)
        )
        full = derive_features(apply_candidates(scored.columns, candidates), reference, TODAY)
        shortcut = scorer._candidate_matrix(scored, candidates, TODAY)
        assert np.array_equal(shortcut, full.matrix), scenario


@pytest.mark.parametrize("scenario", [None, "general_licences_revoked"])
def test_a_whole_batch_of_the_boundary_grid_equals_each_record_scored_alone(
    scorer: Scorer, single: SingleScorer, scenario: str | None
) -> None:
    """Rows of one batch share texts (cells, reasons, assumptions): never another row's."""
    grid = _grid()
    batch = scorer.score_records(grid, TODAY, scenario=scenario)
    for record, result in zip(grid, batch, strict=True):
        one = json.loads(to_json(single.score(record, TODAY, scenario=scenario)))
        assert one == json.loads(to_json(result)), record.supplier_id
