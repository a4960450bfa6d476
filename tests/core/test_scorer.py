"""The scoring path: contract result shape and the invariants of CONTRACT.md section 4."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import orjson
import pytest

from supplier_risk import scorer as scorer_module
from supplier_risk.explain import REASON_MIN_LOGIT
from supplier_risk.features import columns_from_records
from supplier_risk.reason_keys import term_keys
from supplier_risk.record import SupplierRecord
from supplier_risk.results import ScoreResult
from supplier_risk.scorer import Scorer, build_scorer
from tests.conftest import TODAY

Make = Callable[..., SupplierRecord]


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_score_records_returns_contract_result(scorer: Scorer, make_record: Make) -> None:
    result = scorer.score_records([make_record()], TODAY)[0]
    ScoreResult.model_validate(result)
    assert result["supplier_id"] == "V-10023"
    assert result["risk_score"] == round(100 * result["probability"])


def test_contributions_add_up_to_logit_difference(scorer: Scorer, make_record: Make) -> None:
    records = [
        make_record(inventory_buffer_days=d, licence_type=lic)
        for d in (0, 30, 90, 400)
        for lic in ("not_required", "general", "individual", "pending", "denied")
    ]
    for result in scorer.score_records(records, TODAY):
        total = sum(c["contribution"] for c in result["contributions"])
        expected = logit(result["probability"]) - logit(result["baseline_probability"])
        assert total == pytest.approx(expected, abs=1e-9)


def test_contributions_are_ordered_largest_first(scorer: Scorer, make_record: Make) -> None:
    result = scorer.score_records([make_record()], TODAY)[0]
    sizes = [abs(c["contribution"]) for c in result["contributions"]]
    assert sizes == sorted(sizes, reverse=True)


def test_supplier_name_never_changes_score(scorer: Scorer, make_record: Make) -> None:
    a, b = scorer.score_records(
        [make_record(supplier_name="A"), make_record(supplier_name="Zed Trading")], TODAY
    )
    assert a["probability"] == b["probability"]


def test_reasons_come_only_from_risk_raising_terms(scorer: Scorer, make_record: Make) -> None:
    result = scorer.score_records([make_record()], TODAY)[0]
    raising = [c for c in result["contributions"] if c["contribution"] >= REASON_MIN_LOGIT]
    assert 1 <= len(result["reasons"]) == min(4, len(raising))


def test_reasons_leave_out_terms_too_small_to_matter(scorer: Scorer, make_record: Make) -> None:
    result = scorer.score_records([make_record()], TODAY)[0]
    tiny = [c for c in result["contributions"] if 0 < c["contribution"] < REASON_MIN_LOGIT]
    assert tiny, "the example has a term that raises the risk only slightly (controlled)"
    assert len(result["reasons"]) == len(
        [c for c in result["contributions"] if c["contribution"] >= REASON_MIN_LOGIT][:4]
    )


def test_recourse_lowers_the_band(scorer: Scorer, make_record: Make) -> None:
    labels = scorer.model.band_labels
    result = scorer.score_records([make_record(licence_type="pending")], TODAY)[0]
    assert result["recourse"], "a pending, 30-day-buffer supplier has something to improve"
    for option in result["recourse"]:
        assert labels.index(option["band"]) < labels.index(result["band"])
        assert option["probability"] < result["probability"]


def test_defaults_are_stated_as_assumptions(scorer: Scorer, make_record: Make) -> None:
    record = make_record(china_share=None, supplier_type=None, as_of=None, origin_country="JP")
    result = scorer.score_records([record], TODAY)[0]
    text = " ".join(result["assumptions"])
    assert "china_share not given: assumed 0.5 for origin JP" in text
    assert "supplier_type not given" in text
    assert TODAY.isoformat() in text


def test_reasons_never_warn_of_refusal_for_a_benign_combination(
    scorer: Scorer, make_record: Make
) -> None:
    records = [
        make_record(licence_type=lic, end_use=use, inventory_buffer_days=days)
        for lic in ("not_required", "general")
        for use in ("consumer_electronics", "industrial", "medical")
        for days in (120, 263, 400)
    ]
    for result in scorer.score_records(records, TODAY):
        text = " ".join(result["reasons"])
        assert "refuse or delay most" not in text
        assert "may run out before the next approval" not in text


def test_results_json_keeps_the_contract_field_order_and_escapes_text(
    scorer: Scorer, make_record: Make
) -> None:
    awkward = ['quote " and backslash \\', "comma, ], [", "tab\tnewline\n", "ü ≠ 💡"]
    records = [make_record(supplier_id=name) for name in awkward]
    scored = scorer.score_columns(columns_from_records(records, scorer.reference), TODAY)
    rows = orjson.loads(scorer.results_json(scored, TODAY))
    assert [row["supplier_id"] for row in rows] == awkward
    assert [list(row) for row in rows] == [list(ScoreResult.model_fields)] * len(records)
    assert list(rows[0]["policy"]) == ["version", "as_of", "controlled", "rule_applied"]


def test_results_json_of_an_empty_batch(scorer: Scorer) -> None:
    scored = scorer.score_columns(columns_from_records([], scorer.reference), TODAY)
    assert scorer.results_json(scored, TODAY) == "[]"


@pytest.mark.parametrize(
    ("kept", "see"),
    [
        (None, "; see the scenario suspension_lapses"),
        (["baseline"], "; see GET /v1/scenarios or `supplier-risk scenarios` for what-ifs"),
    ],
    ids=["shipped", "without_a_lapse_scenario"],
)
def test_the_assumption_note_names_a_scenario_the_served_file_has(
    tmp_path: Path, model_path: Path, make_record: Make, kept: list[str] | None, see: str
) -> None:
    book = json.loads(resources.files("supplier_risk").joinpath("data/scenarios.json").read_text())
    if kept is not None:
        book["scenarios"] = [s for s in book["scenarios"] if s["name"] in kept]
    (tmp_path / "scenarios.json").write_text(json.dumps(book), "utf-8")
    scorer = build_scorer(model_path, scenarios_path=tmp_path / "scenarios.json")
    record = make_record(material="ho_oxide", as_of="2026-11-22")
    [note] = [a for a in scorer.score_records([record], TODAY)[0]["assumptions"] if "assumes" in a]
    assert note.endswith(see), note


def test_reason_slots_are_the_same_when_situation_codes_are_too_large_to_share_a_key(
    scorer: Scorer, make_record: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The codes that decide a term's words are mixed-radix and may near 2**62; with no room
    # left for the term's index they are renumbered first, and the words must not change.
    records = [
        make_record(supplier_id=f"S-{i}", inventory_buffer_days=float(3 * i), licence_type=lic)
        for i in range(60)
        for lic in ("pending", "individual", "denied")
    ]
    scored = scorer.score_columns(columns_from_records(records, scorer.reference), TODAY)
    raising, expected = scorer.reason_slots(scored, 4)
    assert raising.any()

    def huge(*args: object) -> list[object]:
        # Equal codes stay equal and unequal ones unequal, but codes 2y and 2y+1 now differ
        # only in bit 60: shifted to make room for the term, they would be one situation.
        return [(k % 2 << 60) + k // 2 for k in term_keys(*args)]  # type: ignore[arg-type]

    monkeypatch.setattr(scorer_module, "term_keys", huge)
    again, texts = scorer.reason_slots(scored, 4)
    assert (again == raising).all()
    assert (texts == expected).all()


def test_a_model_of_its_intercept_alone_scores_a_batch_as_one_record(
    scorer: Scorer, make_record: Make
) -> None:
    # A file with no terms is valid: every supplier gets the base rate and no contribution.
    from supplier_risk.model_file import ModelFile
    from supplier_risk.scoring import LoadedModel
    from supplier_risk.single import SingleScorer

    data = scorer.model.file.model_dump(mode="json")
    data["terms"] = []
    bare = Scorer(LoadedModel(ModelFile.model_validate(data), source="test"), scorer.reference)
    records = [make_record(), make_record(supplier_id="V-2", origin_country="MY")]
    for explain in (True, False):
        batch = bare.score_records(records, TODAY, explain=explain)
        alone = [SingleScorer(bare).score(r, TODAY, explain=explain) for r in records]
        assert batch == orjson.loads(orjson.dumps(alone))
        assert [r["contributions"] for r in batch] == [[], []]
