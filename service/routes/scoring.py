"""The scoring endpoints: one record, a batch, and a CSV supplier list."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic_core import to_json

from service.bodies import (
    LIST_TYPES,
    XLSX_TYPE,
    ParsedBatch,
    media_type,
    parse_batch,
    parse_batch_rows,
    parse_canonical_batch,
    parse_record,
    prefers_json,
    require_json,
)
from service.errors import ApiError, unknown_scenario
from service.metrics import Metrics
from service.openapi import ERROR_RESPONSES, body_schema
from service.schemas import BatchResponse
from service.state import ModelDep, Serving, SettingsDep, get_serving
from service.threads import ThreadWork
from supplier_risk.errors import InputFileError, UnknownScenarioError
from supplier_risk.results import ScoreResult
from supplier_risk.scorer import Scorer
from supplier_risk.settings import Settings
from supplier_risk.tables import NO_DATA_ROWS, read_table, score_frame, write_table

router = APIRouter(prefix="/v1", tags=["scoring"])

ScenarioQuery = Annotated[
    str | None,
    Query(
        description="score under a named what-if scenario (see GET /v1/scenarios)",
        examples=["suspension_lapses"],
    ),
]

BATCH_IN_THREAD_BYTES = 384 * 1024
"""Batch bodies larger than this are read, scored and written in a worker thread."""
BATCH_ON_LOOP_ITEMS = 1_200
"""A smaller body is read on the event loop, in one pass, and scored there too if it holds no
more than this many suppliers, all canonical; any other body goes to the worker thread.

