"""dev/psql.py, the script behind the Tilt psql button, with the fake kubectl and fake API servers:
the SQL reaches psql as one argument, in the context and namespace it is given, never a remote one."""

from __future__ import annotations

import os
import subprocess
import sys

from taskpilot_dev.fakes.cli import FakeCliSet
from taskpilot_dev.fakes.kube_api import FakeApiServer, FakeCluster, write_kubeconfig
from taskpilot_dev.paths import REPO_ROOT

LOCAL, REMOTE, NAMESPACE = "kind-dev", "prod-eks", "team-a"
# quotes, $ and backticks a shell line would mangle or run
SQL = """select 'it''s "$HOME" `id`' as text"""


def run_psql(tmp_path, context: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    clis = FakeCliSet(tmp_path / "clis", tools=("kubectl",))
    clis.state["contexts"] = {name: {"namespaces": [NAMESPACE], "releases": {}} for name in (LOCAL, REMOTE)}
    clis.state["current_context"] = REMOTE
    clis.save()
    with (
        FakeApiServer(FakeCluster(namespace=NAMESPACE)) as local,
        FakeApiServer(FakeCluster(namespace=NAMESPACE)) as remote,
    ):
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {LOCAL: local, REMOTE: remote}, current=REMOTE)
        env = dict(os.environ, **clis.env(), SQL=SQL, PATH=f"{clis.bin_dir}{os.pathsep}{os.environ['PATH']}")
        argv = [sys.executable, str(REPO_ROOT / "dev" / "psql.py"), "--kubeconfig", str(kubeconfig)]
        proc = subprocess.run(
            [*argv, "--context", context, "--namespace", NAMESPACE], capture_output=True, text=True, env=env, timeout=60
        )
    return proc, [c for c in clis.calls() if c["argv"][:1] != ["version"]]


def test_the_sql_field_reaches_psql_as_one_argument_in_the_given_context(tmp_path):
    _, calls = run_psql(tmp_path, LOCAL)
    (call,) = calls
    argv = call["argv"]
    assert argv[:5] == ["--context", LOCAL, "-n", NAMESPACE, "exec"]
    command = argv[argv.index("--") + 1 :]
    assert command[:2] == ["sh", "-c"] and command[-2:] == ["psql", SQL]
    assert command[2] == 'psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$1"'


def test_a_remote_context_is_refused_before_any_call(tmp_path):
    proc, calls = run_psql(tmp_path, REMOTE)
    assert proc.returncode == 1 and f'kubectl context "{REMOTE}" is not a local cluster' in proc.stderr
    assert calls == []
