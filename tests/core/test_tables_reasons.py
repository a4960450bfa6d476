"""Batch reasons: each term's words read only the context facts REASON_KEYS lists for it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from supplier_risk.explain import ReasonContext, reason_text
from supplier_risk.reason_keys import REASON_KEYS
from supplier_risk.scorer import Scorer

BASE = ReasonContext(
    material="dy_oxide",
    material_description="dysprosium oxide",
    control_list="april_2025",
    controlled=True,
    as_of="2026-11-22",
    licence="individual",
    end_use="automotive",
    sensitivity="medium",
    buffer_days=30.0,
    alternates=0,
    supplier_type="established",
    china_share=0.95,
    rule_applied=None,
)
# Each batch key stands for these ReasonContext fields (descriptions follow the material).
KEY_FIELDS = {
    "material": ("material", "material_description", "control_list"),
    "controlled": ("controlled",),
    "as_of": ("as_of",),
    "licence": ("licence",),
    "end_use": ("end_use", "sensitivity"),
    "buffer_days": ("buffer_days",),
    "alternates": ("alternates",),
    "supplier_type": ("supplier_type",),
    "china_share": ("china_share",),
    "rule_applied": ("rule_applied",),
}
OTHER_VALUES: dict[str, Any] = {
    "material": "ho_oxide",
    "material_description": "holmium oxide",
    "control_list": "october_2025",
    "controlled": False,
    "as_of": "2027-01-01",
    "licence": "pending",
    "end_use": "defense",
    "sensitivity": "critical",
    "buffer_days": 400.0,
    "alternates": 3,
    "supplier_type": "intermediary",
    "china_share": 0.2,
    "rule_applied": "some_rule",
}


def test_reason_keys_cover_every_term_of_the_default_model(scorer: Scorer) -> None:
    assert set(scorer.model.term_names) <= set(REASON_KEYS)


@pytest.mark.parametrize("term", sorted(REASON_KEYS))
def test_reason_text_depends_only_on_its_keys(term: str) -> None:
    read = {f for key in REASON_KEYS[term] for f in KEY_FIELDS[key]}
    base = reason_text(term, BASE)
    for name, value in OTHER_VALUES.items():
        if name not in read:
            changed = dataclasses.replace(BASE, **{name: value})
            assert reason_text(term, changed) == base, name


@pytest.mark.parametrize(
    ("term", "change", "said"),
    [
        ("end_use", {"end_use": "defense", "sensitivity": "critical"},
         "Defense end use: foreign military end users are refused in principle"),
        ("supplier_type", {"supplier_type": "smaller"},
         "A smaller firm or new entrant: general licences went to established exporters first"),
        ("supplier_type", {"supplier_type": "intermediary"},
         "A trader buying from producers: stays on per-shipment licences and adds a link to the "
         "chain"),
        ("inventory_buffer_days", {"buffer_days": 30.0},
         "Stock covers only 30 days, less than one licence review cycle (about 45-60 days)"),
        ("inventory_buffer_days", {"buffer_days": 75.0},
         "Stock covers 75 days: little margin over one licence review cycle"),
        # scored as needing no licence: an uncontrolled material, or a sale inside China
        ("end_use", {"end_use": "defense", "sensitivity": "critical", "controlled": False},
         "Defense end use, of critical sensitivity"),
        ("supplier_type", {"supplier_type": "smaller", "controlled": False},
         "A smaller firm or new entrant"),
        ("supplier_type", {"supplier_type": "intermediary", "controlled": False},
         "A trader buying from producers: adds a link to the chain"),
        ("inventory_buffer_days", {"buffer_days": 30.0, "controlled": False},
         "Stock covers only 30 days"),
        ("inventory_buffer_days", {"buffer_days": 75.0, "controlled": False},
         "Stock covers 75 days"),
    ],
)  # fmt: skip
def test_a_reason_speaks_of_licence_reviews_only_where_there_are_some(
    term: str, change: dict[str, Any], said: str
) -> None:
    assert reason_text(term, dataclasses.replace(BASE, **change)) == said
