"""Under each what-if scenario, batch scores move in the direction the scenario implies."""

from __future__ import annotations

from typing import Any

import pytest

from supplier_risk.batch import BatchRun, score_csv
from supplier_risk.scorer import Scorer
from supplier_risk.tables import open_table
from tests.conftest import TODAY, record_data
from tests.core.table_files import csv_bytes, parse

# Every case is assessed on 2026-11-22, after the suspension's assumed end (2026-11-10).
CASES: dict[str, dict[str, Any]] = {
    "ho_oxide_from_cn": record_data(
        material="ho_oxide", licence_type="not_required", destination_country="DE"
    ),
    "ho_oxide_from_cn_to_jp": record_data(
        material="ho_oxide", licence_type="not_required", destination_country="JP"
    ),
    "heavy_magnet_made_in_jp_with_chinese_content": record_data(
        material="ndfeb_magnet_heavy",
        origin_country="JP",
        china_share=0.3,
        licence_type="not_required",
    ),
    "general_licence": record_data(licence_type="general"),
    "individual_licence": record_data(licence_type="individual"),
    "defense_buyer_in_de": record_data(end_use="defense", destination_country="DE"),
    "light_magnet": record_data(material="ndfeb_magnet", licence_type="not_required"),
}

RAISED: dict[str, set[str]] = {
    "baseline": set(),
    "suspension_renewed": set(),
    "suspension_lapses": {
        "ho_oxide_from_cn",
        "ho_oxide_from_cn_to_jp",
        "heavy_magnet_made_in_jp_with_chinese_content",
    },
    "general_licences_revoked": {"general_licence"},
    "military_end_use_denied": {"defense_buyer_in_de"},
    "country_targeted": {"ho_oxide_from_cn_to_jp"},
}


def scored(scorer: Scorer, scenario: str | None) -> tuple[dict[str, float], BatchRun]:
    records = [{**r, "supplier_id": name} for name, r in CASES.items()]
    table = open_table(csv_bytes(records))
    run = BatchRun(scorer, table.format, TODAY, scenario)
    out = parse("".join(score_csv(table, run)))
    assert all(r["error"] == "" for r in out)
    return {r["supplier_id"]: float(r["probability"]) for r in out}, run


def test_every_shipped_scenario_has_an_expected_direction(scorer: Scorer) -> None:
    assert set(scorer.scenarios.names()) == set(RAISED)


@pytest.mark.parametrize("scenario", sorted(RAISED))
def test_scenario_moves_scores_in_its_direction(scorer: Scorer, scenario: str) -> None:
    base, _ = scored(scorer, None)
    what_if, run = scored(scorer, scenario)
    for case in CASES:
        if case in RAISED[scenario]:
            assert what_if[case] > base[case] + 0.01, case
        else:
            assert what_if[case] == pytest.approx(base[case], abs=1e-9), case
    summary = run.summary_json([])
    assert summary["scenario"] == scenario
    assert summary["policy_version"].endswith(f"+{scenario}")


def test_scenario_effect_shows_in_the_reasons(scorer: Scorer) -> None:
    records = [{**CASES["general_licence"], "supplier_id": "G", "inventory_buffer_days": 400}]
    table = open_table(csv_bytes(records))
    run = BatchRun(scorer, table.format, TODAY, "general_licences_revoked")
    out = parse("".join(score_csv(table, run)))
    assert "raised by the rule general_licences_revoked" in out[0]["top_reasons"]
