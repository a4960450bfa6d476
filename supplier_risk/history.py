"""Read a labelled supplier history (CONTRACT.md section 2) into validated, coded columns.

The file is read as `supplier-risk score` reads a supplier list (:func:`open_table`): the same
encodings, delimiters, header matching, repeated-column check and rules for rows with cells
beyond the header, so a file one command reads the other reads the same way.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from supplier_risk.errors import InputFileError
from supplier_risk.features import RecordColumns
from supplier_risk.record import RECORD_FIELDS, REQUIRED_FIELDS
from supplier_risk.reference import Reference
from supplier_risk.summary import row_number
from supplier_risk.tables import (
    all_rows,
    mark_extra_cells,
    normalise_header,
    open_table,
    record_cells,
)
from supplier_risk.validation import (
    check_header,
    enum_errors,
    joined_messages,
    validate_frame,
)

LABEL = "disrupted"
LABEL_VALUES = ("0", "1")

ObjArray = NDArray[np.object_]


@dataclass(frozen=True)
class History:
    """Valid rows of a training file, their labels, and what was dropped and why."""

    columns: RecordColumns
    labels: NDArray[np.int64]
    data_sha256: str
    rows_read: int
    invalid_rows: list[tuple[int, str]]
    """(0-based data row, its errors); :func:`row_number` gives the spreadsheet row"""
    ignored_columns: list[str]


class ReadNote(UserWarning):
    """How a training file was read (its encoding, delimiter, or sheet): news, not a problem."""


def read_history(path: Path, reference: Reference) -> History:
    """Read a training CSV; every invalid row is reported, never silently dropped."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read training file {path}: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise InputFileError(f"training file {path} is empty")
    try:
        table = open_table(path)
        frame = all_rows(table)
    except InputFileError as exc:
        raise InputFileError(f"training file {path}: {exc}") from exc
    fmt = table.format
    check_header([normalise_header(h) for h in fmt.header], (*REQUIRED_FIELDS, "as_of", LABEL))
    positions = fmt.positions()
    ignored = [
        name or f"(column {i + 1}, no name)"
        for name, i in positions.items()
        if name not in RECORD_FIELDS and name != LABEL
    ]
    for note in fmt.notes:
        warnings.warn(f"training file {path}: {note}", ReadNote, stacklevel=2)
    if ignored:
        warnings.warn(
            f"training file {path}: ignoring column(s) {', '.join(ignored)}", stacklevel=2
        )
    if frame.empty:
        raise InputFileError(f"training file {path} has a header but no data rows")
    fields = {f: positions[f] for f in (*RECORD_FIELDS, LABEL) if f in positions}
    cells = record_cells(frame, fields, fmt.delimiter)
    validated = validate_frame(cells, reference, require_as_of=True)
    label_text = cells[LABEL].str.strip()
    errors = joined_messages(validated.errors, enum_errors(label_text, LABEL, LABEL_VALUES))
    mark_extra_cells(frame, fmt, errors)
    keep = errors == ""
    invalid = [(int(i), str(errors[i])) for i in np.flatnonzero(~keep)]
    if not keep.any():
        raise InputFileError(
            f"training file {path} has no valid row; first error: "
            f"row {row_number(invalid[0][0])}: {invalid[0][1]}"
        )
    return History(
        columns=validated.columns.take(np.flatnonzero(keep)),
        labels=label_text[keep].astype(np.int64).to_numpy(),
        data_sha256=hashlib.sha256(raw).hexdigest(),
        rows_read=len(frame),
        invalid_rows=invalid,
        ignored_columns=ignored,
    )
