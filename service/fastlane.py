"""POST /v1/score answered straight from ASGI, without FastAPI's routing and dependencies.

On this route FastAPI's per-request machinery (route matching over every route, dependency
and parameter solving) cost more than validating, scoring and explaining the supplier. The
lane does only what the route needs and calls the same function as the declared route,
:func:`service.routes.scoring.score_payload`, so both give the same bytes and the same errors;
schemathesis checks the lane's answers against the route's OpenAPI declaration. The lane
returns the status and the body; the edge (service.middleware) sends them with its request id.
"""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.types import Receive, Scope

from service.errors import ApiError, BodyTooLargeError, error_json
from service.metrics import Metrics
from service.routes.scoring import score_payload
from service.state import ModelHolder
from supplier_risk.settings import Settings

PATH = "/v1/score"


Headers = tuple[tuple[bytes, bytes], ...]


class ScoreLane:
    """Serve POST /v1/score."""

    def __init__(self, holder: ModelHolder, settings: Settings, metrics: Metrics) -> None:
        self.holder = holder
        self.settings = settings
        self.metrics = metrics

    async def respond(
        self, scope: Scope, receive: Receive, content_type: str, limit: int
    ) -> tuple[int, bytes, Headers] | None:
        """Return one request's status, JSON body and extra headers (None if the client left).

        The caller has checked the method, the path and the API key, and sends the answer.
        A body that grows past ``limit`` bytes is answered 413 without reading the rest.
        """
        state = scope["state"]
        try:
            serving = self.holder.current
            if serving is None:
                raise ApiError(503, "not_ready", "no model is loaded yet; try again shortly")
            query = scope["query_string"]
            scenario = QueryParams(query).get("scenario") if query else None
            chunks: list[bytes] = []
            received = 0
            more = True
            while more:  # inline, not a helper coroutine: this runs on every request
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                chunk: bytes = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise BodyTooLargeError(limit)
                chunks.append(chunk)
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
        except ApiError as exc:
            body = error_json(
                exc.status, exc.error, exc.message, state.get("request_id"), exc.errors
            )
            # A 413's "connection: close": else the server reads on what it refused.
            return exc.status, body, exc.raw_headers()
        return 200, payload, ()
