"""The OpenAPI document: error responses, request bodies the routes read themselves, examples.

The scoring routes read and validate their bodies themselves (faster, and each batch row is
validated on its own), so their request schemas are declared here and added to the document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from service.errors import ErrorBody
from service.schemas import BatchRequest, CsvJsonResponse
from supplier_risk.record import EXAMPLE_RECORD, SupplierRecord

REF = "#/components/schemas/{model}"

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "the body is not valid JSON or not UTF-8"},
    401: {"model": ErrorBody, "description": "no valid API key"},
    413: {"model": ErrorBody, "description": "the body or the batch is over the size limit"},
    415: {"model": ErrorBody, "description": "the Content-Type is not supported"},
    422: {
        "model": ErrorBody,
        "description": "invalid fields: each with its path, the value sent and what is allowed",
    },
    500: {"model": ErrorBody, "description": "an unexpected error; quote the request id"},
    503: {
        "model": ErrorBody,
        "description": "no model is loaded yet (not_ready), or the service stopped before the "
        "request was done (shutting_down): send it again",
    },
}

NO_BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: ERROR_RESPONSES[code] for code in (401, 413, 500, 503)
}
"""What a route that reads no body can answer besides its own: never 400, 415 or 422
(413 only for a request that declares an oversized body all the same)."""

BODY_MODELS: tuple[type[BaseModel], ...] = (SupplierRecord, BatchRequest, CsvJsonResponse)


def body_schema(model: str, description: str) -> dict[str, Any]:
    """Return openapi_extra declaring a JSON request body of a component schema."""
    example = EXAMPLE_RECORD if model == "SupplierRecord" else None
    content: dict[str, Any] = {"schema": {"$ref": REF.format(model=model)}}
    if example is not None:
        content["example"] = example
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": content},
        }
    }


def install_openapi(
    app: FastAPI, describe: Callable[[], str], materials: Callable[[], Iterable[str]]
) -> None:
    """Build the OpenAPI document on first use (after a reload: again), with the body schemas.

    ``materials`` gives the served material codes: the record's schema lists them, so that a
    client generator makes an enum of them (the served reference data may have its own table).
    """

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=describe(),
            routes=app.routes,
            tags=app.openapi_tags,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in BODY_MODELS:
            schema = model.model_json_schema(ref_template=REF)
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        schemas["SupplierRecord"]["properties"]["material"]["enum"] = sorted(materials())
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]
