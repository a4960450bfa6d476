"""Soak the HTTP service with mixed traffic and print its memory after each round.

    .venv/bin/python bench/soak_service.py              # 6 rounds of 2 x 10 s, about 2 minutes
    .venv/bin/python bench/soak_service.py --rounds 60  # longer

Not a speed benchmark: it checks what an operator running the service for months needs,
that memory levels off and no request ends in a server error. One `supplier-risk serve`
worker gets, in turn, single requests (400 records with `as_of` dates spread over 1990-2090,
every third under a scenario, plus malformed, invalid and oversized-field bodies) and batches
of 200 with an invalid row, half of them explained. Prints the resident memory (RSS) after
each phase and the request counts by status from /metrics; exits 1 on any 5xx.
Needs wrk (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_service import free_port, lua_script, supplier, wait_ready  # noqa: E402


def rss_mb(pid: int) -> float:
    """Return a process's resident memory in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmRSS for pid {pid}")


def single_bodies(rng: random.Random) -> list[bytes]:
    """Return valid records over a century of dates, and bodies every check refuses."""
    bodies = []
    for i in range(400):
        record = supplier(rng, i)
        record["as_of"] = (
            f"{rng.randint(1990, 2090)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        )
        bodies.append(json.dumps(record).encode())
    long_id = json.dumps({**supplier(rng, 0), "supplier_id": "a" * 500}).encode()
    return [*bodies, b'{"supplier_id": "x"}', b"not json", long_id]


def batch_bodies(rng: random.Random) -> list[bytes]:
    """Return batches of 200 valid suppliers and one invalid row, half of them explained."""
    return [
        json.dumps(
            {
                "suppliers": [
                    *(supplier(rng, 1000 * k + j) for j in range(200)),
                    {"supplier_id": k},
                ],
                "explain": k % 2 == 0,
            }
        ).encode()
        for k in range(6)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=10, help="per phase")
    args = parser.parse_args()
    rng = random.Random(3)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        single = Path(tmp) / "single.lua"
        # Every third single request goes through a scenario, whose policy table is cached apart.
        single.write_text(
            lua_script(single_bodies(rng), "/v1/score").replace(
                '"/v1/score"',
                '(i % 3 == 0) and "/v1/score?scenario=suspension_lapses" or "/v1/score"',
            )
        )
        batch = Path(tmp) / "batch.lua"
        batch.write_text(lua_script(batch_bodies(rng), "/v1/score/batch"))
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/supplier-risk"), "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(port, "/readyz")
            print(f"started: RSS {rss_mb(server.pid):.1f} MB")
            for round_ in range(1, args.rounds + 1):
                for name, script in (("single", single), ("batch", batch)):
                    out = subprocess.run(
                        ["wrk", "-t1", "-c8", f"-d{args.seconds}s", "-s", str(script), url],
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                    done = next(line for line in out.splitlines() if "requests in" in line)
                    print(
                        f"round {round_} {name:<6}: {done.strip()}; RSS {rss_mb(server.pid):.1f} MB"
                    )
            metrics = urllib.request.urlopen(f"{url}/metrics").read().decode()
        finally:
            server.terminate()
            server.wait()
    counts = [line for line in metrics.splitlines() if "_http_requests_total{" in line]
    print("\n".join(counts))
    if any('status="5' in line for line in counts):
        raise SystemExit("server errors seen")


if __name__ == "__main__":
    main()
