"""A scored batch written straight to JSON text, column by column, without a dict per result.

Building a dict per result and per contribution, then serialising them, was most of the time
a 1,000-supplier batch took. Here numbers are formatted a whole column at a time by orjson,
repeated texts (labels, reason sentences, contribution values of a term) are escaped once per
batch, and each result is one f-string. Tests check that every row parses to exactly what the
one-record path returns for the same record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd
from numpy.typing import NDArray

from supplier_risk.scoring import LoadedModel

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ResultParts:
    """What a batch's results say, column by column."""

    supplier_id: list[str]
    probability: FloatArray
    band: NDArray[np.int64]
    contributions: FloatArray
    """shape (n, number of terms)"""
    term_values: list[list[str] | NDArray[Any]]
    """per term, each row's value of its inputs as shown to a person"""
    reasons: list[str] | None
    """each row's reasons as a JSON list"""
    recourse: list[str] | None
    """each row's recourse as a JSON list"""
    assumptions: list[list[str]]
    as_of: list[str]
    controlled: list[bool]
    rule_applied: list[str | None]
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


def string_texts(values: list[str]) -> list[str]:
    """Return each string as JSON text, with one serialiser call when none needs escaping.

    orjson escapes only quotes, backslashes and control characters, and every escape
    lengthens the text: a whole list as long as its strings, quotes and commas has none.
    """
    if not values:
        return []
    whole = orjson.dumps(values).decode()
    if len(whole) == sum(map(len, values)) + 3 * len(values) + 1:
        return [f'"{v}"' for v in values]
    escaped = {v: json_text(v) for v in set(values)}
    return [escaped[v] for v in values]


def value_texts(values: list[str] | NDArray[Any]) -> list[str]:
    """Return a column of names or numbers as JSON texts."""
    if isinstance(values, list):
        return string_texts(values)
    return number_texts(values)


def _lists(rows: list[list[str]]) -> list[str]:
    """Return each row's list as JSON text (most are empty, many alike: each is written once)."""
    written: dict[tuple[str, ...], str] = {(): "[]"}
    out = []
    for row in rows:
        key = tuple(row)
        text = written.get(key)
        if text is None:
            text = written[key] = json_text(row)
        out.append(text)
    return out


def contribution_cells(
    prefix: str, values: list[str] | NDArray[Any], column: FloatArray
) -> list[str]:
    """Return each row's contribution object for one term, as JSON text.

    A term shown by name (a licence, an end use) has a handful of distinct names, and its
    contribution follows from the name: such cells are written once per name, after checking
    that the contributions do follow.
    """
    if isinstance(values, list):
        codes, names = pd.factorize(np.asarray(values, dtype=object))
        first = np.empty(len(names), dtype=np.int64)
        first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # each name's first row
        if np.array_equal(column, column[first][codes]):
            written = [
                f'{prefix}{name},"contribution":{contribution}}}'
                for name, contribution in zip(
                    string_texts(names.tolist()), number_texts(column[first]), strict=True
                )
            ]
            out: list[str] = np.asarray(written, dtype=object)[codes].tolist()
            return out
    return [
        f'{prefix}{value},"contribution":{contribution}}}'
        for value, contribution in zip(value_texts(values), number_texts(column), strict=True)
    ]


class ResultWriter:
    """Writes a model's results as JSON text; the parts that never change are written once."""

    def __init__(self, model: LoadedModel, model_ref: dict[str, Any]) -> None:
        self.prefixes = [f'{{"feature":{json_text(name)},"value":' for name in model.term_names]
        self.bands = [json_text(label) for label in model.band_labels]
        self.baseline = json_text(model.baseline_probability)
        self.model_ref = json_text(model_ref)

    def rows(self, parts: ResultParts) -> list[str]:
        """Return each result as a JSON object, in batch order."""
        n = len(parts.supplier_id)
        if n == 0:
            return []
        cells = [
            contribution_cells(prefix, values, column)
            for prefix, values, column in zip(
                self.prefixes, parts.term_values, parts.contributions.T, strict=True
            )
        ]
        order = np.argsort(-np.abs(parts.contributions), axis=1, kind="stable")
        # Reordered as one object array, each row's cells come out as a list to join.
        table = np.array(cells, dtype=object).T
        contributions = [
            ",".join(row_cells) for row_cells in np.take_along_axis(table, order, axis=1).tolist()
        ]
        probability = number_texts(parts.probability)
        risk_score = number_texts(np.rint(100 * parts.probability).astype(np.int64))
        band = [self.bands[b] for b in parts.band.tolist()]
        reasons = parts.reasons if parts.reasons is not None else ["[]"] * n
        recourse = parts.recourse if parts.recourse is not None else ["[]"] * n
        assumptions = _lists(parts.assumptions)
        rules = {r: json_text(r) for r in set(parts.rule_applied)}
        controlled = ["true" if c else "false" for c in parts.controlled]
        head = f'"baseline_probability":{self.baseline},"contributions":['
        model = f'"model":{self.model_ref},"policy":{{"version":{json_text(parts.policy_version)}'
        tail = f'"scenario":{json_text(parts.scenario)}}}'
        ids = string_texts(parts.supplier_id)
        return [
            f'{{"supplier_id":{ids[i]},"probability":{probability[i]},'
            f'"risk_score":{risk_score[i]},"band":{band[i]},{head}{contributions[i]}],'
            f'"reasons":{reasons[i]},"recourse":{recourse[i]},"assumptions":{assumptions[i]},'
            f'{model},"as_of":"{parts.as_of[i]}","controlled":{controlled[i]},'
            f'"rule_applied":{rules[parts.rule_applied[i]]}}},{tail}'
            for i in range(n)
        ]
