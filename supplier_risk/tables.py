"""Supplier-list files in and out: shared by `supplier-risk score` and POST /v1/score/csv.

Reading: the encoding (UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252), the
delimiter (comma, semicolon or tab, from the header line) and the header are settled first;
then the rows arrive as chunks of string cells, positionally, so that memory stays bounded and
extra columns pass through untouched. Writing: cells are made safe for spreadsheets (OWASP CSV
injection) and quoted where needed, a chunk at a time.

The streaming pair is :func:`open_table` and :func:`csv_text`; :func:`read_table`,
:func:`score_frame` and :func:`write_table` are the whole-file form kept for small inputs.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from supplier_risk.errors import InputFileError
from supplier_risk.scorer import Scorer
from supplier_risk.validation import joined_messages

OUTPUT_COLUMNS: tuple[str, ...] = ("probability", "risk_score", "band", "top_reasons", "error")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TOP_REASONS = 2
_FORMULA_BYTES = np.frombuffer("".join(FORMULA_STARTS).encode(), dtype=np.uint8)
DELIMITERS = (",", ";", "\t")
NUMBER_FIELDS = ("china_share", "inventory_buffer_days", "alternate_suppliers")
SLACK_COLUMNS = 8
"""Cells a row may have beyond the header's before the file counts as unreadable."""
CHUNK_ROWS = 50_000
"""Rows per chunk: large enough for NumPy to pay off, small enough to keep memory flat."""
ZIP_SIGNATURE = b"PK\x03\x04"
"""How an .xlsx file starts (it is a zip archive), whatever it is called."""
CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""How an OLE compound file starts: a legacy .xls, and an .xlsx saved with a password (Excel
encrypts it into one)."""
_SCAN_BLOCK = 1 << 24
_HEAD_BYTES = 1 << 16
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+\s*$")

Source = bytes | Path
"""A supplier list: its bytes (an upload) or a path (the CLI)."""
ObjArray = NDArray[np.object_]


NO_DATA_ROWS = "the supplier list has a header but no data rows: nothing to score"


def neutralise(cell: str) -> str:
    """Return a cell that a spreadsheet will not run as a formula (OWASP CSV injection).

    A plain number such as ``-0.5``, ``-0,5`` (decimal comma) or ``+3`` is left alone: it
    cannot call a function, and prefixing it would turn a numeric column (spend, margin) into
    text in Excel.
    """
    if cell.startswith(FORMULA_STARTS) and _PLAIN_NUMBER.fullmatch(cell) is None:
        return "'" + cell
    return cell


def normalise_header(name: str) -> str:
    """Return a header cell as it is matched: stripped of spaces (and a stray BOM), lower case."""
    return name.strip().lstrip("\ufeff").strip().lower()


@dataclass(frozen=True)
class TableFormat:
    """How a supplier list is written: encoding, delimiter and header cells (as given)."""

    encoding: str
    delimiter: str
    header: tuple[str, ...]
    notes: tuple[str, ...] = ()
    """what was guessed or fixed on reading, for the summary"""
    kind: Literal["csv", "xlsx"] = "csv"
    """the file it came from: a workbook has cells, so no delimiter can be misplaced"""

    def positions(self) -> dict[str, int]:
        """Return the first position of each normalised header name."""
        out: dict[str, int] = {}
        for i, name in enumerate(self.header):
            out.setdefault(normalise_header(name), i)
        return out

    def repeated(self) -> list[str]:
        """Return the normalised header names that occur more than once."""
        names = [normalise_header(h) for h in self.header]
        return sorted({n for n in names if names.count(n) > 1 and n})


def _open_binary(source: Source, stack: ExitStack) -> IO[bytes]:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    try:
        return stack.enter_context(source.open("rb"))
    except OSError as exc:
        raise InputFileError(f"cannot read {source}: {exc.strerror or exc}") from exc


def detect_encoding(source: Source) -> tuple[str, tuple[str, ...]]:
    """Return the encoding to read a supplier list with, and a note when it was a guess."""
    with ExitStack() as stack:
        handle = _open_binary(source, stack)
        head = handle.read(_HEAD_BYTES)
        if not head.strip():
            raise InputFileError(
                "the supplier list is empty (0 bytes or only blank space): nothing to score"
            )
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16", ("read as UTF-16 (byte-order mark found)",)
        if head.startswith(ZIP_SIGNATURE):  # open_table sends workbooks elsewhere: a stray zip
            raise InputFileError("the supplier list is a zip archive, not a CSV or a workbook")
        if head.startswith(CFB_SIGNATURE):
            raise InputFileError(
                "the supplier list is an encrypted (password-protected) workbook or a legacy "
                ".xls file, neither of which can be read: open it in Excel and save it as .xlsx "
                "without a password, or as CSV"
            )
        if b"\x00" in head:
            raise InputFileError(
                "the supplier list holds NUL bytes: it is a binary file or UTF-16 without a "
                "byte-order mark, not a CSV in UTF-8 or Windows-1252"
            )
        decoder = codecs.getincrementaldecoder("utf-8")()
        block = head
        try:
            while block:
                decoder.decode(block)
                block = handle.read(_SCAN_BLOCK)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            # Excel on Windows writes "CSV" in the ANSI code page; Windows-1252 decodes every
            # byte Latin text uses, and the 5 undefined bytes become U+FFFD (errors=replace).
            return "cp1252", ("not valid UTF-8: read as Windows-1252",)
    return "utf-8-sig", ()


def _first_record(text: str, delimiter: str) -> list[str]:
    """Return the first non-blank record of ``text`` ([] when there is none)."""
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if record:
                return record
    except csv.Error:
        return []
    return []


def detect_delimiter(head_text: str) -> str:
    """Return the delimiter that splits the header line into the most cells (comma on a tie)."""
    counts = [len(_first_record(head_text, d)) for d in DELIMITERS]
    return DELIMITERS[int(np.argmax(counts))]


class TableReader:
    """An open supplier list: its format, and its rows as chunks of string cells."""

    def __init__(self, source: Source, chunk_rows: int = CHUNK_ROWS) -> None:
        self.source = source
        self.chunk_rows = chunk_rows
        self._binary: IO[bytes] | None = None
        encoding, notes = detect_encoding(source)
        with ExitStack() as stack:
            text = self._text(stack, encoding)
            head = text.read(_HEAD_BYTES)
        delimiter = detect_delimiter(head)
        header = _first_record(head, delimiter)
        if not header or not any(h.strip() for h in header):
            raise InputFileError("the supplier list has no header row (the first line is blank)")
        self.size = len(source) if isinstance(source, bytes) else source.stat().st_size
        if delimiter == ";":
            notes = (*notes, "semicolon-delimited: decimal commas read in number columns")
        self.format = TableFormat(encoding, delimiter, tuple(header), notes)

    def position(self) -> int:
        """Return how many bytes of the file the parser has taken so far (for a progress bar)."""
        try:
            return self._binary.tell() if self._binary is not None else 0
        except (OSError, ValueError):
            return 0

    def _text(self, stack: ExitStack, encoding: str) -> io.TextIOWrapper:
        binary = _open_binary(self.source, stack)
        self._binary = binary
        return stack.enter_context(
            io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")
        )

    def chunks(self) -> Iterator[pd.DataFrame]:
        """Yield the data rows as frames of str cells, columns 0..k-1 then slack columns.

        Blank lines are skipped by the parser; a row with more cells than the header fills
        the slack columns (the caller reports it); a row with fewer is padded with ''.
        """
        width = len(self.format.header)
        names = [f"c{i}" for i in range(width + SLACK_COLUMNS)]
        with ExitStack() as stack:
            text = self._text(stack, self.format.encoding)
            try:
                for record in csv.reader(text, delimiter=self.format.delimiter):
                    if record:  # the header: blank lines before it are skipped, as pandas does
                        break
            except csv.Error as exc:
                raise InputFileError(f"the header row is not readable CSV: {exc}") from exc
            try:
                reader = pd.read_csv(
                    _FirstLineThen(_filler_line(len(names), self.format.delimiter), text),
                    sep=self.format.delimiter,
                    header=None,
                    names=names,
                    index_col=False,
                    dtype=str,
                    keep_default_na=False,
                    na_filter=False,
                    skip_blank_lines=True,
                    chunksize=self.chunk_rows,
                    engine="c",
                )
                first = reader.get_chunk(self.chunk_rows + 1).iloc[1:]  # without the filler
                if len(first):
                    yield first
                yield from reader
            except pd.errors.ParserError as exc:
                raise InputFileError(_parser_error_text(str(exc), width)) from exc


_TOO_MANY_CELLS = re.compile(r"Expected \d+ fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def _parser_error_text(message: str, width: int) -> str:
    """Return pandas' parser error in the file's own line numbers and plain words.

    The filler line stands in for the header, so pandas' 'line N' is the file's line N and its
    0-based 'row N' the file's line N + 1 (blank lines count in both).
    """
    prefix = "the supplier list is not readable CSV past this point: "
    if match := _TOO_MANY_CELLS.search(message):
        line, cells = int(match[1]), int(match[2])
        return (
            f"{prefix}line {line} has {cells} cells: more than {SLACK_COLUMNS} cells beyond the "
            f"header's {width} (an unquoted delimiter inside cells, or a shifted row?)"
        )
    if match := _OPEN_QUOTE.search(message):
        return f"{prefix}a quote opened on line {int(match[1]) + 1} is never closed"
    return (
        f"{prefix}{message.strip()} (a row has more than {SLACK_COLUMNS} cells beyond the "
        f"header's {width}, or a quote is not closed)"
    )


def _filler_line(cells: int, delimiter: str) -> str:
    """Return a line of exactly ``cells`` cells, the first one filled so it is never blank."""
    return "x" + delimiter * (cells - 1) + "\n"


class _FirstLineThen(io.TextIOBase):
    """A text stream with one line put in front of it.

    pandas sizes its rows by the first line it parses: a first data row longer than ``names``
    would become the index (every column shifted) or, with ``index_col=False``, be cut short
    in silence. A filler line of exactly ``names`` cells first makes any longer row a
    ParserError, wherever it is.
    """

    def __init__(self, first: str, rest: IO[str]) -> None:
        super().__init__()
        self._first = first
        self._rest = rest

    def _lead(self) -> str:
        first, self._first = self._first, ""
        return first

    def readable(self) -> bool:
        """Return True: this stream is read."""
        return True

    def read(self, size: int | None = -1, /) -> str:
        """Return the filler line on the first call, then the stream's text."""
        return self._lead() or self._rest.read(-1 if size is None else size)


