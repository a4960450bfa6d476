"""Writing results as JSON text: numbers, names and contribution cells parse back exactly."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from supplier_risk.result_json import (
    day_texts,
    entry_texts,
    json_text,
    number_texts,
    number_words,
    shown_flags,
    shown_names,
    shown_numbers,
    shown_pair,
    string_texts,
    term_cells,
)

finite = st.floats(allow_nan=False, allow_infinity=False)
PREFIX = '{"feature":"t","value":'


@given(st.lists(finite, max_size=20))
def test_number_texts_parse_back_to_the_same_floats(values: list[float]) -> None:
    texts = number_texts(np.asarray(values, dtype=np.float64))
    assert [json.loads(t) for t in texts] == values


@given(st.lists(finite, max_size=20))
def test_number_words_write_each_float_as_str_does(values: list[float]) -> None:
    # Between 1e-4 and 1e16 the JSON text is taken as it is; elsewhere str() writes an exponent.
    array = np.asarray(values, dtype=np.float64)
    assert number_words(array, number_texts(array)) == [str(v) for v in values]


def test_number_words_of_the_edges_of_positional_writing() -> None:
    values = [1e-4, 9.999999999999999e-5, 1e-5, 0.0, -0.0, 1e15, 9999999999999998.0, 1e16, 2.5e-7]
    array = np.asarray(values, dtype=np.float64)
    assert number_words(array, number_texts(array)) == [str(v) for v in values]


def test_shown_values_of_names_numbers_flags_and_pairs() -> None:
    names = shown_names(np.array([1, 0, 1], dtype=np.int64), ['a "quoted", name', "plain"])
    assert [names.texts[c] for c in names.codes] == ['"plain"', '"a \\"quoted\\", name"', '"plain"']
    numbers = shown_numbers(np.array([2.5, 1e-05, 2.5]))
    assert [numbers.texts[c] for c in numbers.codes] == ["2.5", "0.00001", "2.5"]
    flags = shown_flags(np.array([True, False]))
    assert [flags.texts[c] for c in flags.codes] == ["true", "false"]
    counts = shown_numbers(np.array([0, 1000], dtype=np.int64))
    assert [counts.texts[c] for c in counts.codes] == ["0", "1000"]
    pairs = shown_pair(names, numbers)
    assert [json.loads(pairs.texts[c]) for c in pairs.codes] == [
        "plain, 2.5",
        'a "quoted", name, 1e-05',
        "plain, 2.5",
    ]
    both = shown_pair(flags, flags)
    assert [json.loads(both.texts[c]) for c in both.codes] == [
        "True, True",
        "False, False",
    ]


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40)), min_size=1, max_size=60))
def test_a_pair_of_few_or_many_values_shows_each_row_its_own(rows: list[tuple[int, int]]) -> None:
    # Few combinations are written all at once, many only as used: both show the same.
    first = shown_names(np.array([a for a, _ in rows], dtype=np.int64), ["w", "x", "y", "z"])
    second = shown_numbers(np.array([float(b) / 4 for _, b in rows]))
    pairs = shown_pair(first, second)
    expected = [f"{'wxyz'[a]}, {float(b) / 4}" for a, b in rows]
    assert [json.loads(pairs.texts[c]) for c in pairs.codes] == expected


@given(st.lists(st.text(max_size=8), max_size=12))
def test_string_texts_escape_as_the_serialiser_does(values: list[str]) -> None:
    # Quotes, backslashes and control characters take the per-string path; others the fast one.
    assert string_texts(values) == [json_text(v) for v in values]


def test_string_texts_fall_back_when_one_string_needs_escaping() -> None:
    assert string_texts(["V-1", 'V-"2"', "V-\\3", "caf\u00e9", "a\tb"]) == [
        '"V-1"',
        '"V-\\"2\\""',
        '"V-\\\\3"',
        '"caf\u00e9"',
        '"a\\tb"',
    ]


def _row_cells(codes: list[int], column: np.ndarray) -> list[dict[str, object]]:
    shown = shown_names(np.array(codes, dtype=np.int64), ["general", "denied", "unused"])
    texts, ids = term_cells(PREFIX, shown, column)
    return [json.loads(texts[i]) for i in ids.tolist()]


def test_cells_written_once_per_name_equal_cells_written_per_row() -> None:
    codes = [0, 1, 0, 1, 0]
    column = np.array([0.25, -1.5, 0.25, -1.5, 0.25])
    texts, _ = term_cells(PREFIX, shown_names(np.array(codes), ["general", "denied"]), column)
    assert len(texts) == 2
    assert _row_cells(codes, column) == [
        {"feature": "t", "value": ["general", "denied"][c], "contribution": x}
        for c, x in zip(codes, column.tolist(), strict=True)
    ]


def test_cells_of_a_name_whose_contribution_varies_are_written_per_row() -> None:
    column = np.array([0.25, 0.5])
    assert [c["contribution"] for c in _row_cells([0, 0], column)] == [0.25, 0.5]


@given(st.lists(st.integers(-800_000, 2_900_000), max_size=30))
def test_day_texts_write_every_day_as_numpy_does(days: list[int]) -> None:
    # Days from year -222 to 9909: inside the table's years and outside, in one call or not.
    array = np.array(days, dtype=np.int64)
    expected = np.datetime_as_string(array.astype("datetime64[D]"), unit="D").tolist()
    assert day_texts(array) == expected


def test_day_texts_at_the_edges_of_the_table() -> None:
    edges = np.array(["1989-12-31", "1990-01-01", "2099-12-31", "2100-01-01"], "datetime64[D]")
    for day in edges:
        array = np.array([day]).view(np.int64)
        assert day_texts(array) == [str(day)]
    assert day_texts(edges.view(np.int64)) == [str(d) for d in edges]


@given(st.lists(st.sampled_from([0.0, -0.0, 0.25, -1.5, 1e-300, 2.5e16]), max_size=200))
def test_entry_texts_are_number_texts(values: list[float]) -> None:
    # Few distinct values among many, as a term's contributions are; -0.0 keeps its sign.
    array = np.array(values, dtype=np.float64)
    assert entry_texts(array) == number_texts(array)


def test_entry_texts_of_many_values_keep_the_sign_of_zero() -> None:
    array = np.array([0.0, -0.0, 0.25, -1.5] * 50)
    assert entry_texts(array) == ["0.0", "-0.0", "0.25", "-1.5"] * 50
