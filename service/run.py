"""Run the service on uvicorn with uvloop and httptools; JSON logs to stdout only.

SIGTERM or SIGINT: stop accepting, let requests in flight finish (at most
GRACEFUL_SHUTDOWN_SECONDS), then exit 0. SIGHUP: reload the model file (see service.app).
"""

from __future__ import annotations

import contextlib
import logging
import logging.config
import signal
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE

from service.app import create_app
from service.logs import log_config
from supplier_risk.errors import SupplierRiskError
from supplier_risk.settings import Settings

GRACEFUL_SHUTDOWN_SECONDS = 5
"""Well inside Docker's 10 s between SIGTERM and SIGKILL."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_NO_MODEL = 3
"""The CLI's exit code for a model or reference data that cannot be loaded."""

log = logging.getLogger("supplier_risk.service")


def uvicorn_config(settings: Settings) -> uvicorn.Config:
    """Return the uvicorn configuration for these settings."""
    app: str | FastAPI = (
        # Worker processes build their own app from the same SUPPLIER_RISK_* environment.
        "service.app:create_app" if settings.workers > 1 else create_app(settings)
    )
    return uvicorn.Config(
        app,
        factory=settings.workers > 1,
        workers=settings.workers,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,  # the service writes its own JSON line per request
        log_config=log_config(settings.log_level),
        log_level=settings.log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
        proxy_headers=False,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, exiting 0 after a graceful stop on SIGTERM or SIGINT.

    uvicorn re-raises the signal once it has shut down, so the process would die by it
    (exit status 143); a supervisor reading that as a crash is what we avoid.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Stop gracefully on SIGINT and SIGTERM while serving."""
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run(settings: Settings) -> int:
    """Serve until stopped; return the process exit code."""
    logging.config.dictConfig(log_config(settings.log_level))
    # Fail before binding the port, with one clear line, if the model cannot be loaded.
    from service.state import load_serving

    try:
        load_serving(settings)
    except SupplierRiskError as exc:
        log.critical("cannot start: no valid model could be loaded: %s", exc)
        return EXIT_NO_MODEL
    except Exception as exc:
        # Still one JSON line and exit 3, never a bare traceback; the trace goes in the line.
        log.critical(
            "cannot start: no valid model could be loaded: unexpected %s: %s",
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        return EXIT_NO_MODEL
    config = uvicorn_config(settings)
    if settings.workers > 1:
        sock = config.bind_socket()
        from uvicorn.supervisors import Multiprocess

        supervisor = Multiprocess(config, sockets=[sock])
        supervisor.run()
        if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
            # uvicorn stops every worker when a new one cannot start (a bad model file in
            # place after a refused reload); a failing status lets a supervisor restart us.
            log.critical("stopped: a worker process could not start; see its error above")
            return EXIT_NO_MODEL
        return 0
    server = _Server(config)
    server.run()
    return 0 if server.started else EXIT_NO_MODEL
