"""The one error body of the API, and the translation of every failure into it.

Every 4xx and 5xx response carries an :class:`ErrorBody`. Field errors name the field path,
show the offending value (truncated; never a whole object, so a request is never echoed back)
and say what is allowed. No stack trace ever reaches a caller.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Route

from supplier_risk.errors import UnknownScenarioError
from supplier_risk.record import RECORD_FIELDS, MaterialContext, allowed_values

MAX_ERRORS = 20
CLIENT_CLOSED_REQUEST = 499
"""Logged and counted for a request whose caller left before an answer (nginx's code)."""
MAX_VALUE_CHARS = 40

log = logging.getLogger("supplier_risk.service")


class FieldError(BaseModel):
    """What is wrong with one field."""

    field: str = Field(description="path of the field, e.g. 'material' or 'suppliers.3.end_use'")
    value: str | int | float | bool | None = Field(
        description="the value sent (text truncated to 40 characters; objects summarised)"
    )
    message: str = Field(description="what is wrong and what is allowed")


class ErrorBody(BaseModel):
    """The body of every error response."""

    status: int = Field(description="the HTTP status code")
    error: str = Field(description="a stable machine-readable code", examples=["invalid_record"])
    message: str = Field(description="what went wrong, for people")
    request_id: str | None = Field(description="the X-Request-ID of the request")
    errors: list[FieldError] = Field(
        default_factory=list, description=f"field errors, at most {MAX_ERRORS}"
    )


class ApiError(Exception):
    """An error meant for the caller: status, code, message and field errors."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def raw_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """Return the extra headers as ASGI pairs (a 413's "connection: close" among them)."""
        return tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items())


class BodyTooLargeError(ApiError):
    """The request body grew past the limit while it streamed in."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "body_too_large",
            f"the request body is larger than the limit of {limit} bytes",
            headers={"connection": "close"},
        )
        self.limit = limit


def request_id_of(request: Request) -> str | None:
    """Return the request id the edge middleware assigned."""
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


def error_response(
    request: Request,
    status: int,
    error: str,
    message: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Return an ErrorBody response."""
    body = ErrorBody(
        status=status,
        error=error,
        message=message,
        request_id=request_id_of(request),
        errors=list(errors)[:MAX_ERRORS],
    )
    return Response(
        content=body.model_dump_json(),
        status_code=status,
        media_type="application/json",
        headers=dict(headers or {}),
    )


def shown_value(value: Any) -> str | int | float | bool | None:
    """Return a value safe to show back: scalars as they are, text truncated, objects summed up."""
    if value is None or isinstance(value, bool | int):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
            return shown_value(str(value))
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS] + "..."
    if isinstance(value, Mapping):
        return f"(an object with {len(value)} fields)"
    if isinstance(value, list | tuple):
        return f"(a list of {len(value)} items)"
    return f"(a {type(value).__name__})"


_NOT_AN_OBJECT = frozenset({"model_type", "model_attributes_type", "dict_type"})
_NOT_A_BOOLEAN = frozenset({"bool_type", "bool_parsing"})
_NON_FINITE = re.compile(rb'(?<![\w"])-?(?:NaN|Infinity)(?![\w"])')
"""NaN or Infinity as a bare token: inside a string ("NaN", "Infinity Magnets") it is text."""


def _message(detail: ErrorDetails, fields: Sequence[str], served: MaterialContext | None) -> str:
    kind = detail["type"]
    if kind == "extra_forbidden":
        return f"unknown field; allowed fields: {', '.join(fields)}"
    if kind == "missing":
        message = "field required"
    elif kind == "finite_number":
        message = "must be a finite number (NaN and Infinity are not allowed)"
    elif kind in _NOT_AN_OBJECT:
        message = "Input should be an object"  # not pydantic's class name, which means nothing here
    elif kind in _NOT_A_BOOLEAN:
        message = f"{detail['msg']}; allowed: true or false"
    else:
        message = detail["msg"].removeprefix("Value error, ")
    names = [p for p in detail["loc"] if isinstance(p, str)]
    allowed = allowed_values(names[-1], served) if names else ""
    # pydantic's own words say what is wrong; the contract also wants what is allowed.
    return f"{message}; allowed: {allowed}" if allowed and allowed not in message else message


