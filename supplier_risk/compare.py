"""Run-to-run comparison: join a scoring run to a previous output file on supplier_id.

The previous file is an output of ``supplier-risk score`` (or POST /v1/score/csv): its record
columns, ``probability`` and ``band``. The change is the current probability minus the recorded
previous one. The term that moved most is found by splitting the change in log-odds: the
previous rows are rescored with the current model and scenario, so each term's contribution
then and now can be subtracted; what rescoring cannot explain (a new model, a policy-table
update, a date passing for rows without ``as_of``) is one more candidate, called
``model, policy or date``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from supplier_risk.errors import InputFileError
from supplier_risk.record import RECORD_FIELDS
from supplier_risk.scorer import Scorer
from supplier_risk.summary import TopList, row_number
from supplier_risk.tables import Source, decimal_commas, open_table
from supplier_risk.validation import validate_frame

COMPARE_COLUMNS: tuple[str, ...] = (
    "previous_probability",
    "previous_band",
    "probability_change",
    "moved_most",
    "compare_status",
)
OUTSIDE_TERMS = "model, policy or date"
"""The name of the part of a change that rescoring the previous inputs does not explain."""
LISTED = 50
"""Most supplier_ids listed by name in each of the new / vanished / duplicate lists."""
_UNEXPLAINED_LOGIT = 1e-3
"""Below this the unexplained log-odds are rounding of the 6-decimal probabilities."""

_ROUNDING_PROBABILITY = 5e-7
"""A change this small is the previous file's 6-decimal rounding, not a move."""

_STILL_LOGIT = 1e-5
"""Term moves below this are float32 storage noise (contributions are kept as float32)."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ObjArray = NDArray[np.object_]


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


@dataclass
class PreviousRun:
    """A previous output file, indexed by supplier_id (the first row of a repeated id).

    Every row of this run with a repeated previous id is joined to that id's first row; the id
    is seen (never vanished) once any row of this run carries it.
    """

    source: str
    ids: ObjArray
    index: pd.Index
    positions: IntArray
    probability: FloatArray
    band: ObjArray
    contributions: NDArray[np.float32]
    unexplained: FloatArray
    duplicates: list[str]
    seen: NDArray[np.bool_] = field(init=False)

    def __post_init__(self) -> None:
        # One flag per distinct id, not per row: a repeated id is seen once any row of this run
        # carries it, so it can never count as vanished while it is present.
        self.seen = np.zeros(len(self.index), dtype=bool)

    def lookup(self, ids: ObjArray) -> IntArray:
        """Return each id's row in the previous file (marking the id seen), or -1 if new."""
        found = self.index.get_indexer(pd.Index(ids))
        self.seen[found[found >= 0]] = True
        return np.where(found >= 0, self.positions[np.maximum(found, 0)], -1).astype(np.int64)

    def vanished(self) -> ObjArray:
        """Return the distinct non-empty ids of the previous file that no row of this run has."""
        ids = np.asarray(self.index.to_numpy(dtype=object), dtype=object)
        return np.asarray(ids[~self.seen & (ids != "")], dtype=object)


