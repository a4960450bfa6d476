"""The interactive docs work without internet: every asset /docs loads is served locally."""

from __future__ import annotations

import re

from tests.service.conftest import TestClient


def test_docs_page_loads_only_local_assets(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources, "the page loads Swagger UI's script and style"
    for source in sources:
        assert source.startswith("/docs/static/"), f"{source} would need the internet"
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 100


def test_docs_and_their_assets_stay_open_when_keys_are_required(keyed: TestClient) -> None:
    assert keyed.get("/docs").status_code == 200
    assert keyed.get("/docs/static/swagger-ui-bundle.js").status_code == 200
    assert keyed.get("/v1/model").status_code == 401


def test_redoc_is_not_offered_since_it_needs_a_cdn(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404
