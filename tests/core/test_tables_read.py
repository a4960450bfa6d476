"""Reading real-world supplier lists: encodings, delimiters, headers, blank lines, broken files."""

from __future__ import annotations

import codecs
import datetime as dt
import time
from pathlib import Path

import pytest

from supplier_risk import workbook
from supplier_risk.errors import InputFileError
from supplier_risk.tables import neutralise, open_table, read_table
from supplier_risk.workbook import REASON_CHARS, short_reason
from tests.core import workbook_files
from tests.core.table_files import csv_bytes, rows


def test_read_table_keeps_header_cells_as_given() -> None:
    data = b" Supplier_ID ,MATERIAL,Spend EUR\r\nA,dy_oxide,12\r\n"
    frame = read_table(data)
    assert list(frame.columns) == [" Supplier_ID ", "MATERIAL", "Spend EUR"]
    assert frame.iloc[0].tolist() == ["A", "dy_oxide", "12"]


def test_open_table_reads_utf8_with_bom() -> None:
    table = open_table(codecs.BOM_UTF8 + "supplier_id,supplier_name\r\nA,Société\r\n".encode())
    assert table.format.header == ("supplier_id", "supplier_name")
    assert next(table.chunks()).iloc[0, 1] == "Société"


def test_open_table_reads_windows_1252() -> None:
    data = "supplier_id;supplier_name\r\nA;Société Générale \u2013 Zürich\r\n".encode("cp1252")
    table = open_table(data)
    assert table.format.encoding == "cp1252"
    assert table.format.delimiter == ";"
    assert next(table.chunks()).iloc[0, 1] == "Société Générale \u2013 Zürich"
    assert any("Windows-1252" in note for note in table.format.notes)


def test_open_table_reads_utf16_with_bom() -> None:
    data = "supplier_id\tmaterial\r\nA\tdy_oxide\r\n".encode("utf-16")
    table = open_table(data)
    assert table.format.delimiter == "\t"
    assert next(table.chunks()).iloc[0, :2].tolist() == ["A", "dy_oxide"]


def test_open_table_keeps_quoted_newlines_and_delimiters() -> None:
    data = b'supplier_id,supplier_name\r\nA,"Line one\r\nline two, ""quoted"""\r\nB,x\r\n'
    chunk = next(open_table(data).chunks())
    assert chunk.iloc[:, 0].tolist() == ["A", "B"]
    assert chunk.iloc[0, 1] == 'Line one\r\nline two, "quoted"'


def test_open_table_skips_blank_lines() -> None:
    data = b"\r\nsupplier_id,material\r\n\r\nA,dy_oxide\r\n\r\n\r\nB,tb_oxide\r\n\r\n"
    table = open_table(data)
    assert table.format.header == ("supplier_id", "material")
    assert next(table.chunks()).iloc[:, 0].tolist() == ["A", "B"]


