"""API keys checked before the body is read; body and batch limits; chunked bodies counted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest

from service.app import create_app
from service.middleware import KeyRing
from supplier_risk.settings import Settings
from tests.conftest import BASE_RECORD
from tests.service.conftest import API_KEY, TestClient, auth, http_scope


def test_request_without_key_is_401_with_www_authenticate(keyed: TestClient) -> None:
    response = keyed.post("/v1/score", json=BASE_RECORD)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "no API key" in response.json()["message"]


def test_request_with_wrong_key_is_401(keyed: TestClient) -> None:
    response = keyed.post("/v1/score", json=BASE_RECORD, headers={"X-API-Key": "wrong"})
    assert response.status_code == 401
    assert "not valid" in response.json()["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {API_KEY}"},
        {"Authorization": f"bearer {API_KEY}"},
        {"X-API-Key": API_KEY},
    ],
)
def test_request_with_key_is_served(keyed: TestClient, headers: dict[str, str]) -> None:
    assert keyed.post("/v1/score", json=BASE_RECORD, headers=headers).status_code == 200
    assert keyed.get("/v1/model", headers=headers).status_code == 200


def test_every_api_route_needs_the_key(keyed: TestClient) -> None:
    for method, path in [
        ("POST", "/v1/score/batch"),
        ("POST", "/v1/score/csv"),
        ("GET", "/v1/model"),
        ("GET", "/v1/policy"),
        ("GET", "/v1/scenarios"),
        ("POST", "/v1/admin/reload"),
    ]:
        assert keyed.request(method, path).status_code == 401, path


def test_health_readiness_and_metrics_are_open_by_default(keyed: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert keyed.get(path).status_code == 200, path


def test_health_needs_key_when_not_open(keyed_settings: Settings) -> None:
    closed = keyed_settings.model_copy(update={"open_health": False})
    with TestClient(create_app(closed)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/readyz", headers=auth()).status_code == 200


def test_key_is_checked_before_the_body_is_read(keyed_settings: Settings) -> None:
    app = create_app(keyed_settings)
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read before the key was checked")

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = http_scope("/v1/score", [(b"content-type", b"application/json")])
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 401


def test_keys_are_compared_by_digest() -> None:
    ring = KeyRing(["alpha", "beta-longer-key"])
    assert ring.accepts(b"beta-longer-key")
    assert ring.accepts(b"alpha")
    assert not ring.accepts(b"alph")
    assert not ring.accepts(b"")
    assert not KeyRing([]).enabled


def test_no_key_configured_warns_loudly(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(create_app(settings)):
        pass
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("NO API KEY CONFIGURED" in w for w in warnings)


def test_keys_configured_do_not_warn(
    keyed_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(create_app(keyed_settings)):
        pass
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


@pytest.fixture
def small(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_body_bytes": 2048})


def test_body_over_limit_is_413_by_content_length(small: Settings) -> None:
    with TestClient(create_app(small)) as client:
        body = {"suppliers": [BASE_RECORD] * 20}
        response = client.post("/v1/score/batch", json=body)
        assert response.status_code == 413
        assert "the limit is 2048 bytes" in response.json()["message"]


@pytest.mark.parametrize("path", ["/v1/score", "/v1/score/batch"])
def test_chunked_body_over_limit_is_413_without_reading_the_rest(
    small: Settings, path: str
) -> None:
    app = create_app(small)
    chunk = b" " * 1000
    reads = 0
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": chunk, "more_body": reads < 1000}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            scope = http_scope(path, [(b"content-type", b"application/json")])  # no Content-Length
            await app(scope, receive, send)

    asyncio.run(run())
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]  # else the server reads on
    assert reads == 3  # 3000 bytes > 2048: it stopped there, not after a megabyte
    assert b"larger than the limit of 2048 bytes" in sent[1]["body"]


@pytest.mark.parametrize("lane", [True, False])
@pytest.mark.parametrize(
    ("query", "kind", "status"),
    [(b"", b"text/plain", 415), (b"scenario=nope", b"application/json", 422)],
)
def test_a_batch_refused_by_its_headers_is_answered_before_its_body_is_read(
    small: Settings, lane: bool, query: bytes, kind: bytes, status: int
) -> None:
    app = create_app(small)
    if not lane:  # the declared route, as served where the edge has no lane
        assert app.edge is not None
        app.edge.lane = None
    reads = 0
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b" " * 1000, "more_body": reads < 1000}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            scope = http_scope("/v1/score/batch", [(b"content-type", kind)])  # chunked
            scope["query_string"] = query
            await app(scope, receive, send)

    asyncio.run(run())
    assert sent[0]["status"] == status  # not 413: the body, over the limit, was never read
    assert reads == 0


@pytest.mark.parametrize("path", ["/v1/score", "/v1/score/batch", "/v1/score/csv"])
def test_a_caller_leaving_mid_body_is_no_error(
    settings: Settings, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)
    messages = iter(
        [{"type": "http.request", "body": b'{"suppliers": [', "more_body": True}]
        + [{"type": "http.disconnect"}] * 3
    )
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            kind = b"text/csv" if path.endswith("csv") else b"application/json"
            await app(http_scope(path, [(b"content-type", kind)]), receive, send)

    asyncio.run(run())
    # nobody to answer: at most a bare 499, which no caller reads
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] in ([], [499])
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    scrape = app.state.metrics.render().decode()
    assert f'{{method="POST",route="{path}",status="499"}} 1.0' in scrape


def test_the_first_of_repeated_api_key_headers_counts(keyed: TestClient) -> None:
    headers = [("X-API-Key", API_KEY), ("X-API-Key", "wrong")]
    response = keyed.get("/v1/model", headers=headers)
    assert response.status_code == 200


def test_chunked_body_over_limit_through_the_client(small: Settings) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 100

    with TestClient(create_app(small)) as client:
        response = client.post(
            "/v1/score", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413


def test_chunked_body_under_limit_is_scored(settings: Settings) -> None:
    data = json.dumps(BASE_RECORD).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(data), 10):
            yield data[i : i + 10]

    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/v1/score", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("authorization", "said"),
    [
        ("Basic dXNlcjpwYXNz", "the Authorization scheme 'Basic' is not accepted"),
        ("Digest username=x", "the Authorization scheme 'Digest' is not accepted"),
        ("Bearer", "the Authorization header has no key after 'Bearer'"),
        ("Bearer    ", "the Authorization header has no key after 'Bearer'"),
        ("Negotiate" + "x" * 40 + " y", "the Authorization scheme is not accepted"),
    ],
)
def test_an_authorization_header_without_a_bearer_key_is_named_in_the_401(
    keyed: TestClient, authorization: str, said: str
) -> None:
    response = keyed.get("/v1/model", headers={"Authorization": authorization})
    assert response.status_code == 401
    message = response.json()["message"]
    assert message.startswith(said), message
    assert "no API key" not in message
    assert response.headers["www-authenticate"] == 'Bearer realm="supplier-risk"'


def test_a_wrong_key_is_answered_with_the_invalid_token_challenge(keyed: TestClient) -> None:
    # RFC 6750, 3.1: a key that was sent but is wrong is "invalid_token"; none sent, no code.
    response = keyed.get("/v1/model", headers={"Authorization": "Bearer wrong"})
    assert response.headers["www-authenticate"] == (
        'Bearer realm="supplier-risk", error="invalid_token"'
    )
    assert keyed.get("/v1/model").headers["www-authenticate"] == 'Bearer realm="supplier-risk"'


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"BEARER   {API_KEY}  "},
        {"Authorization": "Basic dXNlcjpwYXNz", "X-API-Key": API_KEY},
        {"X-API-Key": f"  {API_KEY} "},
    ],
)
def test_a_key_is_found_despite_case_spaces_or_another_scheme(
    keyed: TestClient, headers: dict[str, str]
) -> None:
    assert keyed.get("/v1/model", headers=headers).status_code == 200


def test_configured_keys_are_trimmed_and_split_on_commas(model_copy: Any) -> None:
    settings = Settings(model_path=model_copy, api_keys=" one , two,, ")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for key in ("one", "two"):
            assert client.get("/v1/model", headers={"X-API-Key": key}).status_code == 200
        assert client.get("/v1/model", headers={"X-API-Key": "one , two"}).status_code == 401


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(f"Bearer {API_KEY}", 200), ("Bearer wrong", 401), ("Basic dXNlcjpwYXNz", 200)],
)
def test_a_bearer_key_decides_over_an_x_api_key(
    keyed: TestClient, authorization: str, status: int
) -> None:
    # As the README says: a Bearer key, when sent, is the one checked; another scheme is not one.
    headers = {"Authorization": authorization, "X-API-Key": API_KEY}
    assert keyed.get("/v1/model", headers=headers).status_code == status
