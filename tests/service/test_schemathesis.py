"""Property-based tests from the app's own OpenAPI: no server error, every answer as declared."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from service.app import create_app
from service.bodies import XLSX_TYPE
from supplier_risk.settings import Settings, default_model_path
from tests.core import workbook_files

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

app = create_app(Settings(model_path=default_model_path(), api_keys=()))
# POST /v1/score/csv takes a workbook under its own media type: sent as the bytes they are,
# drawn from real workbooks, sound and damaged, rather than random bytes alone.
schemathesis.serializer.alias(XLSX_TYPE, "application/octet-stream")
schemathesis.openapi.media_type(
    XLSX_TYPE,
    st.sampled_from(
        [
            workbook_files.good_workbook(),
            workbook_files.truncated_sheet(),
            workbook_files.text_in_number_cell(),
            workbook_files.only_a_chartsheet(),
            workbook_files.plain_zip(),
        ]
    ),
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module", autouse=True)
def started() -> Iterator[None]:
    """Run the app's lifespan (load the model) around the generated requests."""
    with TestClient(app):
        yield


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(checks=CHECKS)