def load_previous(
    source: Source, name: str, scorer: Scorer, today: dt.date, scenario: str | None
) -> PreviousRun:
    """Read a previous output file and rescore its inputs with the current model and scenario."""
    reader = open_table(source)
    positions = reader.format.positions()
    needed = ("supplier_id", "probability", "band")
    missing = [c for c in needed if c not in positions]
    if missing:
        raise InputFileError(
            f"--compare {name}: not an output of `supplier-risk score` (no column "
            f"{', '.join(missing)})"
        )
    fields = {f: positions[f] for f in RECORD_FIELDS if f in positions}
    semicolon = reader.format.delimiter == ";"
    ids: list[ObjArray] = []
    probability: list[FloatArray] = []
    band: list[ObjArray] = []
    contributions: list[NDArray[np.float32]] = []
    unexplained: list[FloatArray] = []
    terms = len(scorer.model.term_names)
    for chunk in reader.chunks():
        cells = {f: chunk.iloc[:, p].astype(str) for f, p in fields.items()}
        if semicolon:
            for f in ("china_share", "inventory_buffer_days", "alternate_suppliers"):
                if f in cells:
                    cells[f] = decimal_commas(cells[f])
        frame = pd.DataFrame(cells)
        n = len(frame)
        prob_text = chunk.iloc[:, positions["probability"]].astype(str)
        prob = pd.to_numeric(prob_text.str.replace(",", ".", regex=False), errors="coerce")
        p = prob.to_numpy(dtype=np.float64, na_value=np.nan)
        validated = validate_frame(frame, scorer.reference)
        ok = np.flatnonzero(validated.valid & ~np.isnan(p))
        contrib = np.full((n, terms), np.nan, dtype=np.float32)
        rest = np.full(n, np.nan)
        if ok.size:
            scored = scorer.score_columns(validated.columns.take(ok), today, scenario)
            contrib[ok] = scored.scores.contributions.astype(np.float32)
            rest[ok] = scored.scores.logit - _logit(p[ok])
        ids.append(frame["supplier_id"].to_numpy(dtype=object))
        probability.append(p)
        band.append(chunk.iloc[:, positions["band"]].astype(str).to_numpy(dtype=object))
        contributions.append(contrib)
        unexplained.append(rest)
    all_ids = np.concatenate(ids) if ids else np.empty(0, dtype=object)
    as_index = pd.Index(all_ids)
    first = ~as_index.duplicated(keep="first")
    repeated = pd.unique(all_ids[as_index.duplicated(keep="first") & (all_ids != "")])
    return PreviousRun(
        source=name,
        ids=all_ids,
        index=pd.Index(all_ids[first]),
        positions=np.flatnonzero(first).astype(np.int64),
        probability=np.concatenate(probability) if probability else np.empty(0),
        band=np.concatenate(band) if band else np.empty(0, dtype=object),
        contributions=(
            np.concatenate(contributions) if contributions else np.empty((0, terms), np.float32)
        ),
        unexplained=np.concatenate(unexplained) if unexplained else np.empty(0),
        duplicates=[str(i) for i in repeated],
    )


