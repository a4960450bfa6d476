"""Small histories and models trained on them, once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from supplier_risk.features import derive_features
from supplier_risk.history import History, read_history
from supplier_risk.model_file import parse_model
from supplier_risk.reference import Reference
from supplier_risk.scoring import LoadedModel
from tests.conftest import TODAY
from training.shipments import write as write_shipments
from training.simulate import SimulationConfig, write_history
from training.train import TrainReport, train_model

SMALL_ROWS = 20_000


@dataclass(frozen=True)
class Trained:
    """A model trained in the test session, with what it was trained on."""

    history: History
    features: NDArray[np.float64]
    report: TrainReport
    model: LoadedModel


def _train(path: Path, reference: Reference, seed: int) -> Trained:
    history = read_history(path, reference)
    report = train_model(history, reference, path.with_suffix(".json"), seed=seed, today=TODAY)
    model = LoadedModel(parse_model(report.path.read_bytes()))
    features = derive_features(history.columns, reference, TODAY).matrix
    return Trained(history, features, report, model)


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory, reference: Reference) -> Trained:
    """Return a model trained on 20,000 rows of the domain simulator."""
    path = tmp_path_factory.mktemp("simulated") / "history.csv"
    write_history(SimulationConfig(rows=SMALL_ROWS, seed=7), path)
    return _train(path, reference, seed=7)


@pytest.fixture(scope="session")
def shipments(tmp_path_factory: pytest.TempPathFactory, reference: Reference) -> Trained:
    """Return a model trained on 20,000 rows of the independent shipment-level generator."""
    path = tmp_path_factory.mktemp("shipments") / "history.csv"
    write_shipments(SMALL_ROWS, seed=11, path=path)
    return _train(path, reference, seed=11)
