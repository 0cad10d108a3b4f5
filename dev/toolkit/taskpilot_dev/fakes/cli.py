"""The fake command-line tools: minikube / kubectl / helm / docker / tilt / python3 / pip.

Invoked as `cli.py TOOL ARGS...` by tiny wrappers a test puts first on PATH (FakeCliSet writes them;
the program itself needs nothing but the standard library, so the wrappers run it with `-I -S`).
Every call is appended to $FAKE_LOG (one JSON object per line: tool, argv, context, pid) and the
simulated world lives in $FAKE_STATE (JSON):

    minikube: "running" | "stopped" | "absent"
    current_context: str | null
    contexts: {name: {"namespaces": [...], "releases": {"ns/name": chart},
                      "kube_version": "v1.30.0",           (the API server's; default below)
                      "tilt_namespaces": [...]}}           (where `tilt up` applied the chart's objects)
    docker_daemon: bool, docker_ncpu: int, docker_mem_bytes: int
    versions: {tool: "vX.Y.Z"}          (overrides the defaults below)
    port_forward_seconds: float         (how long a fake port-forward lives before "dropping")
    fail: ["helm upgrade", ...]         (argv prefixes that exit 1)
    api_server: URL                     (a FakeApiServer: `helm upgrade --reuse-values --set
                                         <component>.replicas=N` scales its deployments, as real helm would)
    dns: {name: ip}                     (what `kubectl exec POD -- python -c <lookup> NAMES` resolves)
    exec: {"alembic upgrade head": argv} (what `kubectl exec POD -- <command>` runs on this machine instead,
                                         e.g. the real migrations against a test database)

The CLIs answer the way the real ones do for the calls the scripts make (exit codes included), and a
kubectl/helm call without an explicit context acts on current_context, so a test can prove that a
script never touched a non-minikube cluster.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DEFAULT_VERSIONS = {
    "minikube": "v1.33.1",
    "kubectl": "v1.30.2",
    "helm": "v3.15.2",
    "docker": "26.1.4",
    "tilt": "v0.33.17",
    "python3": "3.11.7",
}
MINIKUBE_PROFILE = "minikube"
DEFAULT_KUBE_VERSION = "v1.30.0"
# What `tilt up` applies (each labelled app.kubernetes.io/managed-by=tilt, as Tilt labels every object).
TILT_OBJECTS = (
    "deployment.apps/taskpilot-ai-backend",
    "deployment.apps/taskpilot-ai-frontend",
    "statefulset.apps/taskpilot-ai-postgresql",
    "job.batch/taskpilot-ai-migrations",
    "service/backend-service",
    "service/frontend-service",
    "service/postgresql-service",
)


def load_state() -> dict:
    return json.loads(Path(os.environ["FAKE_STATE"]).read_text())


def save_state(state: dict) -> None:
    Path(os.environ["FAKE_STATE"]).write_text(json.dumps(state, indent=1))


def log_call(tool: str, argv: list[str], context: str | None) -> None:
    with open(os.environ["FAKE_LOG"], "a") as log:
        log.write(json.dumps({"tool": tool, "argv": argv, "context": context, "pid": os.getpid()}) + "\n")


def fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def pop_option(argv: list[str], *names: str) -> str | None:
    """Remove `--name value` / `--name=value` / `-n value` from argv, return the value."""
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name and index + 1 < len(argv):
                value = argv[index + 1]
                del argv[index : index + 2]
                return value
            if arg.startswith(name + "="):
                del argv[index]
                return arg.split("=", 1)[1]
    return None


def version(state: dict, tool: str) -> str:
    return state.get("versions", {}).get(tool, DEFAULT_VERSIONS[tool])


# --- minikube -------------------------------------------------------------------


def minikube(state: dict, argv: list[str]) -> int:
    profile = pop_option(argv, "-p", "--profile") or MINIKUBE_PROFILE
    command = argv[:2]
    status = state["minikube"]
    if argv[:1] == ["version"]:
        print(version(state, "minikube") if "--short" in argv else f"minikube version: {version(state, 'minikube')}")
        return 0
    if argv[:1] == ["status"]:
        if status == "absent":
            return fail(f'Profile "{profile}" not found. Run "minikube profile list" to view all profiles.', 85)
        running = status == "running"
        value = "Running" if running else "Stopped"
        print(
            json.dumps(
                {
                    "Name": profile,
                    "Host": value,
                    "Kubelet": value,
                    "APIServer": value,
                    "Kubeconfig": "Configured" if running else "Stopped",
                    "Worker": False,
                }
            )
        )
        return 0 if running else 7
    if argv[:1] == ["start"]:
        state["minikube"] = "running"
        state["contexts"].setdefault(profile, {"namespaces": ["default", "kube-system"], "releases": {}})
        state["current_context"] = profile  # the real minikube start switches the current context
        print(f'Done! kubectl is now configured to use "{profile}" cluster and "default" namespace by default')
        return 0
    if argv[:1] == ["stop"]:
        if status == "absent":
            return fail(f'Profile "{profile}" not found.', 85)
        state["minikube"] = "stopped"
        return 0
    if argv[:1] == ["delete"]:
        state["minikube"] = "absent"
        state["contexts"].pop(profile, None)
        if state.get("current_context") == profile:
            state["current_context"] = None
        return 0
    if command in (["addons", "enable"], ["image", "load"]):
        if status != "running":
            return fail(f"The control-plane node {profile} host is not running: state={status.title()}", 80)
        if command == ["image", "load"]:
            state.setdefault("loaded_images", []).extend(argv[2:])
        return 0
    return fail(f"fake minikube: unsupported {argv}")


# --- kubectl --------------------------------------------------------------------


def cluster_for(state: dict, context: str | None) -> dict | None:
    """The cluster behind a context, or None when it is unreachable."""
    if context == MINIKUBE_PROFILE and state["minikube"] != "running":
        return None
    return state["contexts"].get(context)


def kubectl(state: dict, argv: list[str], context: str | None) -> int:
    if argv[:1] == ["version"]:
        print(f"Client Version: {version(state, 'kubectl')}\nKustomize Version: v5.0.4-0.20230601165947-6ce0bf390ce3")
        cluster = cluster_for(state, context) if context in state["contexts"] else None
        if "--client" not in argv and cluster is not None:
            print(f"Server Version: {cluster.get('kube_version', DEFAULT_KUBE_VERSION)}")
        return 0
    if argv[:2] == ["config", "current-context"]:
        if not state.get("current_context"):
            return fail("error: current-context is not set")
        print(state["current_context"])
        return 0
    if argv[:2] == ["config", "get-contexts"]:
        print("\n".join(state["contexts"]))
        return 0
    if context not in state["contexts"]:
        return fail(f'error: context "{context}" does not exist')
    cluster = cluster_for(state, context)
    if cluster is None:
        return fail(
            "The connection to the server 127.0.0.1:32771 was refused - did you specify the right host or port?"
        )
    namespace = pop_option(argv, "-n", "--namespace") or "default"
    if argv[:2] == ["get", "namespace"]:
        if argv[2] in cluster["namespaces"]:
            print(f"NAME        STATUS   AGE\n{argv[2]}   Active   5m")
            return 0
        return fail(f'Error from server (NotFound): namespaces "{argv[2]}" not found')
    if argv[:2] == ["create", "namespace"]:
        if argv[2] in cluster["namespaces"]:
            return fail(f'Error from server (AlreadyExists): namespaces "{argv[2]}" already exists')
        cluster["namespaces"].append(argv[2])
        print(f"namespace/{argv[2]} created")
        return 0
    if argv[:2] == ["delete", "namespace"]:
        if argv[2] not in cluster["namespaces"]:
            return fail(f'Error from server (NotFound): namespaces "{argv[2]}" not found')
        cluster["namespaces"].remove(argv[2])
        cluster["releases"] = {k: v for k, v in cluster["releases"].items() if not k.startswith(argv[2] + "/")}
        print(f'namespace "{argv[2]}" deleted')
        return 0
    if argv[:1] == ["get"] and pop_option(argv, "-l", "--selector") == "app.kubernetes.io/managed-by=tilt":
        if namespace in cluster.get("tilt_namespaces", []):
            print("\n".join(TILT_OBJECTS))
        return 0
    if argv[:2] == ["rollout", "status"]:
        if not any(key.startswith(namespace + "/") for key in cluster["releases"]):
            return fail(f"Error from server (NotFound): {argv[2].replace('/', 's.apps ')} not found")
        print(f"{argv[2]} successfully rolled out")
        return 0
    if argv[:1] == ["wait"]:
        if not any(key.startswith(namespace + "/") for key in cluster["releases"]):
            return fail("error: no matching resources found")
        selector = pop_option(argv, "-l", "--selector")
        print(f"pod/{(selector or 'pod').split('=')[-1]}-7d9f8-abcde condition met")
        return 0
    if argv[:1] == ["port-forward"]:
        local, remote = argv[-1].split(":")
        print(f"Forwarding from 127.0.0.1:{local or free_port()} -> {remote}", flush=True)
        time.sleep(float(state.get("port_forward_seconds", 0.2)))
        return 1  # a real forward only ends when it drops
    if argv[:1] == ["exec"] and "--" in argv:
        command = " ".join(argv[argv.index("--") + 1 :])
        if command in state.get("exec", {}):
            return subprocess.run(state["exec"][command]).returncode
        names = argv[argv.index("--") + 4 :]  # -- python -c SCRIPT NAMES...
        dns = state.get("dns", {})
        print(
            "".join(
                f"{n} {dns[n]}\n" if n in dns else f"{n} FAILED [Errno -2] Name or service not known\n" for n in names
            ),
            end="",
        )
        return 0
    return fail(f"fake kubectl: unsupported {argv}")


# --- helm -----------------------------------------------------------------------

HELM_BOOLEAN_FLAGS = {"--install", "--wait", "--atomic", "--debug", "--reuse-values", "--reset-values", "--dry-run"}


def positional_args(argv: list[str]) -> list[str]:
    positional, skip_next = [], False
    for arg in argv:
        if skip_next:
            skip_next = False
        elif arg.startswith("-"):
            skip_next = "=" not in arg and arg not in HELM_BOOLEAN_FLAGS
        else:
            positional.append(arg)
    return positional


def helm(state: dict, argv: list[str], context: str | None) -> int:
    if argv[:1] == ["version"]:
        print(f"{version(state, 'helm')}+g1a500d5")
        return 0
    if context not in state["contexts"]:
        return fail(f'Error: kubernetes cluster unreachable: context "{context}" does not exist')
    cluster = cluster_for(state, context)
    if cluster is None:
        return fail("Error: Kubernetes cluster unreachable: connection refused")
    namespace = pop_option(argv, "-n", "--namespace") or "default"
    if argv[:1] == ["status"]:
        if f"{namespace}/{argv[1]}" in cluster["releases"]:
            print(f"NAME: {argv[1]}\nNAMESPACE: {namespace}\nSTATUS: deployed")
            return 0
        return fail("Error: release: not found")
    if argv[:1] == ["install"] or (argv[:1] == ["upgrade"] and "--install" in argv):
        if argv[:1] == ["install"] and f"{namespace}/{positional_args(argv[1:])[0]}" in cluster["releases"]:
            return fail("Error: INSTALLATION FAILED: cannot re-use a name that is still in use")
        if namespace in cluster.get("tilt_namespaces", []):  # what real Helm says about Tilt's objects
            return fail(
                "Error: rendered manifests contain a resource that already exists. Unable to continue with "
                'install: Service "backend-service" in namespace "taskpilot" exists and cannot be imported '
                "into the current release: invalid ownership metadata; label validation error: missing key "
                '"app.kubernetes.io/managed-by": must be set to "Helm"'
            )
        if namespace not in cluster["namespaces"]:
            return fail(f'Error: create: failed to create: namespaces "{namespace}" not found')
        release, chart = positional_args(argv[1:])[:2]
        cluster["releases"][f"{namespace}/{release}"] = chart
        print(f'Release "{release}" has been upgraded. Happy Helming!')
        return 0
    if argv[:1] == ["upgrade"] and "--reuse-values" in argv:
        release, _chart = positional_args(argv[1:])[:2]
        if f"{namespace}/{release}" not in cluster["releases"]:
            return fail(f'Error: UPGRADE FAILED: "{release}" has no deployed releases')
        sets = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--set"]
        for key, value in (assignment.split("=", 1) for assignment in sets):
            component, _, field = key.partition(".")
            if field == "replicas" and state.get("api_server"):
                patch_scale(state["api_server"], namespace, f"{release}-{component}", int(value))
        print(f'Release "{release}" has been upgraded. Happy Helming!')
        return 0
    if argv[:1] == ["uninstall"]:
        if cluster["releases"].pop(f"{namespace}/{argv[1]}", None) is None:
            return fail(f"Error: uninstall: Release not loaded: {argv[1]}: release: not found")
        print(f'release "{argv[1]}" uninstalled')
        return 0
    return fail(f"fake helm: unsupported {argv}")


def patch_scale(api_server: str, namespace: str, deployment: str, replicas: int) -> None:
    request = urllib.request.Request(  # noqa: S310  # the fake API server's http URL
        f"{api_server}/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}/scale",
        data=json.dumps({"spec": {"replicas": replicas}}).encode(),
        method="PATCH",
        headers={"Content-Type": "application/merge-patch+json"},
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310  # the fake API server's http URL
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- docker, tilt, python3, pip -------------------------------------------------


def docker(state: dict, argv: list[str]) -> int:
    if argv[:1] == ["version"]:
        print(version(state, "docker"))
        return 0
    if argv[:1] == ["info"]:
        if not state.get("docker_daemon", True):
            return fail(
                "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
            )
        if "--format" in argv:
            print(f"{state.get('docker_ncpu', 8)} {state.get('docker_mem_bytes', 16 * 1024**3)}")
        else:
            print("Server:\n Containers: 3\n Server Version: 26.1.4")
        return 0
    if argv[:1] == ["build"]:
        state.setdefault("built_images", []).append(pop_option(argv, "-t", "--tag"))
        print("Successfully built 0123456789ab")
        return 0
    return fail(f"fake docker: unsupported {argv}")


def tilt(state: dict, argv: list[str]) -> int:
    if argv[:1] == ["version"]:
        print(f"{version(state, 'tilt')}, built 2024-06-12")
        return 0
    context = pop_option(argv, "--context") or state.get("current_context")
    if argv[:1] in (["up"], ["ci"], ["down"]) and context in state["contexts"]:
        applied = state["contexts"][context].setdefault("tilt_namespaces", [])
        if argv[:1] == ["down"]:
            applied.clear()
        elif "taskpilot" not in applied:
            applied.append("taskpilot")  # the Tiltfile's namespace
    if argv[:1] in (["up"], ["ci"], ["down"]):
        return 0
    return fail(f"fake tilt: unsupported {argv}")


def python3(state: dict, argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        print(f"Python {version(state, 'python3')}")
        return 0
    if argv[:2] == ["-m", "venv"]:
        bin_dir = Path(argv[2]) / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        for name in ("python", "pip"):
            write_wrapper(bin_dir / name, f"venv-{name}")
        return 0
    return fail(f"fake python3: unsupported {argv}")


def write_wrapper(path: Path, tool: str) -> None:
    """An executable that runs this fake as TOOL (the tests use it to populate PATH)."""
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "{Path(__file__).resolve()}" {tool} "$@"\n')
    path.chmod(0o755)


FAKED_TOOLS = ("minikube", "kubectl", "helm", "docker", "tilt", "python3")


class FakeCliSet:
    """The fake tools as executables in `root/fakebin`, with their state file and call log.

    clis = FakeCliSet(tmp_path)
    clis.state.update(...); clis.save()        # arrange the world
    subprocess.run([...], env=clis.env(...))   # or use clis.path("kubectl") directly
    clis.load(); clis.calls()                  # what happened
    """

    def __init__(self, root: Path, tools: tuple[str, ...] = FAKED_TOOLS) -> None:
        self.root = Path(root)
        self.bin_dir = self.root / "fakebin"
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        self.state_file = self.root / "state.json"
        self.log_file = self.root / "calls.jsonl"
        self.state: dict = {
            "minikube": "absent",
            "current_context": None,
            "contexts": {},
            "docker_daemon": True,
            "docker_ncpu": 8,
            "docker_mem_bytes": 16 * 1024**3,
            "port_forward_seconds": 0.2,
            "fail": [],
        }
        for tool in tools:
            self.add_tool(tool)
        self.save()

    def add_tool(self, tool: str) -> None:
        write_wrapper(self.bin_dir / tool, tool)

    def remove_tool(self, tool: str) -> None:
        (self.bin_dir / tool).unlink()

    def path(self, tool: str) -> str:
        return str(self.bin_dir / tool)

    def save(self, clear_log: bool = True) -> None:
        self.state_file.write_text(json.dumps(self.state))
        if clear_log:
            self.log_file.write_text("")

    def load(self) -> dict:
        self.state = json.loads(self.state_file.read_text())
        return self.state

    def calls(self) -> list[dict]:
        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text().splitlines() if line.strip()]

    def env(self, extra: dict | None = None) -> dict[str, str]:
        """What the fakes need in the environment (PATH is the caller's business)."""
        return {"FAKE_STATE": str(self.state_file), "FAKE_LOG": str(self.log_file), **(extra or {})}

    def running_minikube(self, *, namespace: bool = False, release: bool = False) -> None:
        self.state["minikube"] = "running"
        namespaces = ["default", "kube-system"] + (["taskpilot"] if namespace or release else [])
        releases = {"taskpilot/taskpilot-ai": "helm/taskpilot-ai"} if release else {}
        self.state["contexts"]["minikube"] = {"namespaces": namespaces, "releases": releases}
        self.state["current_context"] = "minikube"


def main() -> int:
    tool, argv = sys.argv[1], sys.argv[2:]
    state = load_state()
    context = None
    if tool in ("kubectl", "helm"):
        context = pop_option(argv, "--context" if tool == "kubectl" else "--kube-context") or state.get(
            "current_context"
        )
    log_call(tool, sys.argv[2:], context)
    for prefix in state.get("fail", []):
        if " ".join([tool, *sys.argv[2:]]).startswith(prefix):
            return fail(f"fake {tool}: simulated failure")
    handler = {
        "minikube": lambda: minikube(state, argv),
        "kubectl": lambda: kubectl(state, argv, context),
        "helm": lambda: helm(state, argv, context),
        "docker": lambda: docker(state, argv),
        "tilt": lambda: tilt(state, argv),
        "python3": lambda: python3(state, argv),
        "venv-pip": lambda: 0,
        "venv-python": lambda: 0,
    }[tool]
    code = handler()
    # Port-forwards run concurrently and change nothing: only the sequential calls write state.
    if not (tool == "kubectl" and "port-forward" in sys.argv):
        save_state(state)
    return code


if __name__ == "__main__":
    sys.exit(main())
