"""Reading a training file: contract columns only, every invalid row reported, never dropped."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from supplier_risk.cli import app
from supplier_risk.errors import InputFileError
from supplier_risk.history import ReadNote, read_history
from supplier_risk.reference import Reference
from training.simulate import SimulationConfig, simulate, write_history
from training.train import check_trainable, label_warnings

HEADER = (
    "supplier_id,material,origin_country,licence_type,end_use,inventory_buffer_days,as_of,disrupted"
)


def write_csv(tmp_path: Path, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "history.csv"
    path.write_text("\n".join([header, *lines]) + "\n", "utf-8")
    return path


def good(i: int, label: int = 0) -> str:
    return f"S{i},dy_oxide,cn,individual,automotive,{i % 200},2025-0{1 + i % 9}-15,{label}"


def test_read_history_reads_contract_rows(tmp_path: Path, reference: Reference) -> None:
    history = read_history(write_csv(tmp_path, [good(1), good(2, 1)]), reference)
    assert history.rows_read == 2
    assert history.labels.tolist() == [0, 1]
    assert history.invalid_rows == []
    assert history.columns.origin_country.tolist() == ["CN", "CN"]


def test_read_history_warns_about_and_ignores_extra_columns(
    tmp_path: Path, reference: Reference
) -> None:
    path = write_csv(tmp_path, [good(1) + ",x,7"], header=HEADER + ",region,score")
    with pytest.warns(UserWarning, match=r"ignoring column\(s\) region, score"):
        history = read_history(path, reference)
    assert history.ignored_columns == ["region", "score"]
    assert history.rows_read == 1
    assert not history.invalid_rows


def test_read_history_reports_every_invalid_row(tmp_path: Path, reference: Reference) -> None:
    lines = [
        good(1),
        "S2,dy_oxide,XX,individual,automotive,30,2025-05-01,0",
        "S3,dy_oxide,CN,individual,automotive,30,,1",
        "S4,dy_oxide,CN,individual,automotive,30,2025-05-01,yes",
        "S5,unobtainium,CN,maybe,automotive,-3,2025-05-01,1",
        good(6, 1),
    ]
    history = read_history(write_csv(tmp_path, lines), reference)
    assert history.rows_read == 6
    assert history.labels.size == 2
    assert [i for i, _ in history.invalid_rows] == [1, 2, 3, 4]
    messages = dict(history.invalid_rows)
    assert "origin_country: 'XX' is not an ISO 3166-1 alpha-2" in messages[1]
    assert messages[2] == "as_of: required, a date YYYY-MM-DD"
    assert messages[3] == "disrupted: 'yes' is not one of: 0, 1"
    assert "material: 'unobtainium' is not one of" in messages[4]
    assert "licence_type: 'maybe' is not one of" in messages[4]
    assert "inventory_buffer_days: '-3' is outside 0 to 3650" in messages[4]


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("yes", "disrupted: 'yes' is not one of: 0, 1"),
        ("1.0", "disrupted: '1.0' is not one of: 0, 1"),
        ("", "disrupted: required, one of: 0, 1"),
        ("x" * 50, "disrupted: '" + "x" * 40 + "...' is not one of: 0, 1"),
    ],
)
def test_read_history_names_a_bad_label_and_what_is_allowed(
    tmp_path: Path, reference: Reference, label: str, message: str
) -> None:
    path = write_csv(tmp_path, [good(1), good(2)[: -len(",0")] + "," + label])
    history = read_history(path, reference)
    assert history.invalid_rows == [(1, message)]


def test_read_history_reads_rows_with_trailing_commas(tmp_path: Path, reference: Reference) -> None:
    path = write_csv(tmp_path, [good(1) + ",", good(2, 1) + ","])
    history = read_history(path, reference)
    assert history.invalid_rows == []
    assert history.labels.tolist() == [0, 1]
    assert history.columns.origin_country.tolist() == ["CN", "CN"]


def test_read_history_flags_a_first_row_with_extra_cells(
    tmp_path: Path, reference: Reference
) -> None:
    history = read_history(write_csv(tmp_path, [good(1) + ",x,y", good(2, 1)]), reference)
    assert [i for i, _ in history.invalid_rows] == [0]
    assert history.invalid_rows[0][1].startswith("row: has 10 cells but the header names 8")
    assert history.labels.tolist() == [1]


def test_read_history_refuses_a_first_row_far_too_long(
    tmp_path: Path, reference: Reference
) -> None:
    path = write_csv(tmp_path, [good(1) + "," * 10, good(2, 1)])
    with pytest.raises(InputFileError, match=r"more than 8 cells beyond the header's 8"):
        read_history(path, reference)


@pytest.mark.parametrize("column", ["disrupted", "material"])
def test_read_history_refuses_a_repeated_contract_column(
    tmp_path: Path, reference: Reference, column: str
) -> None:
    path = write_csv(tmp_path, [good(1) + ",0"], header=HEADER + "," + column)
    with pytest.raises(InputFileError, match=rf"column\(s\) {column} appear more than once"):
        read_history(path, reference)


@pytest.mark.parametrize("missing", ["as_of", "disrupted", "licence_type"])
def test_read_history_refuses_missing_required_column(
    tmp_path: Path, reference: Reference, missing: str
) -> None:
    header = ",".join(c for c in HEADER.split(",") if c != missing)
    path = write_csv(tmp_path, [], header=header)
    with pytest.raises(InputFileError, match=rf"missing required column\(s\): {missing}"):
        read_history(path, reference)


def test_read_history_refuses_file_without_valid_row(tmp_path: Path, reference: Reference) -> None:
    path = write_csv(tmp_path, ["S1,dy_oxide,CN,individual,automotive,30,2025-05-01,2"])
    message = r"has no valid row; first error: row 2: disrupted: '2' is not one of: 0, 1"
    with pytest.raises(InputFileError, match=message):
        read_history(path, reference)


def test_read_history_reads_a_workbook_as_score_does(tmp_path: Path, reference: Reference) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in [HEADER, good(1), good(2, 1)]:
        sheet.append(line.split(","))
    book.save(tmp_path / "history.xlsx")
    # news, not a problem: the CLI prints it as a note, not a warning
    with pytest.warns(ReadNote, match="read the first sheet of a workbook"):
        history = read_history(tmp_path / "history.xlsx", reference)
    assert history.labels.tolist() == [0, 1]
    assert history.invalid_rows == []


def test_read_history_refuses_a_header_without_rows(tmp_path: Path, reference: Reference) -> None:
    with pytest.raises(InputFileError, match=r"has a header but no data rows"):
        read_history(write_csv(tmp_path, []), reference)


def test_read_history_refuses_empty_file(tmp_path: Path, reference: Reference) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", "utf-8")
    with pytest.raises(InputFileError, match=r"is empty"):
        read_history(path, reference)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.zeros(1000, dtype=np.int64), r"got 1000 valid rows, 0 with disrupted=1"),
        (np.ones(100, dtype=np.int64), r"at least 200 valid rows .* got 100 valid rows"),
        (np.r_[np.ones(10), np.zeros(990)].astype(np.int64), r"10 with disrupted=1"),
    ],
)
def test_check_trainable_refuses_too_few_of_a_label(labels: np.ndarray, match: str) -> None:
    with pytest.raises(InputFileError, match=match):
        check_trainable(labels)


def test_train_command_exits_2_on_a_damaged_workbook(tmp_path: Path) -> None:
    from tests.core.workbook_files import text_in_number_cell

    data = tmp_path / "history.xlsx"
    data.write_bytes(text_in_number_cell())
    result = CliRunner().invoke(app, ["train", "--data", str(data), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2, result.output
    assert "is not a readable .xlsx workbook: invalid literal" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("option", "name", "why"),
    [
        ("--out", "missing/model.json", "no directory .*missing"),
        ("--out", ".", "it is a directory"),
        ("--report", "missing/metrics.json", "no directory .*missing"),
    ],
)
def test_train_command_refuses_an_output_it_cannot_write_before_training(
    tmp_path: Path, option: str, name: str, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "history.csv"
    write_history(SimulationConfig(rows=1_000, seed=9), data)
    monkeypatch.setattr("training.train.train_model", lambda *a, **k: pytest.fail("trained"))
    paths = {"--out": tmp_path / "model.json", option: tmp_path / name}
    args = ["train", "--data", str(data), *(f"{k}={v}" for k, v in paths.items())]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert re.search(rf"^error: cannot write .*: {why}", result.output, re.M), result.output
    assert not (tmp_path / "model.json").exists()


def test_train_command_prints_counts_warnings_and_invalid_rows(tmp_path: Path) -> None:
    frame = simulate(SimulationConfig(rows=3_000, seed=9))
    frame["region"] = "EU"
    frame.loc[5, "china_share"] = "2"
    frame.loc[7, "end_use"] = "war"
    data = tmp_path / "own.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "model.json"
    result = CliRunner().invoke(
        app,
        ["train", "--data", str(data), "--out", str(out), "--seed", "3"],
        env={"SUPPLIER_RISK_TODAY": dt.date(2026, 11, 28).isoformat()},
    )
    assert result.exit_code == 0, result.output
    assert "warning: training file" in result.output
    assert "ignoring column(s) region" in result.output
    assert "read 3,000 rows: 2,998 valid, 2 invalid (not used)" in result.output
    # spreadsheet rows (the header is row 1), as `supplier-risk score` numbers them
    assert "  row 7: china_share: '2' is outside 0 to 1" in result.output
    assert "  row 9: end_use: 'war' is not one of" in result.output
    assert "ROC AUC" in result.output
    assert out.is_file()


def train_on(frame: pd.DataFrame, tmp_path: Path) -> Result:
    """Run `train --data` on a history frame written as CSV, on 2026-11-28."""
    data = tmp_path / "own.csv"
    frame.to_csv(data, index=False)
    return CliRunner().invoke(
        app,
        ["train", "--data", str(data), "--out", str(tmp_path / "model.json")],
        env={"SUPPLIER_RISK_TODAY": "2026-11-28"},
    )


def test_train_command_warns_about_rows_dated_after_today(tmp_path: Path) -> None:
    frame = simulate(SimulationConfig(rows=3_000, seed=9))
    frame["as_of"] = np.where(frame.index < 40, "2099-01-01", "2025-06-30")
    result = train_on(frame, tmp_path)
    assert result.exit_code == 0, result.output
    assert (
        "warning: 40 row(s) have as_of after today (2026-11-28), the latest 2099-01-01: "
        "labels for dates after today cannot be known yet"
    ) in result.output


@pytest.mark.parametrize("dates", [["2026-08-30"], ["1990-01-01", "2024-12-31", "2026-08-30"]])
def test_no_warning_for_rows_whose_90_days_are_over(dates: list[str]) -> None:
    # Dates before the first control list are history too: the policy table codes them.
    as_of = np.array(dates, dtype="datetime64[D]")
    assert label_warnings(as_of, dt.date(2026, 11, 28)) == []


@pytest.mark.parametrize("dates", [["2026-08-31"], ["2026-11-28", "2025-01-01"]])
def test_a_warning_for_rows_whose_90_days_are_not_over(dates: list[str]) -> None:
    # Labelled 0 today, such a row may still see its disruption: it reads too safe.
    as_of = np.array(dates, dtype="datetime64[D]")
    [said] = label_warnings(as_of, dt.date(2026, 11, 28))
    assert said.startswith("1 row(s) have as_of within the 90 days before today (after 2026-08-30)")


def test_train_command_does_not_warn_about_the_simulated_dates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The simulator writes as_of to 2026-12-31 whatever today is; its labels are its own.
    def stop(*args: object, **kwargs: object) -> None:
        raise InputFileError("stopped before fitting")

    monkeypatch.setattr("training.train.train_model", stop)
    args = ["train", "--sim-rows", "1000", "--out", str(tmp_path / "model.json")]
    result = CliRunner().invoke(app, args, env={"SUPPLIER_RISK_TODAY": "2025-06-01"})
    assert "error: stopped before fitting" in result.output
    assert "after today" not in result.output


def test_train_command_warns_about_an_input_that_never_varies(tmp_path: Path) -> None:
    # Every row with china_share 0.7: its table comes out flat and no score ever moves with it.
    frame = simulate(SimulationConfig(rows=3_000, seed=9))
    frame["china_share"] = 0.7
    frame["as_of"] = "2025-06-30"
    result = train_on(frame, tmp_path)
    assert result.exit_code == 0, result.output
    assert "warning: china_share is 0.7 in every row: the model learns nothing from it" in (
        result.output
    )
    assert "inventory_buffer_days is" not in result.output  # the inputs that vary are not named
