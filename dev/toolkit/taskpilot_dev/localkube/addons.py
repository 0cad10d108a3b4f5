"""What the cluster holds once its processes run: the node's images, DNS, storage and the
registry hint that Tilt reads.

Images are built FROM scratch with Docker out of the binaries dev/kube/build.sh made, and pushed
to the cluster's registry, which is where the runtime pulls everything from.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from .components import pause_image
from .layout import DNS_SERVICE_IP, REGISTRY, Layout

COREDNS_NAMESPACE = "kube-system"


def coredns_image(coredns_version: str) -> str:
    return f"{REGISTRY}/coredns:{coredns_version}"


def _push_scratch_image(binary: Path, tag: str) -> None:
    """Build a one-binary image and push it; a no-op when the registry already has that tag."""
    with tempfile.TemporaryDirectory() as context:
        (Path(context) / binary.name).write_bytes(binary.read_bytes())
        (Path(context) / binary.name).chmod(0o755)
        (Path(context) / "Dockerfile").write_text(
            f'FROM scratch\nCOPY {binary.name} /{binary.name}\nENTRYPOINT ["/{binary.name}"]\n'
        )
        subprocess.run(
            ["docker", "build", "-q", "-t", tag, context],
            check=True,
            capture_output=True,
            env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin"},
        )
    subprocess.run(["docker", "push", "-q", tag], check=True, capture_output=True)


def push_node_images(layout: Layout, kubernetes_version: str, coredns_version: str) -> None:
    _push_scratch_image(layout.bin / "pause", pause_image(kubernetes_version))
    _push_scratch_image(layout.bin / "coredns", coredns_image(coredns_version))


COREFILE = """.:53 {
    errors
    health {
        lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    cache 30
    loop
    reload
}
"""
# No `forward`: the cluster answers for its own names only and never sends a query off the machine.


def manifests(coredns_version: str) -> list[dict]:
    labels = {"k8s-app": "kube-dns"}
    dns_ports = [
        {"name": "dns", "port": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
    ]
    return [
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "k8s.io/minikube-hostpath",
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
        },
        {
            # KEP-1755: how Tilt (and other tools) learn where to push images for this cluster.
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
            "data": {
                "localRegistryHosting.v1": f'host: "{REGISTRY}"\nhostFromContainerRuntime: "{REGISTRY}"\n'
                'help: "https://github.com/kubernetes/enhancements/tree/master/keps/sig-cluster-lifecycle/generic/1755-communicating-a-local-registry"\n'
            },
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", "namespace": COREDNS_NAMESPACE}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "system:coredns"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["endpoints", "services", "pods", "namespaces"],
                    "verbs": ["list", "watch"],
                },
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
            "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": COREDNS_NAMESPACE}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coredns", "namespace": COREDNS_NAMESPACE},
            "data": {"Corefile": COREFILE},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": COREDNS_NAMESPACE, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "coredns",
                        "priorityClassName": "system-cluster-critical",
                        "dnsPolicy": "Default",
                        "containers": [
                            {
                                "name": "coredns",
                                "image": coredns_image(coredns_version),
                                "args": ["-conf", "/etc/coredns/Corefile"],
                                "ports": [
                                    {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                    {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                ],
                                "resources": {
                                    "requests": {"cpu": "50m", "memory": "50Mi"},
                                    "limits": {"memory": "170Mi"},
                                },
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                    "readOnlyRootFilesystem": True,
                                },
                                "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
                                "livenessProbe": {
                                    "httpGet": {"path": "/health", "port": 8080},
                                    "initialDelaySeconds": 10,
                                },
                                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}},
                            }
                        ],
                        "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": COREDNS_NAMESPACE, "labels": labels},
            "spec": {"selector": labels, "clusterIP": DNS_SERVICE_IP, "ports": dns_ports},
        },
    ]


def apply(layout: Layout, kubectl: str, coredns_version: str) -> None:
    document = {"apiVersion": "v1", "kind": "List", "items": manifests(coredns_version)}
    subprocess.run(
        [kubectl, "--kubeconfig", str(layout.kubeconfig), "apply", "--server-side", "-f", "-"],
        input=json.dumps(document),
        text=True,
        check=True,
        capture_output=True,
    )
