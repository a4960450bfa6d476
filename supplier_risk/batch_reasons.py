"""Top reasons for a whole scored chunk: one reason text per distinct situation, not per row.

:func:`supplier_risk.explain.reason_text` words one term for one record. Most of a record's
context does not change a given term's words (the buffer reason reads only the buffer), so rows
are grouped by the context fields each term reads, and each group is worded once. A test checks
that every term's words depend only on the fields listed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from supplier_risk.explain import REASON_MIN_LOGIT, reason_text
from supplier_risk.features import FEATURE_NAMES
from supplier_risk.scorer import Scored, Scorer

ObjArray = NDArray[np.object_]
IntArray = NDArray[np.int64]

CONTEXT_KEYS: tuple[str, ...] = (
    "material",
    "controlled",
    "as_of",
    "licence",
    "end_use",
    "buffer_days",
    "alternates",
    "supplier_type",
    "china_share",
    "rule_applied",
)
"""The record facts a ReasonContext is built from (descriptions follow from the material)."""

REASON_KEYS: dict[str, tuple[str, ...]] = {
    "licence_type": ("licence", "rule_applied"),
    "china_share": ("china_share",),
    "controlled": ("material", "controlled", "as_of"),
    "inventory_buffer_days": ("buffer_days",),
    "alternate_suppliers": ("alternates",),
    "supplier_type": ("supplier_type",),
    "end_use": ("end_use",),
    "licence_type x end_use": ("licence", "end_use"),
    "licence_type x inventory_buffer_days": ("licence", "buffer_days"),
}
"""Which context facts each term's words read; a term not listed is keyed on all of them."""

_COL = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _codes(values: NDArray[np.generic]) -> IntArray:
    """Return a code per value, equal values equal codes (a hash factorisation, no sort)."""
    codes, _ = pd.factorize(values)
    return np.asarray(codes, dtype=np.int64)


def context_codes(scored: Scored) -> dict[str, IntArray]:
    """Return, per context fact, an integer code per row (equal codes, equal facts)."""
    matrix = scored.features.matrix
    rule = scored.features.rule_applied
    rule_text = np.where(rule == None, "", rule).astype(str)  # noqa: E711 (elementwise)
    return {
        "material": np.asarray(scored.columns.material, dtype=np.int64),
        "controlled": _codes(matrix[:, _COL["controlled"]]),
        "as_of": _codes(scored.features.as_of.astype("int64")),
        "licence": _codes(matrix[:, _COL["licence_type"]]),
        "end_use": np.asarray(scored.columns.end_use, dtype=np.int64),
        "buffer_days": _codes(matrix[:, _COL["inventory_buffer_days"]]),
        "alternates": _codes(matrix[:, _COL["alternate_suppliers"]]),
        "supplier_type": _codes(matrix[:, _COL["supplier_type"]]),
        "china_share": _codes(matrix[:, _COL["china_share"]]),
        "rule_applied": _codes(rule_text),
    }


def _combine(parts: list[IntArray], n: int) -> IntArray:
    """Return one code per row for the tuple of codes in ``parts`` (equal tuples, equal codes)."""
    key = np.zeros(n, dtype=np.int64)
    for part in parts:
        radix = int(part.max()) + 1 if part.size else 1
        if n and (int(key.max()) + 1) * radix >= 1 << 62:
            key = _codes(key)  # re-number so that the mixed-radix key cannot overflow
        key = key * radix + part
    return key


def _leading(contributions: NDArray[np.float64], top: int) -> IntArray:
    """Return each row's ``top`` largest terms, largest first, ties to the earlier term.

    The same order as ``np.argsort(-c, kind="stable")[:, :top]``, by repeated argmax.
    """
    rest = contributions.copy()
    order = np.empty((rest.shape[0], top), dtype=np.int64)
    every = np.arange(rest.shape[0])
    for slot in range(top):
        order[:, slot] = np.argmax(rest, axis=1)
        rest[every, order[:, slot]] = -np.inf
    return order


@dataclass(frozen=True)
class ReasonCodes:
    """Each row's leading reasons as indices into a vocabulary of texts (0 is no reason)."""

    slots: list[IntArray]
    vocabulary: list[str]

    def texts(self, slot: int) -> ObjArray:
        """Return the reason text of each row in one slot ('' for none)."""
        return np.asarray(self.vocabulary, dtype=object)[self.slots[slot]]


def top_reasons(scorer: Scorer, scored: Scored, top: int) -> ReasonCodes:
    """Return each row's first ``top`` reasons, largest contribution first.

    The same as the first ``top`` entries of ``Scorer.results(...)["reasons"]``.
    """
    contributions = scored.scores.contributions
    n, terms = contributions.shape
    vocabulary: list[str] = [""]
    known: dict[str, int] = {"": 0}
    slots = [np.zeros(n, dtype=np.int64) for _ in range(top)]
    if n == 0:
        return ReasonCodes(slots, vocabulary)
    order = _leading(contributions, min(top, terms))
    codes = context_codes(scored)
    names = scorer.model.term_names
    as_of = scored.features.as_of
    everything = [codes[k] for k in CONTEXT_KEYS]
    for slot in range(min(top, terms)):
        term_of_row = order[:, slot]
        raising = contributions[np.arange(n), term_of_row] >= REASON_MIN_LOGIT
        for term in range(terms):
            rows = np.flatnonzero((term_of_row == term) & raising)
            if rows.size == 0:
                continue
            keys = REASON_KEYS.get(names[term])
            parts = (
                [codes[k][rows] for k in keys]
                if keys is not None
                else [c[rows] for c in everything]
            )
            group, _ = pd.factorize(_combine(parts, rows.size))
            # Any row of a group stands for it: the words read only the facts it is keyed on.
            example = np.empty(int(group.max()) + 1, dtype=np.int64)
            example[group] = rows
            word_codes = np.empty(example.size, dtype=np.int64)
            for g, row in enumerate(example.tolist()):
                day = str(np.datetime_as_string(as_of[row], unit="D"))
                text = reason_text(names[term], scorer.reason_context(scored, row, day))
                word_codes[g] = known.setdefault(text, len(known))
                if word_codes[g] == len(vocabulary):
                    vocabulary.append(text)
            slots[slot][rows] = word_codes[group]
    return ReasonCodes(slots, vocabulary)


def joined_reasons(
    reasons: ReasonCodes, cell: Callable[[str], str] = str, separator: str = "; "
) -> tuple[ObjArray, ObjArray]:
    """Return each row's reasons joined into one cell: as text, and passed through ``cell``.

    Rows share few combinations of reasons, so each combination is joined (and made safe for
    CSV by ``cell``) once.
    """
    size = len(reasons.vocabulary)
    key = np.zeros_like(reasons.slots[0]) if reasons.slots else np.zeros(0, np.int64)
    for slot in reasons.slots:
        key = key * size + slot
    group, combos = pd.factorize(key)
    plain: list[str] = []
    for combo in combos.tolist():
        parts = []
        for _ in reasons.slots:
            combo, word = divmod(combo, size)
            parts.append(reasons.vocabulary[word])
        plain.append(separator.join(p for p in reversed(parts) if p))
    text = np.asarray(plain, dtype=object)
    safe = np.asarray([cell(t) for t in plain], dtype=object)
    return text[group], safe[group]
