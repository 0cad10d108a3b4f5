"""Edits made live through Tilt's live_update on a running dev stack, timed from the moment Tilt
would start syncing to the first response that shows the change (shared by the container tier and
dev/bench/devloop_bench.py), plus cgroup readings of a pod's memory and CPU."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

import httpx

from taskpilot_dev import docker as dk
from taskpilot_dev import tilt_sync

HEALTH_ROUTES = "backend/app/api/health.py"
# The home page's server render shows this component's loading text to a visitor without a session.
HOME_COMPONENT, HOME_TEXT = "frontend/src/components/TaskPilotApp.tsx", "Loading TaskPilot…"


def replace_all(text: str, mapping: dict[str, str]) -> str:
    for old, new in mapping.items():
        text = text.replace(old, new)
    return text


def wait_for_text(url: str, text: str, timeout: float = 60, interval: float = 0.05) -> float:
    """Seconds until GET url answers 200 with `text` in the body."""
    start = time.monotonic()
    with httpx.Client(timeout=30) as client:
        while time.monotonic() - start < timeout:
            try:
                resp = client.get(url)
                if resp.status_code == 200 and text in resp.text:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            time.sleep(interval)
    raise TimeoutError(f"{url} did not show {text!r} within {timeout}s")


def backend_edit(runner, pod, update, tmp: Path, readiness: list[tuple[float, str]] | None = None) -> float:
    """Add a route to the running backend; seconds from sync start until it answers.

    With `readiness`, /health/ready is polled on fresh connections during the reload and each answer
    is appended as (monotonic time, body): a drain shows as `draining` answers spanning its length."""
    token = secrets.token_hex(6)
    copy = tilt_sync.sandbox_copy(tmp / token, HEALTH_ROUTES)
    copy.write_text(
        copy.read_text() + f'\n\n@router.get("/health/live-edit")\nasync def live_edit() -> dict[str, str]:\n'
        f'    return {{"token": "{token}"}}\n'
    )
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch_readiness, args=(pod.url() + "/health/ready", readiness, done), daemon=True
    )
    start = time.monotonic()
    tilt_sync.live_update(runner, pod, update, {HEALTH_ROUTES: copy})
    if readiness is not None:
        watcher.start()
    try:
        wait_for_text(pod.url() + "/health/live-edit", token, timeout=60)
    except TimeoutError as error:
        raise TimeoutError(f"{error}; restarts={pod.restarts}\n{dk.logs(pod.name)}") from None
    finally:
        done.set()
    seconds = time.monotonic() - start
    if readiness is not None:
        watcher.join()
    return seconds


def _watch_readiness(url: str, answers: list[tuple[float, str]], done: threading.Event) -> None:
    while not done.is_set():
        try:
            answers.append((time.monotonic(), httpx.get(url, timeout=5, headers={"Connection": "close"}).text))
        except httpx.HTTPError as error:
            answers.append((time.monotonic(), type(error).__name__))
        time.sleep(0.05)


def frontend_new_page(runner, pod, update, tmp: Path) -> float:
    """A new route directory with a page; seconds from sync start to its first render."""
    token = secrets.token_hex(6)
    route = f"frontend/src/app/live-{token}"
    page = tmp / route / "page.tsx"
    page.parent.mkdir(parents=True)
    page.write_text(f"export default function LivePage() {{\n  return <main>live page {token}</main>;\n}}\n")
    start = time.monotonic()
    tilt_sync.live_update(runner, pod, update, {route: page.parent})  # a new directory syncs as a whole
    wait_for_text(f"{pod.url()}/live-{token}", f"live page {token}", timeout=120)
    return time.monotonic() - start


def frontend_component_edit(runner, pod, update, tmp: Path) -> float:
    """Change the text of a component the home page renders; seconds until / shows it."""
    token = secrets.token_hex(6)
    copy = tilt_sync.sandbox_copy(tmp / token, HOME_COMPONENT)
    source = copy.read_text()
    assert HOME_TEXT in source, f"{HOME_COMPONENT} no longer renders {HOME_TEXT!r}; pick another marker"
    copy.write_text(source.replace(HOME_TEXT, f"{HOME_TEXT} {token}", 1))
    wait_for_text(pod.url() + "/", HOME_TEXT, timeout=120)  # the page is compiled before the edit
    start = time.monotonic()
    tilt_sync.live_update(runner, pod, update, {HOME_COMPONENT: copy})
    wait_for_text(pod.url() + "/", f"{HOME_TEXT} {token}", timeout=60)
    return time.monotonic() - start


# ---------------------------------------------------------------- cgroup readings
def _cgroup_file(pod, v1: str, v2: str) -> Path:
    container_id = dk.inspect(pod.name)["Id"]
    for path in (
        Path(f"/sys/fs/cgroup/{v1}/docker/{container_id}"),
        Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope"),
        Path(f"/sys/fs/cgroup/docker/{container_id}"),
    ):
        if path.exists():
            return path
    raise FileNotFoundError(f"no cgroup directory for {pod.name} (cgroupfs/systemd drivers on this host only)")


def memory(pod) -> tuple[int, int]:
    """(working set, anonymous memory) in bytes. The working set (usage minus inactive file cache) is
    what the kubelet counts against the limit; anonymous memory is what the OOM killer cannot reclaim."""
    base = _cgroup_file(pod, "memory", "")
    stat = dict(line.split() for line in (base / "memory.stat").read_text().splitlines())
    if (base / "memory.usage_in_bytes").exists():  # cgroup v1
        usage = int((base / "memory.usage_in_bytes").read_text())
        return usage - int(stat.get("total_inactive_file", 0)), int(stat.get("total_rss", 0))
    usage = int((base / "memory.current").read_text())
    return usage - int(stat.get("inactive_file", 0)), int(stat.get("anon", 0))


class WorkingSetPeak:
    """Samples a pod's working set every `interval` seconds while the block runs; `.peak` in bytes.
    (The cgroup's own peak counter includes reclaimable page cache, so it says little about OOM risk.)"""

    def __init__(self, pod, interval: float = 0.25):
        self.pod, self.interval, self.peak, self.anon_peak = pod, interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                working, anon = memory(self.pod)
                self.peak, self.anon_peak = max(self.peak, working), max(self.anon_peak, anon)
            except (FileNotFoundError, ValueError):
                pass  # container restarting
            self._stop.wait(self.interval)

    def __enter__(self) -> WorkingSetPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(pod) -> tuple[float, float]:
    """(CPU time used, time throttled by the CPU limit) so far, in seconds."""
    v1 = _cgroup_file(pod, "cpuacct", "")
    if (v1 / "cpuacct.usage").exists():
        throttled = dict(line.split() for line in (_cgroup_file(pod, "cpu", "") / "cpu.stat").read_text().splitlines())
        return int((v1 / "cpuacct.usage").read_text()) / 1e9, int(throttled["throttled_time"]) / 1e9
    stat = dict(line.split() for line in (v1 / "cpu.stat").read_text().splitlines())
    return int(stat["usage_usec"]) / 1e6, int(stat.get("throttled_usec", 0)) / 1e6


def timed_with_cpu(pod, action) -> dict:
    """Run action() (returns seconds); add the CPU the pod used and the time its limit throttled it."""
    cpu0, throttled0 = cpu_seconds(pod)
    seconds = action()
    cpu1, throttled1 = cpu_seconds(pod)
    return {"s": round(seconds, 2), "cpu_s": round(cpu1 - cpu0, 2), "throttled_s": round(throttled1 - throttled0, 2)}