The hop costs about 0.5 ms of CPU per batch (measured: a 1,000-supplier batch took 7.0 ms of
server CPU on the loop, 7.5 ms through the thread), a tenth of a small batch's work. A batch on
the loop holds it for at most about 6 ms without explanations (12 ms with); in a thread, a
request arriving meanwhile would still wait up to 5 ms for the GIL (Python's switch interval).
Reading a canonical body on the loop costs about 1 us a supplier; wording a bad row's errors
costs tens of microseconds, and 10,000 bad rows fit in a small body: those go to the thread
(found by a review: 0.6 s on the loop). Larger batches, up to 10,000 suppliers (about 80 ms),
and CSV files (seconds) stay off the loop, so /healthz answers meanwhile.
"""


def _check_scenario(serving: Serving, scenario: str | None) -> None:
    if scenario is None:
        return
    try:
        serving.scorer.reference_for(scenario)
    except UnknownScenarioError as exc:
        raise unknown_scenario(exc, scenario) from None


def _json(content: bytes, status: int = 200) -> Response:
    return Response(content=content, status_code=status, media_type="application/json")


@router.post(
    "/score",
    summary="Score one supplier",
    response_model=ScoreResult,
    responses=ERROR_RESPONSES,
    openapi_extra=body_schema("SupplierRecord", "one supplier record"),
)
async def score_one(request: Request, scenario: ScenarioQuery = None) -> Response:
    """Score one supplier record: probability, band, contributions, reasons and recourse."""
    # EdgeMiddleware answers this route itself (service.fastlane), with the same function;
    # this declaration documents it and serves it wherever the middleware is not installed.
    serving = await get_serving(request)
    payload = score_payload(
        serving,
        await request.body(),
        request.headers.get("content-type", ""),
        scenario,
        request.app.state.settings.current_date(),
        request.app.state.metrics,
        request.scope.setdefault("state", {}),
    )
    return _json(payload)


def score_payload(
    serving: Serving,
    body: bytes,
    content_type: str,
    scenario: str | None,
    today: dt.date,
    metrics: Metrics,
    state: dict[str, Any],
) -> bytes:
    """Validate and score one record's JSON body; return the result as JSON bytes."""
    require_json(content_type)
    record = parse_record(body, serving.scorer.record_context)
    try:
        result = serving.single.score(record, today, scenario=scenario)
    except UnknownScenarioError as exc:
        raise unknown_scenario(exc, scenario or "") from None
    metrics.count_band(result["band"])
    state["items"] = 1
    return orjson.dumps(result)


@dataclass(frozen=True)
class _BatchDone:
    payload: bytes
    bands: Counter[str]
    invalid: int


def _batch_work(
    serving: Serving,
    body: bytes,
    max_items: int,
    today: dt.date,
    scenario: str | None,
    read: Callable[[bytes, int, Scorer], ParsedBatch] = parse_batch,
) -> _BatchDone:
    """Validate (with ``read``), score and serialise a batch."""
    return _scored_batch(serving, read(body, max_items, serving.scorer), today, scenario)


def _scored_batch(
    serving: Serving, batch: ParsedBatch, today: dt.date, scenario: str | None
) -> _BatchDone:
    """Score and serialise a validated batch."""
    scorer = serving.scorer
    errors = orjson.dumps([e.model_dump() for e in batch.errors]).decode()
    before, after = '{"results":', f',"errors":{errors}}}'
    bands: Counter[str] = Counter()
    if not batch.indices:
        return _BatchDone(f"{before}[]{after}".encode(), bands, len(batch.errors))
    scored = scorer.score_columns(batch.columns, today, scenario)
    pieces = scorer.results_pieces(
        scored, today, reasons=batch.explain, recourse=batch.explain, before=before, after=after
    )
    labels = scorer.model.band_labels
    counts = np.bincount(scored.scores.band, minlength=len(labels)).tolist()
    bands.update({label: count for label, count in zip(labels, counts, strict=True) if count})
    payload = "".join(pieces).encode()
    return _BatchDone(payload, bands, len(batch.errors))


@router.post(
    "/score/batch",
    summary="Score a batch of suppliers",
    response_model=BatchResponse,
    responses=ERROR_RESPONSES,
    openapi_extra=body_schema("BatchRequest", "the suppliers and whether to explain"),
)
async def score_batch(request: Request, scenario: ScenarioQuery = None) -> Response:
    """Score every valid row; list every invalid row with its index, supplier_id and errors."""
    # EdgeMiddleware answers this route itself (service.fastlane), with the same function;
    # this declaration documents it and serves it wherever the middleware is not installed.
    state = request.app.state
    serving = await get_serving(request)
    check_batch_request(serving, request.headers.get("content-type", ""), scenario)
    payload = await batch_payload(
        serving,
        await request.body(),
        scenario,
        state.settings,
        state.work,
        state.metrics,
        request.scope.setdefault("state", {}),
    )
    return _json(payload)


def check_batch_request(serving: Serving, content_type: str, scenario: str | None) -> None:
    """Refuse a batch request before its body is read: 415 unless JSON, 422 for a scenario."""
    require_json(content_type)
    _check_scenario(serving, scenario)


async def batch_payload(
    serving: Serving,
    body: bytes,
    scenario: str | None,
    settings: Settings,
    work: ThreadWork,
    metrics: Metrics,
    state: dict[str, Any],
) -> bytes:
    """Validate, score and write a batch request's body (checked by check_batch_request)."""
    today, max_items = settings.current_date(), settings.max_batch_items
    # CPU work of more than a few milliseconds runs off the event loop, so that /healthz stays
    # prompt: a large body, many suppliers, or rows whose errors must be worded.
    if len(body) > BATCH_IN_THREAD_BYTES:
        done = await work.run(_batch_work, serving, body, max_items, today, scenario)
    else:
        batch = parse_canonical_batch(body, max_items, serving.scorer)
        if batch is None:  # read once already: the thread goes the long way at once
            args = (serving, body, max_items, today, scenario, parse_batch_rows)
            done = await work.run(_batch_work, *args)
        elif batch.size <= BATCH_ON_LOOP_ITEMS:
            done = _scored_batch(serving, batch, today, scenario)
        else:
            done = await work.run(_scored_batch, serving, batch, today, scenario)
    for band, count in done.bands.items():
        metrics.count_band(band, count)
    if done.invalid:
        metrics.invalid.inc(done.invalid)
    state["items"] = sum(done.bands.values())
    return done.payload


def _score_csv(
    serving: Serving, data: bytes, today: dt.date, scenario: str | None
) -> tuple[Any, Any]:
    frame = read_table(data)
    scored, summary = score_frame(frame, serving.scorer, today, scenario)
    if summary.rows == 0:  # as the CLI: an export with no supplier in it is a mistake
        raise InputFileError(NO_DATA_ROWS)
    return scored, summary


def json_keys(header: Sequence[str]) -> list[str]:
    """Return one distinct JSON key per column: blanks named by position, repeats numbered.

    A blank header becomes ``column_N`` (N its 1-based place in the row); a name already used
    becomes the first free of ``NAME_2``, ``NAME_3``, ...; names as given are never displaced.
    """
    given = {h for h in header if h.strip()}
    used: set[str] = set()
    keys: list[str] = []
    for place, name in enumerate(header, start=1):
        base = name if name.strip() else f"column_{place}"
        key, n = base, 1
        # A literal header keeps its own name, so a made-up key must avoid every one of them.
        while key in used or (key != name and key in given):
            n += 1
            key = f"{base}_{n}"
        used.add(key)
        keys.append(key)
    return keys


def _json_rows(frame: Any) -> list[dict[str, Any]]:
    """Return the scored rows (a DataFrame) as JSON objects, every cell kept."""
    keys = json_keys([str(c) for c in frame.columns])
    columns = [frame.iloc[:, i].tolist() for i in range(len(keys))]
    return [dict(zip(keys, cells, strict=True)) for cells in zip(*columns, strict=True)]


async def _csv_bytes(request: Request) -> bytes:
    kind = media_type(request.headers.get("content-type", ""))
    if kind == "multipart/form-data":
        async with request.form(max_files=1, max_fields=10) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise ApiError(
                    422,
                    "missing_file",
                    "the multipart form needs the supplier list as a file field named 'file'",
                )
            return await upload.read()
    if kind in LIST_TYPES:
        return await request.body()
    raise ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type {kind or 'none'!r} is not supported here; send the list as the body "
        f"with 'text/csv', '{XLSX_TYPE}' (or .xlsm's own type) or 'application/octet-stream' "
        "(CSV or a workbook: the content decides), or a multipart form with a file field named "
        "'file'",
    )