class Table(Protocol):
    """A supplier list being read: its format, its rows in chunks, how far reading has got."""

    format: TableFormat
    size: int

    def chunks(self) -> Iterator[pd.DataFrame]:
        """Yield frames of str cells: columns 0..k-1 as the header, then slack columns."""
        ...

    def position(self) -> int:
        """Return how many of ``size`` units have been read."""
        ...


def open_table(source: Source, chunk_rows: int = CHUNK_ROWS) -> Table:
    """Open a supplier list: CSV, or an .xlsx workbook (bytes or a path; told by content).

    Raises InputFileError when nothing is readable.
    """
    if _is_workbook(source):
        from supplier_risk.workbook import WorkbookReader

        return WorkbookReader(source, chunk_rows)
    return TableReader(source, chunk_rows)


def _is_workbook(source: Source) -> bool:
    """Return whether a supplier list is a workbook: by its zip signature, whatever its name."""
    # Not by suffix: a CSV saved as list.xlsx is common, and is read as the CSV it is.
    if isinstance(source, bytes):
        return source.startswith(ZIP_SIGNATURE)
    try:
        with source.open("rb") as handle:
            return handle.read(len(ZIP_SIGNATURE)) == ZIP_SIGNATURE
    except OSError:
        return False  # the CSV reader says what is wrong with the path


