"""What each cluster component runs: its command line, its config files and its readiness check.

Listed in start order; `down` stops them in reverse.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

from .layout import (
    BRIDGE,
    CLUSTER_DOMAIN,
    DNS_SERVICE_IP,
    NODE_IP,
    NODE_NAME,
    POD_CIDR,
    PORTS,
    REGISTRY,
    SERVICE_CIDR,
    Layout,
)
from .processes import Component

RUNC = "/usr/sbin/runc"
CNI_BIN = "/usr/lib/cni"
REGISTRY_BIN = "/usr/bin/docker-registry"
ETCD_URL = f"http://127.0.0.1:{PORTS['etcd']}"


def pause_image(kubernetes_version: str) -> str:
    return f"{REGISTRY}/pause:{kubernetes_version}"


def _answers(url: str, ca: Path | None = None, verify: bool = True) -> bool:
    context = None
    if url.startswith("https"):
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310 - local component URLs
            return response.status == 200
    except OSError:
        return False


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _registry(layout: Layout) -> Component:
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(layout.state / "registry")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{PORTS['registry']}"},
    }
    path = _write(layout.state / "config" / "registry.yml", yaml.safe_dump(config))
    return Component(
        "registry", [REGISTRY_BIN, "serve", str(path)], lambda: _answers(f"http://127.0.0.1:{PORTS['registry']}/v2/")
    )


def _etcd(layout: Layout) -> Component:
    peer = f"http://127.0.0.1:{PORTS['etcd-peer']}"
    argv = [
        str(layout.bin / "etcd"),
        f"--name={NODE_NAME}",
        f"--data-dir={layout.state / 'etcd'}",
        f"--listen-client-urls={ETCD_URL}",
        f"--advertise-client-urls={ETCD_URL}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster={NODE_NAME}={peer}",
        "--log-level=warn",
    ]
    return Component("etcd", argv, lambda: _answers(f"{ETCD_URL}/health"))


def _apiserver(layout: Layout) -> Component:
    pki = layout.pki
    argv = [
        str(layout.bin / "kube"),
        "kube-apiserver",
        f"--etcd-servers={ETCD_URL}",
        # Pods reach it through the `kubernetes` Service at the bridge address; tools at 127.0.0.1.
        "--bind-address=0.0.0.0",
        f"--advertise-address={NODE_IP}",
        f"--secure-port={PORTS['kube-apiserver']}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
        f"--kubelet-certificate-authority={pki / 'ca.crt'}",
        "--kubelet-preferred-address-types=InternalIP",
        f"--service-account-key-file={pki / 'service-account.pub'}",
        f"--service-account-signing-key-file={pki / 'service-account.key'}",
        f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
        "--authorization-mode=Node,RBAC",
        "--allow-privileged=true",
        "--profiling=false",
        "--v=1",
    ]
    url = f"https://127.0.0.1:{PORTS['kube-apiserver']}/readyz"
    return Component("kube-apiserver", argv, lambda: _answers(url, pki / "ca.crt"), timeout=120)


def _control_loop(layout: Layout, name: str, extra_args: list[str]) -> Component:
    """kube-controller-manager and kube-scheduler: same kubeconfig, bind and health shape."""
    kubeconfig = layout.component_kubeconfig(name)
    argv = [
        str(layout.bin / "kube"),
        name,
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={PORTS[name]}",
        *extra_args,
        "--leader-elect=false",
        "--profiling=false",
        "--v=1",
    ]
    url = f"https://127.0.0.1:{PORTS[name]}/healthz"
    return Component(name, argv, lambda: _answers(url, verify=False))


def _controller_manager(layout: Layout) -> Component:
    pki = layout.pki
    return _control_loop(
        layout,
        "kube-controller-manager",
        [
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--service-account-private-key-file={pki / 'service-account.key'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            "--use-service-account-credentials=true",
        ],
    )


def _scheduler(layout: Layout) -> Component:
    return _control_loop(layout, "kube-scheduler", [])


def _cni_config(layout: Layout) -> Path:
    config = {
        "cniVersion": "1.0.0",
        "name": "taskpilot",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                # Nothing in the cluster talks to the outside, so pod traffic is never masqueraded out.
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(layout.state / "cni-ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
            # Docker sets the FORWARD policy to DROP; this plugin lets pod traffic through.
            {"type": "firewall", "backend": "iptables"},
        ],
    }
    return _write(layout.state / "cni" / "10-taskpilot.conflist", json.dumps(config, indent=2))


def _containerd(layout: Layout, kubernetes_version: str) -> Component:
    root = layout.state / "containerd"
    certs = root / "certs.d"
    # The cluster's registry answers for itself and stands in for Docker Hub: public images
    # (postgres:15-alpine) are pulled from what was pushed there, never from the network.
    for registry in (REGISTRY, "docker.io"):
        _write(
            certs / registry / "hosts.toml",
            f'server = "http://{REGISTRY}"\n\n[host."http://{REGISTRY}"]\n  capabilities = ["pull", "resolve"]\n',
        )
    _cni_config(layout)
    config = f"""version = 3
root = "{root / "root"}"
state = "{layout.run / "containerd"}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile"]

[grpc]
  address = "{layout.containerd_socket}"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "{pause_image(kubernetes_version)}"
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = "{certs}"

