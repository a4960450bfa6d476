"""Factorising a column: equal values share a code, different values never do, NaN included."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from supplier_risk.factorize import factorized, whole_or_as_is
from supplier_risk.reason_keys import factor_codes

FLOATS = st.floats(allow_infinity=False) | st.sampled_from([0.0, 1.0, 2.0, 1e300, float("nan")])


def assert_codes_tell_values_apart(values: list[Any], codes: np.ndarray) -> None:
    """Equal values (NaN equal to NaN, None to None) share a code; others never do."""
    seen: dict[Any, int] = {}
    for value, code in zip(values, codes.tolist(), strict=True):
        key = "nan" if isinstance(value, float) and value != value else value
        assert seen.setdefault(key, code) == code
    assert len(set(seen.values())) == len(seen)
    assert codes.size == 0 or codes.min() >= 0


@given(
    st.lists(st.integers(-(2**62), 2**62), max_size=30)
    | st.lists(st.integers(-5, 5000), max_size=30)
    | st.lists(FLOATS, max_size=30)
)
def test_factorized_codes_index_the_distinct_values(values: list[Any]) -> None:
    floats = any(isinstance(v, float) for v in values)
    array = np.array(values, dtype=np.float64 if floats else np.int64)
    codes, distinct = factorized(array)
    assert distinct.dtype == array.dtype
    np.testing.assert_array_equal(distinct[codes], array)
    assert_codes_tell_values_apart(array.tolist(), codes)


@given(st.lists(FLOATS | st.integers(0, 3).map(float), max_size=30))
def test_factor_codes_of_floats_whole_or_not(values: list[float]) -> None:
    # Whole numbers are counted as integers, anything else hashed: the codes mean the same.
    array = np.array(values, dtype=np.float64)
    assert_codes_tell_values_apart(values, factor_codes(array))


def test_whole_or_as_is_keeps_what_is_not_whole() -> None:
    assert whole_or_as_is(np.array([0.0, 3.0, 1000.0])).dtype == np.int64
    for odd in ([0.5, 1.0], [float("nan")], [1e300]):
        assert whole_or_as_is(np.array(odd)).dtype == np.float64


def test_factor_codes_give_none_a_code_of_its_own() -> None:
    rules = np.array([None, "a", None, "b", "a"], dtype=object)
    assert_codes_tell_values_apart(rules.tolist(), factor_codes(rules))
