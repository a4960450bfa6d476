"""JSON log lines on stdout: one object per line, for the service and for uvicorn."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sys
import time
from typing import Any

from pydantic_core import to_json

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON line."""
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def log_config(level: str) -> dict[str, Any]:
    """Return a logging dictConfig: JSON to stdout for our loggers and uvicorn's."""
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "supplier_risk": {"handlers": ["stdout"], "level": upper, "propagate": False},
            "uvicorn": {"handlers": ["stdout"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def ensure_json_logging(level: str) -> None:
    """Send our loggers' lines to stdout as JSON unless logging was configured already."""
    logger = logging.getLogger("supplier_risk")
    logger.setLevel(level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)


def _cut(text: str, limit: int) -> str:
    """Return text cut to ``limit`` characters, marked with "..." where it was cut."""
    return text if len(text) <= limit else text[:limit] + "..."


class AccessLog:
    """One JSON line per request on stdout, written in batches.

    A write and a flush per request would cost more than scoring one supplier, so lines are
    collected and written together at least every FLUSH_SECONDS (and whenever MAX_PENDING
    lines wait). The lines have the same fields as the other JSON logs.
    """

    FLUSH_SECONDS = 0.2
    MAX_PENDING = 256
    MAX_QUOTED = 64
    """Distinct methods and paths whose JSON text is kept (paths come from clients)."""
    MAX_PATH_CHARS = 256
    MAX_METHOD_CHARS = 32
    """Longer ones are cut, with "...": a client chooses them, up to tens of kilobytes."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._pending: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._second = -1
        self._second_text = ""
        self._quoted: dict[str, str] = {}

    def _timestamp(self) -> str:
        """Return the time now as datetime.now(UTC).isoformat(timespec="milliseconds") does.

        That call cost a microsecond a request; the text of the second changes once a second.
        Both truncate the system clock, so the milliseconds are the same.
        """
        second, millis = divmod(time.time_ns() // 1_000_000, 1000)
        if second != self._second:
            stamp = dt.datetime.fromtimestamp(second, dt.UTC).isoformat(timespec="seconds")
            self._second, self._second_text = second, stamp.removesuffix("+00:00")
        return f"{self._second_text}.{millis:03d}+00:00"

    def _json_text(self, text: str) -> str:
        """Return a string as JSON text, remembering the first MAX_QUOTED distinct ones."""
        quoted = self._quoted.get(text)
        if quoted is None:
            quoted = to_json(text).decode()
            if len(self._quoted) < self.MAX_QUOTED:
                self._quoted[text] = quoted
        return quoted

    def write(
        self,
        method: str,
        path: str,
        status: int,
        duration_ms: float,
        request_id: str,
        items: int | None,
    ) -> None:
        """Queue one request's line (method, path, status, duration, request id, items)."""
        if not self.enabled:
            return
        if len(path) > self.MAX_PATH_CHARS:  # inline: a call per request costs more than this
            path = _cut(path, self.MAX_PATH_CHARS)
        if len(method) > self.MAX_METHOD_CHARS:
            method = _cut(method, self.MAX_METHOD_CHARS)
        # A fixed template is cheaper than building and encoding a dict; the method and the
        # path come from the client, so they are JSON-encoded, and the request id is
        # validated or generated (letters, digits and ._:- only).
        self._pending.append(
            f'{{"ts":"{self._timestamp()}","level":"info","logger":"supplier_risk.access",'
            f'"message":"request","method":{self._json_text(method)},'
            f'"path":{self._json_text(path)},'
            f'"status":{status},"duration_ms":{duration_ms},"request_id":"{request_id}",'
            f'"items":{"null" if items is None else items}}}'
        )
        if len(self._pending) >= self.MAX_PENDING or self._timer is None:
            # No timer (not started, or stopped at shutdown while a request still ended):
            # nothing else would write the line.
            self.flush()

    def flush(self) -> None:
        """Write the queued lines to stdout now."""
        if self._pending:
            lines, self._pending = self._pending, []
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()

    def start(self) -> None:
        """Flush every FLUSH_SECONDS on the running event loop until stopped."""
        loop = asyncio.get_running_loop()

        def tick() -> None:
            self.flush()
            self._timer = loop.call_later(self.FLUSH_SECONDS, tick)

        self._timer = loop.call_later(self.FLUSH_SECONDS, tick)

    def stop(self) -> None:
        """Stop the timer and write what is queued."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flush()
