"""What the cluster changes on the host, and how `down` takes every bit of it back.

`leftovers()` counts what belongs to the cluster (processes, mounts, iptables rules, network
interfaces, containers); after `down` every count is zero, which the cluster tier checks.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from .layout import BRIDGE, NODE_IP, POD_CIDR, Layout

SYSCTLS = {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"}
# Chains that kube-proxy and the CNI plugins create; nothing else on a host uses these prefixes.
OWN_CHAIN = re.compile(r"\b(KUBE|CNI)-[A-Z0-9-]+")
IPTABLES = ("iptables", "ip6tables")


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def prepare(layout: Layout) -> None:
    """Kernel settings, shared mount propagation and the pod bridge (which holds the node address)."""
    saved = layout.state / "sysctl-before.json"
    if not saved.exists():
        saved.write_text(json.dumps({name: _sysctl_path(name).read_text().strip() for name in SYSCTLS}))
    for name, value in SYSCTLS.items():
        _sysctl_path(name).write_text(value)
    # The kubelet's volume mounts must propagate into containers.
    subprocess.run(["mount", "--make-rshared", "/"], check=True)
    if not Path(f"/sys/class/net/{BRIDGE}").exists():
        prefix = POD_CIDR.split("/")[1]
        subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", f"{NODE_IP}/{prefix}", "dev", BRIDGE], check=True)
    subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)


def _iptables_save(tool: str) -> str:
    if not shutil.which(f"{tool}-save"):
        return ""
    return subprocess.run([f"{tool}-save"], capture_output=True, text=True).stdout


def own_rules(tool: str = "iptables") -> list[str]:
    return [line for line in _iptables_save(tool).splitlines() if OWN_CHAIN.search(line)]


def remove_own_rules() -> None:
    """Drop every KUBE-*/CNI-* chain and rule, leaving Docker's and the user's rules as they are."""
    for tool in IPTABLES:
        dump = _iptables_save(tool)
        if not OWN_CHAIN.search(dump):
            continue
        kept = "\n".join(line for line in dump.splitlines() if not OWN_CHAIN.search(line)) + "\n"
        subprocess.run([f"{tool}-restore"], input=kept, text=True, check=True)


def _mounts(layout: Layout) -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(str(layout.state)):
            points.append(point)
    return points


def _own_processes(layout: Layout) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            exe = os.readlink(proc / "exe")
        except OSError:
            continue
        if exe.startswith(str(layout.bin)) or _is_cluster_registry(proc, layout):
            pids.append(int(proc.name))
    return pids


def _is_cluster_registry(proc: Path, layout: Layout) -> bool:
    try:
        return str(layout.state) in (proc / "cmdline").read_text()
    except OSError:
        return False


def _interfaces() -> list[str]:
    names = []
    for device in Path("/sys/class/net").iterdir():
        master = device / "master"
        if device.name == BRIDGE or (master.exists() and Path(os.readlink(master)).name == BRIDGE):
            names.append(device.name)
    return names


def _containers(layout: Layout) -> list[int]:
    """Container processes: whatever runs under one of our shims."""
    shims = {pid for pid in _own_processes(layout) if _exe_name(pid) == "containerd-shim-runc-v2"}
    children = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid in shims:
                children.append(int(proc.name))
    return children


def _exe_name(pid: int) -> str:
    try:
        return Path(os.readlink(f"/proc/{pid}/exe")).name
    except OSError:
        return ""


def leftovers(layout: Layout) -> dict[str, list]:
    return {
        "processes": _own_processes(layout),
        "containers": _containers(layout),
        "mounts": _mounts(layout),
        "iptables rules": own_rules("iptables") + own_rules("ip6tables"),
        "network interfaces": _interfaces(),
    }


def footprint(layout: Layout) -> dict[str, int]:
    """Host-wide counts that `up` raises and `down` must bring back: compare before and after."""
    rules = sum(1 for tool in IPTABLES for line in _iptables_save(tool).splitlines() if line.startswith(("-A", ":")))
    return {
        "mounts": len(Path("/proc/self/mountinfo").read_text().splitlines()),
        "iptables rules and chains": rules,
        "network interfaces": len(list(Path("/sys/class/net").iterdir())),
        "cluster processes": len(_own_processes(layout)),
        "containers": len(_containers(layout)),
    }


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)


def _remove_cgroups() -> None:
    """The kubelet's cgroup tree (kubepods), deepest first; empty by now."""
    root = Path("/sys/fs/cgroup")
    for hierarchy in root.iterdir():
        tree = hierarchy / "kubepods"
        if not tree.is_dir():
            continue
        for path in sorted((p for p in tree.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                path.rmdir()
        with contextlib.suppress(OSError):
            tree.rmdir()


def release(layout: Layout) -> None:
    """After the components stopped: kill stragglers, unmount, drop rules and the bridge, restore sysctls."""
    _kill(_containers(layout))
    _kill(_own_processes(layout))
    for point in sorted(_mounts(layout), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
    remove_own_rules()
    for name in _interfaces():
        subprocess.run(["ip", "link", "delete", name], capture_output=True)
    _remove_cgroups()
    saved = layout.state / "sysctl-before.json"
    if saved.exists():
        for name, value in json.loads(saved.read_text()).items():
            _sysctl_path(name).write_text(value)