@router.post(
    "/score/csv",
    summary="Score a CSV supplier list",
    responses={
        200: {
            "description": "the same rows, in input order, with probability, risk_score, "
            "band, top_reasons and error appended; JSON with Accept: application/json "
            "(a blank header is keyed column_N, a repeated one NAME_2, NAME_3, ...)",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"$ref": "#/components/schemas/CsvJsonResponse"}},
            },
        },
        **ERROR_RESPONSES,
    },
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "a supplier list, CSV or an .xlsx workbook (its first sheet; the "
            "content decides, not the label): as the body, or as a multipart form's 'file'",
            "content": {
                # a header line and at least one row: an empty body is a 422
                "text/csv": {"schema": {"type": "string", "minLength": 1}},
                XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    },
)
async def score_csv(
    request: Request, serving: ModelDep, settings: SettingsDep, scenario: ScenarioQuery = None
) -> Response:
    """Score a supplier list; same code as `supplier-risk score`."""
    _check_scenario(serving, scenario)
    data = await _csv_bytes(request)
    work: ThreadWork = request.app.state.work
    try:
        frame, summary = await work.run(
            _score_csv, serving, data, settings.current_date(), scenario
        )
    except InputFileError as exc:
        raise ApiError(422, "unreadable_csv", str(exc)) from None
    metrics: Metrics = request.app.state.metrics
    for band, count in summary.bands.items():
        if count:
            metrics.count_band(band, count)
    if summary.invalid:
        metrics.invalid.inc(summary.invalid)
    request.scope.setdefault("state", {})["items"] = summary.scored
    if prefers_json(request.headers.get("accept", "")):
        document = {
            "rows": await work.run(_json_rows, frame),
            "summary": {
                "rows": summary.rows,
                "scored": summary.scored,
                "invalid": summary.invalid,
                "bands": summary.bands,
            },
        }
        return _json(await work.run(to_json, document))
    text = await work.run(lambda: "".join(write_table(frame)))
    return Response(
        content=text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="scored.csv"'},
    )
