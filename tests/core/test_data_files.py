"""JSON data files (model, scenarios, reference tables): JSON that Python cannot read is refused.

Each loader turns it into its own error with a message naming the file and the problem.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from supplier_risk.errors import ModelFileError, ReferenceDataError, SupplierRiskError
from supplier_risk.model_file import load_model_file
from supplier_risk.reference import load_reference
from supplier_risk.scenarios import load_scenarios

DEEP = "[" * 100_000 + "]" * 100_000
LONG_NUMBER = '{"format_version": 1, "x": ' + "1" * 5000 + "}"


def load_as_reference(path: Path) -> object:
    """Load a reference directory whose materials.json is the file at ``path``."""
    return load_reference(path.parent)


Loader = Callable[[Path], object]
LOADERS: list[tuple[str, Loader, type[SupplierRiskError]]] = [
    ("model.json", load_model_file, ModelFileError),
    ("scenarios.json", load_scenarios, ReferenceDataError),
    ("materials.json", load_as_reference, ReferenceDataError),
]


@pytest.mark.parametrize(
    ("name", "load", "error"), LOADERS, ids=["model", "scenarios", "reference"]
)
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (DEEP, "is nested too deeply"),
        (LONG_NUMBER, "has a number too long to read"),
        ('{"format_version": 1, "title": "x\\ud800"}', "holds text that is not valid Unicode"),
    ],
    ids=["deep", "long_number", "lone_surrogate"],
)
def test_each_loader_refuses_json_python_cannot_read(
    tmp_path: Path, name: str, load: Loader, error: type[SupplierRiskError], text: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    with pytest.raises(error, match=rf"{name} {problem}"):
        load(path)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: (d / "materials.json").mkdir(), "Is a directory"),
        (lambda d: d.rmdir() or d.write_text("x", "utf-8"), "Not a directory"),
    ],
    ids=["table_is_a_directory", "directory_is_a_file"],
)
def test_load_reference_says_why_a_table_cannot_be_read(
    tmp_path: Path, make: Callable[[Path], object], problem: str
) -> None:
    directory = tmp_path / "reference"
    directory.mkdir()
    make(directory)
    with pytest.raises(ReferenceDataError, match=rf"cannot read reference file .*: {problem}"):
        load_reference(directory)