@dataclass
class Comparison:
    """The comparison columns of one chunk, and running totals across chunks.

    ``matched``, the band counts, ``previously_unscored`` and ``new`` count rows of this run, as
    its ``compare_status`` column does; ``vanished`` counts distinct ids of the previous file
    that no row of this run carries. A supplier in both files is never new nor vanished, and
    the id lists name each id once.
    """

    previous: PreviousRun
    band_labels: tuple[str, ...]
    term_names: tuple[str, ...]
    matched: int = 0
    new: int = 0
    new_ids: list[str] = field(default_factory=list)
    band_up: int = 0
    band_down: int = 0
    same_band: int = 0
    previously_unscored: int = 0
    movers: TopList = field(default_factory=TopList)

    def columns(
        self,
        first_row: int,
        ids: ObjArray,
        scored_rows: IntArray,
        probability: FloatArray,
        band: IntArray,
        contributions: FloatArray,
        logit: FloatArray,
    ) -> list[ObjArray]:
        """Return the comparison columns for a chunk (str cells, one per row of the chunk).

        ``scored_rows`` are the chunk positions of the valid rows; the other arrays hold only
        those rows.
        """
        n = ids.shape[0]
        prev = self.previous
        at = prev.lookup(ids)
        known = at >= 0
        prev_p = np.full(n, np.nan)
        prev_p[known] = prev.probability[at[known]]
        prev_band = np.full(n, "", dtype=object)
        prev_band[known] = prev.band[at[known]]
        change = np.full(n, np.nan)
        moved = np.full(n, "", dtype=object)
        status = np.where(known, "", "new").astype(object)
        status[ids == ""] = ""
        new_rows = np.flatnonzero(~known & (ids != ""))
        self.new += int(new_rows.size)
        self._list_new(ids[new_rows])

        at_s = at[scored_rows]
        both = (at_s >= 0) & ~np.isnan(prev.probability[np.maximum(at_s, 0)])
        rows = scored_rows[both]
        src = at_s[both]
        status[scored_rows[(at_s >= 0) & ~both]] = "previously_unscored"
        self.previously_unscored += int(((at_s >= 0) & ~both).sum())
        if rows.size:
            p_now = probability[both]
            moved_by = p_now - prev.probability[src]
            change[rows] = np.where(np.abs(moved_by) <= _ROUNDING_PROBABILITY, 0.0, moved_by)
            delta = contributions[both] - prev.contributions[src].astype(np.float64)
            rest = prev.unexplained[src]
            rest = np.where(np.isnan(rest) | (np.abs(rest) < _UNEXPLAINED_LOGIT), 0.0, rest)
            candidates = np.column_stack([np.abs(np.nan_to_num(delta)), np.abs(rest)])
            best = np.argmax(candidates, axis=1)
            names = np.asarray([*self.term_names, OUTSIDE_TERMS], dtype=object)
            still = candidates.max(axis=1) < _STILL_LOGIT
            moved[rows] = np.where(still, "", names[best])
            labels = list(self.band_labels)
            before = np.asarray(
                [labels.index(b) if b in labels else -1 for b in prev.band[src].tolist()]
            )
            now = band[both]
            status[rows] = np.where(
                now > before, "band_up", np.where(now < before, "band_down", "same_band")
            )
            self.matched += int(rows.size)
            self.band_up += int((now > before).sum())
            self.band_down += int((now < before).sum())
            self.same_band += int((now == before).sum())
            # Only rows that moved can be top movers.
            go = np.flatnonzero(change[rows] != 0.0)
            m_rows, m_src, m_now, m_p = rows[go], src[go], now[go], p_now[go]
            self.movers.offer(
                np.abs(change[m_rows]),
                first_row + m_rows,
                lambda i: {
                    "row": row_number(first_row + int(m_rows[i])),
                    "supplier_id": str(ids[m_rows[i]]),
                    "previous_probability": float(prev.probability[m_src[i]]),
                    "probability": float(m_p[i]),
                    "probability_change": float(change[m_rows[i]]),
                    "previous_band": str(prev.band[m_src[i]]),
                    "band": self.band_labels[int(m_now[i])],
                    "moved_most": str(moved[m_rows[i]]),
                },
            )
        return [
            _fmt(prev_p),
            prev_band,
            _fmt(change, signed=True),
            moved,
            status,
        ]

    def _list_new(self, ids: ObjArray) -> None:
        """Add new ids to ``new_ids``, each once (the count stays per row), up to LISTED."""
        for i in pd.unique(ids).tolist():
            if len(self.new_ids) >= LISTED:
                return
            if str(i) not in self.new_ids:
                self.new_ids.append(str(i))

    def as_json(self) -> dict[str, Any]:
        """Return the comparison part of the summary."""
        prev = self.previous
        vanished = prev.vanished()
        return {
            "previous_file": prev.source,
            "matched": self.matched,
            "band_up": self.band_up,
            "band_down": self.band_down,
            "same_band": self.same_band,
            "previously_unscored": self.previously_unscored,
            "new": self.new,
            "new_ids": self.new_ids,
            "vanished": len(vanished),
            "vanished_ids": [str(v) for v in vanished[:LISTED]],
            "previous_duplicate_ids": prev.duplicates[:LISTED],
            "top_movers": self.movers.items(),
        }


def _fmt(values: FloatArray, signed: bool = False) -> ObjArray:
    # "z" (PEP 682): a value that rounds to zero from below is written 0.000000, not -0.000000.
    spec = "{:+z.6f}" if signed else "{:z.6f}"
    return np.asarray(
        ["" if math.isnan(v) else spec.format(v) for v in values.tolist()], dtype=object
    )
