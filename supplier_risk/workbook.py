"""Read the first sheet of an .xlsx workbook as a supplier list (openpyxl, read-only, streamed).

Analysts keep supplier lists in Excel; reading the workbook saves them an export step and
the encoding and delimiter guesses that come with it. Cells become the text a CSV export would
hold: integers without '.0', dates as YYYY-MM-DD, booleans as TRUE/FALSE. Output stays CSV.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import IO, Any

import pandas as pd

from supplier_risk.errors import InputFileError
from supplier_risk.tables import CHUNK_ROWS, SLACK_COLUMNS, TableFormat, normalise_header

REASON_CHARS = 200
"""How much of a parser's message an error quotes: enough to locate the damage."""
GIB = 1 << 30
MAX_UNPACKED_BYTES = GIB
"""The most a workbook may unpack to, summed over its zip members as they declare.

A zip bomb of a few KB can unpack to many GB of XML for openpyxl to parse (minutes of CPU
per upload); a full Excel sheet of ordinary supplier rows unpacks to far less. zipfile stops
each member at its declared size, so the declared sum bounds what parsing can read.
"""
WORKBOOK_PARTS = frozenset({"[Content_Types].xml", "xl/workbook.xml"})
"""Members every .xlsx workbook has (Excel, LibreOffice, Google Sheets and openpyxl write both)."""
HEADER_ROWS = 100
"""The header must be among the sheet's first rows: blank rows above a table are few."""
MAX_COLUMNS = 1_000
"""The widest header read: every data row is padded to the header's width, so a stray cell
far right of the header (Excel allows 16,384 columns) would make each row that wide."""
EXCEL_ROWS = 1_048_576
"""Excel's last row. No workbook Excel wrote goes further, and stopping there keeps a forged
row number (r="2000000000") from making billions of blank gap rows."""


def short_reason(exc: BaseException) -> str:
    """Return an exception's text on one line, cut to a readable length (its type if blank)."""
    # A KeyError's str() is the repr of its key: the text inside is what it says.
    said = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    text = " ".join(str(said).split()) or type(exc).__name__
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 3] + "..."


