"""The production frontend image serves its pages and static assets in front of the backend image.

Sign-up, tasks and durability through the chart on a real cluster are the cluster tier's job
(tests/cluster, tests/e2e/test_cluster.py)."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.docker


def test_page_load_through_frontend(stack):
    resp = requests.get(stack.url("frontend") + "/", timeout=30)
    assert resp.status_code == 200, resp.text[:500]
    assert "text/html" in resp.headers["content-type"]
    assert "<html" in resp.text.lower() and "/_next/static/" in resp.text
    asset = resp.text.split("/_next/static/", 1)[1].split('"', 1)[0]
    static = requests.get(f"{stack.url('frontend')}/_next/static/{asset}", timeout=30)
    assert static.status_code == 200, f"static asset /_next/static/{asset} not served by the runtime image"
