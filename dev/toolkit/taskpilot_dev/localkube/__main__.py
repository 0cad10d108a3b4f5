"""python -m taskpilot_dev.localkube up|down|status|footprint — see the package docstring.

footprint prints host-wide counts (mounts, iptables rules, interfaces, cluster processes,
containers) as JSON: taken before `up` and after `down`, they must be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time

from .. import tools
from . import addons, host, pki, processes
from .components import COMPONENT_NAMES, all_components, missing_host_tools
from .layout import CONTEXT, NODE_NAME, PORTS, Layout
from .versions import versions

# Which component owns which port, so a taken port is reported against the part that needs it.
PORT_OWNERS = {
    "etcd": ("etcd", "etcd-peer"),
    "kube-apiserver": ("kube-apiserver",),
    "kube-controller-manager": ("kube-controller-manager",),
    "kube-scheduler": ("kube-scheduler",),
    "kubelet": ("kubelet", "kubelet-healthz"),
    "kube-proxy": ("kube-proxy-healthz", "kube-proxy-metrics"),
    "registry": ("registry",),
}


def _where(layout: Layout) -> str:
    return f"KUBECONFIG={layout.kubeconfig}\ncontext={CONTEXT}"


def _running(layout: Layout) -> list[str]:
    return [name for name in COMPONENT_NAMES if processes.pid_of(layout, name) is not None]


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - a probe that binds for an instant, like the component would
        except OSError:
            return True
    return False


def _check_ports(layout: Layout) -> list[str]:
    problems = []
    for component, names in PORT_OWNERS.items():
        if processes.pid_of(layout, component) is not None:
            continue
        for name in names:
            if _port_taken(PORTS[name]):
                problems.append(
                    f"port {PORTS[name]} ({name}) is already in use; free it (ss -ltnp 'sport = :{PORTS[name]}')"
                )
    return problems


def _kubectl(layout: Layout, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tools.kubectl_bin(), "--kubeconfig", str(layout.kubeconfig), *args], capture_output=True, text=True
    )


def _wait(what: str, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    raise processes.ComponentError(f"{what} within {timeout:.0f} s")


def up(layout: Layout) -> int:
    if os.geteuid() != 0:
        print("localkube: the cluster needs root (containers, mounts, iptables): run it with sudo", file=sys.stderr)
        return 1
    missing = missing_host_tools()
    built = [
        name for name in ("kube", "etcd", "containerd", "ctr", "coredns", "pause") if not (layout.bin / name).exists()
    ]
    if built:
        missing.append(f"{', '.join(built)} in {layout.bin}: build them with dev/kube/build.sh")
    if missing:
        print("localkube: missing prerequisites:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    pinned = versions()
    if len(_running(layout)) == len(COMPONENT_NAMES):
        print("local cluster already running")
        print(_where(layout))
        return 0
    problems = _check_ports(layout)
    if problems:
        print("localkube: " + "\n  ".join(problems), file=sys.stderr)
        return 1
    started = time.monotonic()
    layout.state.mkdir(parents=True, exist_ok=True)
    pki.ensure(layout)
    host.prepare(layout)
    try:
        for component in all_components(layout, pinned["KUBERNETES_VERSION"]):
            processes.start(layout, component)
            if component.name == "registry":
                addons.push_node_images(layout, pinned["KUBERNETES_VERSION"], pinned["COREDNS_VERSION"])
        addons.apply(layout, tools.kubectl_bin(), pinned["COREDNS_VERSION"])
        _wait(
            f"node {NODE_NAME} was not Ready",
            lambda: (
                _kubectl(layout, "wait", "--for=condition=Ready", f"node/{NODE_NAME}", "--timeout=5s").returncode == 0
            ),
            120,
        )
        _wait(
            "CoreDNS was not Ready",
            lambda: (
                _kubectl(
                    layout,
                    "-n",
                    "kube-system",
                    "wait",
                    "--for=condition=Available",
                    "deployment/coredns",
                    "--timeout=5s",
                ).returncode
                == 0
            ),
            120,
        )
    except (processes.ComponentError, subprocess.CalledProcessError) as error:
        detail = error.stderr if isinstance(error, subprocess.CalledProcessError) else ""
        print(f"localkube: {error}\n{detail or ''}", file=sys.stderr)
        print("the parts that started keep running: `status` shows them, `down` removes them", file=sys.stderr)
        return 1
    print(f"local cluster ready in {time.monotonic() - started:.1f} s")
    print(_where(layout))
    hint = (
        f"# Tilt: list {CONTEXT} under allowed_contexts in tilt-settings.yaml. Public images (PostgreSQL)\n"
        "# reach the cluster through its registry: python -m taskpilot_dev.localkube.stack mirror"
    )
    print(hint, file=sys.stderr)
    return 0


def down(layout: Layout) -> int:
    if not layout.state.exists() and not any(host.leftovers(layout).values()):
        print("nothing to remove: no local cluster here")
        return 0
    # The kubelet first, so it does not restart what the runtime is asked to remove.
    processes.stop(layout, "kubelet")
    if processes.pid_of(layout, "containerd") is not None:
        subprocess.run(
            [str(layout.bin / "kube"), "cri-reset", f"--runtime-endpoint=unix://{layout.containerd_socket}"],
            capture_output=True,
        )
    for name in reversed(COMPONENT_NAMES):
        processes.stop(layout, name)
    host.release(layout)
    shutil.rmtree(layout.state, ignore_errors=True)
    remaining = {kind: items for kind, items in host.leftovers(layout).items() if items}
    if remaining:
        print(f"localkube: down left these behind: {remaining}", file=sys.stderr)
        return 1
    print("local cluster removed (no process, container, mount, iptables rule or interface left)")
    return 0


def status(layout: Layout) -> int:
    running = _running(layout)
    if not running:
        print("no local cluster running")
        return 3
    for name in COMPONENT_NAMES:
        if name in running:
            print(f"  {name:<24} running")
        else:
            print(f"  {name:<24} NOT RUNNING; last lines of its log:")
            print("    " + processes.log_tail(layout, name, 10).replace("\n", "\n    "))
    print(_where(layout))
    return 0 if len(running) == len(COMPONENT_NAMES) else 1


def print_footprint(layout: Layout) -> int:
    print(json.dumps(host.footprint(layout), sort_keys=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localkube", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "footprint"])
    args = parser.parse_args(argv)
    layout = Layout.from_env()
    return {"up": up, "down": down, "status": status, "footprint": print_footprint}[args.command](layout)


if __name__ == "__main__":
    sys.exit(main())
