"""Model reload: a good file is swapped in atomically, a bad one leaves the old model serving."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from service.app import create_app
from supplier_risk.model_file import finalise_document
from supplier_risk.settings import Settings
from tests.conftest import BASE_RECORD
from tests.service.conftest import TestClient, auth


def write_version(path: Path, version: str) -> None:
    """Rewrite the model file at path as a valid model with another version."""
    document = json.loads(path.read_text("utf-8"))
    document["version"] = version
    path.write_text(json.dumps(finalise_document(document)), "utf-8")


def test_reload_swaps_in_a_new_valid_model(keyed: TestClient, model_copy: Path) -> None:
    before = keyed.get("/v1/model", headers=auth()).json()["version"]
    write_version(model_copy, "2099-01-01+test")
    response = keyed.post("/v1/admin/reload", headers=auth())
    assert response.status_code == 200
    assert response.json()["reloaded"] is True
    assert f"(was {before})" in response.json()["message"]
    scored = keyed.post("/v1/score", json=BASE_RECORD, headers=auth()).json()
    assert scored["model"]["version"] == "2099-01-01+test"
    assert "2099-01-01+test" in keyed.get("/openapi.json").json()["info"]["description"]
    assert 'version="2099-01-01+test"' in keyed.get("/metrics").text


def tamper(path: Path) -> None:
    """Change one number of the model without re-signing it."""
    document = json.loads(path.read_text("utf-8"))
    document["intercept"] += 1.0
    path.write_text(json.dumps(document), "utf-8")


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda p: p.write_text("{not json", "utf-8"), "not valid JSON"),
        (tamper, "sha256 mismatch"),
        (lambda p: p.unlink(), "cannot read model file"),
        (lambda p: p.write_text("[" * 100_000 + "]" * 100_000, "utf-8"), "is nested too deeply"),
        (
            lambda p: p.write_text('{"format_version": 1, "x": ' + "1" * 5000 + "}", "utf-8"),
            "has a number too long to read",
        ),
    ],
)
def test_reload_with_a_bad_file_keeps_the_old_model_serving(
    keyed: TestClient, model_copy: Path, damage: object, why: str
) -> None:
    before = keyed.post("/v1/score", json=BASE_RECORD, headers=auth()).json()
    damage(model_copy)  # type: ignore[operator]
    response = keyed.post("/v1/admin/reload", headers=auth())
    assert response.status_code == 409
    body = response.json()
    assert body["reloaded"] is False
    assert why in body["message"]
    assert f"still serving model {before['model']['version']}" in body["message"]
    after = keyed.post("/v1/score", json=BASE_RECORD, headers=auth()).json()
    assert after == before
    ready = keyed.get("/readyz").json()
    assert ready["status"] == "ready"
    assert why in ready["last_reload_error"]
    assert 'supplier_risk_model_reloads_total{result="failed"} 1.0' in keyed.get("/metrics").text


def test_reload_records_an_unexpected_error_as_a_failed_reload(
    keyed: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(settings: Settings) -> None:
        raise RuntimeError("a bug while loading")

    monkeypatch.setattr("service.state.load_serving", broken)
    response = keyed.post("/v1/admin/reload", headers=auth())
    assert response.status_code == 409
    assert "unexpected RuntimeError: a bug while loading" in response.json()["message"]
    shown = keyed.get("/readyz", headers=auth()).json()["last_reload_error"]
    assert "unexpected RuntimeError: a bug while loading" in shown
    anonymous = keyed.get("/readyz").json()["last_reload_error"]
    assert anonymous == "an unexpected error while loading the model (details in the log)"
    assert 'supplier_risk_model_reloads_total{result="failed"} 1.0' in keyed.get("/metrics").text


@pytest.mark.parametrize(
    "damage", [lambda p: p.write_text("{not json", "utf-8"), tamper, Path.unlink]
)
def test_readyz_shows_a_failed_reload_without_server_paths_to_anonymous_callers(
    keyed: TestClient, model_copy: Path, damage: Any
) -> None:
    damage(model_copy)
    full = keyed.post("/v1/admin/reload", headers=auth()).json()["message"]
    directory = str(model_copy.parent)
    assert directory in full  # the operator, with a key, is told where
    anonymous = keyed.get("/readyz").json()["last_reload_error"]
    assert directory not in anonymous
    assert "/" not in anonymous
    assert "model file model.json" in anonymous  # still says which file and why
    keyed_view = keyed.get("/readyz", headers=auth()).json()["last_reload_error"]
    assert directory in keyed_view
    wrong_key = keyed.get("/readyz", headers={"X-API-Key": "wrong"}).json()["last_reload_error"]
    assert wrong_key == anonymous


def test_readyz_hides_server_paths_when_no_keys_are_configured(
    model_copy: Path, tmp_path: Path
) -> None:
    settings = Settings(model_path=model_copy, api_keys=())
    app = create_app(settings)
    with TestClient(app) as client:
        model_copy.write_text("{not json", "utf-8")
        outcome = asyncio.run(app.state.holder.reload("SIGHUP"))
        assert str(tmp_path) in outcome.message  # the log line keeps the path
        shown = client.get("/readyz").json()["last_reload_error"]
        assert str(tmp_path) not in shown
        assert shown.startswith("model file model.json is not valid JSON")


def test_reload_over_http_needs_configured_keys(client: TestClient) -> None:
    response = client.post("/v1/admin/reload")
    assert response.status_code == 403
    assert "SIGHUP" in response.json()["message"]


def test_requests_in_flight_keep_their_model_during_a_reload(
    keyed_settings: Settings, model_copy: Path
) -> None:
    app = create_app(keyed_settings)

    async def run() -> tuple[str, str]:
        async with app.router.lifespan_context(app):
            holder = app.state.holder
            taken = holder.current  # what a request in flight holds
            write_version(model_copy, "2099-02-02+test")
            outcome = await holder.reload("test")
            assert outcome.ok
            return taken.scorer.model.version, holder.current.scorer.model.version

    old, new = asyncio.run(run())
    assert old != new == "2099-02-02+test"
