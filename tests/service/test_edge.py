"""Request ids, the JSON access log, and unexpected errors answered without a stack trace."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.errors import ErrorBody
from tests.conftest import BASE_RECORD
from tests.service.conftest import TestClient


def access_lines(client: TestClient, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    client.app.state.access.flush()  # type: ignore[attr-defined]
    out = capsys.readouterr().out.splitlines()
    return [json.loads(line) for line in out if '"supplier_risk.access"' in line]


def test_request_id_is_generated_and_echoed(client: TestClient) -> None:
    first = client.post("/v1/score", json=BASE_RECORD).headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert len(first) == 16
    assert first != second


def test_valid_request_id_is_kept(client: TestClient) -> None:
    response = client.get("/v1/model", headers={"X-Request-ID": "erp-42:run.7"})
    assert response.headers["x-request-id"] == "erp-42:run.7"


@pytest.mark.parametrize("given", ["x" * 129, "bad id with spaces", "<script>"])
def test_invalid_request_id_is_replaced(client: TestClient, given: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["x-request-id"] != given
    assert len(response.headers["x-request-id"]) == 16


def test_error_body_carries_the_request_id(client: TestClient) -> None:
    response = client.post("/v1/score", json={}, headers={"X-Request-ID": "abc-1"})
    assert ErrorBody.model_validate(response.json()).request_id == "abc-1"


def test_one_access_line_per_request_without_body(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    access_lines(client, capsys)
    secret = {**BASE_RECORD, "supplier_name": "Confidential Magnets"}
    client.post("/v1/score", json=secret, headers={"X-Request-ID": "line-1"})
    client.post("/v1/score", json={"supplier_name": "Confidential Magnets"})
    lines = access_lines(client, capsys)
    assert len(lines) == 2
    first = lines[0]
    assert first["method"] == "POST"
    assert first["path"] == "/v1/score"
    assert first["status"] == 200
    assert first["items"] == 1
    assert first["request_id"] == "line-1"
    assert first["duration_ms"] >= 0
    assert first["level"] == "info"
    assert lines[1]["status"] == 422
    assert lines[1]["items"] is None
    assert "Confidential" not in json.dumps(lines)


def test_unexpected_error_is_500_with_request_id_and_no_trace(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    serving = client.app.state.holder.current  # type: ignore[attr-defined]

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(serving.single, "score", explode)
    monkeypatch.setattr(serving.scorer, "score_columns", explode)
    for path, body in [
        ("/v1/score", BASE_RECORD),
        ("/v1/score/batch", {"suppliers": [BASE_RECORD]}),
    ]:
        response = client.post(path, json=body, headers={"X-Request-ID": "boom-1"})
        assert response.status_code == 500
        error = ErrorBody.model_validate(response.json())
        assert error.request_id == "boom-1"
        assert "boom-1" in error.message
        assert "secret internal detail" not in response.text
        assert "Traceback" not in response.text
    logged = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged
    assert logged[0].exc_info is not None
