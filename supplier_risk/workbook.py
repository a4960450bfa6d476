"""Read the first sheet of an .xlsx workbook as a supplier list (openpyxl, read-only, streamed).

Analysts keep supplier lists in Excel; reading the workbook saves them an export step and
the encoding and delimiter guesses that come with it. Cells become the text a CSV export would
hold: integers without '.0', dates as YYYY-MM-DD, booleans as TRUE/FALSE. Output stays CSV.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Generator, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import IO, Any

import pandas as pd

from supplier_risk.errors import InputFileError
from supplier_risk.tables import CHUNK_ROWS, SLACK_COLUMNS, TableFormat, normalise_header

REASON_CHARS = 200
"""How much of a parser's message an error quotes: enough to locate the damage."""


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


class WorkbookReader:
    """The first worksheet of a workbook, read row by row in chunks."""

    def __init__(self, source: Path | bytes, chunk_rows: int = CHUNK_ROWS) -> None:
        self.source = source
        self.path = str(source) if isinstance(source, Path) else "the workbook"
        """how messages name the workbook"""
        self.chunk_rows = chunk_rows
        self._done = 0
        header: list[str] = []
        with closing(self._rows()) as sheet:
            for row in sheet:
                if any(c != "" for c in row):
                    header = row
                    break
        while header and header[-1] == "":
            header.pop()
        if not header:
            raise InputFileError(f"{self.path}: the first sheet has no header row")
        self.format = TableFormat(
            "xlsx", ",", tuple(header), ("read the first sheet of a workbook",), kind="xlsx"
        )
        # An ERP export may stamp as_of with a time of day: the date is what is meant.
        self._date_columns = frozenset(
            i for i, name in enumerate(header) if normalise_header(name) == "as_of"
        )
        self.size = 0

    def _rows(self, date_columns: frozenset[int] = frozenset()) -> Generator[list[str], None, None]:
        """Yield the first worksheet's rows as the cells' text."""
        with ExitStack() as stack:
            rows = self._sheet_values(stack)
            while True:
                with self._parsing():
                    values = next(rows, None)
                if values is None:
                    return
                yield [cell_text(v, i in date_columns) for i, v in enumerate(values)]

    def _sheet_values(self, stack: ExitStack) -> Iterator[Sequence[Any]]:
        """Open the workbook (closed with ``stack``) and return its first sheet's rows of values."""
        from openpyxl import load_workbook

        with self._parsing():
            book = load_workbook(self._handle(stack), read_only=True, data_only=True)
        stack.callback(book.close)
        with self._parsing():
            sheets = book.worksheets
            if not sheets:
                raise InputFileError(
                    f"{self.path} has no worksheet (only chart sheets): put the supplier list "
                    "on the first worksheet"
                )
            rows: Iterator[Sequence[Any]] = iter(sheets[0].iter_rows(values_only=True))
        return rows

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
        # Closed on any exit: an error raised here must not leave the workbook file open.
        with closing(self._rows(self._date_columns)) as sheet:
            rows = enumerate(sheet, start=1)  # read-only sheets yield gap rows: sheet rows
            for _, row in rows:
                if any(c != "" for c in row):
                    break  # the header
            block: list[list[str]] = []
            for number, row in rows:
                cells = self._fitted(row, number, len(names))
                if not any(c != "" for c in cells):
                    continue
                block.append(cells)
                if len(block) == self.chunk_rows:
                    yield self._frame(block, names)
                    block = []
            if block:
                yield self._frame(block, names)

    def _fitted(self, row: list[str], number: int, size: int) -> list[str]:
        """Return a row's cells padded to ``size``; refuse a filled cell beyond it, as a CSV.

        The sheet pads every row to its widest one, so only cells up to the last filled one
        count, as a CSV row's would.
        """
        used = len(row)
        while used and row[used - 1] == "":
            used -= 1
        if used > size:
            width = len(self.format.header)
            raise InputFileError(
                f"{self.path}: row {number} has {used} cells but the header names {width}: "
                f"more than {SLACK_COLUMNS} cells beyond the header are not read, as in a CSV "
                "file (clear the cells right of the table, or give their columns a header)"
            )
        return row[:used] + [""] * (size - used)

    def _frame(self, block: list[list[str]], names: list[str]) -> pd.DataFrame:
        frame = pd.DataFrame(block, columns=names, dtype=object)
        self._done += len(block)
        return frame
