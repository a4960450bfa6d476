"""Workbooks for the reading tests: a good one, and the damaged and hostile ones seen in use."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Sequence

from tests.conftest import BASE_RECORD

SHEET = "xl/worksheets/sheet1.xml"
HEADER = list(BASE_RECORD)
ROW = [str(v) for v in BASE_RECORD.values()]
CFB_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
"""How an OLE compound file starts: a legacy .xls, or an encrypted .xlsx."""


def workbook_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    """Return a workbook whose first sheet holds ``rows``, as openpyxl writes it."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def good_workbook() -> bytes:
    """Return a small valid supplier-list workbook (header and one row)."""
    return workbook_bytes([HEADER, ROW])


def rewritten(data: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """Return a zip with each member's bytes passed through ``change`` (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = change(info.filename, source.read(info.filename))
            if content is not None:
                target.writestr(info, content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def with_sheet(data: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """Return a workbook with its first sheet's XML changed."""
    return rewritten(data, lambda name, content: change(content) if name == SHEET else content)


def truncated_sheet() -> bytes:
    """Return a workbook whose sheet XML is cut short (ParseError)."""
    return with_sheet(good_workbook(), lambda xml: xml[:-40])


def text_in_number_cell() -> bytes:
    """Return a workbook with a number cell holding text (ValueError)."""
    cell = b'<row r="3"><c r="A3" t="n"><v>abc</v></c></row></sheetData>'
    return with_sheet(good_workbook(), lambda xml: xml.replace(b"</sheetData>", cell))


def flipped_sheet_bytes() -> bytes:
    """Return a workbook with bytes flipped inside the sheet's compressed data (zlib.error)."""
    # A big sheet: the flip lands in the deflate stream's blocks, not just in the CRC.
    rows: list[Sequence[object]] = [HEADER] + [[f"S-{i}", *ROW[1:-1], i] for i in range(300)]
    data = bytearray(workbook_bytes(rows))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(SHEET)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 100, start + 116):
        data[i] ^= 0x5A
    return bytes(data)


def only_a_chartsheet() -> bytes:
    """Return a workbook whose only sheet is a chart sheet."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([1])
    sheet.append([2])
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=1, min_row=1, max_row=2))
    book.create_chartsheet().add_chart(chart)
    book.remove(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def far_cell(row: int, column: int = 16_384) -> bytes:
    """Return a supplier list with one cell filled far down and right (Excel's last column)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(ROW)
    sheet.cell(row=row, column=column, value="x")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def plain_zip() -> bytes:
    """Return a zip archive that is not a workbook."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return out.getvalue()


def _dimension(xml: bytes, ref: bytes | None) -> bytes:
    """Return sheet XML with its declared dimension set to ``ref`` (None: removed)."""
    element = b"" if ref is None else b'<dimension ref="' + ref + b'"/>'
    return re.sub(rb"<dimension [^>]*/>", element, xml, count=1)


def blank_far_cells(rows: int) -> bytes:
    """Return a supplier list followed by ``rows`` rows of one blank formatted cell in XFD."""

    def widen(xml: bytes) -> bytes:
        cells = b"".join(b'<row r="%d"><c r="XFD%d" s="0"/></row>' % (i, i) for i in range(3, rows))
        xml = xml.replace(b"</sheetData>", cells + b"</sheetData>")
        return _dimension(xml, b"A1:XFD%d" % rows)  # as Excel declares such a sheet

    return with_sheet(good_workbook(), widen)


def forged_row_number() -> bytes:
    """Return a supplier list with a row numbered far beyond Excel's last, and no dimension."""
    row = b'<row r="2000000000"><c r="A2000000000" t="inlineStr"><is><t>x</t></is></c></row>'
    return with_sheet(
        good_workbook(),
        lambda xml: _dimension(xml.replace(b"</sheetData>", row + b"</sheetData>"), None),
    )


def declaring(data: bytes, size: int) -> bytes:
    """Return a zip whose first sheet's central-directory entry declares ``size`` bytes unpacked.

    What a zip bomb's directory says; the data itself is not changed.
    """
    out = bytearray(data)
    end = data.rindex(b"PK\x05\x06")
    entry = int.from_bytes(data[end + 16 : end + 20], "little")  # where the directory starts
    while data[entry : entry + 4] == b"PK\x01\x02":
        lengths = [int.from_bytes(data[entry + i : entry + i + 2], "little") for i in (28, 30, 32)]
        if data[entry + 46 : entry + 46 + lengths[0]] == SHEET.encode():
            out[entry + 24 : entry + 28] = size.to_bytes(4, "little")
            return bytes(out)
        entry += 46 + sum(lengths)
    raise AssertionError(f"{SHEET} is not in the archive")


def header_below(blank_rows: int) -> bytes:
    """Return a supplier list whose header comes after ``blank_rows`` empty rows."""
    return workbook_bytes([*([[None]] * blank_rows), HEADER, ROW])
