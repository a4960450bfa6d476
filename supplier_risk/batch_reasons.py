"""Top reasons for a whole scored chunk: one reason text per distinct situation, not per row.

Rows are grouped by the facts each term's words read (:mod:`supplier_risk.reason_keys`), and
each group is worded once; this keeps a million-row file free of per-row Python work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from supplier_risk.explain import REASON_MIN_LOGIT, reason_text
from supplier_risk.reason_keys import context_codes, term_keys
from supplier_risk.scorer import Scored, Scorer

ObjArray = NDArray[np.object_]
IntArray = NDArray[np.int64]


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
    codes = context_codes(scored.columns, scored.features)
    names = scorer.model.term_names
    as_of = scored.features.as_of
    for slot in range(min(top, terms)):
        term_of_row = order[:, slot]
        raising = contributions[np.arange(n), term_of_row] >= REASON_MIN_LOGIT
        for term in range(terms):
            rows = np.flatnonzero((term_of_row == term) & raising)
            if rows.size == 0:
                continue
            group, _ = pd.factorize(term_keys((names[term],), codes, rows)[0])
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
