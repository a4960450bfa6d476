"""Fail when requirements.lock or requirements-dev.lock no longer matches pyproject.toml.

    .venv/bin/python scripts/lock_check.py      # run by scripts/check

Two checks per lock file:

1. Direct (offline, always): every dependency pyproject.toml declares for that lock is pinned
   in it at a version its specifier allows, and the runtime lock agrees with the dev lock on
   every shared pin (scripts/serve and scripts/test install into the same .venv).
2. Full: re-run the command in the lock's own header (``uv pip compile ...``) into a copy of
   the lock, so uv starts from the existing pins and moves one only when pyproject.toml no
   longer allows it: a new PyPI release never fails the check, a changed dependency does.
   uv runs ``--offline`` first (from its cache); only if the cache lacks something does it go
   to the index. If the index cannot be reached either, the full check is reported as
   SKIPPED, loudly, and the direct check alone decides.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = "requirements.lock"
DEV_LOCK = "requirements-dev.lock"
UV_TIMEOUT_S = 180
# What uv prints when the index is out of reach (as opposed to an unsatisfiable pyproject).
NETWORK_TROUBLE = re.compile(
    r"network|dns|connect|timed? ?out|tls|certificate|error sending request|failed to fetch",
    re.IGNORECASE,
)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


@dataclass(frozen=True)
class LockFile:
    """One lock file: its pins and the uv command in its header that regenerates it."""

    path: Path
    pins: dict[str, str]
    command: list[str]


def read_lock(path: Path) -> LockFile:
    """Parse ``name==version`` pins and the ``uv pip compile`` header command of a lock."""
    pins: dict[str, str] = {}
    command: list[str] = []
    for line in path.read_text("utf-8").splitlines():
        stripped = line.lstrip("# ").strip()
        if not command and stripped.startswith("uv pip compile "):
            command = shlex.split(stripped)
        match = PIN.match(line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    if not command:
        raise ValueError(f"{path.name}: no '# uv pip compile ...' command in its header")
    return LockFile(path, pins, command)


def declared_requirements(pyproject: Path, extras: list[str]) -> list[Requirement]:
    """Return the project's dependencies plus those of the given optional extras."""
    project = tomllib.loads(pyproject.read_text("utf-8"))["project"]
    lines = list(project.get("dependencies", []))
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise ValueError(f"pyproject.toml has no optional dependency group {extra!r}")
        lines += optional[extra]
    return [Requirement(line) for line in lines]


def extras_of(command: list[str]) -> list[str]:
    """Return the ``--extra NAME`` values of a uv pip compile command."""
    return [command[i + 1] for i, arg in enumerate(command[:-1]) if arg == "--extra"]


def unmet(requirements: list[Requirement], pins: dict[str, str]) -> list[str]:
    """Return one message per requirement the pins do not satisfy (markers for this Python)."""
    problems = []
    for req in requirements:
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req} is not pinned")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{req} is not satisfied by the pin {req.name}=={pins[name]}")
    return problems


def disagreements(runtime: dict[str, str], dev: dict[str, str]) -> list[str]:
    """Return the shared packages the two locks pin at different versions."""
    return [
        f"{name}: {RUNTIME_LOCK} pins {version}, {DEV_LOCK} pins {dev[name]}"
        for name, version in sorted(runtime.items())
        if name in dev and dev[name] != version
    ]


def pin_changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Describe how a re-resolved pin set differs from the locked one."""
    changes = [f"+ {n}=={new[n]}" for n in sorted(new.keys() - old.keys())]
    changes += [f"- {n}=={old[n]}" for n in sorted(old.keys() - new.keys())]
    changes += [
        f"~ {n} {old[n]} -> {new[n]}" for n in sorted(old.keys() & new.keys()) if old[n] != new[n]
    ]
    return changes


def uv_binary() -> str | None:
    """Find uv next to this interpreter (the dev venv), else on PATH."""
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.is_file() else shutil.which("uv")


def recompile(
    uv: str, lock: LockFile, out: Path, offline: bool
) -> subprocess.CompletedProcess[str]:
    """Run the lock's header command with ``-o out`` (a copy of the lock: uv keeps its pins)."""
    args = list(lock.command[3:])
    for flag in ("-o", "--output-file"):
        if flag in args:
            args[args.index(flag) + 1] = str(out)
    shutil.copyfile(lock.path, out)
    extra = ["--offline"] if offline else []
    # The command is the lock's own header, run with our uv on our project: no untrusted input.
    return subprocess.run(  # noqa: S603
        [uv, "pip", "compile", *args, "--quiet", "--no-progress", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=UV_TIMEOUT_S,
        check=False,
    )


def full_check(lock: LockFile) -> tuple[list[str], str | None]:
    """Re-resolve a lock with uv; return (problems, reason the check could not run)."""
    uv = uv_binary()
    if uv is None:
        return [], "uv is not installed (it is in requirements-dev.lock)"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / lock.path.name
        result = recompile(uv, lock, out, offline=True)
        if result.returncode != 0:
            try:
                result = recompile(uv, lock, out, offline=False)
            except subprocess.TimeoutExpired:
                return [], f"uv did not reach the package index within {UV_TIMEOUT_S} s"
        if result.returncode != 0:
            message = result.stderr.strip()
            if NETWORK_TROUBLE.search(message):
                last = message.splitlines()[-1].strip()
                return [], f"uv could not reach the package index ({last})"
            return [f"uv cannot resolve pyproject.toml:\n{message}"], None
        changes = pin_changes(lock.pins, read_lock(out).pins)
    if not changes:
        return [], None
    return ["re-resolving from the current pins changes them:", *changes], None


def main() -> int:
    """Check both locks; print what is wrong and how to fix it; return the exit code."""
    locks = {name: read_lock(ROOT / name) for name in (RUNTIME_LOCK, DEV_LOCK)}
    failed = False
    skipped = []
    for name, lock in locks.items():
        problems = unmet(
            declared_requirements(ROOT / "pyproject.toml", extras_of(lock.command)), lock.pins
        )
        if name == RUNTIME_LOCK:
            problems += disagreements(lock.pins, locks[DEV_LOCK].pins)
        if not problems:
            more, reason = full_check(lock)
            problems += more
            if reason is not None:
                skipped.append(f"{name}: {reason}")
        if problems:
            failed = True
            print(f"lock check: {name} is not current with pyproject.toml:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            print(f"  regenerate it with: .venv/bin/{shlex.join(lock.command)}", file=sys.stderr)
    for line in skipped:
        print(f"lock check: full re-resolution SKIPPED, direct pins checked only: {line}")
    if not failed:
        how = "their direct pins are" if skipped else "they are"
        print(f"lock check: {RUNTIME_LOCK}, {DEV_LOCK}: {how} current with pyproject.toml")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
