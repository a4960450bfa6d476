"""Comparing a run with a previous output: the join, the change, the term that moved most."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from supplier_risk.batch import BatchRun, score_csv
from supplier_risk.compare import OUTSIDE_TERMS, load_previous
from supplier_risk.errors import InputFileError
from supplier_risk.scorer import Scorer
from supplier_risk.tables import open_table
from supplier_risk.validation import validate_frame
from tests.conftest import TODAY
from tests.core.table_files import csv_bytes, parse, rows


def score(
    scorer: Scorer, records: list[dict[str, Any]], previous: bytes | None = None
) -> tuple[str, BatchRun]:
    table = open_table(csv_bytes(records), chunk_rows=3)
    before = None if previous is None else load_previous(previous, "last.csv", scorer, TODAY, None)
    run = BatchRun(scorer, table.format, TODAY, previous=before)
    return "".join(score_csv(table, run)), run


def test_compare_joins_on_supplier_id_and_names_the_moved_term(scorer: Scorer) -> None:
    last_week = rows(6)
    last_week_out, _ = score(scorer, last_week)
    this_week = rows(6)
    this_week[1]["inventory_buffer_days"] = 400  # more stock: lower risk
    this_week[2]["licence_type"] = "denied"
    del this_week[4]  # S-4 vanished
    this_week.append({**rows(1)[0], "supplier_id": "NEW-1"})
    this_week.reverse()  # order follows this week's file, the join is by id
    text, run = score(scorer, this_week, last_week_out.encode())
    out = {r["supplier_id"]: r for r in parse(text)}
    assert [r["supplier_id"] for r in parse(text)] == [r["supplier_id"] for r in this_week]
    assert out["S-0"]["compare_status"] == "same_band"
    assert out["S-0"]["probability_change"] == "+0.000000"
    assert out["S-0"]["moved_most"] == ""
    assert out["S-1"]["moved_most"].startswith(
        ("inventory_buffer_days", "licence_type x inventory")
    )
    assert float(out["S-1"]["probability_change"]) < 0
    assert out["S-2"]["compare_status"] == "band_up"
    assert "licence_type" in out["S-2"]["moved_most"]
    assert out["S-2"]["previous_probability"] == parse(last_week_out)[2]["probability"]
    assert out["NEW-1"]["compare_status"] == "new"
    assert out["NEW-1"]["previous_probability"] == ""
    summary = run.summary_json([])["comparison"]
    assert summary["new_ids"] == ["NEW-1"]
    assert summary["vanished_ids"] == ["S-4"]
    assert summary["matched"] == 5
    assert summary["band_up"] == 1
    assert summary["top_movers"][0]["supplier_id"] == "S-2"


def test_compare_attributes_a_policy_change_outside_the_terms(scorer: Scorer) -> None:
    last = rows(2)
    last_out, _ = score(scorer, last)
    edited = parse(last_out)
    edited[0]["probability"] = "0.010000"  # as if an older model had scored it lower
    text, _ = score(scorer, rows(2), csv_bytes(edited))
    out = parse(text)
    assert out[0]["moved_most"] == OUTSIDE_TERMS
    assert out[1]["moved_most"] == ""


def test_compare_reports_repeated_ids_in_the_previous_file(scorer: Scorer) -> None:
    last = rows(3)
    last[2]["supplier_id"] = "S-0"
    last_out, _ = score(scorer, last)
    _, run = score(scorer, rows(2), last_out.encode())
    assert run.summary_json([])["comparison"]["previous_duplicate_ids"] == ["S-0"]


def test_compare_marks_suppliers_invalid_last_time(scorer: Scorer) -> None:
    last = rows(2)
    last[1]["material"] = "bad"
    last_out, _ = score(scorer, last)
    out = parse(score(scorer, rows(2), last_out.encode())[0])
    assert out[1]["compare_status"] == "previously_unscored"
    assert out[1]["previous_probability"] == ""


def test_load_previous_rejects_a_file_that_is_not_an_output(scorer: Scorer) -> None:
    with pytest.raises(
        InputFileError, match=r"not an output of `supplier-risk score` \(no column probability"
    ):
        load_previous(csv_bytes(rows(2)), "in.csv", scorer, TODAY, None)


def test_compare_never_counts_a_supplier_repeated_last_time_as_vanished(scorer: Scorer) -> None:
    last = rows(2)
    last.append({**rows(1)[0]})  # S-0 twice in the previous output
    last_out, _ = score(scorer, last)
    text, run = score(scorer, rows(1), last_out.encode())
    comparison = run.summary_json([])["comparison"]
    assert parse(text)[0]["compare_status"] == "same_band"
    assert comparison["matched"] == 1
    assert comparison["vanished_ids"] == ["S-1"]
    assert comparison["vanished"] == 1
    assert comparison["previous_duplicate_ids"] == ["S-0"]


def test_compare_names_a_new_supplier_repeated_this_time_once(scorer: Scorer) -> None:
    last_out, _ = score(scorer, rows(1))
    now = [*rows(1), *({**r, "supplier_id": "NEW-1"} for r in rows(2))]
    text, run = score(scorer, now, last_out.encode())
    comparison = run.summary_json([])["comparison"]
    assert [r["compare_status"] for r in parse(text)] == ["same_band", "new", "new"]
    assert comparison["new"] == 2  # rows, as in the compare_status column
    assert comparison["new_ids"] == ["NEW-1"]
    assert comparison["vanished"] == 0


def test_compare_never_writes_a_negative_zero_change(scorer: Scorer) -> None:
    last = rows(1)
    frame = pd.DataFrame([{k: str(v) for k, v in last[0].items()}])
    scored = scorer.score_columns(validate_frame(frame, scorer.reference).columns, TODAY, None)
    edited = parse(score(scorer, last)[0])
    # a hair above this run's probability: the change rounds to zero from below
    edited[0]["probability"] = repr(float(scored.scores.probability[0]) + 1e-9)
    out = parse(score(scorer, last, csv_bytes(edited))[0])
    assert out[0]["probability_change"] == "+0.000000"


def test_compare_against_the_same_run_moves_nothing(scorer: Scorer) -> None:
    # The previous file holds 6-decimal probabilities: their rounding is no move.
    records = rows(30)
    previous = score(scorer, records)[0].encode()
    out, run = score(scorer, records, previous)
    assert {r["probability_change"] for r in parse(out)} == {"+0.000000"}
    assert run.comparison is not None
    assert run.comparison.movers.items() == []
