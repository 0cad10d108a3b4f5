"""The toolkit's cluster code against the fake Kubernetes API and the fake kubectl/helm."""

from __future__ import annotations

import pytest

from taskpilot_dev.cluster import ClusterApi
from taskpilot_dev.fakes.cli import FakeCliSet
from taskpilot_dev.fakes.kube_api import FakeApiServer, FakeCluster


@pytest.fixture
def fake():
    return FakeCluster(ready_delay=0.3, termination_delay=0.2)


@pytest.fixture
def api_server(fake):
    with FakeApiServer(fake) as server:
        yield server


@pytest.fixture
def clis(tmp_path, api_server, monkeypatch):
    """Fake kubectl/helm whose `minikube` context holds the release and talks to the fake API."""
    clis = FakeCliSet(tmp_path / "clis", tools=("kubectl", "helm"))
    clis.running_minikube(release=True)
    clis.state["api_server"] = api_server.url
    clis.state["dns"] = {
        name: f"10.96.0.{i + 10}"
        for i, name in enumerate(
            [*api_server.cluster.services, *(f"{s}.taskpilot.svc.cluster.local" for s in api_server.cluster.services)]
        )
    }
    clis.save()
    for name, value in clis.env().items():
        monkeypatch.setenv(name, value)
    return clis


@pytest.fixture
def kube(api_server, clis):
    return ClusterApi(
        api_server.api_client(),
        context="minikube",
        namespace="taskpilot",
        kubectl=clis.path("kubectl"),
        helm=clis.path("helm"),
    )
