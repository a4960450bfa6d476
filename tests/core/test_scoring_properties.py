"""Properties of the scoring path on any valid record (hypothesis)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplier_risk.record import END_USES, LICENCE_ORDER, SUPPLIER_TYPE_ORDER, parse_record
from supplier_risk.reference import load_reference
from supplier_risk.scorer import Scorer
from tests.conftest import TODAY

MATERIALS = tuple(load_reference().materials)
COUNTRIES = ("CN", "cn", "JP", "US", "DE", "MY", "AU", "EE", "FR", "KR")

records = st.fixed_dictionaries(
    {
        "supplier_id": st.text(min_size=1, max_size=64),
        "material": st.sampled_from(MATERIALS),
        "origin_country": st.sampled_from(COUNTRIES),
        "licence_type": st.sampled_from(LICENCE_ORDER),
        "end_use": st.sampled_from(END_USES),
        "inventory_buffer_days": st.floats(0, 3650),
    },
    optional={
        "china_share": st.floats(0, 1),
        "alternate_suppliers": st.integers(0, 1000),
        "supplier_type": st.sampled_from(SUPPLIER_TYPE_ORDER),
        "destination_country": st.sampled_from(COUNTRIES),
        "as_of": st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)).map(dt.date.isoformat),
        "supplier_name": st.text(max_size=200),
    },
)


def logit(p: float) -> float:
    return math.log(p / (1 - p))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=records)
def test_score_records_keeps_contract_invariants(scorer: Scorer, data: dict[str, Any]) -> None:
    result = scorer.score_records([parse_record(data)], TODAY)[0]
    p = result["probability"]
    assert 0.0 < p < 1.0
    assert result["risk_score"] == round(100 * p)
    assert result["supplier_id"] == data["supplier_id"]
    total = sum(c["contribution"] for c in result["contributions"])
    assert abs(total - (logit(p) - logit(result["baseline_probability"]))) <= 1e-9
    assert len(result["reasons"]) <= 4
    labels = scorer.model.band_labels
    for option in result["recourse"]:
        assert labels.index(option["band"]) < labels.index(result["band"])
