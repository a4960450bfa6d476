"""`supplier-risk serve --model FILE`: the contract's flag, ahead of SUPPLIER_RISK_MODEL_PATH."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from supplier_risk.settings import default_model_path
from tests.service.test_process import SERVE, environment, free_port


def test_serve_model_flag_wins_over_the_environment(tmp_path: Path) -> None:
    broken = tmp_path / "flagged.json"
    broken.write_text('{"format_version": 1}', "utf-8")
    done = subprocess.run(
        [sys.executable, "-c", SERVE, "serve", "--port", str(free_port()), "--model", str(broken)],
        env=environment(default_model_path()),  # a valid model in the environment
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 3
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert "flagged.json" in line["message"], line
