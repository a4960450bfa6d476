"""Reasons in plain words and recourse: the smallest single change that lowers the band."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from supplier_risk.explain import BUFFER_TARGETS, MAX_REASONS, REASON_MIN_LOGIT
from supplier_risk.record import SupplierRecord
from supplier_risk.scorer import Scorer
from supplier_risk.single import SingleScorer
from tests.conftest import TODAY

Make = Callable[..., SupplierRecord]


def test_reasons_name_a_pending_licence_in_plain_words(scorer: Scorer, make_record: Make) -> None:
    result = scorer.score_records([make_record(licence_type="pending")], TODAY)[0]
    assert any("applied for but not granted" in r for r in result["reasons"])


def test_reasons_are_empty_for_a_supplier_below_baseline_everywhere(
    scorer: Scorer, make_record: Make
) -> None:
    record = make_record(
        material="la_ce_oxide", origin_country="AU", china_share=0.0, licence_type="not_required",
        end_use="industrial", inventory_buffer_days=365, alternate_suppliers=5,
    )  # fmt: skip
    result = scorer.score_records([record], TODAY)[0]
    raising = [c for c in result["contributions"] if c["contribution"] >= REASON_MIN_LOGIT]
    assert len(result["reasons"]) == min(len(raising), MAX_REASONS)
    assert result["band"] == "low"
    assert result["recourse"] == []


@pytest.mark.parametrize("licence", ["individual", "pending"])
def test_recourse_buffer_is_the_smallest_target_that_lowers_band(
    scorer: Scorer, make_record: Make, licence: str
) -> None:
    record = make_record(licence_type=licence, inventory_buffer_days=10)
    result = scorer.score_records([record], TODAY)[0]
    labels = scorer.model.band_labels
    buffer = [o for o in result["recourse"] if "inventory_buffer_days" in o["change"]]
    assert len(buffer) == 1
    target = buffer[0]["change"]["inventory_buffer_days"]
    smaller = [t for t in BUFFER_TARGETS if 10 < t < target]
    for days in smaller:
        other = scorer.score_records(
            [make_record(licence_type=licence, inventory_buffer_days=days)], TODAY
        )[0]
        assert labels.index(other["band"]) == labels.index(result["band"])
    again = scorer.score_records(
        [make_record(licence_type=licence, inventory_buffer_days=target)], TODAY
    )[0]
    assert again["probability"] == buffer[0]["probability"]  # to the last bit


def test_recourse_changes_one_actionable_field_each(scorer: Scorer, make_record: Make) -> None:
    result = scorer.score_records([make_record(licence_type="pending")], TODAY)[0]
    assert result["recourse"]
    for option in result["recourse"]:
        assert len(option["change"]) == 1
        assert set(option["change"]) <= {
            "inventory_buffer_days", "alternate_suppliers", "licence_type", "china_share",
        }  # fmt: skip


@pytest.mark.parametrize(
    ("as_of", "supplier_type", "offered"),
    [
        # DOMAIN.md: the first general licences were granted on 2025-12-02; before that day a
        # buyer could not move a supplier onto one (and a record claiming one is asked to be
        # checked).
        ("2025-12-01", "established", False),
        ("2025-12-02", "established", True),
        # DOMAIN.md 'Licences': smaller firms and traders stayed on individual licences, so
        # moving one of them onto a general licence is no change a buyer can make (a missing
        # type is scored as established, and so is offered one).
        ("2026-06-01", "established", True),
        ("2026-06-01", None, True),
        ("2026-06-01", "smaller", False),
        ("2026-06-01", "intermediary", False),
    ],
)
def test_recourse_offers_a_general_licence_only_when_and_to_whom_they_were_granted(
    scorer: Scorer, make_record: Make, as_of: str, supplier_type: str | None, offered: bool
) -> None:
    record = make_record(
        material="dy_oxide", origin_country="CN", licence_type="individual", as_of=as_of,
        inventory_buffer_days=60, alternate_suppliers=0, supplier_type=supplier_type,
    )  # fmt: skip
    batch = scorer.score_records([record], TODAY)[0]
    single = SingleScorer(scorer).score(record, TODAY)
    for result in (batch, single):
        licences = [
            o["change"]["licence_type"] for o in result["recourse"] if "licence_type" in o["change"]
        ]
        assert ("general" in licences) is offered, result["recourse"]
