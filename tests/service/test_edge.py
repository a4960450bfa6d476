"""Request ids, the JSON access log, and unexpected errors answered without a stack trace."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import MutableMapping
from typing import Any

import pytest

from service.app import create_app
from service.errors import ErrorBody
from service.logs import AccessLog
from supplier_risk.settings import Settings
from tests.conftest import BASE_RECORD
from tests.service.conftest import API_KEY, TestClient, http_scope


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


def _asgi_get(
    app: Any, path: str, headers: list[tuple[bytes, bytes]]
) -> list[MutableMapping[str, Any]]:
    """Send one GET straight to the ASGI app (headers no HTTP client would send); return sent."""
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = http_scope(path, headers, method="GET")
    asyncio.run(app(scope, receive, send))
    return sent


@pytest.mark.parametrize("given", [b"abc\n", b"abc\r\n", b"ab\x00c", "\u00e9t\u00e9".encode()])
def test_a_request_id_with_a_line_break_or_control_byte_is_replaced(
    client: TestClient, capsys: pytest.CaptureFixture[str], given: bytes
) -> None:
    # Servers other than httptools may pass such bytes on; the id is logged without quoting.
    access_lines(client, capsys)
    sent = _asgi_get(client.app, "/healthz", [(b"x-request-id", given)])
    echoed = dict(sent[0]["headers"])[b"x-request-id"]
    assert echoed != given
    assert len(echoed) == 16
    assert all(line["request_id"] == echoed.decode() for line in access_lines(client, capsys))


def test_odd_methods_share_one_metrics_label(client: TestClient) -> None:
    # Each distinct method would be a new series: a caller could grow the scrape without end.
    for n in range(30):
        client.request(f"X-ODD-{n}", "/healthz")
        client.request(f"X-ODD-{n}", f"/random/{n}")
    client.request("PROPFIND", "/healthz")
    client.request("PATCH", "/healthz")
    scrape = client.get("/metrics").text
    assert "X-ODD" not in scrape
    assert 'method="OTHER",route="(unmatched)",status="404"} 30.0' in scrape
    assert 'method="OTHER",route="/healthz",status="405"} 31.0' in scrape
    assert 'method="PATCH",route="/healthz",status="405"} 1.0' in scrape


def test_swagger_ui_files_count_under_their_mount(client: TestClient) -> None:
    assert client.get("/docs/static/swagger-ui.css").status_code == 200
    assert client.get("/docs/static/nothing-here.js").status_code == 404
    scrape = client.get("/metrics").text
    assert 'method="GET",route="/docs/static",status="200"} 1.0' in scrape
    assert 'method="GET",route="/docs/static",status="404"} 1.0' in scrape
    assert "(unmatched)" not in scrape


def test_a_long_path_is_shortened_in_the_access_log(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    access_lines(client, capsys)
    client.get("/" + "x" * 20_000)
    (line,) = access_lines(client, capsys)
    assert line["status"] == 404
    assert len(line["path"]) < 300
    assert line["path"].endswith("...")


def test_a_line_written_after_shutdown_is_not_lost(capsys: pytest.CaptureFixture[str]) -> None:
    # A request cut off by the graceful-shutdown timeout ends after the lifespan stopped the log.
    access = AccessLog()
    access.stop()
    access.write("POST", "/v1/score/csv", 503, 5000.0, "late-1", None)
    assert '"request_id":"late-1"' in capsys.readouterr().out


def test_a_request_cut_off_by_the_shutdown_timeout_is_answered_503(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # uvicorn cancels what still runs GRACEFUL_SHUTDOWN_SECONDS after SIGTERM; left to it, the
    # caller got a plain-text 500, the log a stack trace, and our line and metrics said 499.
    app = create_app(settings)
    sent: list[MutableMapping[str, Any]] = []
    first = True

    async def receive() -> dict[str, Any]:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"supplier_id\n", "more_body": True}
        await asyncio.Event().wait()  # an upload that goes on and on
        raise AssertionError("unreachable")

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            scope = http_scope("/v1/score/csv", [(b"content-type", b"text/csv")])
            task = asyncio.create_task(app(scope, receive, send))
            await asyncio.sleep(0.05)
            task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
            await task  # answered, not re-raised: uvicorn would log a stack trace for nothing

    asyncio.run(run())
    assert sent[0]["status"] == 503
    assert (b"connection", b"close") in sent[0]["headers"]
    body = ErrorBody.model_validate_json(sent[1]["body"])
    assert body.error == "shutting_down"
    assert "send the request again" in body.message
    scrape = app.state.metrics.render().decode()
    assert 'route="/v1/score/csv",status="503"} 1.0' in scrape
    assert '"status":503' in capsys.readouterr().out


def test_shutdown_does_not_wait_for_the_threads_of_cut_off_requests(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A large CSV cut off at the shutdown timeout kept its thread scoring, and Python waits
    # for such threads before exiting: SIGTERM to exit took 10.5 s, past Docker's SIGKILL.
    app = create_app(settings)
    exits: list[int] = []
    monkeypatch.setattr("service.app.exit_now", exits.append)
    release = threading.Event()
    threading.Timer(2.0, release.set).start()  # the thread's work, seconds of it

    work = app.state.work

    async def run() -> None:
        async with app.router.lifespan_context(app):
            task = asyncio.create_task(work.run(release.wait))
            while not work.busy():
                await asyncio.sleep(0.01)
            task.cancel()  # what uvicorn does at the timeout; the edge answers 503
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert work.busy() == 1  # the thread works on
        assert not release.is_set()  # the lifespan ended without waiting for it

    asyncio.run(run())
    assert exits == [0]
    release.wait()


def test_shutdown_waits_for_no_other_app_and_exits_only_for_its_own_work(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The count was one per process: an app stopping while another app's request (or a model
    # reload) ran in a thread took the whole process down with exit status 0, a test run too.
    busy_app, stopping = create_app(settings), create_app(settings)
    exits: list[int] = []
    monkeypatch.setattr("service.app.exit_now", exits.append)
    release = threading.Event()

    async def run() -> None:
        task = asyncio.create_task(busy_app.state.work.run(release.wait))
        while not busy_app.state.work.busy():
            await asyncio.sleep(0.01)
        async with stopping.router.lifespan_context(stopping):
            pass
        release.set()
        await task

    asyncio.run(run())
    assert exits == []


def test_every_outcome_has_one_access_line_a_count_and_a_duration(
    keyed: TestClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    serving = keyed.app.state.holder.current  # type: ignore[attr-defined]

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(serving.scorer, "score_columns", explode)
    access_lines(keyed, capsys)
    key = {"X-API-Key": API_KEY}
    big = {**key, "Content-Type": "application/json", "Content-Length": str(10**9)}
    outcomes = [
        (keyed.get("/v1/model"), "/v1/model", 401),
        (keyed.get("/nowhere", headers=key), "(unmatched)", 404),
        (keyed.delete("/v1/score", headers=key), "/v1/score", 405),
        (keyed.post("/v1/score/batch", headers=big, content=b"{}"), "/v1/score/batch", 413),
        (keyed.post("/v1/score?scenario=nope", headers=key, json=BASE_RECORD), "/v1/score", 422),
        (
            keyed.post("/v1/score/batch", headers=key, json={"suppliers": [BASE_RECORD]}),
            "/v1/score/batch",
            500,
        ),
    ]
    lines = access_lines(keyed, capsys)
    assert [line["status"] for line in lines] == [status for _, _, status in outcomes]
    assert all(0 <= line["duration_ms"] < 5000 for line in lines)
    scrape = keyed.get("/metrics", headers=key).text
    for response, route, status in outcomes:
        assert response.status_code == status
        assert f'route="{route}",status="{status}"}} 1.0' in scrape, (route, status)
    batch_latency = 'supplier_risk_http_request_duration_seconds_count{route="/v1/score/batch"}'
    assert f"{batch_latency} 2.0" in scrape
