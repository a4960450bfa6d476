"""Top reasons for a whole scored chunk, joined into one cell per row.

The texts come from :meth:`supplier_risk.scorer.Scorer.reason_slots`, the same as the API's
results, worded once per distinct situation so that a million-row file needs no per-row Python.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from supplier_risk.scorer import Scored, Scorer

ObjArray = NDArray[np.object_]


def joined_reasons(
    scorer: Scorer,
    scored: Scored,
    top: int,
    cell: Callable[[str], str] = str,
    separator: str = "; ",
) -> tuple[ObjArray, ObjArray]:
    """Return each row's first ``top`` reasons joined into one cell: as text, and through ``cell``.

    Rows share few combinations of reasons, so each combination is made safe for CSV by
    ``cell`` once.
    """
    plain = scorer.joined_reasons(scored, top, separator)
    group, combinations = pd.factorize(plain)
    safe = np.asarray([cell(text) for text in combinations.tolist()], dtype=object)
    return np.asarray(plain, dtype=object), safe[group]
