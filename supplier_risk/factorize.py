"""Codes for a column's values (equal values, equal codes), counted where hashing is not needed.

Batches factorise many small-integer columns (codes, counts, days, pair keys): counting them
with bincount costs a fraction of a hash table's set-up. Anything else goes to pandas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


def factorized(values: NDArray[Any]) -> tuple[IntArray, NDArray[Any]]:
    """Return each value's code and the distinct values (codes index them; NaN is a value)."""
    if values.dtype.kind in "iu" and values.size:
        low, high = int(values.min()), int(values.max())
        if high - low <= 4 * values.size + 4096:  # few possible values: counted, not hashed
            shifted = values.astype(np.int64) - low
            present = np.flatnonzero(np.bincount(shifted))
            place = np.empty(int(present[-1]) + 1, dtype=np.int64)
            place[present] = np.arange(present.size)
            return place[shifted], (present + low).astype(values.dtype)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def whole_or_as_is(values: NDArray[Any]) -> NDArray[Any]:
    """Return floats that are all whole numbers as integers (so that they can be counted)."""
    # NaN and anything past 2**53 fail the first test, fractions the second: left as they are.
    if values.dtype.kind == "f" and values.size and bool((np.abs(values) < 2.0**53).all()):
        whole = values.astype(np.int64)
        if np.array_equal(whole, values):
            return whole
    return values
