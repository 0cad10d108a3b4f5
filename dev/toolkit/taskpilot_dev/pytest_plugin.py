"""Fixtures every Python test tier shares (loaded automatically: the package registers this module
as a pytest plugin).

  postgres_admin_url   superuser URL of the one PostgreSQL of the session: TEST_DATABASE_URL
                       (./dev/test.sh starts one for all tiers) or a throwaway server
  migrated_database    factory: a fresh database with every migration applied, dropped afterwards
  cluster              ClusterApi on the kube context E2E_KUBE_CONTEXT (default: minikube or a clearly
                       local current context), namespace E2E_NAMESPACE (taskpilot). Skips with one reason
                       when there is none, or fails where E2E_REQUIRE_CLUSTER=1 (CI's cluster tier);
                       E2E_SKIP_CLUSTER=1 skips on purpose.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator

import pytest

from . import tools
from .cluster import ClusterApi, connect
from .harness import migrate
from .postgres import create_database, drop_database, start_postgres


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    # Not under pytest's basetemp: pytest resets it to mode 0700, which locks out the postgres user.
    directory = tempfile.mkdtemp(prefix="taskpilot-pg-")
    url, stop = start_postgres(directory)
    try:
        yield url
    finally:
        stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_database(postgres_admin_url: str) -> Iterator[Callable[[], str]]:
    created: list[str] = []

    def make() -> str:
        url = create_database(postgres_admin_url)
        created.append(url)
        migrate(url)
        return url

    yield make
    for url in created:
        drop_database(postgres_admin_url, url)


@pytest.fixture(scope="session")
def cluster_connection() -> tuple[ClusterApi | None, str]:
    if os.environ.get("E2E_SKIP_CLUSTER") == "1":
        return None, "E2E_SKIP_CLUSTER=1"
    kube, reason = connect(os.environ.get("E2E_KUBE_CONTEXT") or None, os.environ.get("E2E_NAMESPACE", "taskpilot"))
    if kube is not None:
        kube.kubectl_bin, kube.helm_bin = tools.kubectl_bin(), tools.helm_bin()
    return kube, reason


@pytest.fixture(scope="session")
def cluster(cluster_connection: tuple[ClusterApi | None, str]) -> ClusterApi:
    kube, reason = cluster_connection
    if kube is None and os.environ.get("E2E_REQUIRE_CLUSTER") == "1":
        pytest.fail(f"E2E_REQUIRE_CLUSTER=1 but no cluster: {reason}")
    if kube is None:
        pytest.skip(f"cluster tests need a reachable Kubernetes cluster with TaskPilot deployed: {reason}")
    return kube
