"""A scored batch written straight to JSON text: one pool of texts, one join, no string per row.

Building a dict per result and per contribution, then serialising them, was most of the time
a 1,000-supplier batch took; so was, later, one f-string per result. Here every text a batch's
results hold goes once into a pool: numbers a column at a time (formatted by orjson), texts that
repeat (labels, a term's cells, dates, policy tails) once per distinct value. Each result is a
row of indices into the pool, laid out and reordered with NumPy; the whole array is then one
gather and one join. Tests check that every result parses to exactly what the one-record path
returns for the same record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import orjson
import pandas as pd
from numpy.typing import NDArray

from supplier_risk.factorize import factorized
from supplier_risk.scoring import LoadedModel

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Shown:
    """A column of values as a person reads them: each row's code, and each distinct value."""

    codes: IntArray
    """each row's index into ``texts`` and ``words`` (not every value need be used)"""
    texts: list[str]
    """each distinct value as JSON text"""
    words: list[str]
    """each distinct value as a two-input term's value writes it (as ``str`` does; empty for
    a pair, which is no input of another)"""
    plain: bool = False
    """whether no word needs escaping in JSON (a pair's texts are then written in one step)"""


@dataclass(frozen=True)
class Listed:
    """A JSON list per row: each row's slots index distinct texts (-1: empty, after the full)."""

    ids: IntArray
    """shape (n, slots)"""
    texts: list[str]
    """each distinct item as JSON text"""


@dataclass(frozen=True)
class ResultParts:
    """What a batch's results say, column by column."""

    supplier_id: list[str]
    probability: FloatArray
    band: IntArray
    contributions: FloatArray
    """shape (n, number of terms)"""
    term_values: list[Shown]
    """per term, each row's value of its inputs"""
    reasons: Listed | None
    recourse: Listed | None
    assumptions: list[str]
    """each row's assumptions as a JSON list"""
    as_of: NDArray[np.datetime64]
    controlled: NDArray[np.bool_]
    rule_applied: NDArray[np.object_]
    """each row's rule name, or None"""
    policy_version: str
    scenario: str | None


def json_text(value: Any) -> str:
    """Return one value as JSON text."""
    return orjson.dumps(value).decode()


def number_texts(values: FloatArray | list[Any]) -> list[str]:
    """Return each number (or true/false) of a column as JSON text, formatted in one call."""
    if len(values) == 0:
        return []
    array = np.ascontiguousarray(values)  # orjson writes only C-contiguous arrays
    return orjson.dumps(array, option=orjson.OPT_SERIALIZE_NUMPY).decode()[1:-1].split(",")


_FEW_ENOUGH = 64
"""Up to this many numbers are formatted as they come; more are formatted once per value."""


def entry_texts(values: FloatArray) -> list[str]:
    """Return number_texts of numbers taken from a small table (few distinct among many)."""
    if values.size <= _FEW_ENOUGH:
        return number_texts(values)
    # Told apart by their bits, so that 0.0 and -0.0 keep texts of their own.
    codes, distinct = factorized(values.view(np.int64))
    texts = np.array(number_texts(distinct.view(np.float64)), dtype=object)
    return list(texts[codes].tolist())


def string_texts(values: list[str], before: str = "", after: str = "") -> list[str]:
    """Return each string as JSON text (between ``before`` and ``after``), escaped only if need be.

    orjson escapes only quotes, backslashes and control characters, and every escape
    lengthens the text: a whole list as long as its strings, quotes and commas has none.
    """
    if not values:
        return []
    whole = orjson.dumps(values).decode()
    if len(whole) == sum(map(len, values)) + 3 * len(values) + 1:
        return [f'{before}"{v}"{after}' for v in values]
    escaped = {v: json_text(v) for v in set(values)}
    return [f"{before}{escaped[v]}{after}" for v in values]


_DAY_TABLE_YEARS = (1990, 2100)
"""Days between these years are written from a table made once; any other the long way."""


@cache
def _day_table() -> tuple[int, NDArray[np.object_]]:
    first, end = (np.datetime64(f"{year}-01-01", "D") for year in _DAY_TABLE_YEARS)
    days = np.arange(first, end, dtype="datetime64[D]")
    return int(first.astype(np.int64)), np.datetime_as_string(days, unit="D").astype(object)


def warm_day_texts() -> None:
    """Make day_texts' table now (about 10 ms), so that no request pays for it."""
    _day_table()


