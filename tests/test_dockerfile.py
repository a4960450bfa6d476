"""The Dockerfile keeps what operators rely on: user, health check, command, model, stages."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from supplier_risk.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Stage:
    """One FROM ... stage: its base, name and instructions as (keyword, arguments)."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """Return the arguments of every instruction with this keyword."""
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str:
        """Return the arguments of the last instruction with this keyword (the one that counts)."""
        found = self.all(keyword)
        assert found, f"no {keyword} in stage {self.name or self.base}"
        return found[-1]

    def env(self) -> dict[str, str]:
        """Return the ENV values set in this stage (KEY=VALUE form)."""
        values: dict[str, str] = {}
        for args in self.all("ENV"):
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                values[key] = value
        return values


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Split a Dockerfile into its global ARG defaults and its stages."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=parts[0], name=name))
        elif not stages and keyword == "ARG":
            key, _, default = rest.partition("=")
            args[key] = default
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


def exec_form(args: str) -> list[str]:
    """Return a CMD/ENTRYPOINT/HEALTHCHECK CMD in exec (JSON array) form, or fail."""
    assert args.startswith("["), f"not exec form (a shell would be PID 1 or needed): {args}"
    value = json.loads(args)
    assert isinstance(value, list), args
    assert all(isinstance(v, str) for v in value), args
    return value


def healthcheck_command(args: str) -> list[str]:
    """Return the command of a HEALTHCHECK instruction, its --options skipped."""
    match = re.match(r"^((?:--[a-z-]+=\S+\s+)*)CMD\s+(.*)$", args)
    assert match, f"HEALTHCHECK is not 'HEALTHCHECK [--options] CMD ...': {args}"
    return exec_form(match.group(2))


def option(command: list[str], flag: str) -> str | None:
    """Return the value after ``flag`` in a command, if given."""
    return command[command.index(flag) + 1] if flag in command else None


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text("utf-8"))


@pytest.fixture(scope="module")
def runtime(dockerfile: tuple[dict[str, str], list[Stage]]) -> Stage:
    return dockerfile[1][-1]


def env_var(name: str) -> str:
    """Return the environment variable Settings reads for one of its fields."""
    assert name in Settings.model_fields, f"Settings has no field {name}"
    prefix = Settings.model_config.get("env_prefix", "")
    return f"{prefix}{name}".upper()


def test_build_has_two_stages_on_the_same_base(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, stages = dockerfile
    assert len(stages) == 2
    assert stages[0].base == stages[1].base == "${BASE_IMAGE}"
    assert stages[1].all("COPY")[0].startswith(f"--from={stages[0].name} ")


def test_base_image_defaults_to_the_official_python_the_project_requires(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    args, _ = dockerfile
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    minimum = requires["requires-python"].removeprefix(">=")
    assert args["BASE_IMAGE"] == f"python:{minimum}-slim"


def test_build_installs_dependencies_from_the_lock_file(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    build = dockerfile[1][0]
    assert any("requirements.lock" in copy for copy in build.all("COPY"))
    installs = [
        run for run in build.all("RUN") if re.search(r"pip install .*-r \S*requirements\.lock", run)
    ]
    assert installs


def test_runtime_runs_as_a_non_root_user(runtime: Stage) -> None:
    user = runtime.last("USER").split(":")[0]
    assert user not in {"0", "root"}
    assert "useradd" in " ".join(runtime.all("RUN"))


def test_healthcheck_probes_readyz_without_curl(runtime: Stage) -> None:
    command = healthcheck_command(runtime.last("HEALTHCHECK"))
    joined = " ".join(command)
    assert command[0] == "python"
    assert "/readyz" in joined
    assert "curl" not in joined
    assert "wget" not in joined
    assert f"os.environ['{env_var('port')}']" in joined


def test_cmd_serves_on_all_interfaces_port_8000(runtime: Stage) -> None:
    command = exec_form(runtime.last("CMD"))
    env = runtime.env()
    assert command[:2] == ["supplier-risk", "serve"]
    # Flags win over the settings' environment variables, as in the CLI.
    assert (option(command, "--host") or env[env_var("host")]) == "0.0.0.0"
    assert (option(command, "--port") or env[env_var("port")]) == "8000"
    assert runtime.last("EXPOSE") == "8000"
    assert not runtime.all("ENTRYPOINT")


def test_model_is_copied_in_and_found_through_settings(runtime: Stage) -> None:
    model_path = runtime.env()[env_var("model_path")]
    copies = [copy.split() for copy in runtime.all("COPY")]
    assert ["models/default.json", model_path] in copies
    assert model_path.startswith("/app/")


def test_reference_data_is_copied_in_and_found_through_settings(runtime: Stage) -> None:
    env = runtime.env()
    reference_dir = env[env_var("reference_dir")]
    copied = " ".join(runtime.all("COPY"))
    for name in ("materials.json", "end_uses.json", "policy.json"):
        assert f"supplier_risk/data/{name}" in copied
    assert env[env_var("scenarios_path")] == f"{reference_dir}/scenarios.json"


def test_dockerignore_keeps_the_context_to_what_the_image_needs() -> None:
    lines = (ROOT / ".dockerignore").read_text("utf-8").splitlines()
    entries = [line for line in lines if line and not line.startswith("#")]
    assert entries[0] == "*"  # an allow-list: nothing enters the build context unless named
    allowed = {line[1:].rstrip("/") for line in entries if line.startswith("!")}
    assert {"requirements.lock", "models", "supplier_risk", "service"} <= allowed
    assert not allowed & {".git", ".venv", "tests", "bench"}


def test_exec_form_rejects_a_shell_form_command() -> None:
    with pytest.raises(AssertionError, match="not exec form"):
        exec_form("supplier-risk serve --host 0.0.0.0")


def test_parse_dockerfile_joins_continued_lines_into_one_instruction() -> None:
    text = 'ARG B=x\nFROM ${B} AS one\nRUN a \\\n    && b\nFROM ${B}\nCMD ["c"]\n'
    args, stages = parse_dockerfile(text)
    assert args == {"B": "x"}
    assert [(s.base, s.name) for s in stages] == [("${B}", "one"), ("${B}", None)]
    assert stages[0].all("RUN") == ["a && b"]
    assert exec_form(stages[1].last("CMD")) == ["c"]


@pytest.mark.parametrize(("keys", "sent"), [(",k1, k2", "Bearer k1"), ("", None), (" , ", None)])
def test_healthcheck_sends_the_first_key_the_settings_keep(
    runtime: Stage, keys: str, sent: str | None
) -> None:
    import http.server
    import threading

    seen: list[str | None] = []

    class Probe(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Probe)
    threading.Thread(target=server.handle_request, daemon=True).start()
    command = healthcheck_command(runtime.last("HEALTHCHECK"))
    env = {**os.environ, env_var("api_keys"): keys, env_var("port"): str(server.server_port)}
    done = subprocess.run([sys.executable, *command[1:]], env=env, timeout=30, check=False)
    server.server_close()
    assert done.returncode == 0
    assert seen == [sent]
