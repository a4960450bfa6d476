"""The edge of the service: request ids, API keys, body limits, the access log and metrics.

One pure ASGI middleware does all five, because every ASGI layer costs a few microseconds
on each request and a single score takes only a few tens. It wraps the whole FastAPI app
(see service.app.ServiceApp) and hands POST /v1/score and /v1/score/batch to the lane
(service.fastlane). Its order matters: the request id comes first (every answer carries it),
the API key is checked before a byte of the body is read, and the body is counted as it
streams, so an oversized chunked body is cut off at the limit instead of being buffered.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import logging
import re
import secrets
import time
from collections.abc import Iterable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import CLIENT_CLOSED_REQUEST, BodyTooLargeError, error_json
from service.fastlane import PATHS as LANE_PATHS
from service.fastlane import ScoreLane
from service.logs import AccessLog
from service.metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
JSON_TYPE = (b"content-type", b"application/json")
REQUEST_ID_PATTERN = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
"""Matched in full (fullmatch): ``$`` would also let a trailing newline through."""
AUTH_SCHEME = re.compile(rb"[A-Za-z0-9!#$%&'*+.^_`|~\-]{1,20}")
"""An Authorization scheme shown back in a 401 (a token, RFC 9110 11.1), if it is one."""
CHALLENGE = b'Bearer realm="supplier-risk"'
WRONG_KEY_CHALLENGE = CHALLENGE + b', error="invalid_token"'
"""RFC 6750, 3.1: the error code only when a key was sent and is not valid."""
KEY_HINT = "send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
DOC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json"})
DOC_PREFIX = "/docs/static/"
"""Swagger UI's own files (service.docs): open like the docs page that loads them."""
DOC_STATIC_ROUTE = DOC_PREFIX.rstrip("/")
CSV_PATH = "/v1/score/csv"
METRIC_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
"""Methods counted under their own name; any other is "OTHER", or callers could grow the
scrape without end (httptools knows some thirty methods, h11 takes any token)."""

Refusal = tuple[int, str, str, list[tuple[bytes, bytes]]]
"""status, error code, message, extra headers"""

log = logging.getLogger("supplier_risk.service")


class KeyRing:
    """API keys, kept only as SHA-256 digests and compared in constant time."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = [hashlib.sha256(k.encode("utf-8")).digest() for k in keys]

    @property
    def enabled(self) -> bool:
        """Return whether any key is configured (no key: authentication is off)."""
        return bool(self._digests)

    def accepts(self, candidate: bytes) -> bool:
        """Return whether the candidate is one of the keys.

        Digests have one length, so compare_digest leaks neither a key's length nor where
        it differs; every key is compared, so the time does not depend on which matched.
        """
        digest = hashlib.sha256(candidate).digest()
        found = False
        for known in self._digests:
            found |= hmac.compare_digest(digest, known)
        return found


def edge_headers(
    headers: Iterable[tuple[bytes, bytes]],
) -> tuple[bytes | None, bytes | None, bytes | None]:
    """Return the request id, Content-Length and Content-Type headers (the first of each)."""
    request_id = length = kind = None
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            request_id = request_id if request_id is not None else bytes(value)
        elif name == b"content-length":
            length = length if length is not None else bytes(value)
        elif name == b"content-type":
            kind = kind if kind is not None else bytes(value)
    return request_id, length, kind


def presented_key(scope: Scope) -> bytes | None:
    """Return the API key of a request: `Authorization: Bearer <key>` or `X-API-Key`."""
    key: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = bytes(value).partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key" and key is None:  # the first, as for every other header
            key = bytes(value).strip()
    return key


def missing_key(scope: Scope) -> str:
    """Return why a request without a usable key has none (only on that 401: not hot)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme = bytes(value).strip().partition(b" ")[0]
            if scheme.lower() == b"bearer":
                return "the Authorization header has no key after 'Bearer'"
            # The scheme comes from the caller: shown only when it is a short plain token.
            shown = f" '{scheme.decode('ascii')}'" if AUTH_SCHEME.fullmatch(scheme) else ""
            return f"the Authorization scheme{shown} is not accepted, only Bearer"
    return "no API key"


