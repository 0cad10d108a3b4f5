#!/usr/bin/env python3
"""Run SQL with psql inside the PostgreSQL pod, as the database's own user (Tilt's "psql" button).

    python dev/psql.py --context minikube --sql 'select count(*) from tasks'
    SQL='\\dt' python dev/psql.py            # the button passes its text field as $SQL

The statement reaches psql as one argument, never spliced into a shell line. Only local clusters
(minikube, kind-*, k3d-*, docker-desktop, ... or --allow-context NAME): SQL can delete data.
Exit status: 0 when psql succeeded, 1 otherwise (psql's error is printed).
"""

from __future__ import annotations

import argparse
import os
import sys

from kubernetes import config

from taskpilot_dev.cluster import ClusterApi, ClusterError, add_cluster_arguments
from taskpilot_dev.rollouts import NAMESPACE, POSTGRES_POD

# $1 is the SQL; the pod's POSTGRES_* env names the role and database.
PSQL = 'psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "$1"'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run SQL with psql inside the PostgreSQL pod.")
    add_cluster_arguments(parser, NAMESPACE, timeout=60.0)
    parser.add_argument("--sql", default=os.environ.get("SQL") or r"\dt", help="default: $SQL, else %(default)s")
    args = parser.parse_args(argv)
    try:
        kube = ClusterApi.from_args(args, why="psql can change the database")
        output = kube.exec_in_pod(POSTGRES_POD, ["sh", "-c", PSQL, "psql", args.sql], timeout=args.timeout)
    except (ClusterError, config.ConfigException) as err:
        print(f"psql: {err}", file=sys.stderr)
        return 1
    print(output, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
