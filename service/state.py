"""The served model: loaded and verified once, swapped atomically on reload, and its dependency.

A request takes the current :class:`Serving` once, at its start, and uses that object to the
end, so a reload never changes the model under a request in flight. A reload that fails
keeps the last good model serving and records why.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from service.errors import ApiError
from service.metrics import Metrics
from supplier_risk.errors import SupplierRiskError
from supplier_risk.result_json import warm_day_texts
from supplier_risk.scorer import Scorer, build_scorer
from supplier_risk.settings import Settings
from supplier_risk.single import SingleScorer

log = logging.getLogger("supplier_risk.service")

UNEXPECTED_RELOAD_ERROR = "an unexpected error while loading the model (details in the log)"
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~/-])/(?:[^\s'\"/:,;()]+/)*([^\s'\"/:,;()]+)")
"""An absolute file path in a message (with no spaces); group 1 is its last part."""


@dataclass(frozen=True)
class Serving:
    """Everything a request needs to score: the scorer, its one-record path, where it came from."""

    scorer: Scorer
    single: SingleScorer
    path: Path
    loaded_at: dt.datetime


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did."""

    ok: bool
    message: str
    serving: Serving


def settle_memory() -> None:
    """Collect garbage once, then keep every live object out of later full collections.

    What start-up (or a reload) loaded lives until the next reload. Left to the cyclic
    collector, each full collection rescans it all, and a 1,000-supplier batch triggers
    one: that was 10-40 ms of its time. Unfreezing first lets a replaced model be freed.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def load_serving(settings: Settings) -> Serving:
    """Load, verify and warm a model with its reference data (raises ModelFileError etc.)."""
    path = settings.resolved_model_path()
    scorer = build_scorer(path, settings.reference_dir, settings.scenarios_path)
    single = SingleScorer(scorer)
    single.warm()
    warm_day_texts()
    return Serving(scorer, single, path, dt.datetime.now(dt.UTC))


class ModelHolder:
    """Holds the current Serving; reloads are serialised and swap it in one assignment."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.current: Serving | None = None
        self.last_error: str | None = None
        """Why the last reload failed, in full (for the log and callers with an API key)."""
        self.last_error_public: str | None = None
        """The same without the server's file paths or internals, for anyone else."""
        self._lock = asyncio.Lock()

    def load(self) -> Serving:
        """Load the model at start-up; raise if it cannot be loaded."""
        serving = load_serving(self.settings)
        self._install(serving)
        return serving

    def _install(self, serving: Serving) -> None:
        self.current = serving
        model = serving.scorer.model
        self.metrics.set_model(model.file.name, model.version, model.sha256)

    async def reload(self, trigger: str) -> ReloadOutcome:
        """Load the model file again and swap it in; on failure keep the last good one."""
        async with self._lock:
            started = time.perf_counter()
            try:
                serving = await run_in_threadpool(load_serving, self.settings)
            except (SupplierRiskError, OSError) as exc:
                return self._failed(trigger, str(exc))
            except Exception as exc:
                # A bug must not escape: SIGHUP runs this in a task nobody awaits, and over
                # HTTP it would be a 500. It is a failed reload; the stack trace goes to the log.
                return self._failed(trigger, f"unexpected {type(exc).__name__}: {exc}", exc)
            previous = self.current
            self._install(serving)
            settle_memory()
            self.last_error = self.last_error_public = None
            self.metrics.reloads.labels("ok").inc()
            version = serving.scorer.model.version
            was = previous.scorer.model.version if previous is not None else None
            message = f"now serving model {version} (was {was})"
            log.info(
                message,
                extra={
                    "trigger": trigger,
                    "path": str(serving.path),
                    "sha256": serving.scorer.model.sha256,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return ReloadOutcome(True, message, serving)

    def _failed(self, trigger: str, why: str, exc: Exception | None = None) -> ReloadOutcome:
        """Record a failed reload and keep the last good model serving."""
        self.last_error = why
        self.last_error_public = (
            UNEXPECTED_RELOAD_ERROR if exc is not None else without_paths(why, self.settings)
        )
        self.metrics.reloads.labels("failed").inc()
        kept = self.current
        assert kept is not None, "reload needs a model loaded at start-up"
        message = f"reload failed, still serving model {kept.scorer.model.version}: {why}"
        log.error(message, extra={"trigger": trigger}, exc_info=exc)
        return ReloadOutcome(False, message, kept)


def without_paths(message: str, settings: Settings) -> str:
    """Return a message with every file path cut to its last part (the file's name).

    Where the model and the reference data live on the server is no business of an
    anonymous caller; which file was refused, and why, is what an operator needs.
    """
    configured = [settings.resolved_model_path(), settings.reference_dir, settings.scenarios_path]
    paths = {str(q) for path in configured if path is not None for q in (path, path.resolve())}
    # Longest first, so a file inside a configured directory is cut whole, spaces and all.
    for path in sorted(paths, key=len, reverse=True):
        message = message.replace(path, Path(path).name)
    return _ABSOLUTE_PATH.sub(r"\1", message)


async def get_serving(request: Request) -> Serving:
    """Return the model serving this request (503 before one is loaded)."""
    holder: ModelHolder = request.app.state.holder
    serving = holder.current
    if serving is None:
        raise ApiError(503, "not_ready", "no model is loaded yet; try again shortly")
    return serving


async def get_settings(request: Request) -> Settings:
    """Return the app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_holder(request: Request) -> ModelHolder:
    """Return the app's model holder."""
    holder: ModelHolder = request.app.state.holder
    return holder


async def get_metrics(request: Request) -> Metrics:
    """Return the app's metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


ModelDep = Annotated[Serving, Depends(get_serving)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
HolderDep = Annotated[ModelHolder, Depends(get_holder)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