class EdgeMiddleware:
    """Request id, authentication, body limits, one JSON log line and metrics per request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        keys: KeyRing,
        open_health: bool,
        max_body_bytes: int,
        max_csv_bytes: int,
        metrics: Metrics,
        access: AccessLog,
        routes: frozenset[str],
        lane: ScoreLane | None = None,
    ) -> None:
        self.app = app
        self.lane = lane
        self.access = access
        self.keys = keys
        self.open_paths = (OPEN_PATHS if open_health else frozenset()) | DOC_PATHS
        self.max_body_bytes = max_body_bytes
        self.max_csv_bytes = max_csv_bytes
        self.metrics = metrics
        self.routes = routes
        # A random prefix per process and a counter: unique without a getrandom() system
        # call per request (request ids need not be secret).
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(1)

    def _new_id(self) -> str:
        return f"{self._prefix}{next(self._counter):08x}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request; pass lifespan and other scopes through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given, length, kind = edge_headers(scope["headers"])
        request_id = (
            given.decode("ascii")
            if given is not None and REQUEST_ID_PATTERN.fullmatch(given)
            else self._new_id()
        )
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        id_header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        path: str = scope["path"]
        try:
            refusal = self._refusal(scope, path, length)
            if refusal is not None:
                code, error, message, extra = refusal
                await self._reply(send_with_id, code, error, message, request_id, extra)
            elif path in LANE_PATHS and self.lane is not None and scope["method"] == "POST":
                content_type = "" if kind is None else kind.decode("latin-1")
                answer = await self.lane.respond(scope, receive, content_type, self.max_body_bytes)
                if answer is not None:
                    status, payload, headers = answer
                    start, body = _json_answer(status, payload, id_header, *headers)
                    await send(start)
                    await send(body)
            else:
                limit = self.max_csv_bytes if path == CSV_PATH else self.max_body_bytes
                await self.app(scope, self._limited(receive, limit), send_with_id)
        except BodyTooLargeError as exc:
            if status == 0:
                # Its "connection: close" matters: else the server reads on what it refused.
                await self._reply(
                    send_with_id, 413, "body_too_large", str(exc), request_id, exc.raw_headers()
                )
        except ClientDisconnect:
            pass  # the caller hung up mid-body: nobody to answer, nothing went wrong here
        except asyncio.CancelledError:
            # uvicorn cancels a request still running GRACEFUL_SHUTDOWN_SECONDS after SIGTERM
            # (a slow upload). Unanswered, it sent a plain-text 500 and logged a stack trace;
            # a 503 says the truth (not done: send it again) and the task then ends normally.
            if status != 0:
                raise  # half an answer is out: uvicorn closes the connection
            await self._reply(
                send_with_id,
                503,
                "shutting_down",
                "the service stopped before this request was done; send the request again",
                request_id,
                [(b"connection", b"close")],
            )
        except Exception:
            if status == 0:  # else FastAPI's handler has answered and logged it already
                log.exception("unexpected error", extra={"request_id": request_id, "path": path})
                message = (
                    f"an unexpected error occurred; quote request id {request_id} to the operator"
                )
                await self._reply(send_with_id, 500, "internal_error", message, request_id)
        finally:
            if status == 0:
                status = CLIENT_CLOSED_REQUEST  # no answer was sent: the caller went away
            seconds = time.perf_counter() - started
            method: str = scope["method"]
            route = (
                path
                if path in self.routes
                else DOC_STATIC_ROUTE
                if path.startswith(DOC_PREFIX)
                else "(unmatched)"
            )
            self.metrics.observe(
                route, method if method in METRIC_METHODS else "OTHER", status, seconds
            )
            self.access.write(
                method,
                path,
                status,
                round(seconds * 1000, 3),
                request_id,
                state.get("items"),
            )

    def _refusal(self, scope: Scope, path: str, length: bytes | None) -> Refusal | None:
        """Return why a request is refused before its body is read, or None.

        ``length`` is the request's Content-Length header, if it has one.
        """
        if self.keys.enabled and path not in self.open_paths and not path.startswith(DOC_PREFIX):
            key = presented_key(scope)
            if key is None:
                challenge = [(b"www-authenticate", CHALLENGE)]
                return (401, "unauthorized", f"{missing_key(scope)}: {KEY_HINT}", challenge)
            if not self.keys.accepts(key):
                challenge = [(b"www-authenticate", WRONG_KEY_CHALLENGE)]
                return (401, "unauthorized", f"the API key is not valid: {KEY_HINT}", challenge)
        if length is not None:
            limit = self.max_csv_bytes if path == CSV_PATH else self.max_body_bytes
            try:
                size = int(length)
            except ValueError:
                return (400, "bad_request", "Content-Length is not a number", [])
            if size > limit:
                return (
                    413,
                    "body_too_large",
                    f"the request body is {size} bytes; the limit is {limit} bytes",
                    [(b"connection", b"close")],
                )
        return None

    @staticmethod
    def _limited(receive: Receive, limit: int) -> Receive:
        """Return a receive that raises BodyTooLargeError once more than ``limit`` bytes arrived."""
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        return limited

    @staticmethod
    async def _reply(
        send: Send,
        status: int,
        error: str,
        message: str,
        request_id: str,
        headers: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        start, body = _json_answer(status, error_json(status, error, message, request_id), *headers)
        await send(start)
        await send(body)


def _json_answer(
    status: int, body: bytes, *headers: tuple[bytes, bytes]
) -> tuple[Message, Message]:
    """Return the ASGI messages of a JSON answer: Content-Type, Content-Length, ``headers``."""
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [JSON_TYPE, (b"content-length", str(len(body)).encode("ascii")), *headers],
    }
    return start, {"type": "http.response.body", "body": body}
