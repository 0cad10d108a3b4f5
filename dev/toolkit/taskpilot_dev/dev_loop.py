"""Edits made live by Tilt's own live update on a running `tilt up`, timed from the moment the file
is saved in the working tree to the first response that shows the change; and the memory of a pod,
read from its cgroup on the node (the local cluster's node is this machine).

Every edit is undone when its block ends, so the tree is left as it was found.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from .paths import REPO_ROOT

HEALTH_ROUTES = REPO_ROOT / "backend/app/api/health.py"
# The home page's server render shows this component's text to a visitor without a session.
HOME_COMPONENT, HOME_TEXT = REPO_ROOT / "frontend/src/components/TaskPilotApp.tsx", "Loading TaskPilot…"


def wait_for_text(url: str, text: str, timeout: float = 60, interval: float = 0.05) -> float:
    """Seconds until GET url answers 200 with `text` in the body."""
    start = time.monotonic()
    with httpx.Client(timeout=30) as client:
        while time.monotonic() - start < timeout:
            with contextlib.suppress(httpx.HTTPError):
                response = client.get(url)
                if response.status_code == 200 and text in response.text:
                    return time.monotonic() - start
            time.sleep(interval)
    raise TimeoutError(f"{url} did not show {text!r} within {timeout}s")


@contextlib.contextmanager
def edited(path: Path, new_text: str) -> Iterator[None]:
    original = path.read_text()
    path.write_text(new_text)
    try:
        yield
    finally:
        path.write_text(original)


def backend_edit(backend_url: str) -> float:
    """Add a route to the backend; seconds from saving the file until the pod answers on it."""
    token = secrets.token_hex(6)
    source = HEALTH_ROUTES.read_text()
    route = (
        f'\n\n@router.get("/health/live-edit")\nasync def live_edit() -> dict[str, str]:\n'
        f'    return {{"token": "{token}"}}\n'
    )
    start = time.monotonic()
    with edited(HEALTH_ROUTES, source + route):
        wait_for_text(f"{backend_url}/health/live-edit", token, timeout=120)
        return time.monotonic() - start


def frontend_component_edit(frontend_url: str) -> float:
    """Change the text of a component the home page renders; seconds until / shows it."""
    token = secrets.token_hex(6)
    source = HOME_COMPONENT.read_text()
    assert HOME_TEXT in source, f"{HOME_COMPONENT} no longer renders {HOME_TEXT!r}; pick another marker"
    wait_for_text(f"{frontend_url}/", HOME_TEXT, timeout=180)  # the page is compiled before the edit
    start = time.monotonic()
    with edited(HOME_COMPONENT, source.replace(HOME_TEXT, f"{HOME_TEXT} {token}", 1)):
        wait_for_text(f"{frontend_url}/", f"{HOME_TEXT} {token}", timeout=120)
        return time.monotonic() - start


def frontend_new_page(frontend_url: str) -> float:
    """A new route directory with a page; seconds from saving it to its first render."""
    token = secrets.token_hex(6)
    page = REPO_ROOT / f"frontend/src/app/live-{token}/page.tsx"
    page.parent.mkdir(parents=True)
    try:
        start = time.monotonic()
        page.write_text(f"export default function LivePage() {{\n  return <main>live page {token}</main>;\n}}\n")
        wait_for_text(f"{frontend_url}/live-{token}", f"live page {token}", timeout=180)
        return time.monotonic() - start
    finally:
        shutil.rmtree(page.parent)


def pod_memory(pod_uid: str) -> tuple[int, int]:
    """(working set, anonymous memory) in bytes of a pod on this node (cgroup v1, cgroupfs driver).
    The working set (usage minus inactive file cache) is what the kubelet counts against the limit."""
    (base,) = Path("/sys/fs/cgroup/memory/kubepods").glob(f"**/pod{pod_uid}")
    stat = dict(line.split() for line in (base / "memory.stat").read_text().splitlines())
    usage = int((base / "memory.usage_in_bytes").read_text())
    return usage - int(stat.get("total_inactive_file", 0)), int(stat.get("total_rss", 0))
