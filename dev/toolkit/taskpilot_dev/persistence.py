"""The data-persistence check: a marker task must survive a restart of the PostgreSQL pod.

1. sign up (or log in) a dedicated check user through the API and write a marker task;
2. delete the PostgreSQL pod;
3. wait until the StatefulSet has brought a NEW pod (different uid) back to Ready;
4. wait for the API to answer again and verify the marker task is still there, unchanged;
5. delete the marker task (also when a step failed, if the API is up).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx

from .api import ApiError, TaskApi
from .cluster import ClusterApi, ClusterError
from .rollouts import replace_pod

CHECK_EMAIL = "persistence-check@example.com"
CHECK_PASSWORD = "persistence-check-password"  # noqa: S105  # dev clusters only; the account owns nothing else
CHECK_NAME = "Persistence check"
MARKER_PREFIX = "persistence-check"


class CheckFailed(Exception):
    """A step failed; the message says which and why."""


def wait_for_marker(api: TaskApi, marker: dict, timeout: float, poll: float = 1.0) -> dict:
    """GET the marker until the API answers (it reconnects to the restarted database)."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            found = api.get_task(marker["id"])
        except (httpx.HTTPError, ApiError) as err:
            last = f"HTTP {err.status}" if isinstance(err, ApiError) else err.__class__.__name__
        else:
            if found is None:
                raise CheckFailed(f"marker task {marker['id']} is gone after the restart: data was NOT persisted")
            return found
        time.sleep(poll)
    raise CheckFailed(f"the API did not serve the marker task within {timeout:g}s (last: {last})")


def run_check(api: TaskApi, kube: ClusterApi, pod: str, timeout: float, log: Callable[[str], None]) -> None:
    try:
        api.sign_in(CHECK_EMAIL, CHECK_PASSWORD, CHECK_NAME)
        marker = api.create_task(f"{MARKER_PREFIX} {uuid.uuid4()}", "written before a PostgreSQL restart")
    except ApiError as err:
        raise CheckFailed(f"cannot prepare the marker task: {err}") from None
    log(f"wrote marker task {marker['id']} ({marker['title']})")
    try:
        try:
            replace_pod(kube, pod, timeout=timeout, log=log)
        except ClusterError as err:
            raise CheckFailed(str(err)) from None
        found = wait_for_marker(api, marker, timeout)
        if (found["title"], found["description"]) != (marker["title"], marker["description"]):
            raise CheckFailed(f"marker task changed across the restart: {found!r}")
        log(f"marker task {marker['id']} survived the restart")
    finally:
        try:
            api.delete_task(marker["id"])
            log(f"cleaned up marker task {marker['id']}")
        except (httpx.HTTPError, ApiError):
            log(f"could not delete marker task {marker['id']} (delete it from the board)")
