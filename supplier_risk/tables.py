"""Supplier-list files in and out: shared by `supplier-risk score` and POST /v1/score/csv."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from supplier_risk.errors import InputFileError
from supplier_risk.scorer import Scorer
from supplier_risk.validation import check_header, validate_frame

OUTPUT_COLUMNS: tuple[str, ...] = ("probability", "risk_score", "band", "top_reasons", "error")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TOP_REASONS = 2


@dataclass
class TableSummary:
    """What a scoring run did: rows, bands and errors."""

    rows: int = 0
    scored: int = 0
    invalid: int = 0
    bands: dict[str, int] = field(default_factory=dict)


def neutralise(cell: str) -> str:
    """Return a cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def read_table(data: bytes) -> pd.DataFrame:
    """Read a supplier list's bytes into string cells ('' for blank), headers normalised."""
    if not data.strip():
        raise InputFileError("the supplier list is empty (0 bytes or only blank space)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            sep=delimiter,
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(f"the supplier list is not a readable CSV: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame


def score_frame(
    frame: pd.DataFrame, scorer: Scorer, today: dt.date, scenario: str | None = None
) -> tuple[pd.DataFrame, TableSummary]:
    """Return the frame with the output columns appended, and a summary; rows keep their order."""
    check_header(list(frame.columns))
    validated = validate_frame(frame, scorer.reference)
    valid = validated.valid
    rows = np.flatnonzero(valid)
    n = len(frame)
    probability = np.full(n, np.nan)
    risk = np.full(n, "", dtype=object)
    band = np.full(n, "", dtype=object)
    reasons = np.full(n, "", dtype=object)
    summary = TableSummary(rows=n, scored=int(rows.size), invalid=int(n - rows.size))
    if rows.size:
        scored = scorer.score_columns(validated.columns.take(rows), today, scenario)
        results = scorer.results(scored, today, reasons=True, recourse=False)
        probability[rows] = scored.scores.probability
        risk[rows] = [str(r["risk_score"]) for r in results]
        labels = np.asarray(scorer.model.band_labels, dtype=object)[scored.scores.band]
        band[rows] = labels
        reasons[rows] = ["; ".join(r["reasons"][:TOP_REASONS]) for r in results]
        for label in scorer.model.band_labels:
            summary.bands[label] = int((labels == label).sum())
    out = frame.copy()
    for column in OUTPUT_COLUMNS:
        if column in out.columns:
            out = out.drop(columns=column)
    out["probability"] = [f"{p:.6f}" if not np.isnan(p) else "" for p in probability]
    out["risk_score"] = risk
    out["band"] = band
    out["top_reasons"] = reasons
    out["error"] = validated.errors
    return out, summary


def write_table(frame: pd.DataFrame) -> Iterator[str]:
    """Yield the frame as CSV text, every cell neutralised for spreadsheets."""
    safe = frame.map(lambda v: neutralise(str(v)))
    yield safe.to_csv(index=False, lineterminator="\r\n")
