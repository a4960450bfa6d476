"""Several workers: a worker that cannot start stops the service with a failing status."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from supplier_risk.settings import default_model_path
from tests.service.test_process import SERVE, environment, free_port, get

CHILDREN = Path("/proc/self/task")


def workers(pid: int) -> list[int]:
    """Return the uvicorn worker pids of a parent (Linux /proc; not multiprocessing's tracker)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    found = []
    for child in (int(p) for p in text.split()):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(child)
    return found


@pytest.mark.skipif(not CHILDREN.exists(), reason="needs Linux /proc to find the workers")
def test_a_worker_that_cannot_restart_stops_the_service_with_status_3(tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    shutil.copyfile(default_model_path(), model)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:  # a file, not a pipe: workers share it and outlive reads
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--workers", "2"],
            env=environment(model),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if (
                    get(f"http://127.0.0.1:{port}/readyz")[0] == 200
                    and len(workers(process.pid)) == 2
                ):
                    break
            except OSError:
                pass
            time.sleep(0.1)
        model.write_text("not a model", "utf-8")  # as after a refused reload
        os.kill(workers(process.pid)[0], signal.SIGKILL)
        # uvicorn stops every worker when the new one fails to start: say so by the status
        assert process.wait(timeout=60) == 3
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert "a worker process could not start" in log.read_text("utf-8")
