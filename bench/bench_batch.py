"""Benchmark batch rescoring: time against pandas, and peak memory on ten million rows.

    .venv/bin/python bench/bench_batch.py              # 1,000,000 rows timed, 10,000,000 for memory
    .venv/bin/python bench/bench_batch.py --rows 200000 --memory-rows 1000000   # a quick run

1. Time: ``supplier-risk score`` end to end (read, validate, score, write) on a generated
   1,000,000-row supplier list, against pandas ``read_csv`` + ``to_csv`` of the same file with
   default settings, each in a fresh process (interpreter start and imports included), measured
   alternately in the same run; the best of ``--repeat`` runs each. Targets: ratio <= 3 and
   <= 10 s.
2. Memory: peak RSS of the scoring process on a 10,000,000-row file. Target: < 1 GiB.

Files are generated in a temporary directory and deleted at the end. About 1% of rows are
invalid and about 10% have a quoted name, as in a real export.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MATERIALS = (
    *("la_ce_oxide", "ndpr_oxide", "ndfeb_magnet", "ndfeb_magnet_heavy", "dy_oxide"),
    *("tb_metal", "ho_oxide", "y_oxide", "smco_magnet", "gd_oxide"),
)
COUNTRIES = ("CN", "JP", "DE", "US", "AU", "MY", "FR", "KR", "EE", "IN")
LICENCES = ("not_required", "general", "individual", "pending", "denied")
END_USES = (
    *("consumer_electronics", "industrial", "medical", "automotive", "renewable_energy"),
    *("semiconductor", "aerospace", "defense"),
)
TYPES = ("established", "smaller", "intermediary")
HEADER = (
    "supplier_id,supplier_name,material,origin_country,china_share,licence_type,end_use,"
    "inventory_buffer_days,alternate_suppliers,supplier_type,destination_country,as_of,"
    "annual_spend_eur\r\n"
)
BLOCK = 500_000
GIB = 1024**3


def _block(rng: np.random.Generator, start: int, n: int) -> str:
    """Return n CSV rows of supplier records, ids start..start+n-1."""
    ids = np.char.add("V-", np.arange(start, start + n).astype(str))
    names = np.char.add("Supplier ", (np.arange(start, start + n) % 9973).astype(str))
    quoted = rng.random(n) < 0.1
    names = np.where(quoted, np.char.add(np.char.add('"', names), ', Ltd"'), names)
    material = rng.choice(MATERIALS, n)
    material = np.where(rng.random(n) < 0.01, "unobtainium", material)  # ~1% invalid rows
    columns = [
        ids,
        names,
        material,
        rng.choice(COUNTRIES, n),
        np.round(rng.random(n), 2).astype(str),
        rng.choice(LICENCES, n),
        rng.choice(END_USES, n),
        rng.integers(0, 365, n).astype(str),
        rng.integers(0, 6, n).astype(str),
        rng.choice(TYPES, n),
        rng.choice(COUNTRIES, n),
        np.full(n, "2026-11-22"),
        np.round(rng.random(n) * 1e6, 2).astype(str),
    ]
    cells = np.empty((n, 2 * len(columns)), dtype=object)
    for i, column in enumerate(columns):
        cells[:, 2 * i] = column.astype(object)
    cells[:, 1::2] = ","
    cells[:, -1] = "\r\n"
    return "".join(cells.ravel().tolist())


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write a supplier list of ``rows`` rows."""
    rng = np.random.default_rng(seed)
    with path.open("w", encoding="utf-8", newline="") as sink:
        sink.write(HEADER)
        for start in range(0, rows, BLOCK):
            sink.write(_block(rng, start, min(BLOCK, rows - start)))


def peak_rss() -> int:
    """Return this process's peak resident set size in bytes.

    VmHWM from /proc, not getrusage: Linux carries ru_maxrss over an exec, so a child would
    report the parent's peak (the generator's) instead of its own.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(kind: str, source: str, out: str) -> None:
    """Run one measured job in this process and print its time and peak RSS as JSON."""
    start = time.perf_counter()
    code = 0
    if kind == "pandas":  # the reference: pandas with default settings
        import pandas as pd

        pd.read_csv(source).to_csv(out, index=False)
    else:
        from supplier_risk.batch_report import run_score
        from supplier_risk.settings import Settings

        code = run_score(Settings(), input_file=Path(source), out=Path(out))
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_bytes": peak_rss(), "exit": code}))


def measure(kind: str, source: Path, out: Path) -> dict[str, float]:
    """Run a job in a fresh interpreter; return its wall time (start-up included) and RSS."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(source), str(out)],
        check=True,
        capture_output=True,
        text=True,
        env={"SUPPLIER_RISK_TODAY": "2026-11-28", "PATH": "/usr/bin:/bin"},
    )
    wall = time.perf_counter() - start
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def main() -> None:
    """Run both benchmarks and print the numbers and whether the targets are met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--memory-rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "IN", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        directory = Path(tmp)
        source = directory / "suppliers.csv"
        generate(source, args.rows)
        size = source.stat().st_size
        print(f"time: {args.rows:,} rows, {size / 1e6:.0f} MB, best of {args.repeat}")
        ours, theirs = [], []
        for _ in range(args.repeat):
            theirs.append(measure("pandas", source, directory / "pandas.csv"))
            ours.append(measure("score", source, directory / "scored.csv"))
        best_ours = min(r["wall"] for r in ours)
        best_pandas = min(r["wall"] for r in theirs)
        ratio = best_ours / best_pandas
        print(f"  pandas read_csv + to_csv      {best_pandas:6.2f} s")
        print(f"  supplier-risk score           {best_ours:6.2f} s  (exit {int(ours[0]['exit'])})")
        print(
            f"  ratio ours / pandas           {ratio:6.2f}   target <= 3: "
            f"{'met' if ratio <= 3 else 'MISSED'}; <= 10 s: "
            f"{'met' if best_ours <= 10 else 'MISSED'}"
        )
        print(
            f"  peak RSS at {args.rows:,} rows: ours {ours[0]['peak_bytes'] / GIB:.2f} GiB, "
            f"pandas {theirs[0]['peak_bytes'] / GIB:.2f} GiB"
        )
        source.unlink()
        for stale in directory.glob("*.csv"):
            stale.unlink()
        big = directory / "big.csv"
        generate(big, args.memory_rows, seed=1)
        print(f"memory: {args.memory_rows:,} rows, {big.stat().st_size / 1e9:.2f} GB")
        result = measure("score", big, directory / "big-scored.csv")
        peak = result["peak_bytes"] / GIB
        print(
            f"  supplier-risk score           {result['wall']:6.2f} s, peak RSS {peak:.2f} GiB  "
            f"target < 1 GiB: {'met' if peak < 1 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
