"""A served reference table of one's own: records are checked against the materials it lists."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from service.app import StartupError, create_app
from supplier_risk.settings import Settings, default_model_path
from tests.conftest import record_data
from tests.service.conftest import TestClient

NEW = {"code": "ce_metal", "description": "cerium metal", "elements": ["Ce"], "control_list": None}


@pytest.fixture
def extended(tmp_path: Path) -> Iterator[TestClient]:
    """Return a client of an app serving the shipped tables plus one more material."""
    shipped = resources.files("supplier_risk").joinpath("data")
    for name in ("materials.json", "end_uses.json", "policy.json"):
        shutil.copyfile(str(shipped.joinpath(name)), tmp_path / name)
    table = json.loads((tmp_path / "materials.json").read_text("utf-8"))
    table["materials"].append(NEW)
    (tmp_path / "materials.json").write_text(json.dumps(table), "utf-8")
    settings = Settings(model_path=default_model_path(), reference_dir=tmp_path, api_keys=())
    with TestClient(create_app(settings), raise_server_exceptions=False) as started:
        yield started


def test_a_material_of_the_served_table_is_scored_alone_and_in_a_batch(
    extended: TestClient,
) -> None:
    record = record_data(material="ce_metal", origin_country="cn")
    single = extended.post("/v1/score", json=record)
    assert single.status_code == 200, single.text
    batch = extended.post("/v1/score/batch", json={"suppliers": [record, record_data()]})
    assert batch.status_code == 200
    assert [r["supplier_id"] for r in batch.json()["results"]] == ["V-10023", "V-10023"]
    assert batch.json()["results"][0]["band"] == single.json()["band"]


def test_a_canonical_batch_with_a_material_of_the_served_table_is_read_in_one_pass(
    extended: TestClient,
) -> None:
    records = [record_data(material="ce_metal"), record_data()]
    body = json.dumps({"suppliers": records}).encode()
    reader = extended.app.state.holder.current.scorer.batch_reader  # type: ignore[attr-defined]
    decoded = reader.decode(body)
    assert decoded is not None  # the one-pass decoder knows the served table's own material
    assert [r.material for r in decoded.suppliers] == ["ce_metal", "ndfeb_magnet_heavy"]
    batch = extended.post(
        "/v1/score/batch", content=body, headers={"Content-Type": "application/json"}
    )
    assert batch.status_code == 200
    for record, result in zip(records, batch.json()["results"], strict=True):
        assert result == extended.post("/v1/score", json=record).json()


def test_an_unknown_material_is_refused_naming_the_served_table(extended: TestClient) -> None:
    record = record_data(material="unobtainium")
    single = extended.post("/v1/score", json=record)
    assert single.status_code == 422
    [error] = single.json()["errors"]
    assert error["field"] == "material"
    assert error["value"] == "unobtainium"
    assert error["message"].endswith(", ce_metal")
    assert "allowed:" not in error["message"]
    batch = extended.post("/v1/score/batch", json={"suppliers": [record]}).json()
    assert batch["errors"][0]["errors"] == [error]


def test_a_missing_material_names_the_served_table(extended: TestClient) -> None:
    record = record_data()
    del record["material"]
    [error] = extended.post("/v1/score", json=record).json()["errors"]
    assert error["field"] == "material"
    assert error["message"].startswith("field required; allowed: one of: la_ce_oxide")
    assert error["message"].endswith(", ce_metal")
    batch = extended.post("/v1/score/batch", json={"suppliers": [record]}).json()
    assert batch["errors"][0]["errors"] == [error]


def test_the_openapi_record_lists_the_served_materials(extended: TestClient) -> None:
    schemas = extended.get("/openapi.json").json()["components"]["schemas"]
    assert "ce_metal" in schemas["SupplierRecord"]["properties"]["material"]["enum"]


def test_a_policy_rule_naming_an_unknown_end_use_stops_the_service_starting(
    tmp_path: Path,
) -> None:
    shipped = resources.files("supplier_risk").joinpath("data")
    for name in ("materials.json", "end_uses.json", "policy.json"):
        shutil.copyfile(str(shipped.joinpath(name)), tmp_path / name)
    policy = json.loads((tmp_path / "policy.json").read_text("utf-8"))
    policy["rules"][1]["end_uses"] = ["military"]  # scored as a 500 on every request before
    (tmp_path / "policy.json").write_text(json.dumps(policy), "utf-8")
    settings = Settings(model_path=default_model_path(), reference_dir=tmp_path, api_keys=())
    with (
        pytest.raises(StartupError, match="end_uses has 'military'; allowed: "),
        TestClient(create_app(settings)),
    ):
        pass
