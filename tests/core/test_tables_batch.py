"""Batch scoring of supplier lists: every row out, in order, scored or with its error."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from supplier_risk.batch import BatchRun, score_csv
from supplier_risk.errors import InputFileError, UnknownScenarioError
from supplier_risk.record import SupplierRecord
from supplier_risk.scorer import Scorer
from supplier_risk.tables import open_table, read_table, score_frame, write_table
from tests.conftest import TODAY, record_data
from tests.core.table_files import COLUMNS, csv_bytes, parse, rows

APPENDED = ["probability", "risk_score", "band", "top_reasons", "error"]


def run_csv(
    scorer: Scorer, data: bytes, chunk_rows: int = 7, **options: Any
) -> tuple[str, BatchRun]:
    table = open_table(data, chunk_rows=chunk_rows)
    run = BatchRun(scorer, table.format, TODAY, options.pop("scenario", None), **options)
    return "".join(score_csv(table, run)), run


BROKEN: list[tuple[dict[str, Any], str]] = [
    ({"material": "unobtainium"}, "material: 'unobtainium' is not one of"),
    ({"licence_type": "General"}, "licence_type: 'General' is not one of: not_required"),
    ({"end_use": "toys"}, "end_use: 'toys' is not one of"),
    ({"origin_country": "XX"}, "origin_country: 'XX' is not an ISO 3166-1"),
    ({"inventory_buffer_days": "lots"}, "inventory_buffer_days: 'lots' is not a number"),
    ({"inventory_buffer_days": "-3"}, "inventory_buffer_days: '-3' is outside 0 to 3650"),
    ({"china_share": "1.5"}, "china_share: '1.5' is outside 0 to 1"),
    ({"alternate_suppliers": "2.5"}, "alternate_suppliers: '2.5' is not a whole number"),
    ({"as_of": "22/11/2026"}, "as_of: '22/11/2026' is not a date YYYY-MM-DD"),
    ({"supplier_id": ""}, "supplier_id: required"),
    ({"material": ""}, "material: required"),
]


def test_score_csv_keeps_every_row_in_order_with_its_error(scorer: Scorer) -> None:
    records = rows(30)
    for k, (override, _) in enumerate(BROKEN):
        records[2 * k + 1] = {**records[2 * k + 1], **override}
    text, run = run_csv(scorer, csv_bytes(records))
    out = parse(text)
    assert [r["supplier_id"] for r in out] == [r["supplier_id"] for r in records]
    assert list(out[0]) == [*COLUMNS, *APPENDED]
    for k, (_, message) in enumerate(BROKEN):
        bad = out[2 * k + 1]
        assert message in bad["error"]
        assert bad["probability"] == bad["band"] == bad["risk_score"] == ""
    good = [r for i, r in enumerate(out) if not (i % 2 and i < 2 * len(BROKEN))]
    assert all(r["error"] == "" and r["band"] for r in good)
    assert run.summary.invalid == len(BROKEN)
    assert run.summary.rows == 30


def test_score_csv_passes_input_cells_through_untouched(scorer: Scorer) -> None:
    records = [
        {**r, "Spend EUR": f"{1000 + i}.50", "note": f"n{i}"} for i, r in enumerate(rows(12))
    ]
    data = csv_bytes(records)
    out = parse(run_csv(scorer, data)[0])
    expected = parse(data.decode())
    for got, given in zip(out, expected, strict=True):
        assert {k: got[k] for k in given} == given


def test_score_csv_matches_the_record_path(scorer: Scorer) -> None:
    variants = [
        record_data(supplier_id=f"R{i}", licence_type=lic, inventory_buffer_days=days, end_use=eu)
        for i, (lic, days, eu) in enumerate(
            (lic, days, eu)
            for lic in ("not_required", "general", "individual", "pending", "denied")
            for days in (0, 45, 120)
            for eu in ("automotive", "defense")
        )
    ]
    out = parse(run_csv(scorer, csv_bytes(variants))[0])
    records = [SupplierRecord.model_validate(v) for v in variants]
    results = scorer.score_records(records, TODAY)
    for got, result in zip(out, results, strict=True):
        assert float(got["probability"]) == pytest.approx(result["probability"], abs=5e-7)
        assert got["risk_score"] == str(result["risk_score"])
        assert got["band"] == result["band"]
        assert got["top_reasons"] == "; ".join(result["reasons"][:2])


def test_score_csv_matches_headers_ignoring_case_and_spaces(scorer: Scorer) -> None:
    columns = [f"  {c.upper()} " for c in COLUMNS]
    records = [{f"  {k.upper()} ": v for k, v in r.items()} for r in rows(3)]
    out = parse(run_csv(scorer, csv_bytes(records, columns))[0])
    assert all(r["error"] == "" for r in out)
    assert list(out[0])[: len(columns)] == columns


def test_score_csv_reads_semicolons_and_decimal_commas(scorer: Scorer) -> None:
    records = rows(3, china_share="0,95", inventory_buffer_days="30,5")
    data = csv_bytes(records, delimiter=";", encoding="cp1252")
    text, run = run_csv(scorer, data)
    out = parse(text, delimiter=";")
    assert [r["error"] for r in out] == ["", "", ""]
    assert out[0]["china_share"] == "0,95"
    assert run.table.encoding == "utf-8-sig"


def test_score_csv_skips_blank_and_empty_rows(scorer: Scorer) -> None:
    data = csv_bytes(rows(2)) + b"\r\n,,,,,,,,,,,\r\n" + csv_bytes(rows(1)).split(b"\r\n", 1)[1]
    text, run = run_csv(scorer, data)
    assert [r["supplier_id"] for r in parse(text)] == ["S-0", "S-1", "S-0"]
    assert run.summary.blank_rows == 1


def test_score_csv_flags_rows_with_extra_cells(scorer: Scorer) -> None:
    data = csv_bytes(rows(2)) + csv_bytes(rows(1)).split(b"\r\n", 1)[1].replace(
        b"\r\n", b",x,y\r\n"
    )
    out = parse(run_csv(scorer, data)[0])
    assert out[2]["error"].startswith("row: has 14 cells but the header names 12")
    assert out[2]["probability"] == ""


def test_score_csv_flags_extra_workbook_cells_without_a_delimiter_hint(
    scorer: Scorer, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    records = rows(2)
    sheet.append(COLUMNS)
    sheet.append([*records[0].values(), "x", "y"])
    sheet.append([None] * len(COLUMNS) + ["z"])
    sheet.append(list(records[1].values()))
    book.save(tmp_path / "list.xlsx")
    table = open_table(tmp_path / "list.xlsx")
    run = BatchRun(scorer, table.format, TODAY)
    out = parse("".join(score_csv(table, run)))
    assert [r["supplier_id"] for r in out] == ["S-0", "", "S-1"]
    assert out[0]["error"].startswith("row: has 14 cells but the header names 12")
    assert "row: has 13 cells but the header names 12" in out[1]["error"]
    assert not any("delimiter" in r["error"] for r in out)
    assert out[2]["error"] == ""


def test_score_csv_writes_crlf_and_neutralises_formulas(scorer: Scorer) -> None:
    records = rows(2)
    records[0]["supplier_name"] = '=HYPERLINK("http://x")'
    records[1]["supplier_name"] = "-0.5"
    text, _ = run_csv(scorer, csv_bytes(records))
    assert text.count("\r\n") == 3
    out = parse(text)
    assert out[0]["supplier_name"] == '\'=HYPERLINK("http://x")'
    assert out[1]["supplier_name"] == "-0.5"


def test_score_csv_neutralises_header_cells(scorer: Scorer) -> None:
    records = [{**r, "=cmd": "1"} for r in rows(1)]
    text, _ = run_csv(scorer, csv_bytes(records))
    assert text.splitlines()[0].split(",")[len(COLUMNS)] == "'=cmd"


def test_header_text_starts_with_a_bom_when_asked(scorer: Scorer) -> None:
    table = open_table(csv_bytes(rows(1)))
    run = BatchRun(scorer, table.format, TODAY)
    assert run.header_text(bom=True).startswith("\ufeff")
    assert not run.header_text().startswith(codecs.BOM_UTF8.decode())


def test_score_csv_replaces_output_columns_of_a_previous_run(scorer: Scorer) -> None:
    first, _ = run_csv(scorer, csv_bytes(rows(3)))
    again, run = run_csv(scorer, first.encode())
    assert again == first
    assert any("replaced by this run's own output columns" in w for w in run.warnings)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["supplier_id", "material"], "missing required column.*origin_country"),
        ([*COLUMNS, "Material "], "material appear more than once"),
    ],
)
def test_batch_run_rejects_unusable_headers(
    scorer: Scorer, columns: list[str], message: str
) -> None:
    table = open_table(csv_bytes([], columns))
    with pytest.raises(InputFileError, match=message):
        BatchRun(scorer, table.format, TODAY)


def test_batch_run_passes_repeated_extra_headers_through(scorer: Scorer) -> None:
    records = rows(1)
    data = csv_bytes(records, [*COLUMNS, "note", "Note"])
    text, run = run_csv(scorer, data)
    assert text.splitlines()[0].endswith("note,Note,probability,risk_score,band,top_reasons,error")
    assert any("repeated" in w and "note" in w for w in run.warnings)


def test_batch_run_rejects_an_unknown_scenario(scorer: Scorer) -> None:
    table = open_table(csv_bytes(rows(1)))
    with pytest.raises(UnknownScenarioError, match="'nope' is not defined; allowed: baseline"):
        BatchRun(scorer, table.format, TODAY, "nope")


def test_batch_run_rejects_an_unknown_weight_column(scorer: Scorer) -> None:
    table = open_table(csv_bytes(rows(1)))
    with pytest.raises(InputFileError, match="--weight 'spend': no such column"):
        BatchRun(scorer, table.format, TODAY, weight_column="spend")


def test_duplicates_name_repeated_ids_across_chunks(scorer: Scorer) -> None:
    records = rows(20)
    records[15]["supplier_id"] = "S-3"
    records[19]["supplier_id"] = "S-3"
    data = csv_bytes(records)
    table = open_table(data, chunk_rows=6)
    run = BatchRun(scorer, table.format, TODAY)
    "".join(score_csv(table, run))
    found = run.duplicates(table)
    assert [(d.supplier_id, d.rows) for d in found] == [("S-3", (5, 17, 21))]


def test_summary_counts_bands_weights_and_concentration(scorer: Scorer) -> None:
    records = [
        {**r, "spend": spend, "origin_country": origin, "material": "dy_oxide"}
        for r, spend, origin in zip(
            rows(4), ("300", "100", "", "x"), ("CN", "CN", "MY", "US"), strict=True
        )
    ]
    _, run = run_csv(scorer, csv_bytes(records), weight_column="spend")
    summary = run.summary_json([])
    assert sum(b["suppliers"] for b in summary["bands"].values()) == 4
    assert sum(b["weight"] for b in summary["bands"].values()) == pytest.approx(400.0)
    hhi = summary["materials"][0]["origins_hhi"]
    assert hhi["hhi"] == pytest.approx(10000.0)  # all the spend is with CN
    assert hhi["top_origin"] == "CN"
    assert summary["rows_without_weight"] == 2


def test_summary_hhi_by_count_without_weights(scorer: Scorer) -> None:
    records = [
        {**r, "origin_country": o} for r, o in zip(rows(4), ("CN", "CN", "MY", "US"), strict=True)
    ]
    _, run = run_csv(scorer, csv_bytes(records))
    hhi = run.summary_json([])["materials"][0]["origins_hhi"]
    assert hhi["hhi"] == pytest.approx(50**2 + 25**2 + 25**2)


def test_summary_keeps_top_risks_across_chunks(scorer: Scorer) -> None:
    records = rows(30)
    records[25]["licence_type"] = "denied"
    records[25]["end_use"] = "defense"
    _, run = run_csv(scorer, csv_bytes(records), chunk_rows=4)
    top = run.summary_json([])["top_risks"]
    assert top[0]["supplier_id"] == "S-25"
    assert top[0]["row"] == 27
    assert len(top) == 10
    assert [t["probability"] for t in top] == sorted((t["probability"] for t in top), reverse=True)


def test_summary_counts_errors_by_field(scorer: Scorer) -> None:
    records = rows(3)
    records[1]["material"] = "x"
    records[2]["material"] = "y"
    records[2]["end_use"] = "z"
    _, run = run_csv(scorer, csv_bytes(records))
    errors = run.summary_json([])["errors"]
    assert errors["by_field"] == {"material": 2, "end_use": 1}
    assert [e["row"] for e in errors["first"]] == [3, 4]


def test_summary_counts_fields_not_fragments_of_the_error_text(scorer: Scorer) -> None:
    records = rows(2)
    records[0]["material"] = "a; b: c"  # the value itself holds the message separator
    extra = csv_bytes(rows(1)).split(b"\r\n", 1)[1].replace(b"\r\n", b",x\r\n")
    _, run = run_csv(scorer, csv_bytes(records) + extra)
    assert run.summary_json([])["errors"]["by_field"] == {"material": 1, "row": 1}


def test_score_frame_and_write_table_keep_the_whole_file_form(scorer: Scorer) -> None:
    records = rows(5)
    records[2]["end_use"] = "toys"
    frame = read_table(csv_bytes(records))
    scored, summary = score_frame(frame, scorer, TODAY)
    assert list(scored.columns) == [*COLUMNS, *APPENDED]
    assert (summary.rows, summary.invalid, sum(summary.bands.values())) == (5, 1, 4)
    text = "".join(write_table(scored))
    assert text == run_csv(scorer, csv_bytes(records))[0]


def test_score_frame_and_write_table_keep_the_input_delimiter(scorer: Scorer) -> None:
    data = csv_bytes(rows(3), delimiter=";")
    scored, _ = score_frame(read_table(data), scorer, TODAY)
    assert "".join(write_table(scored)) == run_csv(scorer, data)[0]


def test_score_frame_flags_extra_cells(scorer: Scorer) -> None:
    data = csv_bytes(rows(1)) + csv_bytes(rows(1)).split(b"\r\n", 1)[1].replace(b"\r\n", b",x\r\n")
    scored, _ = score_frame(read_table(data), scorer, TODAY)
    assert scored["error"].tolist()[1].startswith("row: has 13 cells")


def test_score_csv_handles_a_header_only_file(scorer: Scorer) -> None:
    text, run = run_csv(scorer, csv_bytes([], COLUMNS))
    assert text.count("\r\n") == 1
    assert run.summary.rows == 0


def test_score_csv_output_is_the_same_for_any_chunk_size(scorer: Scorer, tmp_path: Path) -> None:
    records = rows(23)
    records[4]["material"] = "bad"
    path = tmp_path / "in.csv"
    path.write_bytes(csv_bytes(records))
    outputs = {run_csv(scorer, path.read_bytes(), chunk_rows=k)[0] for k in (1, 5, 50)}
    assert len(outputs) == 1
    assert np.array_equal(
        [r["supplier_id"] for r in parse(outputs.pop())], [r["supplier_id"] for r in records]
    )


def test_summary_lists_the_policy_notes_scores_rest_on(scorer: Scorer) -> None:
    records = rows(4)
    for record in records[:3]:
        record.update(material="ho_oxide", as_of="2026-11-22")  # October list: assumed off
    _, run = run_csv(scorer, csv_bytes(records), chunk_rows=2)
    assumptions = run.summary_json([])["policy_notes"]
    assert [a["suppliers"] for a in assumptions] == [3]
    assert "assumes october_2025 stays suspended until 2027-11-10" in assumptions[0]["note"]
    _, lapsed = run_csv(scorer, csv_bytes(records), scenario="suspension_lapses")
    assert lapsed.summary_json([])["policy_notes"] == []


def test_summary_counts_each_policy_note_of_a_row_apart(scorer: Scorer) -> None:
    # 2027-09-01: the assumed suspension holds, and ends within the 90 days: two notes a row.
    records = rows(3)
    for record in records[:2]:
        record.update(material="ho_oxide", as_of="2027-09-01")
    _, run = run_csv(scorer, csv_bytes(records))
    notes = run.summary_json([])["policy_notes"]
    assert [n["suppliers"] for n in notes] == [2, 2]
    assert "assumes october_2025 stays suspended" in notes[0]["note"] + notes[1]["note"]
    assert "comes into force on 2027-11-10" in notes[0]["note"] + notes[1]["note"]
    assert all("\n" not in n["note"] for n in notes)
