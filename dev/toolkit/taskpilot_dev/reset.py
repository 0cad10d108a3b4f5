"""Reset the database of a running release: a new, empty PostgreSQL volume, migrations at head.

The steps, over ClusterApi (dev/reset_database.py is the command line; Tilt's "Reset database"
button runs it):
  1. scale the PostgreSQL StatefulSet to 0 and wait until its pod is gone;
  2. delete its PVCs (the volumeClaimTemplates' claims) and wait until they are gone, volume and all;
  3. scale back: the StatefulSet creates fresh claims, PostgreSQL initialises an empty data directory;
  4. run `alembic upgrade head` in a running backend pod (the migration Job's command, same image);
  5. wait until backend-service has Ready endpoints and the API answers /health/ready.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from .cluster import ClusterApi, ClusterError
from .rollouts import APP_LABELS, POSTGRES_STATEFULSET, ready_pods, wait_for

MIGRATE_COMMAND = ("alembic", "upgrade", "head")


class ResetFailed(RuntimeError):
    pass


def api_ready(api_url: str) -> bool:
    try:
        return httpx.get(api_url.rstrip("/") + "/health/ready", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def reset_database(
    kube: ClusterApi,
    *,
    api_url: str | None,
    timeout: float,
    log: Callable[[str], None],
    statefulset: str = POSTGRES_STATEFULSET,
    poll: float = 1.0,
) -> float:
    """Run the steps above; returns the seconds until the app was back. Raises ResetFailed."""
    started = time.monotonic()
    replicas = kube.statefulset_replicas(statefulset) or 1
    claims = kube.statefulset_claims(statefulset, replicas)
    if not claims:
        raise ResetFailed(f"statefulset/{statefulset} has no volumeClaimTemplates: there is no volume to reset")
    old_uids = {claim: kube.pvc_uid(claim) for claim in claims}
    pods = [f"{statefulset}-{ordinal}" for ordinal in range(replicas)]
    try:
        log(f"scaling statefulset/{statefulset} to 0 (was {replicas})")
        kube.scale_statefulset(statefulset, 0)
        wait_for(
            lambda: all(kube.read_pod(pod) is None for pod in pods),
            timeout=timeout,
            interval=poll,
            what=f"{', '.join(pods)} to stop",
        )
        for claim in claims:
            kube.delete_pvc(claim)
        wait_for(
            lambda: all(kube.pvc_uid(claim) is None for claim in claims),
            timeout=timeout,
            interval=poll,
            what=f"pvc {', '.join(claims)} to be deleted",
        )
        log(f"deleted pvc {', '.join(claims)} and its volume")
    finally:
        # whatever happened, PostgreSQL comes back (on the old volume if it could not be deleted)
        kube.scale_statefulset(statefulset, replicas)
    log(f"scaled statefulset/{statefulset} back to {replicas}; waiting for an empty PostgreSQL")
    wait_for(
        lambda: len(ready_pods(kube, APP_LABELS["postgresql"])) >= replicas,
        timeout=timeout,
        interval=poll,
        what="PostgreSQL to be Ready on its new volume",
    )
    for claim, old_uid in old_uids.items():
        if kube.pvc_uid(claim) in (None, old_uid):
            raise ResetFailed(f"pvc {claim} was not recreated (uid {kube.pvc_uid(claim)})")

    backend = wait_for(
        lambda: [p for p in kube.list_pods(APP_LABELS["backend"]) if p.phase == "Running" and not p.terminating],
        timeout=timeout,
        interval=poll,
        what="a running backend pod",
    )[0]
    log(f"running migrations in {backend.name}: {' '.join(MIGRATE_COMMAND)}")
    output = wait_for(
        lambda: _migrate(kube, backend.name), timeout=timeout, interval=poll, what="`alembic upgrade head` to succeed"
    )
    for line in output.strip().splitlines()[-3:]:
        log(f"  {line}")

    wait_for(
        lambda: kube.ready_endpoints("backend-service"),
        timeout=timeout,
        interval=poll,
        what="backend-service to have Ready endpoints",
    )
    if api_url:
        wait_for(lambda: api_ready(api_url), timeout=timeout, interval=poll, what=f"{api_url}/health/ready")
    return time.monotonic() - started


def _migrate(kube: ClusterApi, pod: str) -> str | None:
    try:
        return kube.exec_in_pod(pod, MIGRATE_COMMAND, timeout=120) or "(no output)"
    except ClusterError:
        return None  # PostgreSQL may still be starting: wait_for retries
