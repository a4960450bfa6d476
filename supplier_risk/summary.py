"""The portfolio summary of a batch run, accumulated chunk by chunk in bounded memory.

By band, by material and by origin (counts, and weights when a spend column is named), the
concentration of origins per material as a Herfindahl-Hirschman index (sum of squared
percentage shares, 0-10,000: 10,000 is a single origin; the US merger guidelines call a
market above 1,800 highly concentrated), the top risks, the errors by field, and what was
guessed on reading.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from supplier_risk.features import NOTES_APART

TOP = 10
FIRST_ERRORS = 20
HIGHLY_CONCENTRATED_HHI = 1800.0
"""2023 US merger guidelines: an HHI above 1,800 is a highly concentrated market."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ObjArray = NDArray[np.object_]


SHOWN_POLICY_NOTES = 10
"""Distinct policy notes listed in a summary, most suppliers first."""


def row_number(index: int) -> int:
    """Return the spreadsheet row of a data row (the header is row 1)."""
    return index + 2


@dataclass
class TopList:
    """The largest ``size`` entries by a key, kept across chunks (ties keep the earlier row)."""

    size: int = TOP
    entries: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)

    def offer(self, key: FloatArray, rows: IntArray, make: Any) -> None:
        """Offer rows with their keys; ``make(i)`` builds the entry of local position i."""
        if key.size == 0:
            return
        take = min(self.size, key.size)
        best = np.argpartition(-key, take - 1)[:take] if key.size > take else np.arange(key.size)
        for i in best.tolist():
            self.entries.append((float(key[i]), int(rows[i]), make(i)))
        self.entries.sort(key=lambda e: (-e[0], e[1]))
        del self.entries[self.size :]

    def items(self) -> list[dict[str, Any]]:
        """Return the kept entries, largest first."""
        return [e[2] for e in self.entries]


