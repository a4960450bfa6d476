"""Read a labelled supplier history (CONTRACT.md section 2) into validated, coded columns."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from supplier_risk.errors import InputFileError
from supplier_risk.features import RecordColumns
from supplier_risk.record import RECORD_FIELDS, REQUIRED_FIELDS
from supplier_risk.reference import Reference
from supplier_risk.validation import check_header, validate_frame

LABEL = "disrupted"


@dataclass(frozen=True)
class History:
    """Valid rows of a training file, their labels, and what was dropped and why."""

    columns: RecordColumns
    labels: NDArray[np.int64]
    data_sha256: str
    rows_read: int
    invalid_rows: list[tuple[int, str]]
    ignored_columns: list[str]


def read_history(path: Path, reference: Reference) -> History:
    """Read a training CSV; every invalid row is reported, never silently dropped."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read training file {path}: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise InputFileError(f"training file {path} is empty")
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skip_blank_lines=True
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(f"training file {path} is not a readable UTF-8 CSV: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    check_header(list(frame.columns), (*REQUIRED_FIELDS, "as_of", LABEL))
    ignored = [c for c in frame.columns if c not in RECORD_FIELDS and c != LABEL]
    if ignored:
        warnings.warn(
            f"training file {path}: ignoring column(s) {', '.join(ignored)}", stacklevel=2
        )
    validated = validate_frame(frame, reference, require_as_of=True)
    label_text = frame[LABEL].str.strip()
    label_ok = label_text.isin(["0", "1"]).to_numpy()
    errors = validated.errors.copy()
    bad_label = ~label_ok
    errors[bad_label] = np.where(
        errors[bad_label] == "",
        "disrupted: must be 0 or 1",
        errors[bad_label] + "; disrupted: must be 0 or 1",
    )
    keep = errors == ""
    invalid = [(int(i), str(errors[i])) for i in np.flatnonzero(~keep)]
    if not keep.any():
        raise InputFileError(
            f"training file {path} has no valid row; first error: row {invalid[0][0] + 1}: "
            f"{invalid[0][1]}"
        )
    labels = label_text[keep].astype(np.int64).to_numpy()
    return History(
        columns=validated.columns.take(np.flatnonzero(keep)),
        labels=labels,
        data_sha256=hashlib.sha256(raw).hexdigest(),
        rows_read=len(frame),
        invalid_rows=invalid,
        ignored_columns=ignored,
    )
