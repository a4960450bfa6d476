"""The model card quotes the shipped model file as it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CARD = Path(__file__).resolve().parents[2] / "models" / "README.md"


@pytest.fixture(scope="module")
def card() -> str:
    return CARD.read_text("utf-8")


def test_model_card_quotes_sha256_and_version(card: str, model_path: Path) -> None:
    document = json.loads(model_path.read_text("utf-8"))
    assert f"`{document['sha256']}`" in card
    assert f"`{document['version']}`" in card


@pytest.mark.parametrize("key", ["held_out", "logistic_regression", "hgb_unconstrained"])
def test_model_card_quotes_held_out_metrics(card: str, model_path: Path, key: str) -> None:
    metrics = json.loads(model_path.read_text("utf-8"))["metrics"][key]
    row = " | ".join(f"{metrics[m]:.4f}" for m in ("roc_auc", "log_loss", "brier", "ece_10"))
    assert row in card.replace("**", "")


def test_model_card_gives_the_rebuild_command(card: str, model_path: Path) -> None:
    source = json.loads(model_path.read_text("utf-8"))["training"]["source"]
    assert source == "simulated, 200000 rows, seed 20261128"
    assert "supplier-risk train --out models/default.json --seed 20261128" in card
