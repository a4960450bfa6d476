"""The README commands' shared set-up (scripts/venv.sh) picks a usable Python or says why not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pick_python(tmp_path: Path, python: str) -> subprocess.CompletedProcess[str]:
    """Run pick_python from scripts/venv.sh with PYTHON set, in an empty directory."""
    return subprocess.run(
        ["bash", "-c", f"source {ROOT / 'scripts' / 'venv.sh'} && pick_python"],
        env={"PATH": "/usr/bin:/bin", "PYTHON": python},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_pick_python_uses_the_interpreter_named_by_python(tmp_path: Path) -> None:
    result = pick_python(tmp_path, sys.executable)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == sys.executable


def test_pick_python_refuses_an_interpreter_older_than_3_11(tmp_path: Path) -> None:
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\nexit 1\n", "utf-8")  # answers the version probe like 3.9 would
    old.chmod(0o755)
    result = pick_python(tmp_path, str(old))
    assert result.returncode == 1
    assert "needs Python 3.11 or newer; not found as: " + str(old) in result.stderr


def test_ci_runs_exactly_the_readme_test_command_then_the_image_smoke_test() -> None:
    commands = [
        line.split(" <")[0]
        for line in (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
        if line.startswith("./")
    ]
    assert commands == ["./scripts/test", "./scripts/docker-smoke"]