[plugins.'io.containerd.cri.v1.runtime']
  # Pod network namespaces live in the state directory, so `down` knows exactly which are ours.
  netns_mounts_under_state_dir = true
  # Sandboxes (and CI machines) may lack CAP_SYS_RESOURCE, which a negative OOM score needs.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["{CNI_BIN}"]
    conf_dir = "{layout.state / "cni"}"
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = "{RUNC}"
      Root = "{layout.run / "runc"}"
      SystemdCgroup = false
"""
    path = _write(layout.state / "config" / "containerd.toml", config)
    argv = [str(layout.bin / "containerd"), "--config", str(path)]
    ctr = [str(layout.bin / "ctr"), "--address", str(layout.containerd_socket), "version"]

    def ready() -> bool:
        return layout.containerd_socket.exists() and subprocess.run(ctr, capture_output=True).returncode == 0

    # The shim is found on PATH, next to containerd.
    return Component("containerd", argv, ready, env={"PATH": f"{layout.bin}:/usr/sbin:/usr/bin:/sbin:/bin"})


def _kubelet(layout: Layout) -> Component:
    pki = layout.pki
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": PORTS["kubelet"],
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": PORTS["kubelet-healthz"],
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "clusterDNS": [DNS_SERVICE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "podLogsDir": str(layout.state / "pod-logs"),
        # A small dev disk must not make the node evict its own database.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "imageGCHighThresholdPercent": 99,
        "imageGCLowThresholdPercent": 98,
        "serializeImagePulls": False,
    }
    path = _write(layout.state / "config" / "kubelet.yaml", yaml.safe_dump(config))
    argv = [
        str(layout.bin / "kube"),
        "kubelet",
        f"--config={path}",
        f"--kubeconfig={layout.component_kubeconfig('kubelet')}",
        f"--root-dir={layout.state / 'kubelet'}",
        f"--hostname-override={NODE_NAME}",
        f"--node-ip={NODE_IP}",
        "--v=1",
    ]
    return Component(
        "kubelet", argv, lambda: _answers(f"http://127.0.0.1:{PORTS['kubelet-healthz']}/healthz"), timeout=120
    )


def _kube_proxy(layout: Layout) -> Component:
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(layout.component_kubeconfig("kube-proxy"))},
        "mode": "iptables",
        "clusterCIDR": POD_CIDR,
        "hostnameOverride": NODE_NAME,
        "bindAddress": "127.0.0.1",
        "healthzBindAddress": f"127.0.0.1:{PORTS['kube-proxy-healthz']}",
        "metricsBindAddress": f"127.0.0.1:{PORTS['kube-proxy-metrics']}",
        # Leave the host's conntrack table size and localhost routing alone.
        "conntrack": {"maxPerCore": 0},
        "iptables": {"localhostNodePorts": False},
    }
    path = _write(layout.state / "config" / "kube-proxy.yaml", yaml.safe_dump(config))
    argv = [str(layout.bin / "kube"), "kube-proxy", f"--config={path}", "--v=1"]
    return Component("kube-proxy", argv, lambda: _answers(f"http://127.0.0.1:{PORTS['kube-proxy-healthz']}/healthz"))


def _provisioner(layout: Layout) -> Component:
    argv = [
        str(layout.bin / "kube"),
        "hostpath-provisioner",
        f"--kubeconfig={layout.component_kubeconfig('hostpath-provisioner')}",
        f"--root={layout.volumes}",
    ]
    layout.volumes.mkdir(parents=True, exist_ok=True)
    return Component("hostpath-provisioner", argv, lambda: True)


# In start order. Each builder writes its config files, so `status` and `down` use the names alone.
_BUILDERS: dict[str, Callable[[Layout, str], Component]] = {
    "registry": lambda layout, _version: _registry(layout),
    "etcd": lambda layout, _version: _etcd(layout),
    "kube-apiserver": lambda layout, _version: _apiserver(layout),
    "kube-controller-manager": lambda layout, _version: _controller_manager(layout),
    "kube-scheduler": lambda layout, _version: _scheduler(layout),
    "containerd": _containerd,
    "kubelet": lambda layout, _version: _kubelet(layout),
    "kube-proxy": lambda layout, _version: _kube_proxy(layout),
    "hostpath-provisioner": lambda layout, _version: _provisioner(layout),
}
COMPONENT_NAMES = list(_BUILDERS)


def all_components(layout: Layout, kubernetes_version: str) -> list[Component]:
    return [build(layout, kubernetes_version) for build in _BUILDERS.values()]


REQUIRED_HOST_TOOLS = {
    "openssl": "apt-get install openssl",
    "iptables": "apt-get install iptables",
    "ip": "apt-get install iproute2",
    "docker": "apt-get install docker.io (and start dockerd)",
    RUNC: "apt-get install runc",
    REGISTRY_BIN: "apt-get install docker-registry",
    f"{CNI_BIN}/bridge": "apt-get install containernetworking-plugins",
    "mount": "apt-get install mount",
}


def missing_host_tools() -> list[str]:
    missing = [
        f"{tool}: {hint}"
        for tool, hint in REQUIRED_HOST_TOOLS.items()
        if not (Path(tool).exists() if tool.startswith("/") else shutil.which(tool))
    ]
    # Images are built and pushed with Docker during `up`: a stopped engine would fail halfway.
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        missing.append("docker: installed, but no engine answers: start it (`dockerd &` or `systemctl start docker`)")
    return missing