def decimal_commas(values: pd.Series) -> pd.Series:
    """Return number cells with a decimal comma ('12,5') written with a point ('12.5')."""
    text = values.astype(str)
    hit = text.str.contains(",", regex=False)
    if not hit.any():
        return text
    fixed = text.where(~hit, text.str.replace(",", ".", regex=False))
    return text.where(~(hit & text.str.match(_DECIMAL_COMMA)), fixed)


def record_cells(chunk: pd.DataFrame, fields: dict[str, int], delimiter: str) -> pd.DataFrame:
    """Return the named columns of a chunk (name -> position), decimal commas read in numbers.

    Only a semicolon file can hold a decimal comma: in a comma file it would split the cell.
    """
    cells = {f: chunk.iloc[:, p].astype(str) for f, p in fields.items()}
    if delimiter == ";":
        for f in NUMBER_FIELDS:
            if f in cells:
                cells[f] = decimal_commas(cells[f])
    return pd.DataFrame(cells)


def extra_cell_counts(chunk: pd.DataFrame, width: int) -> NDArray[np.int64]:
    """Return per row how many cells it has beyond the header's ``width``, up to its last filled."""
    if chunk.shape[1] <= width:
        return np.zeros(len(chunk), dtype=np.int64)
    filled = (chunk.iloc[:, width:].astype(str) != "").to_numpy()
    last = filled.shape[1] - np.argmax(filled[:, ::-1], axis=1)
    return np.where(filled.any(axis=1), last, 0).astype(np.int64)