def day_texts(days: IntArray) -> list[str]:
    """Return each day (counted from 1970-01-01) as YYYY-MM-DD."""
    base, table = _day_table()
    offsets = days - base
    if offsets.size and offsets.min() >= 0 and offsets.max() < table.size:
        texts: list[str] = table[offsets].tolist()
        return texts
    return list(np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist())


def shown_names(codes: IntArray, names: Sequence[str]) -> Shown:
    """Return coded names (a licence, an end use) as shown."""
    words = list(names)
    texts = string_texts(words)
    return Shown(codes, texts, words, plain=texts == [f'"{w}"' for w in words])


def shown_flags(flags: NDArray[np.bool_]) -> Shown:
    """Return flags as shown: JSON true and false."""
    codes = flags.view(np.int8).astype(np.int64)
    return Shown(codes, ["false", "true"], ["False", "True"], plain=True)


_POSITIONAL = (1e-4, 1e16)
"""Between these, str() and orjson write a float alike (shortest digits, no exponent)."""


def number_words(values: NDArray[Any], texts: list[str]) -> list[str]:
    """Return each number as ``str`` writes it, from its JSON text where the two agree."""
    if values.dtype.kind != "f":
        return texts  # integers: the same digits
    size = np.abs(values)
    odd = np.flatnonzero(((size < _POSITIONAL[0]) & (size != 0)) | (size >= _POSITIONAL[1]))
    if odd.size == 0:
        return texts
    words = list(texts)
    for i, value in zip(odd.tolist(), values[odd].tolist(), strict=True):
        words[i] = str(value)
    return words


def shown_numbers(values: NDArray[Any]) -> Shown:
    """Return numbers (or counts) as shown: JSON numbers, and ``str``'s words for pairs."""
    row_codes, distinct = factorized(values)
    texts = number_texts(distinct)
    # Digits, '.', 'e', '-', 'inf' and 'nan': nothing JSON escapes.
    return Shown(row_codes, texts, number_words(distinct, texts), plain=True)


def shown_pair(first: Shown, second: Shown) -> Shown:
    """Return two inputs' values as one term's value: the two written as text, joined by ', '."""
    width = len(second.words)
    keys = first.codes * width + second.codes
    if len(first.words) * width <= keys.size:  # few pairs: write each, used or not
        words = [f"{a}, {b}" for a in first.words for b in second.words]
        return Shown(keys, string_texts(words), [])
    row_codes, used = factorized(keys)
    a, b = np.divmod(used, width)
    pairs = zip(a.tolist(), b.tolist(), strict=True)
    firsts, seconds = first.words, second.words
    if first.plain and second.plain:  # quoted as they are written
        return Shown(row_codes, [f'"{firsts[i]}, {seconds[j]}"' for i, j in pairs], [])
    return Shown(row_codes, string_texts([f"{firsts[i]}, {seconds[j]}" for i, j in pairs]), [])


def term_cells(prefix: str, shown: Shown, column: FloatArray) -> tuple[list[str], IntArray]:
    """Return one term's distinct contribution objects as JSON text, and each row's index.

    A value's contribution is its table's entry, so cells are written once per distinct value,
    after checking that the contributions do follow from the values; else once per row.
    """
    codes = shown.codes
    n = codes.size
    first = np.zeros(len(shown.texts), dtype=np.int64)  # a value no row has: any row
    first[codes[::-1]] = np.arange(n - 1, -1, -1)  # each value's first row
    texts = shown.texts
    if np.array_equal(column, column[first][codes]):
        once = entry_texts(column[first])
        cells = [f'{prefix}{t},"contribution":{c}}}' for t, c in zip(texts, once, strict=True)]
        return cells, codes
    per_row = number_texts(column)
    cells = [
        f'{prefix}{texts[k]},"contribution":{c}}}'
        for k, c in zip(codes.tolist(), per_row, strict=True)
    ]
    return cells, np.arange(n, dtype=np.int64)


class _Pool:
    """Texts collected for one join; each call adds texts and returns the index of the first."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, texts: Sequence[str]) -> int:
        start = len(self.texts)
        self.texts.extend(texts)
        return start

    def one(self, text: str) -> int:
        return self.add((text,))

    def list_items(self, listed: Listed | None) -> list[int | IntArray]:
        """Return the layout columns of a list's items: each slot, and a comma before a full one."""
        if listed is None or listed.ids.shape[1] == 0:
            return []
        ids = listed.ids
        full = ids >= 0
        empty, comma = self.one(""), self.one(",")
        slots = np.where(full, self.add(listed.texts) + ids, empty)
        columns: list[int | IntArray] = [slots[:, 0]]
        for j in range(1, ids.shape[1]):
            columns += [np.where(full[:, j], comma, empty), slots[:, j]]
        return columns

    def pieces(self, layout: IntArray) -> list[str]:
        """Return the texts at the layout's indices, row by row."""
        pool = np.fromiter(self.texts, dtype=object, count=len(self.texts))
        texts: list[str] = pool.take(layout.ravel()).tolist()
        return texts


