"""POST /v1/score and /v1/score/batch answered straight from ASGI, without FastAPI's routing.

On these routes FastAPI's per-request machinery (route matching over every route, dependency
and parameter solving) cost more than validating, scoring and explaining one supplier, and a
few percent of a batch. The lane does only what the routes need and calls the same functions
as the declared routes, :func:`service.routes.scoring.score_payload` and
:func:`~service.routes.scoring.batch_payload`, so both give the same bytes and the same
errors; schemathesis checks the lane's answers against the routes' OpenAPI declarations. The
lane returns the status and the body; the edge (service.middleware) sends them with its
request id.
"""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.types import Receive, Scope

from service.errors import ApiError, BodyTooLargeError, error_json
from service.metrics import Metrics
from service.routes.scoring import batch_payload, check_batch_request, score_payload
from service.state import ModelHolder
from service.threads import ThreadWork
from supplier_risk.settings import Settings

PATH = "/v1/score"
BATCH_PATH = "/v1/score/batch"
PATHS = frozenset({PATH, BATCH_PATH})
"""the POST routes the lane answers"""


Headers = tuple[tuple[bytes, bytes], ...]


class ScoreLane:
    """Serve POST /v1/score and POST /v1/score/batch."""

    def __init__(
        self, holder: ModelHolder, settings: Settings, metrics: Metrics, work: ThreadWork
    ) -> None:
        self.holder = holder
        self.settings = settings
        self.metrics = metrics
        self.work = work

    async def respond(
        self, scope: Scope, receive: Receive, content_type: str, limit: int
    ) -> tuple[int, bytes, Headers] | None:
        """Return one request's status, JSON body and extra headers (None if the client left).

        The caller has checked the method, the path (one of PATHS) and the API key, and sends
        the answer. A body that grows past ``limit`` bytes is answered 413 without reading the
        rest.
        """
        state = scope["state"]
        try:
            serving = self.holder.current
            if serving is None:
                raise ApiError(503, "not_ready", "no model is loaded yet; try again shortly")
            query = scope["query_string"]
            scenario = QueryParams(query).get("scenario") if query else None
            batch = scope["path"] == BATCH_PATH
            if batch:  # refused before the body is read, as the declared route does
                check_batch_request(serving, content_type, scenario)
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
            if batch:
                payload = await batch_payload(
                    serving,
                    body,
                    scenario,
                    self.settings,
                    self.work,
                    self.metrics,
                    state,
                )
            else:
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
