"""Translate the Helm chart, rendered exactly as it is deployed, into Docker container plans.

Why a translator: the chart's kinds are Deployment, StatefulSet, Job, Service, ConfigMap and Secret.
Debian's Podman (4.3) `kube play` runs only Pods, Deployments, PVCs and ConfigMaps — no StatefulSet,
Job or Secret — so it cannot run this chart. This module reads the rendered objects and produces,
per workload, the `docker run` settings a kubelet would apply (image, command/args, env from the
rendered ConfigMap/Secret, securityContext, volumes, resource limits, probes, preStop, grace period).
`chart_runner.ChartRunner` then runs them.

Every field the chart uses is either applied or listed below with the reason it has no effect on a
single Docker host. Any other field raises `UnsupportedField`, so a chart change the runner does not
understand fails the tier loudly instead of being skipped.
"""

from __future__ import annotations

import base64
import re
import secrets
import subprocess
from dataclasses import dataclass, field

import yaml

from taskpilot_dev.paths import CHART_DIR
from taskpilot_dev.tools import helm_bin

RELEASE = "taskpilot-ai"
NAMESPACE = "taskpilot"
# What the Tiltfile's helm() call passes (plus its image_values), and the documented prod install.
DEV_VALUES = ("values.yaml", "values-dev.yaml")
PROD_VALUES = ("values.yaml", "values-prod.yaml")
HELM_TEST_SOURCE = re.compile(r"^# Source: [^\n]*/templates/tests/", re.M)  # Tilt drops `helm test` pods

# Kinds that produce no container, and why that is faithful here.
PASSIVE_KINDS = {
    "ServiceAccount": "the pods never mount its token (automountServiceAccountToken: false is enforced)",
    "Ingress": "no ingress controller runs here; tests enter through frontend-service as the ingress would",
    "NetworkPolicy": "not enforced (Docker networks have no policy; minikube's default CNI neither)",
    "PodDisruptionBudget": "nothing evicts pods here; drains are driven by the tests",
    "CronJob": "scheduled work, not started at deploy time (its pod spec is still validated)",
    "PersistentVolumeClaim": "becomes a named volume when a pod mounts it (created on first use, kept after)",
}
# Pod/container fields accepted without effect on one Docker host.
SCHEDULING_ONLY = {
    "affinity",
    "nodeSelector",
    "tolerations",
    "topologySpreadConstraints",
    "serviceAccountName",
    "imagePullSecrets",
}


class UnsupportedField(RuntimeError):
    """The chart uses a field (or value) the runner cannot reproduce faithfully."""


def _check_keys(obj: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise UnsupportedField(
            f"{where}: the container runner does not implement {unknown}; "
            "teach taskpilot_dev/chart_pods.py (and its docs) what they mean"
        )


# ---------------------------------------------------------------- rendering
def render(values_files: tuple[str, ...], set_values: tuple[str, ...] = ()) -> list[dict]:
    """`helm template` as Tilt's helm() runs it (no --kube-version: helm's own default), minus test pods."""
    argv = [helm_bin(), "template", RELEASE, str(CHART_DIR), "--namespace", NAMESPACE]
    for values in values_files:
        argv += ["--values", str(CHART_DIR / values)]
    for assignment in set_values:
        argv += ["--set", assignment]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"helm template failed:\n{proc.stderr}")
    docs = [d for d in re.split(r"^---\s*$", proc.stdout, flags=re.M) if not HELM_TEST_SOURCE.search(d)]
    return [obj for doc in docs if (obj := yaml.safe_load(doc))]


def image_values(images: dict[str, str]) -> tuple[str, ...]:
    """--set values for component -> image ref: the Tiltfile's image_values plus the tag (Tilt injects its own)."""
    values = []
    for component, ref in images.items():
        repository, tag = ref.rsplit(":", 1)
        values += [f"{component}.image.repository={repository}", f"{component}.image.tag={tag}"]
    return tuple(values)


def dev_objects(images: dict[str, str]) -> list[dict]:
    """What `tilt up` applies: values.yaml + values-dev.yaml with the dev-target images."""
    return render(DEV_VALUES, image_values(images))


