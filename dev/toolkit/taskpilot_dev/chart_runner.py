"""Run a `chart_pods.ChartPlan` on one Docker engine the way a kubelet and the controllers would.

- Pods: one container each (named after the pod), `docker run` with the planned user, groups
  (fsGroup is a supplementary group), read-only root, dropped capabilities, no-new-privileges, memory
  and CPU limits (CPU request -> cgroup shares), env, command/args, no Docker HEALTHCHECK (kubelets
  ignore it). Declared container ports are published on 127.0.0.1, like `kubectl port-forward pod/…`.
- Volumes: Docker named volumes mounted without copy-up. An emptyDir is fresh per pod, mode 0777 and,
  with fsGroup, group fsGroup + setgid (what the kubelet does); the runtime (runc) creates a missing
  mount point and its parents as root, as in a cluster. A claim is a volume that outlives its pods;
  fsGroupChangePolicy OnRootMismatch re-owns it only when its root does not match.
- Probes: startup gates readiness and liveness; readiness drives Ready and the Service endpoints;
  liveness (and a failed startup) restarts the container. Exited containers restart with the
  kubelet's back-off (10 s doubling) under restartPolicy Always; Job pods are retried up to
  backoffLimit. A restart is a new container on the same pod volumes, as the kubelet does it.
- Services: a small proxy container per Service (`service_proxy.py`) carries the Service's DNS names
  (name, name.ns, name.ns.svc, name.ns.svc.cluster.local), listens on the Service ports and forwards
  each new connection to a ready endpoint. A headless Service is served the same way (its name then
  reaches only ready pods, as headless DNS does; the extra hop is the difference).
- Deleting a pod follows Kubernetes: it leaves the endpoints, its preStop sleep runs, then SIGTERM,
  then SIGKILL at the end of the grace period; a Deployment starts the replacement at once, a
  StatefulSet only after the old pod is gone (same name, same claim).
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from taskpilot_dev import docker as dk
from taskpilot_dev.chart_pods import NAMESPACE, ChartPlan, ContainerPlan, Probe, Workload

LABEL = "taskpilot.chartrun"
UTILITY_IMAGE = dk.BACKEND_BASE  # python base: runs the Service proxies and the volume preparation
PROXY_SOURCE = (Path(__file__).parent / "service_proxy.py").read_text()
CONTROL_PORT = 9999
BACKOFF_START, BACKOFF_MAX = 10.0, 300.0
CRASH_LOOP_RESTARTS = 3  # up() gives up on a pod that exited this often


class PodFailed(RuntimeError):
    pass


@dataclass
class Pod:
    name: str
    workload: Workload
    ordinal: int
    started: bool = False  # startup probe passed (or none)
    ready: bool = False
    terminating: bool = False
    phase: str = "Pending"  # Pending | Running | Succeeded | Failed
    restarts: int = 0
    exit_codes: list = field(default_factory=list)
    oom_killed: bool = False
    ip: str = ""
    host_ports: dict = field(default_factory=dict)  # containerPort -> 127.0.0.1 port
    wake: threading.Event = field(default_factory=threading.Event)
    generation: int = 0  # bumps with every new container
    exit_code: int | None = None  # set from Docker's `die` event

    @property
    def container(self) -> ContainerPlan:
        return self.workload.pod.containers[0]

    def url(self, port_name: str = "http") -> str:
        return f"http://127.0.0.1:{self.host_ports[self.container.ports[port_name]]}"


class ChartRunner:
    def __init__(self, chart: ChartPlan, prefix: str | None = None, extra_env: dict[str, dict[str, str]] | None = None):
        self.chart = chart
        self.prefix = prefix or f"tp-chart-{secrets.token_hex(3)}"
        self.network = f"{self.prefix}-net"
        self.extra_env = extra_env or {}  # workload -> env overrides (benchmarks only)
        self.pods: list[Pod] = []
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.service_ports: dict[str, dict[int, int]] = {}  # service -> {service port: host port}
        self._pushed: dict[str, str] = {}
        self._ordinals: dict[str, int] = {}
        self.events: list[str] = []
        self._watcher: subprocess.Popen | None = None

    # ------------------------------------------------------------ lifecycle
    def up(self, order: list[list[str]] | None = None, timeout: float = 300) -> float:
        """Create Services, then start workloads group by group; each group must be Ready (Jobs:
        complete) before the next. Default order: StatefulSets, Jobs, Deployments. Returns seconds."""
        start = time.monotonic()
        kinds = ("StatefulSet", "Job", "Deployment")
        order = order or [[w.name for w in self.chart.workloads if w.kind == k] for k in kinds]
        try:
            self._watch_exits()
            dk.docker("network", "create", "--label", f"{LABEL}={self.prefix}", self.network)
            for service in self.chart.services:
                self._start_service(service)
            for group in order:
                workloads = [self.chart.workload(name) for name in group]
                for workload in workloads:
                    self.scale(workload, workload.replicas)
                for workload in workloads:
                    self.wait_workload(workload, timeout - (time.monotonic() - start))
        except BaseException:
            self.dump_failure()
            self.down()
            raise
        return time.monotonic() - start

    def _watch_exits(self) -> None:
        """One `docker events` stream tells every pod loop when its container dies (no polling)."""
        self._watcher = subprocess.Popen(
            [
                "docker",
                "events",
                "--filter",
                f"label={LABEL}={self.prefix}",
                "--filter",
                "type=container",
                "--filter",
                "event=die",
                "--filter",
                "event=oom",
                "--format",
                "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )

        events = self._watcher.stdout
        assert events is not None  # stdout=PIPE

        def read() -> None:
            for line in events:
                action, name, *code = line.split()
                with self.lock:
                    pod = next((p for p in self.pods if p.name == name), None)
                if pod is None:
                    continue
                if action == "oom":
                    pod.oom_killed = True
                else:
                    pod.exit_code = int(code[0]) if code else -1
                    pod.wake.set()

        threading.Thread(target=read, daemon=True, name=f"{self.prefix}-events").start()
        time.sleep(0.3)  # the stream must be subscribed before the first container starts

    def down(self) -> None:
        self.stopping.set()
        if self._watcher:
            self._watcher.kill()
        for pod in list(self.pods):
            pod.wake.set()
        ids = dk.docker("ps", "-aq", "--filter", f"label={LABEL}={self.prefix}", check=False).stdout.split()
        if ids:
            dk.docker("rm", "-f", "-v", *ids, check=False)
        volumes = dk.docker(
            "volume", "ls", "-q", "--filter", f"label={LABEL}={self.prefix}", check=False
        ).stdout.split()
        if volumes:
            dk.docker("volume", "rm", "-f", *volumes, check=False)
        dk.remove(self.network, kind="network")

    def dump_failure(self) -> None:
        for pod in self.pods:
            print(
                f"--- pod {pod.name}: phase={pod.phase} ready={pod.ready} restarts={pod.restarts} "
                f"exits={pod.exit_codes}\n{dk.logs(pod.name)}"
            )

    # ------------------------------------------------------------ workloads
    def scale(self, workload: Workload, replicas: int) -> None:
        for _ in range(replicas - len(self.live_pods(workload.name))):
            self._new_pod(workload)

    def live_pods(self, workload_name: str) -> list[Pod]:
        with self.lock:
            return [
                p
                for p in self.pods
                if p.workload.name == workload_name and not p.terminating and p.phase in ("Pending", "Running")
            ]

    def wait_workload(self, workload: Workload, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                pods = [p for p in self.pods if p.workload is workload]
                if workload.kind == "Job":
                    if any(p.phase == "Succeeded" for p in pods):
                        return
                    failed = sum(p.phase == "Failed" for p in pods)
                    if failed > workload.backoff_limit:
                        raise PodFailed(f"Job {workload.name} failed {failed} times:\n{dk.logs(pods[-1].name)}")
                elif sum(p.ready for p in self.live_pods(workload.name)) >= workload.replicas:
                    return
                elif crashing := [p for p in pods if p.restarts >= CRASH_LOOP_RESTARTS]:
                    # a kubelet would keep backing off; a test learns nothing more by waiting
                    raise PodFailed(
                        f"{crashing[0].name} is crash-looping (exit codes {crashing[0].exit_codes}):\n"
                        f"{dk.logs(crashing[0].name)}"
                    )
            time.sleep(0.1)
        raise PodFailed(f"{workload.kind} {workload.name} not ready within {timeout:.0f}s")

    def _new_pod(self, workload: Workload, ordinal: int | None = None) -> Pod:
        with self.lock:
            if ordinal is None:
                ordinal = self._ordinals.get(workload.name, 0)
                self._ordinals[workload.name] = ordinal + 1
            suffix = str(ordinal) if workload.kind == "StatefulSet" else f"r{ordinal}"
            pod = Pod(f"{self.prefix}-{workload.name}-{suffix}", workload, ordinal)
            self.pods.append(pod)
        threading.Thread(target=self._pod_loop, args=(pod,), daemon=True, name=pod.name).start()
        return pod

    # ------------------------------------------------------------ volumes
    def _volume_name(self, pod: Pod, volume) -> str:
        if volume.kind == "emptyDir":
            return f"{pod.name}-{volume.name}"
        if pod.workload.kind == "StatefulSet":  # volumeClaimTemplates: <claim>-<statefulset>-<ordinal>
            return f"{self.prefix}-{volume.claim}-{pod.workload.name}-{pod.ordinal}"
        return f"{self.prefix}-{volume.claim}"

    def _prepare_volumes(self, pod: Pod) -> dict[str, str]:
        """Create the pod's volumes and set the ownership the kubelet would (see the module doc)."""
        names, script, mounts = {}, [], []
        group = pod.workload.pod.fs_group
        for index, volume in enumerate(pod.workload.pod.volumes.values()):
            name = names[volume.name] = self._volume_name(pod, volume)
            exists = dk.docker("volume", "inspect", name, check=False).returncode == 0
            if exists and volume.kind == "emptyDir":
                continue  # container restart within the pod: the emptyDir keeps its content
            if not exists:
                dk.docker("volume", "create", "--label", f"{LABEL}={self.prefix}", name)
            path = f"/v/{index}"
            mounts += ["--mount", f"type=volume,src={name},dst={path},volume-nocopy"]
            if not exists:
                script.append(f"chmod 0777 {path}")
            if group is not None and volume.kind == "emptyDir":
                script.append(f"chgrp {group} {path} && chmod 2777 {path}")
            elif group is not None:  # fsGroupChangePolicy OnRootMismatch
                script.append(
                    f'[ "$(stat -c %g {path})" = {group} ] || {{ chgrp -R {group} {path} && '
                    f"chmod -R g+rwX {path} && find {path} -type d -exec chmod g+s {{}} +; }}"
                )
        if script:
            dk.docker(
                "run",
                "--rm",
                "--network",
                "none",
                "--user",
                "0:0",
                "--label",
                f"{LABEL}={self.prefix}",
                *mounts,
                "--entrypoint",
                "sh",
                UTILITY_IMAGE,
                "-c",
                " && ".join(script),
            )
        return names

    # ------------------------------------------------------------ containers
    def _run_args(self, pod: Pod, plan: ContainerPlan, name: str, volumes: dict[str, str]) -> list[str]:
        spec = pod.workload.pod
        args = [
            "run",
            "-d",
            "--name",
            name,
            "--hostname",
            pod.name[len(self.prefix) + 1 :][:63],
            "--label",
            f"{LABEL}={self.prefix}",
            "--network",
            self.network,
            "--no-healthcheck",
            "--user",
            f"{plan.uid}:{plan.gid}",
        ]
        for gid in ([spec.fs_group] if spec.fs_group is not None else []) + spec.supplemental_groups:
            args += ["--group-add", str(gid)]
        if pod.workload.kind == "StatefulSet":  # stable per-pod DNS under the governing Service
            short = f"{pod.workload.name}-{pod.ordinal}.{pod.workload.service_name}"
            args += ["--network-alias", short, "--network-alias", f"{short}.{NAMESPACE}.svc.cluster.local"]
        if plan.read_only:
            args.append("--read-only")
        for cap in plan.cap_drop:
            args += ["--cap-drop", cap]
        if plan.no_new_privileges:
            args += ["--security-opt", "no-new-privileges"]
        if plan.memory:  # no swap, as on a kubelet node
            args += ["--memory", str(plan.memory), "--memory-swap", str(plan.memory)]
        if plan.cpus:
            args += ["--cpus", str(plan.cpus)]
        if plan.cpu_shares:
            args += ["--cpu-shares", str(plan.cpu_shares)]
        for volume, path in plan.mounts:
            args += ["--mount", f"type=volume,src={volumes[volume]},dst={path},volume-nocopy"]
        for port in sorted(set(plan.ports.values())):
            args += ["-p", f"127.0.0.1::{port}"]
        if plan.workdir:
            args += ["--workdir", plan.workdir]
        env = dict(plan.env, **self.extra_env.get(pod.workload.name, {}))
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        argv: list[str] = []
        if plan.command:
            args += ["--entrypoint", plan.command[0]]
            argv = plan.command[1:] + (plan.args or [])
        elif plan.args is not None:
            argv = plan.args
        return [*args, plan.image, *argv]

    def _start_container(self, pod: Pod, volumes: dict[str, str]) -> None:
        dk.docker("rm", "-f", pod.name, check=False)
        pod.exit_code = None
        pod.wake.clear()
        dk.docker(*self._run_args(pod, pod.container, pod.name, volumes))
        info = dk.inspect(pod.name)
        with self.lock:
            pod.generation += 1
            pod.ip = info["NetworkSettings"]["Networks"][self.network]["IPAddress"]
            pod.host_ports = {
                int(k.split("/")[0]): int(v[0]["HostPort"]) for k, v in info["NetworkSettings"]["Ports"].items() if v
            }
            pod.phase, pod.started, pod.ready = "Running", False, False

    def _run_init_containers(self, pod: Pod, volumes: dict[str, str]) -> bool:
        for index, plan in enumerate(pod.workload.pod.init_containers):
            name = f"{pod.name}-init{index}"
            dk.docker("rm", "-f", name, check=False)
            dk.docker(*self._run_args(pod, plan, name, volumes))
            code = int(dk.docker("wait", name, timeout=3600).stdout.strip() or 1)
            if code != 0:
                self.events.append(f"{pod.name}: init container {plan.name} exited {code}:\n{dk.logs(name)}")
                return False
        return True

    # ------------------------------------------------------------ the kubelet loop
    def _pod_loop(self, pod: Pod) -> None:
        try:
            self._pod_lifecycle(pod)
        except Exception as error:
            if not self.stopping.is_set():
                self.events.append(f"{pod.name}: runner error {error!r}")
                pod.phase = "Failed"

    def _pod_lifecycle(self, pod: Pod) -> None:
        volumes = self._prepare_volumes(pod)
        backoff = BACKOFF_START
        never = pod.workload.pod.restart_policy == "Never"
        while not self.stopping.is_set() and not pod.terminating:
            if not self._run_init_containers(pod, volumes):
                pod.phase = "Failed" if never else pod.phase
                if never:
                    return self._retry_job(pod)
            else:
                self._start_container(pod, volumes)
                self._update_endpoints()
                code = self._probe_until_exit(pod)
                if pod.terminating or self.stopping.is_set():
                    return
                pod.exit_codes.append(code)
                with self.lock:
                    pod.ready = False
                self._update_endpoints()
                if never or (pod.workload.pod.restart_policy == "OnFailure" and code == 0):
                    pod.phase = "Succeeded" if code == 0 else "Failed"
                    return self._retry_job(pod) if code != 0 else None
            pod.restarts += 1
            pod.wake.clear()
            pod.wake.wait(backoff)  # CrashLoopBackOff; a deletion wakes it early
            backoff = min(backoff * 2, BACKOFF_MAX)

    def _retry_job(self, pod: Pod) -> None:
        failed = sum(p.phase == "Failed" for p in self.pods if p.workload is pod.workload)
        if failed <= pod.workload.backoff_limit and not self.stopping.is_set():
            time.sleep(min(BACKOFF_START * 2 ** (failed - 1), BACKOFF_MAX))
            self._new_pod(pod.workload)

    def _probe_until_exit(self, pod: Pod) -> int:
        """Run the probes on their periods until the container exits; returns its exit code."""
        probes = pod.container.probes
        start = time.monotonic()
        due = {kind: start + p.initial_delay for kind, p in probes.items()}
        fails = {kind: 0 for kind in probes}
        passes = {kind: 0 for kind in probes}
        pod.started = "startupProbe" not in probes
        while not self.stopping.is_set():
            if pod.exit_code is not None:
                return pod.exit_code
            now = time.monotonic()
            for kind, probe in probes.items():
                if (
                    now < due[kind]
                    or (kind != "startupProbe" and not pod.started)
                    or (kind == "startupProbe" and pod.started)
                ):
                    continue
                due[kind] = now + probe.period
                ok = self._probe(pod, probe)
                fails[kind], passes[kind] = (0, passes[kind] + 1) if ok else (fails[kind] + 1, 0)
                if kind == "startupProbe" and ok:
                    pod.started = True
                elif kind == "readinessProbe" and pod.ready != (passes[kind] >= probe.success_threshold):
                    if ok or fails[kind] >= probe.failure_threshold:
                        with self.lock:
                            pod.ready = ok
                        self._update_endpoints()
                elif kind in ("startupProbe", "livenessProbe") and fails[kind] >= probe.failure_threshold:
                    self.events.append(f"{pod.name}: {kind} failed {fails[kind]} times; restarting the container")
                    self._stop_container(pod)
            if "readinessProbe" not in probes and pod.started and not pod.ready:
                with self.lock:
                    pod.ready = True
                self._update_endpoints()
            next_due = min([d for k, d in due.items()] + [now + 5.0])
            pod.wake.wait(max(0.05, next_due - time.monotonic()))
            pod.wake.clear()
            if pod.terminating:
                return -1
        return -1

    def _probe(self, pod: Pod, probe: Probe) -> bool:
        try:
            if probe.kind == "httpGet":
                path, port = cast(tuple[str, int], probe.target)
                url = f"http://127.0.0.1:{pod.host_ports[port]}{path}"
                with urllib.request.urlopen(url, timeout=probe.timeout) as resp:
                    return 200 <= resp.status < 400
            if probe.kind == "tcpSocket":
                socket.create_connection(("127.0.0.1", pod.host_ports[probe.target]), timeout=probe.timeout).close()
                return True
            argv = cast(list[str], probe.target)
            return dk.docker("exec", pod.name, *argv, check=False, timeout=probe.timeout + 5).returncode == 0
        except (urllib.error.URLError, OSError, subprocess.TimeoutExpired, ValueError):
            return False

    def _stop_container(self, pod: Pod) -> None:
        """preStop, SIGTERM, SIGKILL after the grace period (what the kubelet does to stop a container)."""
        grace_end = time.monotonic() + pod.workload.pod.grace_seconds
        if pod.container.prestop_sleep:
            time.sleep(min(pod.container.prestop_sleep, pod.workload.pod.grace_seconds))
        dk.docker("kill", "-s", "TERM", pod.name, check=False)
        while time.monotonic() < grace_end:
            status = dk.docker("inspect", "-f", "{{.State.Status}}", pod.name, check=False).stdout.strip()
            if status in ("exited", "dead", ""):
                return
            time.sleep(0.1)
        dk.docker("kill", "-s", "KILL", pod.name, check=False)

    # ------------------------------------------------------------ pod operations (what tests do)
    def delete_pod(self, pod: Pod) -> Pod | None:
        """Graceful deletion; returns the replacement pod the controller creates (None for a Job)."""
        with self.lock:
            pod.terminating, pod.ready = True, False
        self._update_endpoints()
        pod.wake.set()
        replacement = None
        if pod.workload.kind == "Deployment":
            replacement = self._new_pod(pod.workload)
        self._stop_container(pod)
        dk.docker("rm", "-f", "-v", pod.name, check=False)
        for volume in pod.workload.pod.volumes.values():
            if volume.kind == "emptyDir":
                dk.docker("volume", "rm", "-f", self._volume_name(pod, volume), check=False)
        with self.lock:
            pod.phase = "Deleted"
        if pod.workload.kind == "StatefulSet":
            replacement = self._new_pod(pod.workload, pod.ordinal)
        return replacement

    def exec(
        self, pod: Pod, *argv: str, input: bytes | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        """`kubectl exec`: runs as the container's user, in its working directory."""
        return subprocess.run(
            ["docker", "exec", "-i", pod.name, *argv], input=input, capture_output=True, timeout=timeout
        )

    def ready_pods(self, workload_name: str) -> list[Pod]:
        return [p for p in self.live_pods(workload_name) if p.ready]

    def wait_ready(self, workload_name: str, count: int | None = None, timeout: float = 120) -> list[Pod]:
        workload = self.chart.workload(workload_name)
        count = workload.replicas if count is None else count
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(pods := self.ready_pods(workload_name)) >= count:
                return pods
            time.sleep(0.1)
        self.dump_failure()
        raise PodFailed(f"{workload_name}: {count} ready pods not reached in {timeout}s")

    # ------------------------------------------------------------ Services
    def _start_service(self, service) -> None:
        name = f"{self.prefix}-svc-{service.name}"
        args = [
            "run",
            "-d",
            "--name",
            name,
            "--label",
            f"{LABEL}={self.prefix}",
            "--network",
            self.network,
            "--no-healthcheck",
            "--user",
            "65534:65534",
            "--read-only",
            "--cap-drop",
            "ALL",
            "-p",
            f"127.0.0.1::{CONTROL_PORT}",
        ]
        for alias in (
            service.name,
            f"{service.name}.{NAMESPACE}",
            f"{service.name}.{NAMESPACE}.svc",
            f"{service.name}.{NAMESPACE}.svc.cluster.local",
        ):
            args += ["--network-alias", alias]
        for port, _target in service.ports:
            args += ["-p", f"127.0.0.1::{port}"]
        ports = ",".join(str(p) for p, _ in service.ports)
        dk.docker(*args, "--entrypoint", "python", UTILITY_IMAGE, "-u", "-c", PROXY_SOURCE, str(CONTROL_PORT), ports)
        deadline = time.monotonic() + 60
        while "listening" not in dk.logs(name):
            if time.monotonic() > deadline:
                raise PodFailed(f"Service proxy {service.name} did not start:\n{dk.logs(name)}")
            time.sleep(0.2)
        self.service_ports[service.name] = {p: dk.published_port(name, p) for p, _ in service.ports}
        self.service_ports[service.name][CONTROL_PORT] = dk.published_port(name, CONTROL_PORT)

    def service_url(self, name: str, port: int | None = None) -> str:
        ports = self.service_ports[name]
        port = port or next(p for p in ports if p != CONTROL_PORT)
        return f"http://127.0.0.1:{ports[port]}"

    def _update_endpoints(self) -> None:
        with self.lock:
            for service in self.chart.services:
                endpoints = {}
                pods = [
                    p
                    for p in self.pods
                    if p.ready
                    and not p.terminating
                    and all(p.workload.pod.labels.get(k) == v for k, v in service.selector.items())
                ]
                for port, target in service.ports:
                    endpoints[str(port)] = sorted(f"{p.ip}:{p.container.ports[str(target)]}" for p in pods)
                payload = json.dumps(endpoints, sort_keys=True)
                if self._pushed.get(service.name) != payload:
                    with socket.create_connection(
                        ("127.0.0.1", self.service_ports[service.name][CONTROL_PORT]), timeout=5
                    ) as conn:
                        conn.sendall(payload.encode())
                        conn.shutdown(socket.SHUT_WR)
                        conn.recv(16)
                    self._pushed[service.name] = payload
