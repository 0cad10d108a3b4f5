#!/usr/bin/env python3
"""API benchmark (not a test): our hot routes against the stack's own limit, side by side in one run.

Three references, all served by one uvicorn process with the same flags (uvloop + httptools,
no access log) against the same PostgreSQL, 50 concurrent keep-alive clients:
  bare         GET /bare on a bare FastAPI app: the framework's ceiling
  raw_list     GET /raw/tasks in dev/bench/raw_twin_app.py: psycopg pool (same size as ours), prepared
               SELECT of the same 50 rows, PyJWT decode, orjson - the same work with nothing in between
  raw_create   POST /raw/tasks there: INSERT ... RETURNING + pg_notify in one transaction
and ours:
  list_tasks   GET /api/tasks (50 tasks)           ratio = req/s / raw_list's, p95 / raw_list's p95
  create_task  POST /api/tasks                     ratio = req/s / raw_create's
  list_tasks_unrevocable  GET /api/tasks with the per-request token-version check switched off
               (a dependency override in a bench-only launcher): the price of revocation
A round measures every scenario for --seconds in short alternating slices (--slice, the order rotating),
so load from other work on a shared machine falls on all scenarios alike; rounds repeat (--repeats,
default 3) and the report gives the median, with the load average before and after each round.
--profile DIR samples the servers with py-spy in a separate, unmeasured pass (ours and the raw twin, list
and create) and writes collapsed stacks plus a summary per scenario.
Targets: list >= 0.85 of raw_list and p95 <= 1.2x raw_list's; create >= 0.85 of raw_create;
revocation check costs <= 5 % of list throughput.

Usage: .venv/bin/python dev/bench/api_bench.py [--seconds 5] [--repeats 3] [--concurrency 50]
Uses TEST_DATABASE_URL when set, otherwise starts a throwaway PostgreSQL (taskpilot_dev.postgres).
Results: dev/bench/results/api_bench.json (and the table on stdout).
Traffic goes to 127.0.0.1 only; every scenario is bounded by --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from taskpilot_dev import harness
from taskpilot_dev.api import TaskApi
from taskpilot_dev.loadgen import Connection, build_request

HERE = Path(__file__).resolve().parent

RESULTS_FILE = HERE / "results" / "api_bench.json"
TARGET_RATIO = 0.85
TARGET_P95_FACTOR = 1.2
TARGET_REVOCATION_COST = 0.05
POOL_SIZE = 20  # the backend's default DB_POOL_SIZE; the raw twin gets the same
# Keep-alive 60 s (uvicorn's default is 5): each scenario's connections idle while the others take their slice.
UVICORN_FLAGS = ["--no-access-log", "--timeout-keep-alive", "60", "--timeout-graceful-shutdown", "5"]
BARE_APP = textwrap.dedent(
    """
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/bare")
    async def bare() -> dict[str, str]:
        return {"status": "ok"}
    """
)
# Our app with the token-version lookup replaced by "always current" (the bench users never log
# out, so their tokens carry version 0): the difference to list_tasks is what revocation costs.
UNREVOCABLE_APP = textwrap.dedent(
    """
    from app.main import create_app


    class AlwaysCurrent:
        async def current(self, user_id: int) -> int:
            return 0


    app = create_app()
    app.services.authenticator.versions = AlwaysCurrent()
    """
)


class Target:
    """One scenario: a server, the request to repeat, the status it must answer, and what was measured."""

    def __init__(self, port: int, raw_request: bytes, expected_status: int) -> None:
        self.port, self.raw_request, self.expected_status = port, raw_request, expected_status
        self.connections: list[Connection] = []
        self.latencies: list[float] = []
        self.unexpected: dict[int, int] = {}
        self.elapsed = 0.0

    async def run(self, seconds: float, *, measure: bool) -> None:
        """Every connection sends requests back to back until `seconds` have passed."""
        stop_at = time.perf_counter() + seconds

        async def client(connection: Connection) -> None:
            while (started := time.perf_counter()) < stop_at:
                status = await connection.request(self.raw_request)
                if measure:
                    self.latencies.append(time.perf_counter() - started)
                    if status != self.expected_status:
                        self.unexpected[status] = self.unexpected.get(status, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(client(c) for c in self.connections))
        if measure:
            self.elapsed += time.perf_counter() - began

    def summary(self) -> dict:
        latencies = sorted(self.latencies)
        quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
        return {
            "requests": len(latencies),
            "seconds": round(self.elapsed, 3),
            "req_per_s": round(len(latencies) / self.elapsed, 1),
            "p50_ms": round(quantiles[49] * 1000, 2),
            "p95_ms": round(quantiles[94] * 1000, 2),
            "p99_ms": round(quantiles[98] * 1000, 2),
            "max_ms": round(latencies[-1] * 1000, 2),
            "unexpected_statuses": self.unexpected,
        }


async def run_round(
    targets: dict[str, Target], concurrency: int, seconds: float, warmup_seconds: float, slice_seconds: float
) -> dict[str, dict]:
    """Measure every target for `seconds` in total, in short alternating slices (the order rotates each
    slice), so that load from other work on a shared machine falls on all of them alike."""
    for target in targets.values():
        target.connections = [await Connection.open(target.port) for _ in range(concurrency)]
        target.latencies, target.unexpected, target.elapsed = [], {}, 0.0
        await target.run(warmup_seconds, measure=False)
    order = list(targets.values())
    for number in range(max(1, round(seconds / slice_seconds))):
        shift = number % len(order)
        for target in order[shift:] + order[:shift]:
            await target.run(slice_seconds, measure=True)
    for target in targets.values():
        for connection in target.connections:
            connection.close()
    return {name: target.summary() for name, target in targets.items()}


# ---------------------------------------------------------------- servers
@contextmanager
def uvicorn_server(module: str, cwd: Path, env: dict[str, str], ready_path: str) -> int:
    """`python -m uvicorn <module>:app` with the flags every scenario shares; yields its port."""
    port = harness.free_port()
    environment = {**os.environ, "PYTHONPATH": str(harness.BACKEND_DIR), **env}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                f"{module}:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *UVICORN_FLAGS,
            ],
            cwd=cwd,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(f"http://127.0.0.1:{port}{ready_path}", process, log)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for(url: str, process: subprocess.Popen, log, timeout: float = 60.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(
                f"server exited with {process.returncode}:\n{log.read().decode(errors='replace')[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310  # the server this bench started
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


# ---------------------------------------------------------------- main
def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _median_scenario(runs: list[dict]) -> dict:
    """Median of each figure over the rounds (each figure separately)."""
    keys = ("req_per_s", "p50_ms", "p95_ms", "p99_ms")
    return {key: round(statistics.median(run[key] for run in runs), 2) for key in keys}


def main() -> int:
    parser = argparse.ArgumentParser(description="TaskPilot API benchmark")
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per scenario and round")
    parser.add_argument("--slice", type=float, default=0.5, help="seconds of one alternating slice")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds per scenario and round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of every scenario; the report is the median")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--output", type=Path, default=RESULTS_FILE)
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="first sample list/create (ours and raw) with py-spy in an unmeasured pass; "
        "collapsed stacks + summaries go to DIR",
    )
    args = parser.parse_args()

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    rounds: list[dict] = []
    workdir = Path(tempfile.mkdtemp(prefix="taskpilot-api-bench-"))
    (workdir / "bare_app.py").write_text(BARE_APP)
    (workdir / "unrevocable_app.py").write_text(UNREVOCABLE_APP)
    shutil.copy(HERE / "raw_twin_app.py", workdir / "raw_twin_app.py")
    server_env = {
        "DATABASE_URL": "",
        "JWT_SECRET": harness.PROD_JWT_SECRET,
        "APP_ENV": "prod",
        "LOG_LEVEL": "INFO",
        "DB_POOL_SIZE": str(POOL_SIZE),
        "POOL_SIZE": str(POOL_SIZE),
        "OPENAI_API_KEY": "",
        "PYTHONUNBUFFERED": "1",
    }
    try:
        with harness.migrated_database() as (_, database_url):
            server_env["DATABASE_URL"] = database_url
            with (
                uvicorn_server("bare_app", workdir, server_env, "/bare") as bare_port,
                uvicorn_server("main", harness.BACKEND_DIR, server_env, "/health") as ours_port,
                uvicorn_server("unrevocable_app", workdir, server_env, "/health") as unrevocable_port,
                uvicorn_server("raw_twin_app", workdir, server_env, "/docs") as raw_port,
            ):
                with TaskApi(f"http://127.0.0.1:{ours_port}") as reader:
                    auth = reader.signup("reader@example.com", "bench-password").headers
                    for number in range(50):
                        reader.create_task(f"task {number}", "benchmark task")
                    ours_rows = reader.list_tasks()
                with TaskApi(f"http://127.0.0.1:{raw_port}") as raw_client:
                    raw_rows = raw_client.request("GET", "/raw/tasks", headers=auth).json()
                if ours_rows != raw_rows:
                    raise RuntimeError("raw twin and /api/tasks returned different rows: not comparing like with like")
                with TaskApi(f"http://127.0.0.1:{ours_port}") as writer:
                    write_auth = writer.signup("writer@example.com", "bench-password").headers
                body = json.dumps({"title": "benchmark write", "description": "created under load"}).encode()
                scenarios = {
                    "bare": (bare_port, build_request("GET", "/bare", {}), 200),
                    "raw_list": (raw_port, build_request("GET", "/raw/tasks", auth), 200),
                    "list_tasks": (ours_port, build_request("GET", "/api/tasks", auth), 200),
                    "list_tasks_unrevocable": (unrevocable_port, build_request("GET", "/api/tasks", auth), 200),
                    "raw_create": (raw_port, build_request("POST", "/raw/tasks", write_auth, body), 201),
                    "create_task": (ours_port, build_request("POST", "/api/tasks", write_auth, body), 201),
                }
                if args.profile:  # its own pass: sampling slows the sampled server, so never in a measured round
                    for name in ("raw_list", "list_tasks", "raw_create", "create_task"):
                        sampler = _start_profile(args.profile, name, scenarios[name][0], args.seconds)
                        asyncio.run(
                            run_round(
                                {name: Target(*scenarios[name])}, args.concurrency, args.seconds, 0.0, args.seconds
                            )
                        )
                        _finish_profile(sampler, args.profile, name)
                for number in range(args.repeats):
                    result = {"load_average_before": _load_average()}
                    targets = {name: Target(*scenario) for name, scenario in scenarios.items()}
                    result["scenarios"] = asyncio.run(
                        run_round(targets, args.concurrency, args.seconds, args.warmup, args.slice)
                    )
                    for name, figures in result["scenarios"].items():
                        print(f"round {number + 1} {name:24} {figures}", flush=True)
                    result["load_average_after"] = _load_average()
                    result["ratios"] = _ratios(result["scenarios"])
                    rounds.append(result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    names = list(rounds[0]["scenarios"])
    median = {name: _median_scenario([r["scenarios"][name] for r in rounds]) for name in names}
    ratios = {key: round(statistics.median(r["ratios"][key] for r in rounds), 3) for key in rounds[0]["ratios"]}
    unexpected = {
        name: r["scenarios"][name]["unexpected_statuses"]
        for r in rounds
        for name in names
        if r["scenarios"][name]["unexpected_statuses"]
    }
    verdicts = {
        "list_throughput": ratios["list_vs_raw"] >= TARGET_RATIO,
        "list_p95": ratios["list_p95_vs_raw"] <= TARGET_P95_FACTOR,
        "create_throughput": ratios["create_vs_raw"] >= TARGET_RATIO,
        "revocation_cost": ratios["revocation_cost"] <= TARGET_REVOCATION_COST,
        "no_unexpected_statuses": not unexpected,
    }
    report = {
        "benchmark": "api_bench",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            "concurrency": args.concurrency,
            "seconds": args.seconds,
            "warmup_seconds": args.warmup,
            "repeats": args.repeats,
            "slice_seconds": args.slice,
            "pool_size": POOL_SIZE,
            "server": "python -m uvicorn <app> " + " ".join(UVICORN_FLAGS) + " (1 process, uvloop, httptools), "
            "APP_ENV=prod, LOG_LEVEL=INFO",
        },
        "targets": {
            "ratio_to_raw": TARGET_RATIO,
            "list_p95_factor": TARGET_P95_FACTOR,
            "revocation_cost": TARGET_REVOCATION_COST,
        },
        "median": {"scenarios": median, "ratios": ratios},
        "verdicts": verdicts,
        "unexpected_statuses": unexpected,
        "rounds": rounds,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten {args.output}\n")
    print(render_table(report))
    return 0


def _pid_listening_on(port: int) -> int:
    """The pid of the uvicorn process serving port (py-spy attaches to it)."""
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return int(out.split("pid=")[1].split(",")[0])


def _start_profile(directory: Path, name: str, port: int, seconds: float) -> subprocess.Popen:
    directory.mkdir(parents=True, exist_ok=True)
    time.sleep(0.5)  # let the previous sampler detach
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(_pid_listening_on(port)),
            "--rate",
            "250",
            "--format",
            "raw",
            "--duration",
            str(int(seconds)),
            "--nonblocking",
            "-o",
            str(directory / f"{name}.collapsed"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _finish_profile(sampler: subprocess.Popen, directory: Path, name: str) -> None:
    sampler.wait(timeout=60)
    summary = summarize_profile(directory / f"{name}.collapsed")
    (directory / f"{name}.summary.txt").write_text(summary)
    print(f"profile {name}:\n{summary}", flush=True)


PROFILE_GROUPS = (  # (label, start of the leaf frame's module path as py-spy prints it), first match wins
    ("psycopg: driver + socket I/O", ("psycopg",)),
    ("uvicorn: HTTP parsing + socket writes", ("uvicorn/", "httptools")),
    ("our code (backend/app)", ("app/",)),
    ("fastapi: routing + dependency injection", ("fastapi/",)),
    ("starlette", ("starlette/",)),
    ("pydantic", ("pydantic",)),
    ("PyJWT", ("jwt/",)),
    ("logging", ("logging/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("json", ("json/", "orjson")),
    ("asyncio", ("asyncio/", "contextlib")),
)


def summarize_profile(path: Path, top: int = 20) -> str:
    """Self time by group (where the CPU went) and the top functions by self time."""
    by_group: dict[str, int] = {}
    by_function: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        leaf = stack.split(";")[-1]
        function, _, location = leaf.partition(" (")
        file_path = location.split(":")[0]
        group = next(
            (label for label, prefixes in PROFILE_GROUPS if file_path.startswith(prefixes)),
            "idle (waiting for I/O)" if not function.strip() else "other",
        )
        by_group[group] = by_group.get(group, 0) + count
        short = "/".join(file_path.split("/")[-2:])
        by_function[f"{function} ({short})"] = by_function.get(f"{function} ({short})", 0) + count
    lines = [f"{total} samples; self time by group:"]
    lines += [
        f"  {count / total * 100:5.1f}%  {label}" for label, count in sorted(by_group.items(), key=lambda i: -i[1])
    ]
    lines.append("top functions by self time:")
    lines += [
        f"  {count / total * 100:5.1f}%  {key}" for key, count in sorted(by_function.items(), key=lambda i: -i[1])[:top]
    ]
    return "\n".join(lines) + "\n"


def _ratios(scenarios: dict) -> dict:
    return {
        "list_vs_raw": round(scenarios["list_tasks"]["req_per_s"] / scenarios["raw_list"]["req_per_s"], 3),
        "list_p95_vs_raw": round(scenarios["list_tasks"]["p95_ms"] / scenarios["raw_list"]["p95_ms"], 3),
        "create_vs_raw": round(scenarios["create_task"]["req_per_s"] / scenarios["raw_create"]["req_per_s"], 3),
        "list_vs_bare": round(scenarios["list_tasks"]["req_per_s"] / scenarios["bare"]["req_per_s"], 3),
        # Share of list throughput the token-version check costs (negative = within noise, faster).
        "revocation_cost": round(
            1 - scenarios["list_tasks"]["req_per_s"] / scenarios["list_tasks_unrevocable"]["req_per_s"], 3
        ),
    }


def render_table(report: dict) -> str:
    """The Markdown table the README shows (median of the rounds)."""
    median, ratios = report["median"]["scenarios"], report["median"]["ratios"]
    reference = {
        "list_tasks": ("raw_list", ratios["list_vs_raw"]),
        "create_task": ("raw_create", ratios["create_vs_raw"]),
        "list_tasks_unrevocable": ("list_tasks", None),
    }
    lines = ["| route | req/s | p50 ms | p95 ms | p99 ms | ratio to its raw twin |", "|---|---|---|---|---|---|"]
    for name, figures in median.items():
        ratio = ""
        if name in reference and reference[name][1] is not None:
            ratio = f"{reference[name][1]:.2f} of {reference[name][0]}"
        lines.append(
            f"| {name} | {figures['req_per_s']:.0f} | {figures['p50_ms']:.1f} | {figures['p95_ms']:.1f} | "
            f"{figures['p99_ms']:.1f} | {ratio} |"
        )
    lines.append(
        f"\nlist p95 / raw p95 = {ratios['list_p95_vs_raw']:.2f}; revocation check costs "
        f"{ratios['revocation_cost'] * 100:.1f} % of list throughput; list / bare = {ratios['list_vs_bare']:.2f}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
