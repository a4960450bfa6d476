"""The app factory: settings in, a FastAPI app out; the lifespan owns the model.

Run it with ``supplier-risk serve`` or ``uvicorn service.app:create_app --factory``. Nothing
happens at import: the model is loaded and verified when the app starts, once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from service.docs import install_docs
from service.errors import allowed_methods, install_handlers
from service.fastlane import ScoreLane
from service.logs import AccessLog, ensure_json_logging
from service.malloc import keep_freed_memory
from service.metrics import Metrics
from service.middleware import EdgeMiddleware, KeyRing
from service.openapi import install_openapi
from service.routes import info, ops, scoring
from service.state import ModelHolder, settle_memory
from service.threads import ThreadWork
from supplier_risk import __version__
from supplier_risk.errors import SupplierRiskError
from supplier_risk.record import material_codes
from supplier_risk.settings import Settings

log = logging.getLogger("supplier_risk.service")

DESCRIPTION = """\
Scores rare-earth suppliers for the probability that China's export controls disrupt
deliveries within 90 days, from an interpretable model file (table lookups, no estimator).

**Model served:** {model}

Authentication: `Authorization: Bearer <key>` or `X-API-Key: <key>` on every endpoint except
`/healthz`, `/readyz`, `/metrics` and the docs (when API keys are configured). Every error
has the `ErrorBody` shape; every response carries `X-Request-ID`.
"""

TAGS = [
    {"name": "scoring", "description": "score one supplier, a batch or a CSV supplier list"},
    {"name": "model", "description": "the model card, the policy table and the scenarios"},
    {"name": "operations", "description": "health, readiness, metrics and model reload"},
]


class ServiceApp(FastAPI):
    """FastAPI with the edge middleware around its whole stack, not inside it.

    Every HTTP request meets the edge first (request id, API key, limits, log, metrics);
    POST /v1/score and /v1/score/batch are then answered by the lane without entering FastAPI
    at all, and every other request goes on through FastAPI's own middleware and routing.
    """

    edge: EdgeMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send HTTP requests through the edge; lifespan straight to FastAPI."""
        if scope["type"] == "http" and self.edge is not None:
            await self.edge(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


class StartupError(RuntimeError):
    """The service cannot start: no valid model could be loaded."""


def create_app(settings: Settings | None = None) -> ServiceApp:
    """Return the app; settings default to the SUPPLIER_RISK_* environment."""
    settings = settings if settings is not None else Settings()
    metrics = Metrics()
    holder = ModelHolder(settings, metrics)
    work = ThreadWork()
    access = AccessLog(enabled=settings.log_level in ("debug", "info"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ensure_json_logging(settings.log_level)
        if not settings.api_keys:
            log.warning(
                "NO API KEY CONFIGURED: every endpoint is open to anyone who can reach this "
                "port; set SUPPLIER_RISK_API_KEYS to require keys"
            )
        try:
            serving = holder.load()
        except SupplierRiskError as exc:
            log.critical("cannot start: no valid model could be loaded: %s", exc)
            raise StartupError(f"no valid model could be loaded: {exc}") from None
        model = serving.scorer.model
        log.info(
            "model loaded",
            extra={
                "model_version": model.version,
                "sha256": model.sha256,
                "path": str(serving.path),
                "policy_version": serving.scorer.reference.policy.version,
            },
        )
        hup = _watch_sighup(app, holder)
        access.start()
        settle_memory()
        keep_freed_memory(settings.keep_freed_memory_mb * 1024 * 1024)
        try:
            yield
        finally:
            access.stop()
            if hup:
                with suppress(Exception):
                    asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            left = work.busy()
            if left:
                # Only requests uvicorn cut off at the shutdown timeout (answered 503) leave
                # work behind; Python would wait for it before exiting (service.threads).
                log.warning(
                    "exiting without waiting for %d thread(s) still working for requests "
                    "cut off at shutdown (answered 503)",
                    left,
                )
                exit_now(0)

    app = ServiceApp(
        title="supplier-risk",
        version=__version__,
        lifespan=lifespan,
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.holder = holder
    app.state.work = work  # the requests' thread work, which shutdown will not wait for
    app.state.access = access
    keys = KeyRing(k.get_secret_value() for k in settings.api_keys)
    app.state.keys = keys  # /readyz shows a reload error in full only to a caller with a key
    app.include_router(scoring.router)
    app.include_router(info.router)
    app.include_router(ops.router)
    install_docs(app)
    install_handlers(app)

    def describe() -> str:
        serving = holder.current
        model = (
            f"{serving.scorer.model.file.name} {serving.scorer.model.version} "
            f"(sha256 {serving.scorer.model.sha256[:12]}...)"
            if serving is not None
            else "none loaded yet"
        )
        return DESCRIPTION.format(model=model)

    def served_materials() -> Iterable[str]:
        serving = holder.current
        return material_codes() if serving is None else serving.scorer.record_context["materials"]

    install_openapi(app, describe, served_materials)
    routers = (scoring.router, info.router, ops.router)
    routes = frozenset(getattr(r, "path", "") for router in (app, *routers) for r in router.routes)
    app.state.allowed_methods = allowed_methods(
        r for router in (app, *routers) for r in router.routes
    )
    app.edge = EdgeMiddleware(
        functools.partial(FastAPI.__call__, app),
        keys=keys,
        open_health=settings.open_health,
        max_body_bytes=settings.max_body_bytes,
        max_csv_bytes=settings.max_csv_bytes,
        metrics=metrics,
        access=access,
        routes=routes,
        lane=ScoreLane(holder, settings, metrics, work),
    )
    return app


def exit_now(code: int) -> None:
    """End the process at once with ``code``, after writing out what the logs hold."""
    logging.shutdown()  # flushes every handler: our lines and uvicorn's
    sys.stdout.flush()
    os._exit(code)


def _watch_sighup(app: FastAPI, holder: ModelHolder) -> bool:
    """Reload the model on SIGHUP; return whether the handler could be installed.

    Only the main thread of a process can take signals (not under a test client); with
    several workers, uvicorn's parent takes SIGHUP and replaces the workers instead.
    """

    def on_hup() -> None:
        async def reload() -> None:
            await holder.reload("SIGHUP")
            app.openapi_schema = None

        task = loop.create_task(reload())
        _pending.add(task)
        task.add_done_callback(_pending.discard)

    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, on_hup)
    except (RuntimeError, ValueError, NotImplementedError):
        return False
    return True


_pending: set[asyncio.Task[None]] = set()
"""Reload tasks in flight (kept referenced so they are not collected mid-way)."""