class ResultWriter:
    """Writes a model's results as JSON text; the parts that never change are written once."""

    def __init__(self, model: LoadedModel, model_ref: dict[str, Any]) -> None:
        # Each cell after a comma: a row's first is written without it (see pieces).
        self.prefixes = [f',{{"feature":{json_text(name)},"value":' for name in model.term_names]
        self.bands = [json_text(label) for label in model.band_labels]
        baseline = json_text(model.baseline_probability)
        # From the risk score to the opening of the contributions: one text per score and band.
        self.score_heads = [
            f',"risk_score":{score},"band":{band},"baseline_probability":{baseline},'
            '"contributions":['
            for score in range(101)
            for band in self.bands
        ]
        self.model_ref = json_text(model_ref)

    def pieces(self, parts: ResultParts, before: str = "", after: str = "") -> list[str]:
        """Return texts whose join is ``before``, the results as a JSON array, then ``after``."""
        n = len(parts.supplier_id)
        if n == 0:
            return [before, "[]", after]
        pool = _Pool()
        terms = len(self.prefixes)
        cell_ids = np.empty((n, terms), dtype=np.int64)
        for t, (prefix, shown) in enumerate(zip(self.prefixes, parts.term_values, strict=True)):
            cells, ids = term_cells(prefix, shown, parts.contributions[:, t])
            cell_ids[:, t] = pool.add(cells) + ids
        order = np.argsort(-np.abs(parts.contributions), axis=1, kind="stable")
        risk_score = np.rint(100 * parts.probability).astype(np.int64)
        day_rows, days = factorized(parts.as_of.view(np.int64))
        # Most rows have no rule: only the others are factorised.
        ruled = np.flatnonzero(parts.rule_applied != None)  # noqa: E711 (elementwise)
        rule_codes = np.full(n, -1, dtype=np.int64)
        rule_codes[ruled], rules = pd.factorize(parts.rule_applied[ruled])
        rule_texts = [json_text(r) for r in [None, *rules.tolist()]]
        scenario = json_text(parts.scenario)
        tails = [
            f'","controlled":{flag},"rule_applied":{rule}}},"scenario":{scenario}}}'
            for rule in rule_texts
            for flag in ("false", "true")
        ]
        rows = np.arange(n, dtype=np.int64)
        middle: list[int | IntArray]
        if parts.reasons is None and parts.recourse is None:
            middle = [pool.one('],"reasons":[],"recourse":[],"assumptions":')]
        else:
            middle = [
                pool.one('],"reasons":['),
                *pool.list_items(parts.reasons),
                pool.one('],"recourse":['),
                *pool.list_items(parts.recourse),
                pool.one('],"assumptions":'),
            ]
        version = json_text(parts.policy_version)
        # Each result after a comma: the first is written without it, below.
        heads = string_texts(parts.supplier_id, ',{"supplier_id":', ',"probability":')
        columns: list[int | IntArray] = [
            pool.add(heads) + rows,
            pool.add(number_texts(parts.probability)) + rows,
            pool.add(self.score_heads) + risk_score * len(self.bands) + parts.band,
            *([0] * terms),  # the contributions, filled in below
            *middle,
            pool.add(parts.assumptions) + rows,
            pool.one(f',"model":{self.model_ref},"policy":{{"version":{version},"as_of":"'),
            pool.add(day_texts(days)) + day_rows,
            pool.add(tails) + 2 * (rule_codes + 1) + parts.controlled,
        ]
        layout = np.empty((n, len(columns)), dtype=np.int64)
        for c, column in enumerate(columns):
            layout[:, c] = column
        layout[0, 0] = pool.one(heads[0][1:])
        if terms:  # a model of its intercept alone has no cells
            ordered = cell_ids.ravel()[order + rows[:, None] * terms]  # each row's, in its order
            # A row's first cell goes without its comma: written once per distinct first cell.
            first_codes, firsts = factorized(ordered[:, 0])
            ordered[:, 0] = pool.add([pool.texts[i][1:] for i in firsts.tolist()]) + first_codes
            layout[:, 3 : 3 + terms] = ordered
        pieces = pool.pieces(layout)
        pieces.insert(0, before + "[")
        pieces.append("]" + after)
        return pieces