@dataclass
class Totals:
    """Running totals of a batch run."""

    band_labels: tuple[str, ...]
    materials: tuple[str, ...]
    weighted: bool = False
    rows: int = 0
    scored: int = 0
    invalid: int = 0
    blank_rows: int = 0
    weight_missing: int = 0
    band_count: IntArray = field(init=False)
    band_weight: FloatArray = field(init=False)
    material_band: IntArray = field(init=False)
    material_weight: FloatArray = field(init=False)
    material_probability: FloatArray = field(init=False)
    by_origin: dict[str, list[float]] = field(default_factory=dict)
    """origin -> [suppliers, weight, sum of probability]"""
    material_origin: dict[tuple[int, str], float] = field(default_factory=dict)
    errors_by_field: Counter[str] = field(default_factory=Counter)
    first_errors: list[dict[str, Any]] = field(default_factory=list)
    top_risks: TopList = field(default_factory=TopList)
    policy_notes: Counter[str] = field(default_factory=Counter)
    """policy note (an assumption of the policy table, or a check it asks for) -> suppliers"""

    def __post_init__(self) -> None:
        bands, materials = len(self.band_labels), len(self.materials)
        self.band_count = np.zeros(bands, dtype=np.int64)
        self.band_weight = np.zeros(bands)
        self.material_band = np.zeros((materials, bands), dtype=np.int64)
        self.material_weight = np.zeros(materials)
        self.material_probability = np.zeros(materials)

    def add_scored(
        self,
        material: IntArray,
        origin: ObjArray,
        band: IntArray,
        probability: FloatArray,
        weight: FloatArray,
    ) -> None:
        """Add the scored rows of a chunk (weight 1.0 each when no weight column is named)."""
        bands = len(self.band_labels)
        self.band_count += np.bincount(band, minlength=bands)
        self.band_weight += np.bincount(band, weights=weight, minlength=bands)
        np.add.at(self.material_band, (material, band), 1)
        m = len(self.materials)
        self.material_weight += np.bincount(material, weights=weight, minlength=m)
        self.material_probability += np.bincount(material, weights=probability, minlength=m)
        origins, at = np.unique(origin.astype(str), return_inverse=True)
        at = at.reshape(-1)
        count = np.bincount(at, minlength=origins.size)
        w_sum = np.bincount(at, weights=weight, minlength=origins.size)
        p_sum = np.bincount(at, weights=probability, minlength=origins.size)
        for k, o in enumerate(origins.tolist()):
            slot = self.by_origin.setdefault(o, [0.0, 0.0, 0.0])
            slot[0] += float(count[k])
            slot[1] += float(w_sum[k])
            slot[2] += float(p_sum[k])
        pair = material.astype(np.int64) * origins.size + at
        pairs, pair_at = np.unique(pair, return_inverse=True)
        pair_weight = np.bincount(pair_at.reshape(-1), weights=weight, minlength=pairs.size)
        for key, w in zip(pairs.tolist(), pair_weight.tolist(), strict=True):
            cell = (key // origins.size, str(origins[key % origins.size]))
            self.material_origin[cell] = self.material_origin.get(cell, 0.0) + w

    def add_policy_notes(self, notes: ObjArray) -> None:
        """Count the scored rows of a chunk by the policy note each carries."""
        noted = notes[notes != None]  # noqa: E711 (element-wise on an object array)
        # Rows share few notes: each distinct text is split into its notes once.
        for said, count in Counter(noted.tolist()).items():
            for note in said.split(NOTES_APART):
                self.policy_notes[note] += count

    def add_errors(
        self,
        rows: IntArray,
        ids: ObjArray,
        messages: ObjArray,
        fields: dict[str, NDArray[np.bool_]],
    ) -> None:
        """Count the invalid rows of a chunk by field and keep the first few in full.

        ``fields`` marks, per field, which of these rows have an error in it (the messages
        hold the rows' own values, so they are not parsed for this).
        """
        for name, flagged in fields.items():
            if count := int(np.count_nonzero(flagged)):
                self.errors_by_field[name] += count
        room = max(FIRST_ERRORS - len(self.first_errors), 0)
        for i, ident, message in zip(
            rows[:room].tolist(), ids[:room].tolist(), messages[:room].tolist(), strict=True
        ):
            self.first_errors.append(
                {"row": row_number(i), "supplier_id": str(ident), "error": str(message)}
            )

    def hhi(self) -> dict[str, dict[str, Any]]:
        """Return, per material, the HHI of its origins (by weight) and its largest origin."""
        shares: dict[int, dict[str, float]] = {}
        for (m, origin), w in self.material_origin.items():
            shares.setdefault(m, {})[origin] = w
        out: dict[str, dict[str, Any]] = {}
        for m, by_origin in sorted(shares.items()):
            total = sum(by_origin.values())
            if total <= 0:
                continue
            top_origin = max(by_origin, key=lambda o: by_origin[o])
            index = sum((100.0 * w / total) ** 2 for w in by_origin.values())
            out[self.materials[m]] = {
                "hhi": round(index, 1),
                "origins": len(by_origin),
                "top_origin": top_origin,
                "top_origin_share": round(by_origin[top_origin] / total, 4),
                "highly_concentrated": index > HIGHLY_CONCENTRATED_HHI,
            }
        return out

    def as_json(self) -> dict[str, Any]:
        """Return the portfolio part of the summary as plain data."""
        concentration = self.hhi()
        materials: list[dict[str, Any]] = []
        for m, code in enumerate(self.materials):
            count = int(self.material_band[m].sum())
            if not count:
                continue
            materials.append(
                {
                    "material": code,
                    "suppliers": count,
                    "weight": float(self.material_weight[m]),
                    "mean_probability": round(float(self.material_probability[m]) / count, 6),
                    "bands": dict(
                        zip(self.band_labels, self.material_band[m].tolist(), strict=True)
                    ),
                    "origins_hhi": concentration.get(code),
                }
            )
        materials.sort(key=lambda e: (-e["weight"], e["material"]))
        origins: list[dict[str, Any]] = [
            {
                "origin_country": o,
                "suppliers": int(v[0]),
                "weight": v[1],
                "mean_probability": round(v[2] / v[0], 6) if v[0] else None,
            }
            for o, v in self.by_origin.items()
        ]
        origins.sort(key=lambda e: (-e["weight"], e["origin_country"]))
        return {
            "rows": self.rows,
            "scored": self.scored,
            "invalid": self.invalid,
            "blank_rows_skipped": self.blank_rows,
            "bands": {
                label: {"suppliers": int(c), "weight": float(w)}
                for label, c, w in zip(
                    self.band_labels, self.band_count, self.band_weight, strict=True
                )
            },
            "materials": materials,
            "origins": origins,
            "top_risks": self.top_risks.items(),
            "policy_notes": [
                {"suppliers": count, "note": note}
                for note, count in self.policy_notes.most_common(SHOWN_POLICY_NOTES)
            ],
            "errors": {
                "rows": self.invalid,
                "by_field": dict(self.errors_by_field.most_common()),
                "first": self.first_errors,
            },
        }
