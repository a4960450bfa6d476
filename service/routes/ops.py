"""Operations: liveness, readiness, metrics and a model reload that drops no request."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.errors import ApiError, ErrorBody
from service.metrics import CONTENT_TYPE
from service.middleware import KeyRing, presented_key
from service.openapi import ERROR_RESPONSES, NO_BODY_RESPONSES
from service.schemas import Health, Readiness, ReloadResponse
from service.state import HolderDep, MetricsDep, SettingsDep

router = APIRouter(tags=["operations"])

OPEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorBody,
        "description": "no valid API key (only with SUPPLIER_RISK_OPEN_HEALTH=false)",
    },
    413: ERROR_RESPONSES[413],
    500: ERROR_RESPONSES[500],
}
"""What the operations routes can answer besides their own: open by default, not always."""

# Health and readiness answer HEAD too: some probes (load balancers, uptime checkers) send HEAD
# and read only the status. The HEAD routes stay out of the OpenAPI document, where they would
# repeat the GET operations' ids; the GET descriptions say HEAD is answered.


@router.get("/healthz", summary="Liveness", response_model=Health, responses=OPEN_RESPONSES)
@router.head("/healthz", include_in_schema=False)
async def healthz() -> Health:
    """Answer while the process runs (HEAD too: the status only)."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=Readiness,
    responses={
        503: {"model": Readiness, "description": "no valid model is loaded"},
        **OPEN_RESPONSES,
    },
)
@router.head("/readyz", include_in_schema=False)
async def readyz(request: Request, holder: HolderDep) -> Response:
    """Answer 200 once a valid model is loaded, 503 before (HEAD too: the status only).

    After a failed reload, ``last_reload_error`` says why: in full to a caller with a valid
    API key, else without the server's file paths (health is open by default).
    """
    serving = holder.current
    why = holder.last_error
    if why is not None and not _has_valid_key(request):
        why = holder.last_error_public
    body = Readiness(
        status="ready" if serving is not None else "not_ready",
        model_version=serving.scorer.model.version if serving is not None else None,
        last_reload_error=why,
    )
    return Response(
        content=body.model_dump_json(),
        status_code=200 if serving is not None else 503,
        media_type="application/json",
    )


def _has_valid_key(request: Request) -> bool:
    """Return whether the request presents one of the configured API keys."""
    keys: KeyRing = request.app.state.keys
    key = presented_key(request.scope)
    return keys.enabled and key is not None and keys.accepts(key)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **OPEN_RESPONSES},
)
async def metrics(collected: MetricsDep) -> Response:
    """Return the metrics in the Prometheus text format."""
    return Response(content=collected.render(), media_type=CONTENT_TYPE)


@router.post(
    "/v1/admin/reload",
    summary="Reload the model file",
    response_model=ReloadResponse,
    responses={
        **NO_BODY_RESPONSES,
        403: {"model": ErrorBody, "description": "no API keys are configured"},
        409: {"model": ReloadResponse, "description": "the new file is bad; the old model serves"},
    },
)
async def reload_model(request: Request, holder: HolderDep, settings: SettingsDep) -> Response:
    """Load and verify the model file again and swap it in; a bad file keeps the old model.

    Needs an API key (and so is refused when none is configured). With several workers,
    send SIGHUP to the server process instead: uvicorn replaces the workers one by one.
    """
    if not settings.api_keys:
        raise ApiError(
            403,
            "forbidden",
            "model reload over HTTP needs API keys (SUPPLIER_RISK_API_KEYS); "
            "or send SIGHUP to the server process",
        )
    outcome = await holder.reload("http")
    request.app.openapi_schema = None  # the description names the model version
    model = outcome.serving.scorer.model
    body = ReloadResponse(
        reloaded=outcome.ok,
        message=outcome.message,
        model_version=model.version,
        sha256=model.sha256,
    )
    return Response(
        content=body.model_dump_json(),
        status_code=200 if outcome.ok else 409,
        media_type="application/json",
    )
