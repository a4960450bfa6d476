"""Batch rescoring of a supplier list, chunk by chunk: the one path of the CLI and the CSV endpoint.

A :class:`BatchRun` turns each chunk of string cells into output cells: the input row as
given, then ``probability``, ``risk_score``, ``band``, ``top_reasons`` and ``error`` (and the
comparison columns with a previous run). Rows keep their order and every row comes out, a bad
one with its error; memory holds one chunk plus per-row hashes of the supplier_ids (8 bytes a
row, to report repeated ids at the end).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from supplier_risk.batch_reasons import joined_reasons
from supplier_risk.compare import COMPARE_COLUMNS, Comparison, PreviousRun
from supplier_risk.errors import InputFileError
from supplier_risk.record import RECORD_FIELDS
from supplier_risk.scorer import Scorer
from supplier_risk.summary import Totals, row_number
from supplier_risk.tables import (
    OUTPUT_COLUMNS,
    TOP_REASONS,
    Table,
    TableFormat,
    csv_text,
    decimal_commas,
    mark_extra_cells,
    normalise_header,
    record_cells,
    safe_cell,
)
from supplier_risk.validation import check_header, validate_frame

EXCEL_BOM = "\ufeff"
LISTED_DUPLICATES = 50

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ObjArray = NDArray[np.object_]
BoolArray = NDArray[np.bool_]


def _probability_text(p: FloatArray) -> ObjArray:
    return np.asarray([f"{v:.6f}" for v in p.tolist()], dtype=object)


_RISK_TEXT = np.asarray([str(i) for i in range(101)], dtype=object)


@dataclass(frozen=True)
class Duplicate:
    """A supplier_id that occurs on more than one row."""

    supplier_id: str
    rows: tuple[int, ...]
    """spreadsheet row numbers (header = 1)"""


class BatchRun:
    """Scores a supplier list chunk by chunk and keeps the totals for the summary."""

    def __init__(
        self,
        scorer: Scorer,
        table: TableFormat,
        today: dt.date,
        scenario: str | None = None,
        *,
        weight_column: str | None = None,
        previous: PreviousRun | None = None,
    ) -> None:
        self.scorer = scorer
        self.table = table
        self.today = today
        self.scenario = scenario
        scorer.reference_for(scenario)  # an unknown scenario fails here, before any output
        positions = table.positions()
        check_header([normalise_header(h) for h in table.header])
        self.fields = {f: positions[f] for f in RECORD_FIELDS if f in positions}
        self.weight_at: int | None = None
        if weight_column is not None:
            key = normalise_header(weight_column)
            if key not in positions:
                raise InputFileError(
                    f"--weight {weight_column!r}: no such column; the file has: "
                    f"{', '.join(table.header[:30])}"
                )
            self.weight_at = positions[key]
        appended = OUTPUT_COLUMNS + (COMPARE_COLUMNS if previous is not None else ())
        self.passthrough = [
            i for i, h in enumerate(table.header) if normalise_header(h) not in appended
        ]
        self.output_header: tuple[str, ...] = (
            *(table.header[i] for i in self.passthrough),
            *appended,
        )
        # Our probability, risk_score and band cells never need quoting or neutralising, and
        # top_reasons cells are made safe as they are built.
        ours = range(len(self.passthrough), len(self.passthrough) + 4)
        self._check = [i not in ours for i in range(len(self.output_header))]
        self.warnings: list[str] = list(table.notes)
        dropped = [table.header[i] for i in range(len(table.header)) if i not in self.passthrough]
        if dropped:
            self.warnings.append(
                f"input column(s) {', '.join(dropped)} replaced by this run's own output columns"
            )
        others = [n for n in table.repeated() if n not in RECORD_FIELDS]
        if others:
            self.warnings.append(f"header name(s) repeated (passed through): {', '.join(others)}")
        model = scorer.model
        self.summary = Totals(
            band_labels=model.band_labels,
            materials=tuple(scorer.reference.materials),
            weighted=weight_column is not None,
        )
        self.comparison = (
            Comparison(previous, model.band_labels, model.term_names)
            if previous is not None
            else None
        )
        self._hashes: list[NDArray[np.uint64]] = []
        self._row = 0

    def _safe_cell(self, cell: str) -> str:
        return safe_cell(cell, self.table.delimiter)

    def header_text(self, bom: bool = False) -> str:
        """Return the output header line (with a BOM for Excel when asked)."""
        cells = [np.asarray([h], dtype=object) for h in self.output_header]
        return (EXCEL_BOM if bom else "") + csv_text(cells, self.table.delimiter)

    def chunk_text(self, chunk: pd.DataFrame) -> str:
        """Return the output CSV lines of one chunk of input cells."""
        return csv_text(self.score_chunk(chunk, for_csv=True), self.table.delimiter, self._check)

    def score_chunk(self, chunk: pd.DataFrame, *, for_csv: bool = False) -> list[ObjArray]:
        """Return the output columns (str cells) of one chunk, in ``output_header`` order.

        With ``for_csv`` the top_reasons cells come already quoted and neutralised for CSV
        (each distinct combination once), as :meth:`chunk_text` expects.
        """
        width = len(self.table.header)
        chunk = self._drop_blank(chunk, width)
        n = len(chunk)
        first_row = self._row
        self._row += n
        frame = record_cells(chunk, self.fields, self.table.delimiter)
        validated = validate_frame(frame, self.scorer.reference)
        errors = validated.errors.copy()
        fields = {**validated.fields, "row": mark_extra_cells(chunk, self.table, errors)}
        ids = frame["supplier_id"].to_numpy(dtype=object)
        self._hashes.append(pd.util.hash_array(ids))

        valid = np.asarray(errors == "", dtype=bool)
        rows = np.flatnonzero(valid)
        probability = np.full(n, "", dtype=object)
        risk = np.full(n, "", dtype=object)
        band = np.full(n, "", dtype=object)
        reasons = np.full(n, "", dtype=object)
        totals = self.summary
        totals.rows += n
        totals.scored += int(rows.size)
        totals.invalid += int(n - rows.size)
        bad = np.flatnonzero(~valid)
        if bad.size:
            by_field = {name: rows_of[bad] for name, rows_of in fields.items()}
            totals.add_errors(first_row + bad, ids[bad], errors[bad], by_field)
        compare: list[ObjArray] = []
        if rows.size:
            scored = self.scorer.score_columns(
                validated.columns.take(rows), self.today, self.scenario
            )
            p = scored.scores.probability
            band_code = scored.scores.band
            labels = np.asarray(self.scorer.model.band_labels, dtype=object)
            probability[rows] = _probability_text(p)
            risk[rows] = _RISK_TEXT[np.rint(100.0 * p).astype(np.int64)]
            band[rows] = labels[band_code]
            plain, safe = joined_reasons(self.scorer, scored, TOP_REASONS, self._safe_cell)
            reasons[rows] = safe if for_csv else plain
            weight = self._weights(chunk, rows)
            origin = scored.columns.origin_country
            material = scored.columns.material
            totals.add_scored(material, origin, band_code, p, weight)
            totals.add_policy_notes(scored.features.policy_note)
            materials = totals.materials
            totals.top_risks.offer(
                p,
                first_row + rows,
                lambda i: {
                    "row": row_number(first_row + int(rows[i])),
                    "supplier_id": str(ids[rows[i]]),
                    "probability": round(float(p[i]), 6),
                    "band": str(labels[band_code[i]]),
                    "material": materials[int(material[i])],
                    "origin_country": str(origin[i]),
                    "top_reasons": str(plain[i]),
                },
            )
            if self.comparison is not None:
                compare = self.comparison.columns(
                    first_row,
                    ids,
                    rows,
                    p,
                    band_code,
                    scored.scores.contributions,
                    scored.scores.logit,
                )
        elif self.comparison is not None:
            empty = np.empty(0)
            compare = self.comparison.columns(
                first_row,
                ids,
                rows,
                empty,
                np.empty(0, np.int64),
                np.empty((0, len(self.scorer.model.term_names))),
                empty,
            )
        passthrough = [chunk.iloc[:, i].to_numpy(dtype=object) for i in self.passthrough]
        return [*passthrough, probability, risk, band, reasons, errors, *compare]

    def _drop_blank(self, chunk: pd.DataFrame, width: int) -> pd.DataFrame:
        """Drop rows whose cells are all blank (Excel's trailing ',,,,' lines) and count them."""
        first = chunk.iloc[:, self.fields["supplier_id"]].to_numpy(dtype=object)
        # A blank id is cheap to find; only those rows are checked cell by cell. (An id of
        # spaces is an id: SupplierRecord accepts it, so its row is kept.)
        maybe = np.flatnonzero(first == "")
        if maybe.size == 0:
            return chunk
        sub = chunk.iloc[maybe]
        blank = np.ones(maybe.size, dtype=bool)
        for i in range(sub.shape[1]):
            blank &= (sub.iloc[:, i].astype(str).str.strip() == "").to_numpy()
        if not blank.any():
            return chunk
        self.summary.blank_rows += int(blank.sum())
        keep = np.ones(len(chunk), dtype=bool)
        keep[maybe[blank]] = False
        return chunk.iloc[np.flatnonzero(keep)]

    def _weights(self, chunk: pd.DataFrame, rows: IntArray) -> FloatArray:
        """Return the weight of each scored row: the --weight column, or 1.0 each."""
        if self.weight_at is None:
            return np.ones(rows.size)
        text = chunk.iloc[rows, self.weight_at].astype(str)
        if self.table.delimiter == ";":
            text = decimal_commas(text)
        number = np.array(
            pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        )
        retry = np.flatnonzero(np.isnan(number))
        if retry.size:  # ' 1200 ' and the like: strip only where needed, it is slow
            again = pd.to_numeric(text.iloc[retry].str.strip(), errors="coerce")
            number[retry] = again.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(number) | (number < 0)
        self.summary.weight_missing += int(bad.sum())
        return np.where(bad, 0.0, number)

    def duplicate_groups(self) -> list[IntArray]:
        """Return row groups (0-based) that share a supplier_id hash, first rows first."""
        if not self._hashes:
            return []
        hashes = np.concatenate(self._hashes)
        order = np.argsort(hashes, kind="stable")
        ranked = hashes[order]
        same = ranked[1:] == ranked[:-1]
        if not same.any():
            return []
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        ends = np.append(starts[1:], ranked.size)
        groups = [order[s:e] for s, e in zip(starts, ends, strict=True) if e - s > 1]
        groups.sort(key=lambda g: int(g[0]))
        return groups

    def duplicates(self, reader: Table | None) -> list[Duplicate]:
        """Return repeated supplier_ids; with the reader, names them by reading the ids again.

        Rows share a hash when they share an id (a 64-bit hash: a false pair is about one in
        10^5 for ten million rows); re-reading checks the ids themselves.
        """
        groups = self.duplicate_groups()[:LISTED_DUPLICATES]
        if not groups or reader is None:
            return []
        wanted = np.sort(np.concatenate(groups))
        found: dict[int, str] = {}
        at = self.fields["supplier_id"]
        width = len(self.table.header)
        seen = 0
        for chunk in reader.chunks():
            chunk = self._drop_blank_quiet(chunk, width)
            n = len(chunk)
            local = wanted[(wanted >= seen) & (wanted < seen + n)] - seen
            ids = chunk.iloc[local, at].astype(str).tolist()
            found.update(zip((local + seen).tolist(), ids, strict=True))
            seen += n
        out: list[Duplicate] = []
        for group in groups:
            by_id: dict[str, list[int]] = {}
            for i in group.tolist():
                if found.get(i, "") != "":
                    by_id.setdefault(found[i], []).append(row_number(i))
            out.extend(Duplicate(k, tuple(v)) for k, v in by_id.items() if len(v) > 1)
        return out

    def _drop_blank_quiet(self, chunk: pd.DataFrame, width: int) -> pd.DataFrame:
        before = self.summary.blank_rows
        out = self._drop_blank(chunk, width)
        self.summary.blank_rows = before
        return out

    def summary_json(self, duplicates: list[Duplicate]) -> dict[str, Any]:
        """Return the whole run summary as plain data (what --summary-out writes)."""
        model = self.scorer.model
        out: dict[str, Any] = {
            "model": {"name": model.file.name, "version": model.version, "sha256": model.sha256},
            "policy_version": self.scorer.reference_for(self.scenario).policy.version,
            "scenario": self.scenario,
            "assessed_for": self.today.isoformat(),
            "read": {
                "encoding": self.table.encoding,
                "delimiter": self.table.delimiter,
                "columns": len(self.table.header),
                "warnings": self.warnings,
            },
            "weight_column": (
                self.table.header[self.weight_at] if self.weight_at is not None else None
            ),
            **self.summary.as_json(),
            "rows_without_weight": self.summary.weight_missing if self.weight_at else None,
            "duplicate_supplier_ids": [
                {"supplier_id": d.supplier_id, "rows": list(d.rows)} for d in duplicates
            ],
        }
        if self.comparison is not None:
            out["comparison"] = self.comparison.as_json()
        return out


def score_csv(
    reader: Table,
    run: BatchRun,
    *,
    bom: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """Yield the output CSV text: the header line, then one block per input chunk.

    The CSV endpoint can stream this generator (in a worker thread, since scoring is CPU-bound)
    and read ``run.summary`` after it ends.
    """
    yield run.header_text(bom)
    for chunk in reader.chunks():
        text = run.chunk_text(chunk)
        if progress is not None:
            progress(len(chunk))
        yield text
