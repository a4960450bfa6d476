"""The real server: `supplier-risk serve` starts fast, reloads on SIGHUP, stops gracefully."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from supplier_risk.settings import default_model_path
from tests.conftest import BASE_RECORD
from tests.service.test_reload import write_version

SERVE = "from supplier_risk.cli import main; main()"
DEEP = "[" * 100_000 + "]" * 100_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    started: float
    ready_after: float

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def post(url: str, body: Any) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def environment(model: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPLIER_RISK_")}
    env["SUPPLIER_RISK_MODEL_PATH"] = str(model)
    return env


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    model = tmp_path / "model.json"
    shutil.copyfile(default_model_path(), model)
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment(model),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    ready_after = -1.0
    try:
        while time.monotonic() - started < 15 and process.poll() is None:
            try:
                if get(f"http://127.0.0.1:{port}/readyz")[0] == 200:
                    ready_after = time.monotonic() - started
                    break
            except OSError:
                time.sleep(0.05)
        yield Server(process, port, started, ready_after)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def test_serve_is_ready_within_5_seconds(server: Server) -> None:
    assert 0 < server.ready_after <= 5.0, server.ready_after


def test_serve_scores_and_never_loads_scikit_learn(server: Server) -> None:
    result = post(server.url("/v1/score"), BASE_RECORD)
    assert result["supplier_id"] == "V-10023"
    maps = Path(f"/proc/{server.process.pid}/maps")
    if maps.exists():  # Linux: no scikit-learn extension module is mapped into the server
        assert "sklearn" not in maps.read_text()


def test_scored_request_leaves_scikit_learn_unimported() -> None:
    script = (
        "import sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from fastapi.testclient import TestClient\n"
        "from service.app import create_app\n"
        "from supplier_risk.settings import Settings\n"
        "with TestClient(create_app(Settings())) as client:\n"
        f"    assert client.post('/v1/score', json={BASE_RECORD!r}).status_code == 200\n"
        "    assert client.post('/v1/score/csv', content=b'supplier_id,material,"
        "origin_country,licence_type,end_use,inventory_buffer_days\\nA,dy_oxide,CN,general,"
        "medical,5\\n', headers={'content-type': 'text/csv'}).status_code == 200\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_sighup_reloads_the_model_file(server: Server, tmp_path: Path) -> None:
    write_version(tmp_path / "model.json", "2099-03-03+hup")
    server.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    version = ""
    while time.monotonic() < deadline and version != "2099-03-03+hup":
        time.sleep(0.05)
        version = get(server.url("/v1/model"))[1]["version"]
    assert version == "2099-03-03+hup"
    (tmp_path / "model.json").write_text("{broken", "utf-8")
    server.process.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    status, ready = get(server.url("/readyz"))
    assert status == 200
    assert ready["model_version"] == "2099-03-03+hup"
    assert "not valid JSON" in ready["last_reload_error"]
    (tmp_path / "model.json").write_text(DEEP, "utf-8")
    server.process.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    status, ready = get(server.url("/readyz"))
    assert (status, ready["model_version"]) == (200, "2099-03-03+hup")
    assert "is nested too deeply" in ready["last_reload_error"]
    with urllib.request.urlopen(server.url("/metrics"), timeout=2) as response:
        assert 'supplier_risk_model_reloads_total{result="failed"} 2.0' in response.read().decode()
    server.process.terminate()
    server.process.wait(timeout=10)
    assert server.process.stdout is not None
    assert b"Traceback" not in server.process.stdout.read()


def test_sigterm_finishes_the_request_in_flight_and_exits_within_5_seconds(
    server: Server,
) -> None:
    body = json.dumps(BASE_RECORD).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        head = (
            f"POST /v1/score HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        conn.sendall(head + body[:20])  # the request is in flight: half its body is sent
        time.sleep(0.3)
        stopped = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        conn.sendall(body[20:])
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["supplier_id"] == "V-10023"
    code = server.process.wait(timeout=10)
    assert time.monotonic() - stopped <= 5.0
    assert code == 0


@pytest.mark.parametrize(
    ("text", "problem", "code"),
    [
        ('{"format_version": 1}', "has no sha256 of its content", SERVE),
        (DEEP, "is nested too deeply", SERVE),
        (
            "{}",
            "unexpected RuntimeError: a bug while loading",
            "import service.state\n"
            "def broken(settings):\n"
            "    raise RuntimeError('a bug while loading')\n"
            "service.state.load_serving = broken\n" + SERVE,
        ),
    ],
    ids=["no_sha256", "nested_too_deeply", "unexpected_error"],
)
def test_serve_without_a_valid_model_exits_3_with_a_clear_message(
    tmp_path: Path, text: str, problem: str, code: str
) -> None:
    broken = tmp_path / "model.json"
    broken.write_text(text, "utf-8")
    done = subprocess.run(
        [sys.executable, "-c", code, "serve", "--port", str(free_port())],
        env=environment(broken),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 3
    assert done.stderr == ""
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["level"] == "critical"
    assert "cannot start: no valid model could be loaded" in line["message"]
    assert problem in line["message"]
