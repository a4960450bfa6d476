"""Benchmark the HTTP service against a bare FastAPI endpoint, side by side, with wrk.

    .venv/bin/python bench/bench_service.py            # about 4 minutes
    .venv/bin/python bench/bench_service.py --quick    # shorter runs
    .venv/bin/python bench/bench_service.py --only single  # POST /v1/score only, no batches

Starts, on 127.0.0.1 and free ports, `supplier-risk serve` (one worker, uvloop, httptools)
and a bare FastAPI app whose POST /v1/score returns a constant, served by the same uvicorn
with the same worker count, loop and parser. Each server is pinned to one core and wrk to the
other (when taskset exists), and the two are measured in alternating rounds so that load from
elsewhere on the machine hits both alike. Bodies rotate through 500 different suppliers.

Prints: requests/s of a scored /v1/score with explanations, of the bare endpoint, and their
ratio (target >= 0.70); p50/p99 latency at one connection (targets 1 ms / 2 ms); the server
time of a 1,000-supplier batch (from the service's own access log; target <= 20 ms) and its
suppliers/s against single requests (target >= 20x; at two connections, so that the
server's core is as busy as single requests keep it at 16, in rounds each paired with a
round of single requests), beside the HTTP floor: the bare app's
POST /v1/score/batch reads the same body and answers a constant of as many bytes as ours.
Needs wrk (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MATERIALS = [
    "ndfeb_magnet_heavy",
    "ndfeb_magnet",
    "dy_oxide",
    "tb_metal",
    "ho_oxide",
    "la_ce_oxide",
    "smco_magnet",
    "ndpr_oxide",
    "y_oxide",
    "gd_oxide",
]
LICENCES = ["not_required", "general", "individual", "pending", "denied"]
END_USES = [
    "consumer_electronics",
    "industrial",
    "medical",
    "automotive",
    "renewable_energy",
    "semiconductor",
    "aerospace",
    "defense",
]
ORIGINS = ["CN", "CN", "CN", "MY", "VN", "JP", "US", "EE"]
DESTINATIONS = [None, "DE", "US", "JP", "FR", "KR"]

BARE_APP = """
import sys
import uvicorn
from fastapi import FastAPI, Request, Response

app = FastAPI()
PAD = "x" * int(sys.argv[2])
ANSWERS: dict[int, bytes] = {}

@app.post("/v1/score")
async def score() -> dict:
    return {"supplier_id": "V-10023", "probability": 0.37, "band": "high", "pad": PAD}

@app.post("/v1/score/batch")
async def batch(request: Request) -> Response:
    await request.body()
    size = int(request.headers["x-answer-bytes"])
    if size not in ANSWERS:
        ANSWERS[size] = b'{"pad":"' + b"x" * (size - 10) + b'"}'
    return Response(ANSWERS[size], media_type="application/json")

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
            workers=1, access_log=False, log_level="warning")
"""


def supplier(rng: random.Random, i: int) -> dict[str, Any]:
    """Return a random valid supplier record."""
    record: dict[str, Any] = {
        "supplier_id": f"V-{i:05d}",
        "supplier_name": f"Supplier {i}",
        "material": rng.choice(MATERIALS),
        "origin_country": rng.choice(ORIGINS),
        "china_share": round(rng.random(), 3),
        "licence_type": rng.choice(LICENCES),
        "end_use": rng.choice(END_USES),
        "inventory_buffer_days": round(rng.uniform(0, 400), 1),
        "alternate_suppliers": rng.randint(0, 4),
        "supplier_type": rng.choice(["established", "smaller", "intermediary"]),
        "as_of": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
    }
    destination = rng.choice(DESTINATIONS)
    if destination is not None:
        record["destination_country"] = destination
    return record


def lua_script(bodies: list[bytes], path: str, answer_bytes: int | None = None) -> str:
    """Return a wrk script that POSTs the bodies in turn (asking the bare app for a size)."""
    quoted = ",\n".join("[==[" + b.decode() + "]==]" for b in bodies)
    asked = f', ["X-Answer-Bytes"] = "{answer_bytes}"' if answer_bytes is not None else ""
    return f"""
local bodies = {{
{quoted}
}}
local i = 0
local headers = {{["Content-Type"] = "application/json"{asked}}}
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "{path}", headers, bodies[i])
end
"""


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pinned(core: int, command: list[str]) -> list[str]:
    """Return the command pinned to one core, when taskset exists and there are two cores."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core), *command]
    return command


