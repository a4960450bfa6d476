"""The README's first example answers exactly what the service answers for its record."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import TestClient

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_is_what_the_service_answers(client: TestClient) -> None:
    match = re.search(
        r"-d '(\{.*?\})'\n```\n\n```json\n(.*?)\n```", README.read_text("utf-8"), re.S
    )
    assert match, "the README opens with a curl example and its JSON answer"
    shown = json.loads(match.group(2))
    answer = client.post("/v1/score", json=json.loads(match.group(1))).json()
    sha = answer["model"]["sha256"]
    assert shown["model"]["sha256"] == sha[:8] + "..."  # shortened in the README
    shown["model"]["sha256"] = sha
    assert _same(shown, answer), (shown, answer)


def _same(a: Any, b: Any) -> bool:
    """Return whether two JSON values are equal, floats to a few units in the last place.

    Sums are exact, but exp may differ in its last bit from one C library to another.
    """
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-15, abs=1e-300)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)