def test_open_table_fills_slack_columns_for_long_rows() -> None:
    chunk = next(open_table(b"a,b\nx,y,z\n").chunks())
    assert chunk.iloc[0, :3].tolist() == ["x", "y", "z"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \r\n\r\n", "empty"),
        (
            b"PK\x03\x04rest-of-a-zip",
            "the supplier list is neither a readable .xlsx workbook nor CSV",
        ),
        (b"supplier_id\x00,material\n", "NUL bytes"),
    ],
)
def test_open_table_rejects_unreadable_files(data: bytes, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        open_table(data)


@pytest.mark.parametrize("before", [b"1,2\n", b""], ids=["second-row", "first-row"])
def test_open_table_reports_a_row_far_too_long(before: bytes) -> None:
    # The first data row too: pandas would take its extra cells as an index and shift every
    # row of the file by that many columns.
    table = open_table(b"a,b\n" + before + b",".join([b"x"] * 12) + b"\n3,4\n")
    with pytest.raises(InputFileError, match="more than 8 cells beyond the header's 2"):
        list(table.chunks())


def test_open_table_reports_an_unclosed_quote_on_its_line() -> None:
    table = open_table(b'a,b\n1,2\n\n3,4\n5,"6\n7,8\n', chunk_rows=1)
    with pytest.raises(InputFileError, match="a quote opened on line 5 is never closed"):
        list(table.chunks())


def test_open_table_names_the_line_of_a_row_far_too_long() -> None:
    wide = b",".join([b"x"] * 12)
    table = open_table(b"a,b\n1,2\n\n3,4\n5,6\n" + wide + b"\n", chunk_rows=1)
    with pytest.raises(InputFileError, match=r"line 6 has 12 cells: more than 8 cells beyond"):
        list(table.chunks())


def test_open_table_streams_in_chunks_of_bounded_size(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(csv_bytes(rows(25)))
    sizes = [len(c) for c in open_table(path, chunk_rows=10).chunks()]
    assert sizes == [10, 10, 5]


def test_open_table_reads_an_xlsx_workbook(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["supplier_id", "inventory_buffer_days", "as_of", "note"])
    import datetime as dt

    sheet.append(["A", 30, dt.datetime(2026, 11, 22), None])
    sheet.append(["B", 12.5, "2026-11-22", "x"])
    path = tmp_path / "list.xlsx"
    book.save(path)
    table = open_table(path)
    chunk = next(table.chunks())
    assert table.format.header == ("supplier_id", "inventory_buffer_days", "as_of", "note")
    assert chunk.iloc[:, :4].values.tolist() == [
        ["A", "30", "2026-11-22", ""],
        ["B", "12.5", "2026-11-22", "x"],
    ]


def write_workbook(path: Path, rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_open_table_keeps_workbook_cells_beyond_the_header_as_slack(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "list.xlsx",
        [["a", "b"], ["1", "2", "x"], [None, None, None, "y"], ["3", "4"]],
    )
    chunk = next(open_table(path).chunks())
    assert chunk.iloc[:, :4].values.tolist() == [
        ["1", "2", "x", ""],
        ["", "", "", "y"],
        ["3", "4", "", ""],
    ]


@pytest.mark.parametrize("first", [["1", "2"], [None, None]], ids=["full-row", "only-extra"])
def test_open_table_reports_a_workbook_row_far_too_long(
    tmp_path: Path, first: list[object]
) -> None:
    row = [*first, *([None] * 9), "far right"]
    path = write_workbook(tmp_path / "list.xlsx", [["a", "b"], ["0", "0"], row])
    message = r"row 3 has 12 cells.*more than 8 cells beyond"
    with pytest.raises(InputFileError, match=message) as caught:
        list(open_table(path).chunks())
    assert "delimiter" not in str(caught.value)


def test_open_table_rejects_a_broken_workbook(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    path.write_bytes(workbook_files.good_workbook()[:-100])  # cut short: no zip directory
    with pytest.raises(
        InputFileError, match=r"list\.xlsx is neither a readable \.xlsx workbook nor CSV"
    ):
        open_table(path)


@pytest.mark.parametrize("name", ["list.xlsx", "list.xls", "list.csv"])
@pytest.mark.parametrize("as_path", [True, False], ids=["path", "bytes"])
def test_open_table_says_an_ole_file_is_an_encrypted_workbook_or_an_xls(
    tmp_path: Path, name: str, as_path: bool
) -> None:
    # Excel saves a password-protected .xlsx, and saved every .xls, as an OLE compound file.
    data = workbook_files.CFB_SIGNATURE + bytes(504)
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputFileError) as caught:
        open_table(path if as_path else data)
    message = str(caught.value)
    assert "an encrypted (password-protected) workbook or a legacy .xls file" in message
    assert "save it as .xlsx without a password, or as CSV" in message


def test_open_table_says_a_zip_that_is_no_workbook_is_not_one() -> None:
    with pytest.raises(InputFileError) as caught:
        open_table(workbook_files.plain_zip())
    message = str(caught.value)
    assert message.startswith("the supplier list is a zip archive that is not an .xlsx workbook")
    assert "[Content_Types].xml" in message
    assert "save the sheet from Excel as .xlsx or as CSV" in message


@pytest.mark.parametrize("name", ["list.xlsx", "list.XLSM"])
def test_open_table_reads_a_csv_named_like_a_workbook_as_csv(tmp_path: Path, name: str) -> None:
    # Told by content, as the README says: a renamed CSV is still a CSV.
    path = tmp_path / name
    path.write_bytes(b"supplier_id,material\r\nA,dy_oxide\r\n")
    table = open_table(path)
    assert table.format.kind == "csv"
    assert next(table.chunks()).iloc[0, :2].tolist() == ["A", "dy_oxide"]


DAMAGED_WORKBOOKS = {
    "sheet-cut-short": workbook_files.truncated_sheet,
    "text-in-a-number-cell": workbook_files.text_in_number_cell,
    "flipped-compressed-bytes": workbook_files.flipped_sheet_bytes,
}


@pytest.mark.parametrize("damage", list(DAMAGED_WORKBOOKS))
@pytest.mark.parametrize("as_path", [True, False], ids=["path", "bytes"])
def test_open_table_reports_a_damaged_workbook_as_unreadable(
    tmp_path: Path, damage: str, as_path: bool
) -> None:
    # openpyxl reads a sheet lazily: the damage shows while rows are read, not on opening.
    data = DAMAGED_WORKBOOKS[damage]()
    path = tmp_path / "list.xlsx"
    path.write_bytes(data)
    with pytest.raises(InputFileError, match=r"not a readable \.xlsx workbook: .+save") as caught:
        list(open_table(path if as_path else data).chunks())
    assert (str(path) in str(caught.value)) is as_path


def test_short_reason_is_one_readable_line() -> None:
    assert short_reason(KeyError("There is no item named 'x'")) == "There is no item named 'x'"
    assert short_reason(ValueError("bad\n  value")) == "bad value"
    assert short_reason(IndexError()) == "IndexError"
    assert len(short_reason(ValueError("x" * 1000))) == REASON_CHARS


def test_open_table_reports_a_workbook_without_a_worksheet() -> None:
    with pytest.raises(InputFileError, match="has no worksheet \\(only chart sheets\\)"):
        open_table(workbook_files.only_a_chartsheet())


def read_all(data: bytes) -> tuple[int, float]:
    """Return the rows read from a supplier list and the CPU seconds it took."""
    start = time.process_time()
    count = sum(len(chunk) for chunk in open_table(data).chunks())
    return count, time.process_time() - start


@pytest.mark.timeout(60)
@pytest.mark.parametrize("row", [6_000, 1_048_576])
def test_a_far_cell_in_a_workbook_costs_no_padding(row: int) -> None:
    # One cell in Excel's last column made openpyxl pad each row up to it to 16,384 cells:
    # 9 s for 6,000 rows from a 5 KB upload, half an hour down to Excel's last row.
    start = time.process_time()
    with pytest.raises(InputFileError, match=f"row {row:d} has 16384 cells"):
        read_all(workbook_files.far_cell(row))
    assert time.process_time() - start < 3


@pytest.mark.timeout(60)
def test_blank_formatted_cells_far_right_cost_no_padding() -> None:
    # A filled cell would stop the read at once; blank ones far right of every row must not
    # cost 16,384 cells a row either (they are not read).
    rows, seconds = read_all(workbook_files.blank_far_cells(20_000))
    assert rows == 1
    assert seconds < 3


@pytest.mark.timeout(60)
def test_a_forged_row_number_is_no_billion_gap_rows() -> None:
    rows, seconds = read_all(workbook_files.forged_row_number())
    assert rows == 1  # the row beyond Excel's last is not in any sheet Excel can hold
    assert seconds < 3


def test_a_workbook_that_unpacks_to_more_than_the_limit_is_refused() -> None:
    data = workbook_files.declaring(workbook_files.good_workbook(), workbook.MAX_UNPACKED_BYTES + 1)
    with pytest.raises(
        InputFileError, match=r"the workbook unpacks to 1\.0 GiB, more than the 1 GiB"
    ):
        open_table(data)


def test_the_header_of_a_workbook_must_be_in_its_first_rows() -> None:
    assert (
        open_table(workbook_files.header_below(workbook.HEADER_ROWS - 1)).format.header[0]
        == "supplier_id"
    )
    with pytest.raises(
        InputFileError, match=f"no header row in its first {workbook.HEADER_ROWS} rows"
    ):
        open_table(workbook_files.header_below(workbook.HEADER_ROWS))


def test_a_workbook_header_far_too_wide_is_refused() -> None:
    header: list[object] = ["supplier_id", *([None] * workbook.MAX_COLUMNS), "stray"]
    with pytest.raises(InputFileError, match=f"filled cell in column {workbook.MAX_COLUMNS + 2:,}"):
        open_table(workbook_files.workbook_bytes([header, ["A"]]))


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tlead", "'\tlead"),
        ("\rlead", "'\rlead"),
        ("-0.5", "-0.5"),
        ("-0,5", "-0,5"),
        ("+12", "+12"),
        ("-1e3", "-1e3"),
        ("plain", "plain"),
    ],
)
def test_neutralise_cell(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


def test_open_table_tells_a_workbook_by_its_content(tmp_path: Path) -> None:
    # An ERP download may be called .csv, .dat or nothing at all; as bytes (an upload) too.
    rows: list[list[object]] = [["supplier_id", "as_of", "stamp"]]
    rows.append(["A", dt.datetime(2026, 11, 22, 13, 45), dt.datetime(2026, 11, 22, 13, 45)])
    saved = write_workbook(tmp_path / "list.xlsx", rows)
    renamed = tmp_path / "export.csv"
    renamed.write_bytes(saved.read_bytes())
    for source in (saved, renamed, saved.read_bytes()):
        table = open_table(source)
        assert table.format.kind == "xlsx"
        # as_of is a date: a time of day on it is dropped; other cells keep theirs
        cells = next(table.chunks()).iloc[0, :3].tolist()
        assert cells == ["A", "2026-11-22", "2026-11-22T13:45:00"]
