"""`supplier-risk score`: files in and out, summary, comparison and documented exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supplier_risk.cli import app
from tests.conftest import TODAY
from tests.core import workbook_files
from tests.core.table_files import csv_bytes, parse, rows

ENV = {"SUPPLIER_RISK_TODAY": TODAY.isoformat()}


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["score", *args], env={**ENV, **(env or {})})
    return result.exit_code, result.output


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_score_exits_0_when_every_row_is_scored(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", csv_bytes(rows(5)))
    code, output = invoke(str(source), "--out", str(tmp_path / "out.csv"))
    assert code == 0, output
    out = parse((tmp_path / "out.csv").read_text("utf-8"))
    assert [r["supplier_id"] for r in out] == [f"S-{i}" for i in range(5)]
    assert "scored 5 of 5 rows; 0 invalid" in output
    assert "Suppliers by band" in output


def test_score_exits_1_when_some_rows_are_invalid(tmp_path: Path) -> None:
    records = rows(3)
    records[1]["end_use"] = "toys"
    source = write(tmp_path / "in.csv", csv_bytes(records))
    code, output = invoke(str(source), "--out", str(tmp_path / "out.csv"))
    assert code == 1
    out = parse((tmp_path / "out.csv").read_text("utf-8"))
    assert "end_use: 'toys' is not one of" in out[1]["error"]
    assert "row 3: end_use" in output


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"supplier_id,material\r\nA,dy_oxide\r\n", "missing required column"),
        (csv_bytes([], None), "no data rows"),
        (b"\x00\x01\x02binary", "NUL bytes"),
        (workbook_files.CFB_SIGNATURE + bytes(504), "encrypted (password-protected) workbook"),
    ],
)
def test_score_exits_2_and_writes_nothing_when_unreadable(
    tmp_path: Path, data: bytes, message: str
) -> None:
    source = write(tmp_path / "in.csv", data)
    code, output = invoke(str(source), "--out", str(tmp_path / "out.csv"))
    assert code == 2
    assert message in output
    assert list(tmp_path.iterdir()) == [source]


def test_score_exits_2_for_a_missing_file(tmp_path: Path) -> None:
    code, output = invoke(str(tmp_path / "nope.csv"), "--out", str(tmp_path / "out.csv"))
    assert code == 2
    assert "no such file" in output


def test_score_exits_2_for_an_unknown_scenario(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", csv_bytes(rows(1)))
    code, output = invoke(str(source), "--out", str(tmp_path / "o.csv"), "--scenario", "nope")
    assert code == 2
    assert "scenario 'nope' is not defined" in output


def test_score_exits_3_for_a_bad_model(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", csv_bytes(rows(1)))
    model = write(tmp_path / "model.json", b"{}")
    code, _ = invoke(str(source), "--out", str(tmp_path / "o.csv"), "--model", str(model))
    assert code == 3


@pytest.mark.parametrize(
    ("where", "text", "problem"),
    [
        ("--model", "[" * 100_000 + "]" * 100_000, "is nested too deeply"),
        ("--model", '{"format_version": 1, "x": ' + "1" * 5000 + "}", "has a number too long"),
        ("SUPPLIER_RISK_MODEL_PATH", "[" * 100_000 + "]" * 100_000, "is nested too deeply"),
        ("SUPPLIER_RISK_SCENARIOS_PATH", "[" * 100_000 + "]" * 100_000, "is nested too deeply"),
    ],
)
def test_score_exits_3_with_one_error_line_for_json_python_cannot_read(
    tmp_path: Path, where: str, text: str, problem: str
) -> None:
    source = write(tmp_path / "in.csv", csv_bytes(rows(1)))
    bad = write(tmp_path / "bad.json", text.encode())
    flag = [where, str(bad)] if where.startswith("--") else []
    env = {} if flag else {where: str(bad)}
    code, output = invoke(str(source), "--out", str(tmp_path / "o.csv"), *flag, env=env)
    assert code == 3, output
    assert output.startswith("error: "), output
    assert output.count("\n") == 1, output
    assert f"bad.json {problem}" in output


@pytest.mark.parametrize(
    ("option", "target", "problem"),
    [
        ("--out", "nodir/o.csv", "no directory"),
        ("--out", "adir", "it is a directory"),
        ("--out", "/proc/o.csv", ""),
        ("--summary-out", "nodir/s.json", "no directory"),
        ("--summary-out", "adir", "it is a directory"),
    ],
)
def test_score_exits_2_before_scoring_when_an_output_cannot_be_written(
    tmp_path: Path, option: str, target: str, problem: str
) -> None:
    source = write(tmp_path / "in.csv", csv_bytes(rows(2)))
    (tmp_path / "adir").mkdir()
    path = target if target.startswith("/") else str(tmp_path / target)
    out = ["--out", str(tmp_path / "o.csv")] if option != "--out" else []
    code, output = invoke(str(source), *out, option, path)
    assert code == 2, output
    assert output.startswith(f"error: cannot write {path}: {problem}"), output
    assert "scored" not in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "in.csv"]
    assert list((tmp_path / "adir").iterdir()) == []


def test_score_refuses_the_same_file_for_the_output_and_the_summary(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", csv_bytes(rows(1)))
    out = str(tmp_path / "o.csv")
    code, output = invoke(str(source), "--out", out, "--summary-out", out)
    assert code == 2
    assert "--summary-out must name another file than --out" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize(("option", "label"), [(None, "cannot read"), ("--compare", "--compare")])
def test_score_says_when_an_input_is_a_directory(
    tmp_path: Path, option: str | None, label: str
) -> None:
    source = write(tmp_path / "in.csv", csv_bytes(rows(1)))
    folder = tmp_path / "adir"
    folder.mkdir()
    args = [str(source), "--compare", str(folder)] if option else [str(folder)]
    code, output = invoke(*args, "--out", str(tmp_path / "o.csv"))
    assert code == 2
    assert f"{label} {folder}: it is a directory, not a file" in output


def test_score_treats_empty_path_settings_as_unset(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", csv_bytes(rows(1)))
    names = ("MODEL_PATH", "REFERENCE_DIR", "SCENARIOS_PATH")
    env = {f"SUPPLIER_RISK_{name}": "" for name in names}
    code, output = invoke(str(source), "--out", str(tmp_path / "o.csv"), env=env)
    assert code == 0, output


def test_score_writes_summary_compare_and_bom(tmp_path: Path) -> None:
    records = [{**r, "Spend": str(100 * (i + 1))} for i, r in enumerate(rows(4))]
    source = write(tmp_path / "in.csv", csv_bytes(records))
    first = tmp_path / "week1.csv"
    assert invoke(str(source), "--out", str(first))[0] == 0
    records[0]["licence_type"] = "denied"
    write(source, csv_bytes(records[:3]))
    second = tmp_path / "week2.csv"
    summary_path = tmp_path / "summary.json"
    code, output = invoke(
        str(source),
        "--out",
        str(second),
        "--compare",
        str(first),
        "--summary-out",
        str(summary_path),
        "--weight",
        "spend",
        "--excel-bom",
        "--scenario",
        "suspension_lapses",
    )
    assert code == 0, output
    raw = second.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    out = parse(raw.decode("utf-8"))
    assert out[0]["compare_status"] == "band_up"
    summary = json.loads(summary_path.read_text("utf-8"))
    assert summary["scenario"] == "suspension_lapses"
    assert summary["weight_column"] == "Spend"
    assert summary["comparison"]["vanished_ids"] == ["S-3"]
    assert sum(b["weight"] for b in summary["bands"].values()) == 600
    assert "Top movers" in output


def test_score_reports_duplicate_ids(tmp_path: Path) -> None:
    records = rows(3)
    records[2]["supplier_id"] = "S-0"
    source = write(tmp_path / "in.csv", csv_bytes(records))
    summary_path = tmp_path / "s.json"
    code, output = invoke(
        str(source), "--out", str(tmp_path / "o.csv"), "--summary-out", str(summary_path)
    )
    assert code == 0
    assert "repeated supplier_id: S-0 (rows 2, 4)" in output
    assert json.loads(summary_path.read_text())["duplicate_supplier_ids"] == [
        {"supplier_id": "S-0", "rows": [2, 4]}
    ]


def test_score_reads_windows_1252_and_writes_utf8(tmp_path: Path) -> None:
    records = rows(2, supplier_name="Société Générale")
    source = write(tmp_path / "in.csv", csv_bytes(records, delimiter=";", encoding="cp1252"))
    code, output = invoke(str(source), "--out", str(tmp_path / "out.csv"))
    assert code == 0, output
    out = parse((tmp_path / "out.csv").read_text("utf-8"), delimiter=";")
    assert out[0]["supplier_name"] == "Société Générale"
    assert "not valid UTF-8: read as Windows-1252" in output


@pytest.mark.parametrize("at", [0, 1], ids=["first-row", "second-row"])
def test_score_exits_2_when_a_row_has_far_too_many_cells(tmp_path: Path, at: int) -> None:
    lines = csv_bytes(rows(3)).split(b"\r\n")
    lines[1 + at] += b"," * 10
    source = write(tmp_path / "in.csv", b"\r\n".join(lines))
    code, output = invoke(str(source), "--out", str(tmp_path / "out.csv"))
    assert code == 2, output
    assert "more than 8 cells beyond the header's 12" in output
    assert not (tmp_path / "out.csv").exists()


def test_score_reads_an_xlsx_workbook(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    records = rows(3)
    sheet.append(list(records[0]))
    for record in records:
        sheet.append(list(record.values()))
    book.save(tmp_path / "in.xlsx")
    code, output = invoke(str(tmp_path / "in.xlsx"), "--out", str(tmp_path / "out.csv"))
    assert code == 0, output
    out = parse((tmp_path / "out.csv").read_text("utf-8"))
    assert [r["supplier_id"] for r in out] == ["S-0", "S-1", "S-2"]
    assert all(r["band"] for r in out)


def test_score_exits_2_with_one_error_line_on_a_damaged_workbook(tmp_path: Path) -> None:
    source = write(tmp_path / "in.xlsx", workbook_files.truncated_sheet())
    code, output = invoke(str(source), "--out", str(tmp_path / "out.csv"))
    assert code == 2, output
    assert output.startswith(f"error: {source} is not a readable .xlsx workbook: ")
    assert len(output.strip().splitlines()) == 1
    assert not (tmp_path / "out.csv").exists()


def test_score_reads_a_messy_excel_export(tmp_path: Path) -> None:
    header = (
        "\ufeff Supplier_ID ;MATERIAL;Origin_Country;licence_type;End_Use;"
        "Inventory_Buffer_Days;Notes\r\n"
    )
    body = (
        'V-1;dy_oxide;cn;individual;automotive;30,5;"two\r\nlines; with ; semicolons"\r\n'
        "\r\n"
        "V-2;ho_oxide; JP ;general;defense;12;=1+1\r\n"
        ";;;;;;\r\n"
        "V-3;tb_oxide;CN;maybe;automotive;10;-0,5\r\n"
    )
    source = write(tmp_path / "export.csv", (header + body).encode("utf-8"))
    code, output = invoke(str(source), "--out", str(tmp_path / "out.csv"))
    assert code == 1, output
    out = parse((tmp_path / "out.csv").read_bytes().decode("utf-8"), delimiter=";")
    assert [r[" Supplier_ID "] for r in out] == ["V-1", "V-2", "V-3"]
    assert out[0]["Notes"] == "two\r\nlines; with ; semicolons"
    assert out[1]["Notes"] == "'=1+1"
    assert out[2]["Notes"] == "-0,5"
    assert [bool(r["band"]) for r in out] == [True, True, False]
    assert "licence_type: 'maybe' is not one of" in out[2]["error"]
