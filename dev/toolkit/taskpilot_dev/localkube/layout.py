"""Where the local cluster keeps its state, and the addresses and ports it uses."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CONTEXT = "taskpilot-local"
NODE_NAME = "taskpilot-local"
# The pod bridge's own address doubles as the node address: the API server advertises it to pods
# (the `kubernetes` Service) and reaches the kubelet on it, so no traffic leaves this machine.
BRIDGE = "tpkube0"
POD_CIDR = "10.244.0.0/16"
NODE_IP = "10.244.0.1"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"

# Every port the cluster listens on: none of the app's (3000, 8000, 5432, 5678, 9229) nor Tilt's 10350.
PORTS = {
    "etcd": 12379,
    "etcd-peer": 12380,
    "kube-apiserver": 6443,
    "kube-controller-manager": 10257,
    "kube-scheduler": 10259,
    "kubelet": 10250,
    "kubelet-healthz": 10248,
    "kube-proxy-healthz": 10256,
    "kube-proxy-metrics": 10249,
    "registry": 5000,
}
REGISTRY = f"localhost:{PORTS['registry']}"


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


@dataclass(frozen=True)
class Layout:
    """The cluster's files: one state directory that `down` removes whole, and the build cache."""

    state: Path
    bin: Path

    @classmethod
    def from_env(cls) -> Layout:
        cache = Path(os.environ.get("KUBE_CACHE") or _cache_home() / "taskpilot" / "kube")
        state = Path(os.environ.get("TASKPILOT_KUBE_STATE") or "/var/lib/taskpilot-kube")
        return cls(state=state, bin=cache / "bin")

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def containerd_socket(self) -> Path:
        return self.run / "containerd.sock"

    @property
    def volumes(self) -> Path:
        return self.state / "volumes"

    def component_kubeconfig(self, name: str) -> Path:
        return self.pki / f"{name}.kubeconfig"