def mark_extra_cells(chunk: pd.DataFrame, fmt: TableFormat, errors: ObjArray) -> NDArray[np.bool_]:
    """Add a row error to each row with filled cells beyond the header (they are not kept).

    Returns which rows got one.
    """
    width = len(fmt.header)
    extra = extra_cell_counts(chunk, width)
    # A CSV row grows when a cell holds an unquoted delimiter; a workbook's cells cannot.
    hint = " (an unquoted delimiter inside a cell?)" if fmt.kind == "csv" else ""
    flagged: NDArray[np.bool_] = extra > 0
    if flagged.any():
        messages = np.array(
            [
                f"row: has {width + cells} cells but the header names {width}, and the "
                f"extra cells are not in the output{hint}"
                for cells in extra[flagged].tolist()
            ],
            dtype=object,
        )
        errors[flagged] = joined_messages(errors[flagged], messages)
    return flagged


def safe_cell(cell: str, delimiter: str) -> str:
    """Return a cell neutralised for spreadsheets and quoted for CSV where needed."""
    cell = neutralise(cell)
    if delimiter in cell or '"' in cell or "\n" in cell or "\r" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def safe_column(values: ObjArray, delimiter: str) -> ObjArray:
    """Return a column of str cells neutralised and quoted for CSV, touching only what needs it."""
    if values.size == 0:
        return values
    joined = "\x00".join(values.tolist())
    # The first byte of every cell, read off the joined text: cheaper than slicing each cell.
    raw = np.frombuffer(joined.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    starts = np.flatnonzero(raw == 0) + 1
    firsts = raw[starts[starts < raw.size]]
    risky = bool(np.isin(firsts, _FORMULA_BYTES).any()) or joined.startswith(FORMULA_STARTS)
    quoting = any(ch in joined for ch in (delimiter, '"', "\n", "\r"))
    if not risky and not quoting:
        return values
    codes, uniques = pd.factorize(values)
    safe = np.array([safe_cell(str(u), delimiter) for u in uniques], dtype=object)
    return np.asarray(safe[codes], dtype=object)


def csv_text(columns: list[ObjArray], delimiter: str, safe: list[bool] | None = None) -> str:
    """Return rows of str cells (column arrays of equal length) as CSV lines ending in CRLF.

    ``safe[i]`` False marks a column known to need neither quoting nor neutralising (our own
    numbers and band labels), which skips the check.
    """
    if not columns:
        return ""
    n = columns[0].shape[0]
    if n == 0:
        return ""
    cells = np.empty((n, 2 * len(columns)), dtype=object)
    for i, column in enumerate(columns):
        check = True if safe is None else safe[i]
        cells[:, 2 * i] = safe_column(column, delimiter) if check else column
    cells[:, 1::2] = delimiter
    cells[:, -1] = "\r\n"
    return "".join(cells.ravel().tolist())


# --- the whole-file form, kept for callers that hold a small list in memory -----------------


@dataclass
class TableSummary:
    """What a scoring run did: rows, bands and errors."""

    rows: int = 0
    scored: int = 0
    invalid: int = 0
    bands: dict[str, int] = field(default_factory=dict)


def all_rows(table: Table) -> pd.DataFrame:
    """Return every data row of a table as one frame of str cells (header columns, slack)."""
    parts = list(table.chunks())
    if parts:
        return pd.concat(parts, ignore_index=True)
    width = len(table.format.header) + SLACK_COLUMNS
    return pd.DataFrame({f"c{i}": pd.Series([], dtype=object) for i in range(width)})


def read_table(data: bytes) -> pd.DataFrame:
    """Read a supplier list's bytes into str cells ('' for blank); columns as the header says.

    Column labels are the header cells as given (so extra columns pass through untouched);
    :func:`score_frame` matches them case-insensitively, ignoring surrounding spaces. The whole
    list is held in memory: for large files use :func:`open_table` and
    :func:`supplier_risk.batch.score_csv`.
    """
    reader = open_table(data)
    width = len(reader.format.header)
    frame = all_rows(reader)
    extra = extra_cell_counts(frame, width)
    table = frame.iloc[:, :width].copy()
    table.columns = pd.Index(list(reader.format.header))
    table.attrs["delimiter"] = reader.format.delimiter
    table.attrs["encoding"] = reader.format.encoding
    if extra.any():
        table.attrs["extra_cells"] = extra
    return table


def score_frame(
    frame: pd.DataFrame, scorer: Scorer, today: dt.date, scenario: str | None = None
) -> tuple[pd.DataFrame, TableSummary]:
    """Return the frame with the output columns appended, and a summary; rows keep their order.

    The same code as the streaming path (:class:`supplier_risk.batch.BatchRun`), on one chunk.
    """
    from supplier_risk.batch import BatchRun

    header = tuple(str(c) for c in frame.columns)
    fmt = TableFormat(
        str(frame.attrs.get("encoding", "utf-8")), str(frame.attrs.get("delimiter", ",")), header
    )
    run = BatchRun(scorer, fmt, today, scenario)
    positional = frame.copy()
    positional.columns = pd.Index([f"c{i}" for i in range(len(header))])
    extra = frame.attrs.get("extra_cells")
    if extra is not None:
        for j in range(int(np.max(extra))):
            positional[f"s{j}"] = np.where(np.asarray(extra) > j, "?", "")
    out = run.score_chunk(positional)
    table = pd.DataFrame(dict(enumerate(out)), index=pd.RangeIndex(len(out[0])))
    table.columns = pd.Index(list(run.output_header))
    table.attrs["delimiter"] = fmt.delimiter
    totals = run.summary
    bands = dict(zip(totals.band_labels, totals.band_count.tolist(), strict=True))
    summary = TableSummary(
        rows=totals.rows, scored=totals.scored, invalid=totals.invalid, bands=bands
    )
    return table, summary


def write_table(frame: pd.DataFrame, delimiter: str | None = None) -> Iterator[str]:
    """Yield the frame as CSV text (header first), every cell made safe for spreadsheets.

    The delimiter defaults to the input's (kept by :func:`score_frame`), as the CLI writes.
    """
    if delimiter is None:
        delimiter = str(frame.attrs.get("delimiter", ","))
    yield csv_text([np.asarray([str(c)], dtype=object) for c in frame.columns], delimiter)
    for start in range(0, len(frame), CHUNK_ROWS):
        part = frame.iloc[start : start + CHUNK_ROWS]
        yield csv_text(
            [part.iloc[:, i].astype(str).to_numpy(dtype=object) for i in range(part.shape[1])],
            delimiter,
        )
