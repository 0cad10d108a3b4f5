"""Real-time events across two backend replicas (LISTEN/NOTIFY fan-out), directly and through the
frontend proxy. Needs two backend URLs: the locally started pair, or E2E_BACKEND_URLS=a,b. On a
cluster the same check runs against two backend pods in test_cluster.py."""

from __future__ import annotations

import httpx
import pytest

from taskpilot_dev import api
from taskpilot_dev.sse import EventStream


@pytest.fixture(scope="module")
def replica_pair(targets):
    if len(targets.backend_urls) < 2:
        pytest.skip(
            "cross-replica real-time needs two backend URLs (E2E_BACKEND_URLS=url1,url2); "
            "on a cluster test_cluster.py checks it across pods"
        )
    return targets.backend_urls[0], targets.backend_urls[1]


def created_event_for(task_id):
    return lambda event: event.get("type") == "created" and event.get("task_id") == task_id


def test_event_written_on_one_replica_reaches_a_stream_on_the_other(replica_pair):
    writer, listener = replica_pair
    user = api.signup(writer, "realtime")
    with EventStream(listener, headers=user.headers) as stream:
        stream.wait_for(lambda e: e.get("type") == "ready")
        task = httpx.post(
            f"{writer}/api/tasks", json={"title": "cross replica"}, headers=user.headers, timeout=10
        ).json()
        event = stream.wait_for(created_event_for(task["id"]))
        assert event["task"]["title"] == "cross replica"
        httpx.delete(f"{writer}/api/tasks/{task['id']}", headers=user.headers, timeout=10)
        stream.wait_for(lambda e: e.get("type") == "deleted" and e.get("task_id") == task["id"])


def test_other_users_events_are_not_delivered(replica_pair):
    writer, listener = replica_pair
    watcher, actor = api.signup(listener, "watcher"), api.signup(writer, "actor")
    with EventStream(listener, headers=watcher.headers) as stream:
        stream.wait_for(lambda e: e.get("type") == "ready")
        foreign = httpx.post(
            f"{writer}/api/tasks", json={"title": "not yours"}, headers=actor.headers, timeout=10
        ).json()
        own = httpx.post(f"{writer}/api/tasks", json={"title": "yours"}, headers=watcher.headers, timeout=10).json()
        event = stream.wait_for(lambda e: e.get("type") == "created")
        assert event["task_id"] == own["id"] != foreign["id"]


def test_events_stream_through_the_frontend_proxy(replica_pair, frontend_url):
    _, writer = replica_pair  # the frontend proxies to the first backend: write on the other one
    user = api.signup(writer, "proxysse")
    with EventStream(frontend_url, headers=user.headers) as stream:
        stream.wait_for(lambda e: e.get("type") == "ready")
        task = httpx.post(
            f"{writer}/api/tasks", json={"title": "through the proxy"}, headers=user.headers, timeout=10
        ).json()
        stream.wait_for(created_event_for(task["id"]))
