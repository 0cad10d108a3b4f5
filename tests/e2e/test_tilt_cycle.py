"""The data contract of the Tilt loop on a live cluster: `tilt down` then `tilt up` keep the tasks.

`tilt down` deletes what the Tiltfile applied but not the PostgreSQL volume (the StatefulSet's
claim is not Tilt's to delete), so a marker task written before is there after the next `tilt up`,
on the very same claim. Runs `tilt` itself against E2E_KUBE_CONTEXT, so it needs the `tilt` binary
and runs outside Tilt (the `e2e` resource would take itself down); it skips with the reason otherwise.
CI runs it as its own step, before anything else holds the 3000/8000 forwards Tilt opens.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest

from taskpilot_dev import api
from taskpilot_dev.paths import REPO_ROOT
from taskpilot_dev.rollouts import POSTGRES_STATEFULSET, wait_for, wait_stack_deployed

pytestmark = [pytest.mark.cluster, pytest.mark.tilt_cycle]
CLAIM = f"data-{POSTGRES_STATEFULSET}-0"


def marker_tasks(cluster, user):
    forward = cluster.port_forward("svc/backend-service", 80)
    try:

        def listed():
            with api.TaskApi(forward.url) as client:
                client.login(user.email, api.PASSWORD)
                return [t["title"] for t in client.list_tasks()] or None

        return wait_for(listed, timeout=180, interval=2, what="the API to list the marker user's tasks")
    finally:
        forward.close()


def test_tilt_down_and_up_keep_the_tasks(cluster, tilt, tmp_path, report):
    log = tmp_path / "tilt.log"
    assert cluster.context == tilt.context, "the test drives Tilt on the context it checks"
    wait_stack_deployed(cluster)
    marker = f"tilt-cycle marker {uuid.uuid4().hex[:8]}"
    forward = cluster.port_forward("svc/backend-service", 80)
    try:
        user = api.signup(forward.url, "tiltcycle")
        with api.TaskApi(forward.url) as client:
            client.login(user.email, api.PASSWORD)
            client.create_task(marker)
    finally:
        forward.close()
    claim_before = cluster.pvc_uid(CLAIM)
    assert claim_before, f"no {CLAIM}"

    with open(log, "a") as out:
        down = subprocess.run(
            [tilt.binary, "down", "--context", tilt.context],
            cwd=REPO_ROOT,
            env=tilt.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=600,
        )
    assert down.returncode == 0, log.read_text()[-3000:]
    wait_for(
        lambda: cluster.read_pod(f"{POSTGRES_STATEFULSET}-0") is None,
        timeout=300,
        interval=2,
        what="tilt down to remove PostgreSQL",
    )
    assert cluster.pvc_uid(CLAIM) == claim_before, "tilt down must keep the database volume"

    with tilt.up(log):
        wait_stack_deployed(cluster)
        assert marker in marker_tasks(cluster, user)
    assert cluster.pvc_uid(CLAIM) == claim_before, "tilt up must reuse the kept claim"
    report(f"tilt down + tilt up: marker task kept on the same claim {CLAIM} ({claim_before[:8]})")
