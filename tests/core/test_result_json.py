"""Writing results as JSON text: numbers, names and contribution cells parse back exactly."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from supplier_risk.result_json import (
    contribution_cells,
    json_text,
    number_texts,
    string_texts,
    value_texts,
)

finite = st.floats(allow_nan=False, allow_infinity=False)


@given(st.lists(finite, max_size=20))
def test_number_texts_parse_back_to_the_same_floats(values: list[float]) -> None:
    texts = number_texts(np.asarray(values, dtype=np.float64))
    assert [json.loads(t) for t in texts] == values


def test_value_texts_escape_names_and_keep_integers_and_flags() -> None:
    assert value_texts(['a "quoted", name', "plain"]) == ['"a \\"quoted\\", name"', '"plain"']
    assert value_texts(np.array([0, 1000], dtype=np.int64)) == ["0", "1000"]
    assert value_texts(np.array([True, False])) == ["true", "false"]


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


def test_cells_written_once_per_name_equal_cells_written_per_row() -> None:
    names = ["general", "denied", "general", "denied", "general"]
    column = np.array([0.25, -1.5, 0.25, -1.5, 0.25])
    cells = [json.loads(c) for c in contribution_cells('{"feature":"t","value":', names, column)]
    assert cells == [
        {"feature": "t", "value": n, "contribution": c}
        for n, c in zip(names, column.tolist(), strict=True)
    ]


def test_cells_of_a_name_whose_contribution_varies_are_written_per_row() -> None:
    names = ["general", "general"]
    column = np.array([0.25, 0.5])
    cells = [json.loads(c) for c in contribution_cells('{"feature":"t","value":', names, column)]
    assert [c["contribution"] for c in cells] == [0.25, 0.5]