def field_errors(
    details: Iterable[ErrorDetails],
    prefix: Sequence[str | int] = (),
    fields: Sequence[str] = RECORD_FIELDS,
    served: MaterialContext | None = None,
    whole: str = "(record)",
) -> list[FieldError]:
    """Return pydantic error details as FieldErrors (at most MAX_ERRORS).

    ``fields`` are the allowed field names; ``served`` names the materials actually served;
    ``whole`` is the field shown for an error about the whole value.
    """
    out: list[FieldError] = []
    for detail in details:
        if len(out) >= MAX_ERRORS:
            break
        location = [*prefix, *detail["loc"]]
        field = ".".join(str(p) for p in location) or whole
        value = None if detail["type"] == "missing" else shown_value(detail.get("input"))
        out.append(FieldError(field=field, value=value, message=_message(detail, fields, served)))
    return out


def malformed_json(body: bytes, detail: str) -> ApiError:
    """Return the error for a body that is not JSON, naming the reason."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ApiError(
            400,
            "invalid_encoding",
            f"the body is not UTF-8: byte {exc.start} is {body[exc.start : exc.start + 1]!r}",
        )
    if not body.strip():
        return ApiError(400, "malformed_json", "the body is empty; send a JSON object")
    # Said only where it explains the failure: most malformed bodies have nothing to do with it.
    hint = (
        " (numbers must be finite: NaN and Infinity are not JSON)"
        if _NON_FINITE.search(body)
        else ""
    )
    return ApiError(
        400,
        "malformed_json",
        f"the body is not valid JSON: {detail.removeprefix('Invalid JSON: ')}{hint}",
    )


def validation_error(
    exc: ValidationError,
    body: bytes,
    what: str,
    fields: Sequence[str] = RECORD_FIELDS,
    served: MaterialContext | None = None,
) -> ApiError:
    """Return the ApiError for a failed validation of a whole body with the given fields."""
    details = exc.errors()
    if details and details[0]["type"] == "json_invalid":
        return malformed_json(body, details[0]["msg"])
    count = len(details)
    shown = f" (the first {MAX_ERRORS} are listed)" if count > MAX_ERRORS else ""
    return ApiError(
        422,
        "invalid_record" if what == "record" else "invalid_request",
        f"the {what} has {count} invalid field{'s' if count != 1 else ''}{shown}",
        field_errors(details, fields=fields, served=served, whole=f"({what})"),
    )


def unknown_scenario(exc: UnknownScenarioError, name: str) -> ApiError:
    """Return the 422 for an unknown scenario name."""
    return ApiError(
        422,
        "unknown_scenario",
        str(exc),
        [FieldError(field="scenario", value=shown_value(name), message=str(exc))],
    )


def allowed_methods(routes: Iterable[BaseRoute]) -> dict[str, str]:
    """Return each path's methods over all its routes, as a 405's Allow header value."""
    methods: dict[str, set[str]] = {}
    for route in routes:
        if isinstance(route, Route):
            methods.setdefault(route.path, set()).update(route.methods or ())
    return {path: ", ".join(sorted(names)) for path, names in methods.items()}


def install_handlers(app: FastAPI) -> None:
    """Translate every failure into an ErrorBody response."""

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(request, exc.status, exc.error, exc.message, exc.errors, exc.headers)

    async def on_request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        details: list[ErrorDetails] = list(exc.errors())
        return error_response(
            request,
            422,
            "invalid_request",
            f"the request has {len(details)} invalid parameter{'s' if len(details) != 1 else ''}",
            field_errors(details),
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "not_found", 405: "method_not_allowed"}
        headers = dict(exc.headers or {})
        allow = request.app.state.allowed_methods.get(request.url.path)
        if exc.status_code == 405 and allow:
            # Starlette's Allow names the methods of the first route of the path only;
            # /healthz and /readyz have a GET and a HEAD route (see service.routes.ops).
            headers["Allow"] = allow
        return error_response(
            request,
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            str(exc.detail),
            headers=headers,
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        if isinstance(exc, ClientDisconnect):
            # The caller hung up mid-body: no error of ours, and nobody reads this answer.
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        request_id = request_id_of(request)
        log.error(
            "unexpected error",
            exc_info=exc,
            extra={"request_id": request_id, "path": request.url.path},
        )
        return error_response(
            request,
            500,
            "internal_error",
            f"an unexpected error occurred; quote request id {request_id} to the operator",
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


def error_json(
    status: int,
    error: str,
    message: str,
    request_id: str | None,
    errors: Sequence[FieldError] = (),
) -> bytes:
    """Return an ErrorBody as JSON bytes, for ASGI code that has no Request."""
    body = ErrorBody(
        status=status,
        error=error,
        message=message,
        request_id=request_id,
        errors=list(errors)[:MAX_ERRORS],
    )
    return body.model_dump_json().encode("utf-8")
