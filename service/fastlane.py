"""POST /v1/score answered straight from ASGI, without FastAPI's routing and dependencies.

On this route FastAPI's per-request machinery (route matching over every route, dependency
and parameter solving) cost more than validating, scoring and explaining the supplier. The
lane does only what the route needs and calls the same function as the declared route,
:func:`service.routes.scoring.score_payload`, so both give the same bytes and the same errors;
schemathesis checks the lane's answers against the route's OpenAPI declaration.
"""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.types import Receive, Scope, Send

from service.errors import ApiError, error_json
from service.metrics import Metrics
from service.routes.scoring import score_payload
from service.state import ModelHolder
from supplier_risk.settings import Settings

PATH = "/v1/score"
JSON_HEADERS = [(b"content-type", b"application/json")]


class ScoreLane:
    """Serve POST /v1/score."""

    def __init__(self, holder: ModelHolder, settings: Settings, metrics: Metrics) -> None:
        self.holder = holder
        self.settings = settings
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request (the caller has checked the method, path and API key)."""
        state = scope["state"]
        try:
            serving = self.holder.current
            if serving is None:
                raise ApiError(503, "not_ready", "no model is loaded yet; try again shortly")
            content_type = ""
            for name, value in scope["headers"]:
                if name == b"content-type":
                    content_type = value.decode("latin-1")
                    break
            query = scope["query_string"]
            scenario = QueryParams(query).get("scenario") if query else None
            chunks: list[bytes] = []
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            payload = score_payload(
                serving,
                body,
                content_type,
                scenario,
                self.settings.current_date(),
                self.metrics,
                state,
            )
            status = 200
        except ApiError as exc:
            status = exc.status
            payload = error_json(
                exc.status, exc.error, exc.message, state.get("request_id"), exc.errors
            )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    *JSON_HEADERS,
                    (b"content-length", str(len(payload)).encode("ascii")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
