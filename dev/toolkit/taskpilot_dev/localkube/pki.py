"""The cluster's certificates and kubeconfigs, made once per cluster with the openssl CLI.

One CA signs a serving certificate for the API server and the kubelet, and one client certificate
per component, named the way Kubernetes' bootstrap RBAC expects (system:kube-scheduler,
system:node:<node> in system:nodes, …), so each component gets exactly its default permissions.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from .layout import CLUSTER_DOMAIN, CONTEXT, KUBERNETES_SERVICE_IP, NODE_IP, NODE_NAME, PORTS, Layout

DAYS = "3650"
API_SERVER_URL = f"https://127.0.0.1:{PORTS['kube-apiserver']}"

# component -> (common name, organisation): the identities bootstrap RBAC already knows.
CLIENTS = {
    "admin": ("taskpilot-admin", "system:masters"),
    "kube-controller-manager": ("system:kube-controller-manager", ""),
    "kube-scheduler": ("system:kube-scheduler", ""),
    "kube-proxy": ("system:kube-proxy", ""),
    "kubelet": (f"system:node:{NODE_NAME}", "system:nodes"),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
    # The volume provisioner creates and deletes PersistentVolumes cluster-wide.
    "hostpath-provisioner": ("taskpilot-hostpath-provisioner", "system:masters"),
}
API_SERVER_NAMES = [
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
]


def _openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _key(path: Path) -> None:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
    path.chmod(0o600)


def _signed(pki: Path, name: str, subject: str, usage: str, alt_names: list[str] | None = None) -> None:
    key, csr, crt = (pki / f"{name}.{ext}" for ext in ("key", "csr", "crt"))
    _key(key)
    extensions = ["-addext", f"extendedKeyUsage={usage}", "-addext", "keyUsage=critical,digitalSignature"]
    if alt_names:
        extensions += ["-addext", "subjectAltName=" + ",".join(alt_names)]
    _openssl("req", "-new", "-key", str(key), "-subj", subject, *extensions, "-out", str(csr))
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
        "-CAcreateserial", "-copy_extensions", "copyall", "-days", DAYS, "-out", str(crt),
    )  # fmt: skip
    csr.unlink()


def kubeconfig(layout: Layout, client: str, context: str = CONTEXT) -> dict:
    pki = layout.pki
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": context, "cluster": {"server": API_SERVER_URL, "certificate-authority": str(pki / "ca.crt")}}
        ],
        "users": [
            {
                "name": f"{context}-{client}",
                "user": {"client-certificate": str(pki / f"{client}.crt"), "client-key": str(pki / f"{client}.key")},
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": f"{context}-{client}"}}],
        "current-context": context,
    }


def _write_kubeconfig(path: Path, config: dict) -> None:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


def ensure(layout: Layout) -> None:
    """Create what is missing: a second `up` reuses the cluster's identity."""
    pki = layout.pki
    pki.mkdir(parents=True, exist_ok=True)
    if not (pki / "ca.crt").exists():
        _key(pki / "ca.key")
        _openssl(
            "req", "-x509", "-new", "-key", str(pki / "ca.key"), "-subj", "/CN=taskpilot-local-ca",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-days", DAYS, "-out", str(pki / "ca.crt"),
        )  # fmt: skip
    if not (pki / "service-account.key").exists():
        _key(pki / "service-account.key")
        _openssl("pkey", "-in", str(pki / "service-account.key"), "-pubout", "-out", str(pki / "service-account.pub"))
    if not (pki / "apiserver.crt").exists():
        alt = [f"IP:{ip}" for ip in ("127.0.0.1", NODE_IP, KUBERNETES_SERVICE_IP)]
        _signed(pki, "apiserver", "/CN=kube-apiserver", "serverAuth", alt + [f"DNS:{n}" for n in API_SERVER_NAMES])
    if not (pki / "kubelet-serving.crt").exists():
        alt = [f"IP:{NODE_IP}", "IP:127.0.0.1", f"DNS:{NODE_NAME}"]
        _signed(pki, "kubelet-serving", f"/CN={NODE_NAME}", "serverAuth", alt)
    for client, (common_name, organisation) in CLIENTS.items():
        if not (pki / f"{client}.crt").exists():
            subject = f"/CN={common_name}" + (f"/O={organisation}" if organisation else "")
            _signed(pki, client, subject, "clientAuth")
        _write_kubeconfig(layout.component_kubeconfig(client), kubeconfig(layout, client))
    _write_kubeconfig(layout.kubeconfig, kubeconfig(layout, "admin"))