def wait_ready(port: int, path: str, method: str = "GET") -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
            urllib.request.urlopen(request, timeout=1)
            return
        except OSError as exc:
            if getattr(exc, "code", None) is not None:
                return  # it answers (405 for GET on a POST route)
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def wrk(
    script: Path,
    port: int,
    path: str,
    seconds: int,
    connections: int,
    latency: bool = False,
    pid: int | None = None,
) -> dict[str, float]:
    """Run wrk; return requests/s, the server's CPU ms per request, and p50/p99 in ms."""
    cpu_before = cpu_seconds(pid) if pid is not None else 0.0
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script)]
    if latency:
        command.append("--latency")
    command.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(pinned(1, command), capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    if pid is not None:
        count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        result["cpu_ms"] = (cpu_seconds(pid) - cpu_before) * 1000 / count
    if re.search(r"Non-2xx", out):
        raise SystemExit(f"wrk saw errors:\n{out}")
    if latency:
        for label in ("50", "99"):
            match = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
            assert match is not None, out
            value = float(match.group(1))
            result[f"p{label}"] = (
                value / 1000
                if match.group(2) == "us"
                else (value if match.group(2) == "ms" else value * 1000)
            )
    return result


def post(port: int, path: str, body: bytes) -> bytes:
    """Return the body of one POST's answer."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        data: bytes = answer.read()
        return data


def batch_durations(log_path: Path, mark: int) -> list[float]:
    """Return the server times (ms) of the answered batches logged after byte ``mark``."""
    time.sleep(0.5)  # the access log is flushed every 0.2 s
    with log_path.open() as handle:
        handle.seek(mark)
        return [
            line["duration_ms"]
            for line in map(json.loads, handle)
            if line.get("path") == "/v1/score/batch" and line.get("status") == 200
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument(
        "--bare-bytes",
        type=int,
        default=0,
        help="pad the bare endpoint's constant answer to about this size (ours is ~2 KB)",
    )
    parser.add_argument(
        "--only",
        choices=("single",),
        default=None,
        help="measure only POST /v1/score (skip the batch runs)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    seconds = 3 if args.quick else 5
    rounds = 3 if args.quick else 5
    rng = random.Random(7)
    records = [supplier(rng, i) for i in range(500)]
    singles = [json.dumps(r).encode() for r in records]
    batch = [supplier(rng, 1000 + i) for i in range(1000)]
    batch_body = json.dumps({"suppliers": batch, "explain": True}).encode()
    batch_plain = json.dumps({"suppliers": batch, "explain": False}).encode()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        scripts = {
            "single": tmp / "single.lua",
            "batch": tmp / "batch.lua",
            "batch_plain": tmp / "batch_plain.lua",
            "batch_bare": tmp / "batch_bare.lua",
            "batch_plain_bare": tmp / "batch_plain_bare.lua",
        }
        scripts["single"].write_text(lua_script(singles, "/v1/score"))
        scripts["batch"].write_text(lua_script([batch_body], "/v1/score/batch"))
        scripts["batch_plain"].write_text(lua_script([batch_plain], "/v1/score/batch"))
        (tmp / "bare.py").write_text(BARE_APP)
        ours_port, bare_port = free_port(), free_port()
        log_path = tmp / "ours.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPLIER_RISK_")}
        env.update({"SUPPLIER_RISK_WORKERS": "1", "SUPPLIER_RISK_TODAY": "2026-11-28"})
        python = sys.executable
        with log_path.open("w") as log:
            ours = subprocess.Popen(
                pinned(
                    0,
                    [
                        python,
                        "-c",
                        "from supplier_risk.cli import main; main()",
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(ours_port),
                    ],
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            )
            bare = subprocess.Popen(
                pinned(0, [python, str(tmp / "bare.py"), str(bare_port), str(args.bare_bytes)]),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_ready(ours_port, "/readyz")
                wait_ready(bare_port, "/v1/score")
                # Warm both up (and fill the service's per-policy-key cache once).
                wrk(scripts["single"], ours_port, "/v1/score", 2, 4)
                wrk(scripts["single"], bare_port, "/v1/score", 2, 4)
                ours_rps, bare_rps, ours_cpu, bare_cpu = [], [], [], []
                paired: dict[str, list[tuple[dict[str, float], dict[str, float]]]] = {
                    "batch": [],
                    "batch_plain": [],
                }
                single = scripts["single"]
                for _ in range(rounds):
                    bare_run = wrk(single, bare_port, "/v1/score", seconds, 16, pid=bare.pid)
                    ours_run = wrk(single, ours_port, "/v1/score", seconds, 16, pid=ours.pid)
                    bare_rps.append(bare_run["rps"])
                    ours_rps.append(ours_run["rps"])
                    bare_cpu.append(bare_run["cpu_ms"])
                    ours_cpu.append(ours_run["cpu_ms"])
                ratios = [o / b for o, b in zip(ours_rps, bare_rps, strict=True)]
                light = [
                    wrk(scripts["single"], ours_port, "/v1/score", seconds, 1, latency=True)
                    for _ in range(2)
                ]
                bare_light = wrk(
                    scripts["single"], bare_port, "/v1/score", seconds, 1, latency=True
                )
                if args.only is None:
                    floors = {}
                    for name, body in (("batch", batch_body), ("batch_plain", batch_plain)):
                        size = len(post(ours_port, "/v1/score/batch", body))
                        scripts[f"{name}_bare"].write_text(
                            lua_script([body], "/v1/score/batch", answer_bytes=size)
                        )
                        floors[name] = wrk(
                            scripts[f"{name}_bare"],
                            bare_port,
                            "/v1/score/batch",
                            seconds,
                            1,
                            pid=bare.pid,
                        )["cpu_ms"]
                    mark = log_path.stat().st_size
                    batch_run = wrk(
                        scripts["batch"], ours_port, "/v1/score/batch", seconds, 1, pid=ours.pid
                    )
                    durations = batch_durations(log_path, mark)
                    mark = log_path.stat().st_size
                    plain_run = wrk(
                        scripts["batch_plain"],
                        ours_port,
                        "/v1/score/batch",
                        seconds,
                        1,
                        pid=ours.pid,
                    )
                    plain_durations = batch_durations(log_path, mark)
                    # Throughput with the server's core kept busy, as single requests keep it at
                    # 16 connections (at one, it waits for each answer to be read and a body
                    # sent); in rounds paired with single requests, so that each round's ratio
                    # compares two runs a few seconds apart (the machine's speed drifts).
                    for _ in range(rounds):
                        for name in ("batch_plain", "batch"):
                            one = wrk(single, ours_port, "/v1/score", seconds, 16, pid=ours.pid)
                            many = wrk(
                                scripts[name],
                                ours_port,
                                "/v1/score/batch",
                                seconds,
                                2,
                                pid=ours.pid,
                            )
                            paired[name].append((one, many))
            finally:
                for process in (ours, bare):
                    process.send_signal(signal.SIGTERM)
                for process in (ours, bare):
                    process.wait(timeout=15)

    single_rps = statistics.median(ours_rps)
    print(
        "POST /v1/score with explanations, wrk -t1 -c16, 500 rotating suppliers, "
        f"{rounds} alternating rounds of {seconds} s"
    )
    print(f"  ours  req/s per round: {', '.join(f'{r:,.0f}' for r in ours_rps)}")
    print(f"  bare  req/s per round: {', '.join(f'{r:,.0f}' for r in bare_rps)}")
    print(f"  ratio per round:       {', '.join(f'{r:.2f}' for r in ratios)}")
    print(
        f"  median: ours {single_rps:,.0f} req/s, bare {statistics.median(bare_rps):,.0f} "
        f"req/s, ratio {statistics.median(ratios):.2f} (target >= 0.70)"
    )
    cpu_ratios = [b / o for o, b in zip(ours_cpu, bare_cpu, strict=True)]
    print("  server CPU per request, ms (robust to load from other processes):")
    print(
        f"    ours {', '.join(f'{c:.3f}' for c in ours_cpu)}; "
        f"bare {', '.join(f'{c:.3f}' for c in bare_cpu)}"
    )
    print(
        f"    median ratio bare/ours {statistics.median(cpu_ratios):.2f} "
        "(the req/s ratio a dedicated core would give; target >= 0.70)"
    )
    print("Latency at one connection (wrk -c1, ms):")
    for i, run in enumerate(light, 1):
        print(
            f"  ours run {i}: p50 {run['p50']:.3f}  p99 {run['p99']:.3f}  "
            f"({run['rps']:,.0f} req/s)   targets p50 <= 1, p99 <= 2"
        )
    print(f"  bare:       p50 {bare_light['p50']:.3f}  p99 {bare_light['p99']:.3f}")
    if args.only is not None:
        return
    single_cpu = statistics.median(ours_cpu)
    for name, times, run, pairs, floor in (
        ("explain=true", durations, batch_run, paired["batch"], floors["batch"]),
        ("explain=false", plain_durations, plain_run, paired["batch_plain"], floors["batch_plain"]),
    ):
        print(f"POST /v1/score/batch, 1,000 suppliers, {name}:")
        print(
            f"  wrk -c1: server time (access log) median {statistics.median(times):.1f} ms, "
            f"p90 {statistics.quantiles(times, n=10)[-1]:.1f} ms over {len(times)} requests "
            f"(target <= 20 ms); {run['rps'] * 1000:,.0f} suppliers/s"
        )
        print(
            f"  server CPU per batch {run['cpu_ms']:.1f} ms; the HTTP floor (bare app, same body "
            f"in, as many bytes out) {floor:.2f} ms"
        )
        per_s = [many["rps"] * 1000 for _, many in pairs]
        ratio = [s / one["rps"] for s, (one, _) in zip(per_s, pairs, strict=True)]
        per_cpu = [one["cpu_ms"] * 1000 / many["cpu_ms"] for one, many in pairs]
        print(
            f"  wrk -c2 (the server's core busy), {len(pairs)} rounds, each right after single "
            f"requests at 16 connections: suppliers/s {', '.join(f'{s:,.0f}' for s in per_s)}"
        )
        print(
            f"    ratio to single requests' req/s per round {', '.join(f'{r:.1f}' for r in ratio)}"
            f"; median {statistics.median(ratio):.1f}x (target >= 20x)"
        )
        print(
            f"    per CPU second per round {', '.join(f'{r:.1f}' for r in per_cpu)}; median "
            f"{statistics.median(per_cpu):.1f}x; at one connection "
            f"{single_cpu * 1000 / run['cpu_ms']:.1f}x"
        )


if __name__ == "__main__":
    main()