def prod_objects(images: dict[str, str]) -> list[dict]:
    """The documented production install: values.yaml + values-prod.yaml, prod images, secrets given."""
    given = (f"secrets.jwtSecret={secrets.token_urlsafe(36)}", f"secrets.databasePassword={secrets.token_urlsafe(18)}")
    return render(PROD_VALUES, image_values(images) + given)


# Tilt's resource_deps (Tiltfile): postgresql -> migrations -> backend -> frontend, each waits for the last.
TILT_ORDER = [[f"{RELEASE}-postgresql"], [f"{RELEASE}-migrations"], [f"{RELEASE}-backend"], [f"{RELEASE}-frontend"]]


# ---------------------------------------------------------------- quantities
def memory_bytes(quantity: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    match = re.fullmatch(r"(\d+)([KMG]i?)?", str(quantity))
    if not match:
        raise UnsupportedField(f"memory quantity {quantity!r}")
    return int(match.group(1)) * units.get(match.group(2) or "", 1)


def cpu_cores(quantity: str | int | float) -> float:
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


# ---------------------------------------------------------------- plans
@dataclass
class Probe:
    kind: str  # httpGet | exec | tcpSocket
    target: object  # (path, port) | argv | port
    initial_delay: float = 0
    period: float = 10
    timeout: float = 1
    failure_threshold: int = 3
    success_threshold: int = 1


@dataclass
class Volume:
    name: str
    kind: str  # emptyDir | claim
    claim: str = ""  # claim template name (StatefulSet) or PVC name


@dataclass
class ContainerPlan:
    name: str
    image: str
    command: list[str] | None
    args: list[str] | None
    env: dict[str, str]
    workdir: str | None
    uid: int
    gid: int
    read_only: bool
    no_new_privileges: bool
    cap_drop: list[str]
    memory: int | None
    cpus: float | None
    cpu_shares: int | None
    mounts: list[tuple[str, str]]  # (volume name, mountPath)
    ports: dict[str, int]  # name (or str(number)) -> containerPort
    probes: dict[str, Probe]
    prestop_sleep: float = 0


@dataclass
class PodPlan:
    init_containers: list[ContainerPlan]
    containers: list[ContainerPlan]
    volumes: dict[str, Volume]
    fs_group: int | None
    supplemental_groups: list[int]
    restart_policy: str
    grace_seconds: float
    labels: dict[str, str]


@dataclass
class Workload:
    kind: str  # Deployment | StatefulSet | Job | CronJob
    name: str
    replicas: int
    pod: PodPlan
    service_name: str = ""  # StatefulSet governing Service
    backoff_limit: int = 6
    active_deadline: float | None = None


@dataclass
class ServicePlan:
    name: str
    selector: dict[str, str]
    ports: list[tuple[int, str | int]]  # (service port, targetPort)
    headless: bool


@dataclass
class ChartPlan:
    workloads: list[Workload] = field(default_factory=list)
    services: list[ServicePlan] = field(default_factory=list)
    passive: dict[str, str] = field(default_factory=dict)  # "Kind/name" -> why nothing runs

    def workload(self, name: str) -> Workload:
        return next(w for w in self.workloads if w.name == name)


def plan(objects: list[dict]) -> ChartPlan:
    config = {o["metadata"]["name"]: o.get("data") or {} for o in objects if o["kind"] == "ConfigMap"}
    secrets = {o["metadata"]["name"]: _secret_data(o) for o in objects if o["kind"] == "Secret"}
    result = ChartPlan()
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if obj["metadata"].get("namespace", NAMESPACE) != NAMESPACE:
            raise UnsupportedField(f"{kind}/{name}: namespace {obj['metadata']['namespace']!r}")
        where = f"{kind}/{name}"
        if kind in ("ConfigMap", "Secret"):
            continue
        if kind in PASSIVE_KINDS:
            result.passive[where] = PASSIVE_KINDS[kind]
            if kind == "CronJob":
                _pod(obj["spec"]["jobTemplate"]["spec"]["template"], config, secrets, where)
            if kind == "ServiceAccount" and obj.get("automountServiceAccountToken", True):
                raise UnsupportedField(f"{where}: automountServiceAccountToken must be false (no API server here)")
            continue
        if kind == "Service":
            result.services.append(_service(obj, where))
        elif kind == "Deployment":
            _check_keys(obj["spec"], {"replicas", "revisionHistoryLimit", "selector", "strategy", "template"}, where)
            result.workloads.append(
                Workload(
                    kind, name, obj["spec"].get("replicas", 1), _pod(obj["spec"]["template"], config, secrets, where)
                )
            )
        elif kind == "StatefulSet":
            spec = obj["spec"]
            _check_keys(
                spec,
                {
                    "replicas",
                    "serviceName",
                    "revisionHistoryLimit",
                    "podManagementPolicy",
                    "updateStrategy",
                    "persistentVolumeClaimRetentionPolicy",
                    "selector",
                    "template",
                    "volumeClaimTemplates",
                },
                where,
            )
            pod = _pod(spec["template"], config, secrets, where)
            for claim in spec.get("volumeClaimTemplates", []):
                pod.volumes[claim["metadata"]["name"]] = Volume(
                    claim["metadata"]["name"], "claim", claim["metadata"]["name"]
                )
            result.workloads.append(
                Workload(kind, name, spec.get("replicas", 1), pod, service_name=spec["serviceName"])
            )
        elif kind == "Job":
            spec = obj["spec"]
            _check_keys(spec, {"backoffLimit", "activeDeadlineSeconds", "template"}, where)
            result.workloads.append(
                Workload(
                    kind,
                    name,
                    1,
                    _pod(spec["template"], config, secrets, where),
                    backoff_limit=spec.get("backoffLimit", 6),
                    active_deadline=spec.get("activeDeadlineSeconds"),
                )
            )
        else:
            raise UnsupportedField(f"{where}: kind {kind} is not run by the container runner")
    for workload in result.workloads:  # every mount must name a declared volume
        for container in workload.pod.init_containers + workload.pod.containers:
            for volume, path in container.mounts:
                if volume not in workload.pod.volumes:
                    raise UnsupportedField(f"{workload.name}/{container.name}: mount {path} names no volume {volume!r}")
    return result


def _secret_data(obj: dict) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
    data.update(obj.get("stringData") or {})
    return data


def _service(obj: dict, where: str) -> ServicePlan:
    spec = obj["spec"]
    _check_keys(spec, {"type", "clusterIP", "publishNotReadyAddresses", "ports", "selector"}, where)
    if spec.get("type", "ClusterIP") != "ClusterIP" or spec.get("publishNotReadyAddresses"):
        raise UnsupportedField(f"{where}: only ClusterIP/headless Services of ready pods are emulated")
    ports = []
    for port in spec["ports"]:
        _check_keys(port, {"name", "port", "targetPort", "protocol"}, f"{where}.ports")
        if port.get("protocol", "TCP") != "TCP":
            raise UnsupportedField(f"{where}: protocol {port['protocol']}")
        ports.append((port["port"], port.get("targetPort", port["port"])))
    return ServicePlan(obj["metadata"]["name"], spec["selector"], ports, spec.get("clusterIP") == "None")


POD_KEYS = {
    "serviceAccountName",
    "automountServiceAccountToken",
    "enableServiceLinks",
    "terminationGracePeriodSeconds",
    "securityContext",
    "containers",
    "initContainers",
    "volumes",
    "restartPolicy",
} | SCHEDULING_ONLY
CONTAINER_KEYS = {
    "name",
    "image",
    "imagePullPolicy",
    "command",
    "args",
    "workingDir",
    "ports",
    "env",
    "envFrom",
    "startupProbe",
    "readinessProbe",
    "livenessProbe",
    "lifecycle",
    "resources",
    "securityContext",
    "volumeMounts",
}


def _pod(template: dict, config: dict, secrets: dict, where: str) -> PodPlan:
    _check_keys(template, {"metadata", "spec"}, where + ".template")
    spec = template["spec"]
    _check_keys(spec, POD_KEYS, where + ".spec")
    if spec.get("automountServiceAccountToken", True):
        raise UnsupportedField(f"{where}: automountServiceAccountToken must be false (no API server here)")
    if spec.get("enableServiceLinks", True):
        raise UnsupportedField(f"{where}: enableServiceLinks would inject *_SERVICE_* variables; not emulated")
    pod_sc = spec.get("securityContext") or {}
    _check_keys(
        pod_sc,
        {
            "runAsNonRoot",
            "runAsUser",
            "runAsGroup",
            "fsGroup",
            "fsGroupChangePolicy",
            "seccompProfile",
            "supplementalGroups",
        },
        where + ".securityContext",
    )
    _check_seccomp(pod_sc, where)
    volumes = {}
    for volume in spec.get("volumes", []):
        if set(volume) == {"name", "emptyDir"}:
            _check_keys(volume["emptyDir"] or {}, {"sizeLimit"}, f"{where}.volumes.{volume['name']}.emptyDir")
            volumes[volume["name"]] = Volume(volume["name"], "emptyDir")
        elif set(volume) == {"name", "persistentVolumeClaim"}:
            volumes[volume["name"]] = Volume(volume["name"], "claim", volume["persistentVolumeClaim"]["claimName"])
        else:
            raise UnsupportedField(f"{where}: volume {volume}")
    restart = spec.get("restartPolicy", "Always")
    containers = [_container(c, pod_sc, config, secrets, f"{where}/{c['name']}") for c in spec["containers"]]
    inits = [_container(c, pod_sc, config, secrets, f"{where}/{c['name']}") for c in spec.get("initContainers", [])]
    if len(containers) != 1:
        raise UnsupportedField(f"{where}: {len(containers)} containers in one pod (one network namespace) not emulated")
    return PodPlan(
        inits,
        containers,
        volumes,
        pod_sc.get("fsGroup"),
        list(pod_sc.get("supplementalGroups", [])),
        restart,
        float(spec.get("terminationGracePeriodSeconds", 30)),
        dict((template.get("metadata") or {}).get("labels") or {}),
    )


def _check_seccomp(sc: dict, where: str) -> None:
    profile = (sc.get("seccompProfile") or {"type": "RuntimeDefault"})["type"]
    if profile != "RuntimeDefault":  # Docker's default profile is the runtime default
        raise UnsupportedField(f"{where}: seccompProfile {profile}")


def _container(c: dict, pod_sc: dict, config: dict, secrets: dict, where: str) -> ContainerPlan:
    _check_keys(c, CONTAINER_KEYS, where)
    if c.get("imagePullPolicy", "IfNotPresent") not in ("IfNotPresent", "Never"):
        raise UnsupportedField(f"{where}: imagePullPolicy {c['imagePullPolicy']} (no registry: images are local)")
    sc = c.get("securityContext") or {}
    _check_keys(
        sc,
        {
            "runAsNonRoot",
            "runAsUser",
            "runAsGroup",
            "allowPrivilegeEscalation",
            "privileged",
            "readOnlyRootFilesystem",
            "capabilities",
            "seccompProfile",
        },
        where + ".securityContext",
    )
    _check_seccomp(sc, where)
    caps = sc.get("capabilities") or {}
    _check_keys(caps, {"drop"}, where + ".capabilities")
    if sc.get("privileged"):
        raise UnsupportedField(f"{where}: privileged containers")
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    gid = sc.get("runAsGroup", pod_sc.get("runAsGroup", 0))
    if uid is None:
        raise UnsupportedField(f"{where}: no runAsUser (the image's USER would need resolving)")
    if (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")) and uid == 0:
        raise UnsupportedField(f"{where}: runAsNonRoot with uid 0 — the kubelet would refuse to start it")
    env = _env(c, config, secrets, where)
    resources = c.get("resources") or {}
    _check_keys(resources, {"requests", "limits"}, where + ".resources")
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    for part in (limits, requests):
        _check_keys(part, {"cpu", "memory"}, where + ".resources")
    lifecycle = c.get("lifecycle") or {}
    _check_keys(lifecycle, {"preStop"}, where + ".lifecycle")
    prestop = lifecycle.get("preStop") or {}
    _check_keys(prestop, {"sleep"}, where + ".preStop")
    ports = {}
    for port in c.get("ports", []):
        _check_keys(port, {"name", "containerPort", "protocol"}, where + ".ports")
        ports[port.get("name", str(port["containerPort"]))] = port["containerPort"]
        ports[str(port["containerPort"])] = port["containerPort"]
    mounts = []
    for mount in c.get("volumeMounts", []):
        _check_keys(mount, {"name", "mountPath"}, where + ".volumeMounts")
        mounts.append((mount["name"], mount["mountPath"]))
    expand = lambda values: [_expand(v, env) for v in values] if values is not None else None  # noqa: E731
    return ContainerPlan(
        name=c["name"],
        image=c["image"],
        command=expand(c.get("command")),
        args=expand(c.get("args")),
        env=env,
        workdir=c.get("workingDir"),
        uid=int(uid),
        gid=int(gid),
        read_only=bool(sc.get("readOnlyRootFilesystem", False)),
        no_new_privileges=sc.get("allowPrivilegeEscalation", True) is False,
        cap_drop=list(caps.get("drop", [])),
        memory=memory_bytes(limits["memory"]) if "memory" in limits else None,
        cpus=cpu_cores(limits["cpu"]) if "cpu" in limits else None,
        # the kubelet maps the CPU request to cgroup shares (1 core = 1024)
        cpu_shares=max(2, int(cpu_cores(requests["cpu"]) * 1024)) if "cpu" in requests else None,
        mounts=mounts,
        ports=ports,
        probes={
            kind: _probe(c[kind], ports, f"{where}.{kind}")
            for kind in ("startupProbe", "readinessProbe", "livenessProbe")
            if kind in c
        },
        prestop_sleep=float(prestop["sleep"]["seconds"]) if "sleep" in prestop else 0,
    )


def _env(c: dict, config: dict, secrets: dict, where: str) -> dict[str, str]:
    """envFrom first, then env in order (later wins), `$(VAR)` expanded against earlier entries."""
    env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        _check_keys(source, {"configMapRef", "secretRef", "prefix"}, where + ".envFrom")
        ref = source.get("configMapRef") or source.get("secretRef")
        data = (config if "configMapRef" in source else secrets).get(ref["name"])
        if data is None:
            if ref.get("optional"):
                continue
            raise UnsupportedField(f"{where}: envFrom names missing {ref['name']} (pod would not start)")
        env.update({source.get("prefix", "") + k: v for k, v in data.items()})
    for item in c.get("env", []):
        _check_keys(item, {"name", "value", "valueFrom"}, where + ".env")
        if "valueFrom" not in item:
            env[item["name"]] = _expand(str(item.get("value", "")), env)
            continue
        source = item["valueFrom"]
        _check_keys(source, {"configMapKeyRef", "secretKeyRef"}, f"{where}.env.{item['name']}")
        ref = source.get("configMapKeyRef") or source.get("secretKeyRef")
        data = (config if "configMapKeyRef" in source else secrets).get(ref["name"], {})
        if ref["key"] in data:
            env[item["name"]] = data[ref["key"]]
        elif not ref.get("optional"):
            raise UnsupportedField(
                f"{where}: env {item['name']} needs {ref['name']}/{ref['key']}, which is not rendered"
            )
    return env


def _expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: known names replaced, `$$` escapes, unknown left as written."""
    return re.sub(
        r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
        text,
    )


def _probe(spec: dict, ports: dict[str, int], where: str) -> Probe:
    _check_keys(
        spec,
        {
            "httpGet",
            "exec",
            "tcpSocket",
            "initialDelaySeconds",
            "periodSeconds",
            "timeoutSeconds",
            "failureThreshold",
            "successThreshold",
        },
        where,
    )
    common = dict(
        initial_delay=spec.get("initialDelaySeconds", 0),
        period=spec.get("periodSeconds", 10),
        timeout=spec.get("timeoutSeconds", 1),
        failure_threshold=spec.get("failureThreshold", 3),
        success_threshold=spec.get("successThreshold", 1),
    )
    if "httpGet" in spec:
        http = spec["httpGet"]
        _check_keys(http, {"path", "port", "scheme"}, where + ".httpGet")
        if http.get("scheme", "HTTP") != "HTTP":
            raise UnsupportedField(f"{where}: scheme {http['scheme']}")
        return Probe("httpGet", (http.get("path", "/"), ports[str(http["port"])]), **common)
    if "exec" in spec:
        return Probe("exec", list(spec["exec"]["command"]), **common)
    if "tcpSocket" in spec:
        return Probe("tcpSocket", ports[str(spec["tcpSocket"]["port"])], **common)
    raise UnsupportedField(f"{where}: probe without a handler")