def cell_text(value: Any, date_only: bool = False) -> str:
    """Return a workbook cell as the text of a CSV export (a date-time as its date if asked)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        whole_day = date_only or value.time() == dt.time()
        return value.date().isoformat() if whole_day else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _blank(values: Sequence[Any]) -> bool:
    """Return whether a row of cell values has no filled cell (counted in C, not per cell)."""
    return values.count(None) + values.count("") == len(values)


def _used(values: Sequence[Any]) -> int:
    """Return how many cells a row has up to its last filled one, as a CSV row would."""
    used = len(values)
    while used and values[used - 1] in (None, ""):
        used -= 1
    return used


def _row_cutter(limit: int) -> Callable[..., tuple[Any, ...]]:
    """Return a stand-in for openpyxl's read-only row builder that cuts rows at ``limit``.

    openpyxl (3.1) makes each row a tuple as wide as its last cell in the file, and its public
    max_col bound drops the cells beyond in silence. A row of a single blank formatted cell in
    column XFD would cost 16,384 slots (a 500 KB upload of such rows: minutes of CPU), while
    a filled cell beyond the table must still be seen, to refuse the file as a CSV reader
    does. So: cells up to ``limit``, or up to the last filled cell when one lies beyond (the
    reader stops at the first such row, so that cost is paid once).
    """

    def row_values(row: list[dict[str, Any]], *_: Any) -> tuple[Any, ...]:
        # openpyxl calls it as _get_row(row, min_col, max_col, values_only), here always with
        # min_col 1, no max_col and values_only: ``row`` is the file's cells, as dicts.
        width = 0
        for cell in row:
            column = cell["column"]
            if column > width and (column <= limit or cell["value"] not in (None, "")):
                width = column
        values: list[Any] = [None] * width
        for cell in row:
            if cell["column"] <= width:
                values[cell["column"] - 1] = cell["value"]
        return tuple(values)

    return row_values


class WorkbookReader:
    """The first worksheet of a workbook, read row by row in chunks.

    The work is bounded by what the file holds, never by what it declares: a sheet's stated
    size (its dimension, up to 16,384 columns by 1,048,576 rows) is not used to pad rows.
    """

    def __init__(self, source: Path | bytes, chunk_rows: int = CHUNK_ROWS) -> None:
        self.source = source
        self.path = str(source) if isinstance(source, Path) else "the workbook"
        """how messages name the workbook"""
        self.chunk_rows = chunk_rows
        self._done = 0
        self._header_row, header = self._header()
        self.format = TableFormat(
            "xlsx", ",", tuple(header), ("read the first sheet of a workbook",), kind="xlsx"
        )
        # An ERP export may stamp as_of with a time of day: the date is what is meant.
        self._date_columns = frozenset(
            i for i, name in enumerate(header) if normalise_header(name) == "as_of"
        )
        self.size = 0

    def _header(self) -> tuple[int, list[str]]:
        """Return the sheet row of the header (the first row with a filled cell) and its cells."""
        with closing(self._values(1, MAX_COLUMNS, HEADER_ROWS)) as sheet:
            for number, values in enumerate(sheet, start=1):
                if _blank(values):
                    continue
                used = _used(values)
                if used > MAX_COLUMNS:
                    raise InputFileError(
                        f"{self.path}: the header row (sheet row {number}) has a filled cell in "
                        f"column {used:,}; at most {MAX_COLUMNS:,} columns are read (clear the "
                        "cells right of the table)"
                    )
                return number, [cell_text(v) for v in values[:used]]
        raise InputFileError(
            f"{self.path}: the first sheet has no header row in its first {HEADER_ROWS} rows "
            "(put the column names in the first row of the sheet)"
        )

    def _values(
        self, min_row: int, limit: int, max_row: int = EXCEL_ROWS
    ) -> Generator[Sequence[Any], None, None]:
        """Yield the first worksheet's rows of cell values from ``min_row`` to ``max_row``.

        A row has at most ``limit`` cells, unless it has a filled cell beyond: then it runs to
        its last filled cell. A row missing from the file (a gap) comes as an empty one, so
        rows are sheet rows.
        """
        with ExitStack() as stack:
            rows = self._sheet_values(stack, min_row, max_row, limit)
            # The guard spans the yield, yet sees only openpyxl's errors: the consumer's own
            # (a row too long) are raised in its frame, and closing sends GeneratorExit, which
            # is no Exception. Once per sheet rather than per row: a sheet can have a million.
            with self._parsing():
                yield from rows

    def _sheet_values(
        self, stack: ExitStack, min_row: int, max_row: int, limit: int
    ) -> Iterator[Sequence[Any]]:
        """Open the workbook (closed with ``stack``) and return its first sheet's rows of values."""
        from openpyxl import load_workbook

        handle = self._handle(stack)
        self._check_archive(handle)
        with self._parsing():
            book = load_workbook(handle, read_only=True, data_only=True)
        stack.callback(book.close)
        with self._parsing():
            sheets = book.worksheets
            if not sheets:
                raise InputFileError(
                    f"{self.path} has no worksheet (only chart sheets): put the supplier list "
                    "on the first worksheet"
                )
            sheet = sheets[0]
            # The declared dimension would pad every row to the sheet's widest (a single cell
            # in column XFD makes each row 16,384 cells) and add rows up to the last declared.
            sheet.reset_dimensions()
            sheet._get_row = _row_cutter(limit)
            rows = sheet.iter_rows(min_row=min_row, max_row=max_row, values_only=True)
        stack.enter_context(closing(rows))
        return iter(rows)

    def _check_archive(self, handle: IO[bytes]) -> None:
        """Refuse what is no .xlsx workbook, or one unpacking to too much, before parsing it."""
        # Until the archive is seen to be a workbook, messages do not call it one.
        name = self.path if isinstance(self.source, Path) else "the supplier list"
        with self._parsing():
            try:
                with zipfile.ZipFile(handle) as archive:
                    members = archive.infolist()
            except zipfile.BadZipFile as exc:
                raise InputFileError(
                    f"{name} is neither a readable .xlsx workbook nor CSV: it starts like a zip "
                    f"archive (as an .xlsx does) but is not one ({short_reason(exc)}), perhaps "
                    "cut short; save it again as .xlsx or as CSV"
                ) from exc
            handle.seek(0)
        missing = WORKBOOK_PARTS.difference(member.filename for member in members)
        if missing:
            raise InputFileError(
                f"{name} is a zip archive that is not an .xlsx workbook (it has no "
                f"{' or '.join(sorted(missing))}: an .xlsb or .ods file, or another archive?); "
                "save the sheet from Excel as .xlsx or as CSV"
            )
        unpacked = sum(member.file_size for member in members)
        if unpacked > MAX_UNPACKED_BYTES:
            raise InputFileError(
                f"{self.path} unpacks to {unpacked / GIB:,.1f} GiB, more than the "
                f"{MAX_UNPACKED_BYTES / GIB:,.0f} GiB a workbook may (save the sheet as CSV, or "
                "split it into smaller workbooks)"
            )

    def _handle(self, stack: ExitStack) -> IO[bytes]:
        """Return the workbook as a binary file object, closed with ``stack``."""
        # A file object, not a name: openpyxl then reads the content whatever the suffix.
        if not isinstance(self.source, Path):
            return io.BytesIO(self.source)
        try:
            return stack.enter_context(self.source.open("rb"))
        except OSError as exc:
            raise InputFileError(f"cannot read {self.path}: {exc.strerror or exc}") from exc

    @contextmanager
    def _parsing(self) -> Iterator[None]:
        """Turn any failure of openpyxl on this file into an InputFileError saying so."""
        try:
            yield
        except (InputFileError, MemoryError):
            raise
        except Exception as exc:
            # Broad on purpose, and only around openpyxl's own calls: it parses untrusted zip
            # and XML data and lets through whatever its layers raise on a damaged file
            # (ParseError, ValueError, KeyError, IndexError, AttributeError, zlib.error,
            # BadZipFile, OverflowError, ...); no list of them is complete, and any one of
            # them escaping is a 500 or a traceback.
            raise InputFileError(
                f"{self.path} is not a readable .xlsx workbook: {short_reason(exc)} (open it "
                "in Excel and save it again as .xlsx, or save the sheet as CSV)"
            ) from exc

    def position(self) -> int:
        """Return the rows read so far (a workbook's size is not known in bytes)."""
        return self._done

    def chunks(self) -> Iterator[pd.DataFrame]:
        """Yield the data rows as frames of str cells, with slack columns as the CSV reader."""
        width = len(self.format.header)
        names = [f"c{i}" for i in range(width + SLACK_COLUMNS)]
        first = self._header_row + 1
        # Closed on any exit: an error raised here must not leave the workbook file open.
        with closing(self._values(first, len(names))) as sheet:
            block: list[list[str]] = []
            for number, values in enumerate(sheet, start=first):
                if _blank(values):
                    continue
                block.append(self._fitted(values, number, len(names)))
                if len(block) == self.chunk_rows:
                    yield self._frame(block, names)
                    block = []
            if block:
                yield self._frame(block, names)

    def _fitted(self, values: Sequence[Any], number: int, size: int) -> list[str]:
        """Return a row's cells as text padded to ``size``; refuse a filled cell beyond it."""
        if len(values) > size and not _blank(values[size:]):
            width = len(self.format.header)
            raise InputFileError(
                f"{self.path}: row {number} has {_used(values)} cells but the header names "
                f"{width}: more than {SLACK_COLUMNS} cells beyond the header are not read, as in "
                "a CSV file (clear the cells right of the table, or give their columns a header)"
            )
        dates = self._date_columns
        cells = [cell_text(v, i in dates) for i, v in enumerate(values[:size])]
        return cells + [""] * (size - len(cells))

    def _frame(self, block: list[list[str]], names: list[str]) -> pd.DataFrame:
        frame = pd.DataFrame(block, columns=names, dtype=object)
        self._done += len(block)
        return frame
