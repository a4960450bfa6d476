"""Fixtures of the service tests: settings, apps and clients on the shipped model."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from service.app import create_app
from supplier_risk.settings import Settings, default_model_path

with warnings.catch_warnings():
    # Starlette asks for httpx2; the lock has httpx, which its test client still supports.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient as TestClient  # re-exported for the tests

API_KEY = "test-key-0123456789"


def http_scope(
    path: str, headers: list[tuple[bytes, bytes]], method: str = "POST"
) -> dict[str, Any]:
    """Return an ASGI HTTP scope, for requests sent straight to the app (no client's checks)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """Return a copy of the shipped model that a test may replace."""
    path = tmp_path / "model.json"
    shutil.copyfile(default_model_path(), path)
    return path


@pytest.fixture
def settings() -> Settings:
    """Return settings on the shipped model, without API keys."""
    return Settings(model_path=default_model_path(), api_keys=())


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """Return a started client of an app without API keys."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as started:
        yield started


@pytest.fixture
def keyed_settings(model_copy: Path) -> Settings:
    """Return settings with one API key, on a model copy."""
    return Settings(model_path=model_copy, api_keys=API_KEY)


@pytest.fixture
def keyed(keyed_settings: Settings) -> Iterator[TestClient]:
    """Return a started client of an app that requires the API key (not sent by default)."""
    with TestClient(create_app(keyed_settings), raise_server_exceptions=False) as started:
        yield started


def auth() -> dict[str, str]:
    """Return the headers of an authenticated request."""
    return {"Authorization": f"Bearer {API_KEY}"}
