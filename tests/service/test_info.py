"""The model card, policy, scenarios, health, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from service.app import create_app
from service.schemas import ModelCard
from supplier_risk.record import material_codes
from supplier_risk.settings import Settings
from tests.conftest import BASE_RECORD
from tests.service.conftest import TestClient

ROOT = Path(__file__).resolve().parents[2]


def test_model_card_has_version_terms_metrics_and_training(client: TestClient) -> None:
    response = client.get("/v1/model")
    assert response.status_code == 200
    card = ModelCard.model_validate(response.json())
    assert card.version
    assert len(card.sha256) == 64
    assert {t.name for t in card.terms} >= {"licence_type", "inventory_buffer_days"}
    assert card.metrics
    assert card.training["rows"] > 0
    assert next(f.name for f in card.features) == "china_share"


def test_policy_returns_table_and_version(client: TestClient) -> None:
    body = client.get("/v1/policy").json()
    assert body["version"] == body["table"]["version"]
    assert {c["name"] for c in body["table"]["control_lists"]} >= {"april_2025"}
    suspension = body["table"]["control_lists"][1]["suspensions"][0]
    assert "from" in suspension  # the file's own field name, not the Python one


def test_scenarios_lists_names_each_scoring_endpoint_accepts(client: TestClient) -> None:
    body = client.get("/v1/scenarios").json()
    names = [s["name"] for s in body["scenarios"]]
    assert "suspension_lapses" in names
    for name in names:
        response = client.post(f"/v1/score?scenario={name}", json=BASE_RECORD)
        assert response.status_code == 200, name


def test_healthz_answers(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_is_200_with_model_loaded(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["model_version"]


def test_readyz_is_503_before_the_model_is_loaded(settings: Settings) -> None:
    client = TestClient(create_app(settings))  # not started: the lifespan has not run
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    scored = client.post("/v1/score", json=BASE_RECORD)
    assert scored.status_code == 503
    assert scored.json()["error"] == "not_ready"


def test_metrics_count_requests_latency_bands_and_model(client: TestClient) -> None:
    client.post("/v1/score", json=BASE_RECORD)
    client.post("/v1/score/batch", json={"suppliers": [BASE_RECORD, BASE_RECORD]})
    client.post("/v1/score", json={})
    text = client.get("/metrics").text
    band = client.post("/v1/score", json=BASE_RECORD).json()["band"]
    assert f'supplier_risk_suppliers_scored_total{{band="{band}"}} 3.0' in text
    assert (
        'supplier_risk_http_requests_total{method="POST",route="/v1/score",status="422"} 1.0'
        in text
    )
    assert (
        'supplier_risk_http_request_duration_seconds_bucket{le="0.001",route="/v1/score"}' in text
    )
    assert "supplier_risk_model_info{" in text
    assert "process_resident_memory_bytes " in text
    assert "_created" not in text  # one series per counter, not two


def test_metrics_group_unknown_paths(client: TestClient) -> None:
    client.get("/no/such/path/123")
    assert 'route="(unmatched)"' in client.get("/metrics").text


def test_openapi_names_model_version_and_declares_bodies_and_errors(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    version = client.get("/v1/model").json()["version"]
    assert version in document["info"]["description"]
    score = document["paths"]["/v1/score"]["post"]
    body = score["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"] == "#/components/schemas/SupplierRecord"
    assert body["example"]["supplier_id"] == "V-10023"
    assert score["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ScoreResult"
    )
    assert score["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorBody"
    )
    assert score["tags"] == ["scoring"]
    assert any(p["name"] == "scenario" for p in score["parameters"])
    schemas = document["components"]["schemas"]
    assert {"SupplierRecord", "BatchRequest", "ScoreResult", "ErrorBody", "LicenceType"} <= set(
        schemas
    )


def test_openapi_lists_for_a_get_route_only_the_errors_it_can_give(client: TestClient) -> None:
    # A client generator builds a type per listed status: 400, 415 and 422 need a body.
    paths = client.get("/openapi.json").json()["paths"]
    reads = ("/v1/model", "/v1/policy", "/v1/scenarios", "/healthz", "/readyz", "/metrics")
    for path, method in [*((p, "get") for p in reads), ("/v1/admin/reload", "post")]:
        listed = set(paths[path][method]["responses"])
        assert not listed & {"400", "415", "422"}, path
        assert {"200", "401", "413", "500"} <= listed, path


def test_openapi_lists_the_served_materials_and_the_shape_of_a_country(
    client: TestClient,
) -> None:
    # A client generator makes an enum of the materials; countries are any case, so a pattern.
    record = client.get("/openapi.json").json()["components"]["schemas"]["SupplierRecord"]
    assert record["properties"]["material"]["enum"] == sorted(material_codes())
    assert record["properties"]["origin_country"]["pattern"] == "^[A-Za-z]{2}$"
    assert record["properties"]["destination_country"]["anyOf"][0]["pattern"] == "^[A-Za-z]{2}$"
    lower = {**BASE_RECORD, "origin_country": "cn"}
    assert client.post("/v1/score", json=lower).status_code == 200  # the pattern allows it too


def test_health_and_readiness_answer_head_without_a_body(settings: Settings) -> None:
    not_started = TestClient(create_app(settings))
    assert not_started.head("/readyz").status_code == 503
    with TestClient(create_app(settings)) as client:
        for path in ("/healthz", "/readyz"):
            response = client.head(path)
            assert response.status_code == 200, path
            assert response.content == b"", path
            assert response.headers["content-type"] == "application/json", path


def test_health_readiness_and_metrics_document_their_401_behind_a_key(
    keyed_settings: Settings,
) -> None:
    closed = keyed_settings.model_copy(update={"open_health": False})
    with TestClient(create_app(closed)) as client:
        paths = client.get("/openapi.json").json()["paths"]
        for path in ("/healthz", "/readyz", "/metrics"):
            assert client.get(path).status_code == 401, path
            refused = paths[path]["get"]["responses"]["401"]
            assert refused["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/healthz", {"GET", "HEAD"}),
        ("POST", "/readyz", {"GET", "HEAD"}),
        ("DELETE", "/v1/score", {"POST"}),
        ("PUT", "/v1/model", {"GET"}),
    ],
)
def test_a_405_lists_every_method_of_the_path_in_allow(
    client: TestClient, method: str, path: str, allowed: set[str]
) -> None:
    # /healthz and /readyz are two routes each (GET, HEAD): Allow named only the first one.
    response = client.request(method, path)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == allowed
    assert response.json()["error"] == "method_not_allowed"


def test_importing_the_service_leaves_prometheus_client_as_it_was() -> None:
    # No work at import time (docs/ARCHITECTURE.md): turning off the *_created series is the
    # app's doing, not a side effect of importing it on every registry in the process.
    code = (
        "import service.app\n"
        "from prometheus_client import CollectorRegistry, Counter, generate_latest\n"
        "registry = CollectorRegistry()\n"
        "Counter('c', 'c', registry=registry)\n"
        "print('c_created' in generate_latest(registry).decode())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert (done.returncode, done.stdout) == (0, "True\n"), done.stderr
