"""Mutation testing of the modules that enforce security, each against the tests that cover it.

For every row of TARGETS: a scratch copy of backend/ (app, tests, alembic) in its own directory, a
mutmut config naming the one module to mutate and the test files to select from, then `mutmut run`.
mutmut first runs those tests once and records which test reaches which function; each mutant then
runs only the tests that reach its function (forked, `-x`), so a module costs roughly its mutants
times the seconds of one covering test plus a fresh migrated database. Mutated code only runs in
process: tests that start a server process (harness.backend_server) run the real backend/ and kill
nothing here, so each row lists tests that drive the app through ASGI or call it directly.

Usage (from the repository root, through dev/mutation/run.sh, which brings PostgreSQL and mutmut):
  dev/mutation/run.sh                       every target; the results become `current`
  dev/mutation/run.sh --only csrf,hashing   some targets (merged into `current`)
  dev/mutation/run.sh --baseline            record the run as `baseline` instead (the score before
                                            tests were added for it)
Results: dev/bench/results/mutation.json (per module: mutants, killed, survived, timeout, no_tests,
score, seconds, every survivor's diff; totals; date; mutmut version; wall time).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from equivalent import EQUIVALENT  # next to this script

REPO_ROOT = Path(__file__).resolve().parents[2]
BACKEND_DIR = REPO_ROOT / "backend"
RESULTS_FILE = REPO_ROOT / "dev" / "bench" / "results" / "mutation.json"
TARGET_SCORE = 0.90
# Per mutant: mutmut kills a worker after (seconds its tests took + CONSTANT) x MULTIPLIER of wall time.
# The constant covers what the recorded durations leave out: a fresh database, migrations, app startup.
TIMEOUT_CONSTANT_SECONDS = 5.0
TIMEOUT_MULTIPLIER = 4.0


@dataclass(frozen=True)
class Target:
    name: str
    module: str  # path under backend/
    tests: tuple[str, ...]  # test files (or node ids) under backend/
    functions: tuple[str, ...] = ()  # only these functions ("Class.method" or "function"); empty: all


# The one table: which module enforces what, and the tests that exercise it.
TARGETS = (
    Target("csrf", "app/core/csrf.py", ("tests/test_csrf_mutants.py", "tests/test_csrf.py")),
    Target("credentials", "app/core/credentials.py", ("tests/test_csrf_mutants.py", "tests/test_csrf.py")),
    Target("security", "app/core/security.py", ("tests/test_tokens_mutants.py", "tests/test_auth.py")),
    Target(
        "sessions",
        "app/services/sessions.py",
        (
            "tests/test_tokens_mutants.py",
            "tests/test_auth.py",
            "tests/test_events_bus.py::test_revocation_closes_only_older_streams_of_that_user",
        ),
    ),
    Target(
        "login_limits",
        "app/services/login_limits.py",
        ("tests/test_login_limits_mutants.py", "tests/test_login_limits.py"),
    ),
    Target(
        "device_cookies",
        "app/core/device_cookies.py",
        ("tests/test_login_limits_mutants.py", "tests/test_login_limits.py"),
    ),
    Target(
        "signup_limits", "app/services/signup_limits.py", ("tests/test_login_limits_mutants.py", "tests/test_auth.py")
    ),
    Target("hashing", "app/core/hashing.py", ("tests/test_hashing_mutants.py", "tests/test_login_limits.py")),
    Target(
        "readiness",
        "app/core/readiness.py",
        (
            "tests/test_readiness_mutants.py",
            "tests/test_health_and_errors.py",
            "tests/test_login_limits.py::test_readiness_does_not_need_a_request_pool_connection",
        ),
    ),
    Target(
        "turns", "app/services/assistant/turns.py", ("tests/test_turns_mutants.py", "tests/test_assistant_limits.py")
    ),
    Target(
        "secret_refusal",
        "app/core/config.py",
        ("tests/test_config_mutants.py", "tests/test_config.py"),
        functions=("Settings.trusted_proxy_networks", "Settings._database_password", "Settings.validate_for_startup"),
    ),
)

PYPROJECT = """\
[tool.mutmut]
source_paths = ["app"]
only_mutate = [{module}]
also_copy = ["alembic", "alembic.ini"]
pytest_add_cli_args_test_selection = [{tests}]
pytest_add_cli_args = ["-p", "no:cacheprovider"]
timeout_constant = {timeout_constant}
timeout_multiplier = {timeout_multiplier}

[tool.pytest.ini_options]
# As the repository's pytest.ini, for a copy where tests/ sits next to app/.
pythonpath = ["tests"]
addopts = "--import-mode=importlib"
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "session"
asyncio_default_test_loop_scope = "session"
markers = ["cluster", "tilt_cycle", "docker", "slow"]
"""
# A mutant that only changes the letter case of SQL text is the same statement: PostgreSQL folds
# unquoted keywords and identifiers. Only if quoted literals ('...') and bind parameters (:name), whose
# case matters, are untouched; such survivors are counted as equivalent, not as survivors.
SQL_CASE_REASON = "changes only the letter case of SQL keywords or unquoted identifiers, which PostgreSQL folds"
PYTHON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
SQL_WORD = re.compile(
    r"\b(?:select\b.*\bfrom|insert into|delete from|update \w+ set|on conflict|returning|values \(|case when"
    r"|then .* else|make_interval|extract\(epoch|= any\(|where \w+(?:\.\w+)? *(?:=|<|>))",
    re.I,
)
SQL_CASE_SENSITIVE = re.compile(r"'[^']*'|:\w+")
# mutmut's names: module.x_function__mutmut_N, module.xǁClassǁmethod__mutmut_N
CLASS_SEPARATOR = "\u01c1"


def only_sql_case_changed(diff: str) -> bool:
    lines = diff.splitlines()
    removed = [line[1:] for line in lines if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")]
    if len(removed) != 1 or len(added) != 1:
        return False
    before, after = PYTHON_STRING.findall(removed[0]), PYTHON_STRING.findall(added[0])
    changed = [(old, new) for old, new in zip(before, after, strict=False) if old != new]
    if len(before) != len(after) or len(changed) != 1:
        return False
    old, new = changed[0]
    # SQL: the literal itself, or a neighbouring line of the same multi-line statement, has an SQL keyword
    literals = [
        literal for line in lines if not line.startswith(("---", "+++")) for literal in PYTHON_STRING.findall(line)
    ]
    return (
        old.lower() == new.lower()
        and any(SQL_WORD.search(literal) for literal in literals)
        and SQL_CASE_SENSITIVE.findall(old) == SQL_CASE_SENSITIVE.findall(new)
    )


def mutant_patterns(target: Target) -> list[str]:
    module = target.module.removesuffix(".py").replace("/", ".")
    patterns = []
    for function in target.functions:
        owner, _, name = function.rpartition(".")
        mangled = f"x{CLASS_SEPARATOR}{owner}{CLASS_SEPARATOR}{name}" if owner else f"x_{name}"
        patterns.append(f"{module}.{mangled}__mutmut_*")
    return patterns


def prepare(target: Target, work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("app", "tests", "alembic"):
        shutil.copytree(BACKEND_DIR / name, work / name, ignore=ignore)
    shutil.copy2(BACKEND_DIR / "alembic.ini", work / "alembic.ini")
    missing = [test for test in target.tests if not (work / test.split("::")[0]).exists()]
    if missing:
        raise SystemExit(f"mutate.py: target {target.name}: no such test file {missing}")
    (work / "pyproject.toml").write_text(
        PYPROJECT.format(
            module=json.dumps(target.module),
            tests=", ".join(json.dumps(test) for test in target.tests),
            timeout_constant=TIMEOUT_CONSTANT_SECONDS,
            timeout_multiplier=TIMEOUT_MULTIPLIER,
        )
    )


def mutmut(work: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("mutmut")), *args]
    if log is None:
        return subprocess.run(command, cwd=work, capture_output=True, text=True)
    with log.open("w") as output:
        return subprocess.run(command, cwd=work, stdout=output, stderr=subprocess.STDOUT, text=True)


def classify(exit_code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    return str(status_by_exit_code[exit_code])


def run_target(target: Target, work: Path, children: int) -> dict[str, object]:
    prepare(target, work)
    started = time.monotonic()
    patterns = mutant_patterns(target)
    log = work / "mutmut-run.log"
    completed = mutmut(work, "run", "--max-children", str(children), *patterns, log=log)
    seconds = time.monotonic() - started
    meta = work / "mutants" / (target.module + ".meta")
    if completed.returncode != 0 or not meta.exists():
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"mutate.py: mutmut failed for {target.name} (exit {completed.returncode}):\n{tail}")
    exit_codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    if patterns:
        import fnmatch

        exit_codes = {k: v for k, v in exit_codes.items() if any(fnmatch.fnmatch(k, p) for p in patterns)}
    counts = {"killed": 0, "timeout": 0}
    survivors = []
    for name, exit_code in sorted(exit_codes.items()):
        status = classify(exit_code)
        if status in counts:
            counts[status] += 1
        else:  # survived, no tests, suspicious...: kept with its diff, to kill or to explain
            survivors.append({"mutant": name, "status": status, "diff": mutmut(work, "show", name).stdout.strip()})
    return scored(
        {
            "module": f"backend/{target.module}",
            "functions": list(target.functions) or "all",
            "tests": [f"backend/{test}" for test in target.tests],
            "mutants": len(exit_codes),
            **counts,
            "seconds": round(seconds, 1),
            "survivors": survivors,
        }
    )


def equivalence(survivor: dict[str, str]) -> str | None:
    """Why this surviving mutant behaves exactly like the original, or None."""
    if survivor["status"] != "survived":
        return None
    if survivor["mutant"] in EQUIVALENT:
        return EQUIVALENT[survivor["mutant"]]
    if only_sql_case_changed(survivor.get("diff", "")) or survivor.get("reason") == SQL_CASE_REASON:
        return SQL_CASE_REASON
    return None


LEGACY_AND_DERIVED = ("survivors", "equivalent_mutants", "equivalent_sql_case_mutants", "equivalent_sql_case", "other")


def scored(row: dict[str, object]) -> dict[str, object]:
    """Counts and scores from a row's raw figures; re-run on stored rows when the EQUIVALENT list changes.

    score: killed (or timed out) of the mutants that are not equivalent; score_all: of every mutant."""
    stored_equivalent = [{**entry, "status": "survived"} for entry in row.get("equivalent_mutants", [])]  # type: ignore[attr-defined]
    # rows written before equivalents were kept with their diffs: SQL case changes by name only
    stored_equivalent += [
        {"mutant": name, "status": "survived", "reason": SQL_CASE_REASON}
        for name in row.get("equivalent_sql_case_mutants", [])  # type: ignore[attr-defined]
    ]
    survivors = [*row["survivors"], *stored_equivalent]  # type: ignore[misc]
    equivalent = [
        {"mutant": s["mutant"], "reason": r, "diff": s.get("diff", "")} for s in survivors if (r := equivalence(s))
    ]
    named = {entry["mutant"] for entry in equivalent}
    remaining = [s for s in survivors if s["mutant"] not in named]
    mutants, detected = int(str(row["mutants"])), int(str(row["killed"])) + int(str(row["timeout"]))
    scored_mutants = mutants - len(equivalent)
    return {
        **{key: value for key, value in row.items() if key not in LEGACY_AND_DERIVED},
        "survived": sum(1 for s in remaining if s["status"] == "survived"),
        "no_tests": sum(1 for s in remaining if s["status"] == "no tests"),
        "equivalent": len(equivalent),
        "score": round(detected / scored_mutants, 4) if scored_mutants else None,
        "score_all": round(detected / mutants, 4) if mutants else None,
        "survivors": sorted(remaining, key=lambda s: s["mutant"]),
        "equivalent_mutants": equivalent,
    }


def rescore(results: dict[str, dict]) -> dict[str, dict]:
    for run in results.values():
        run["modules"] = {name: scored(row) for name, row in run["modules"].items()}
        run["total"] = totals(run["modules"])
    return results


def totals(modules: dict[str, dict[str, object]]) -> dict[str, object]:
    keys = ("mutants", "killed", "timeout", "survived", "no_tests", "equivalent")
    summed = {key: sum(int(str(module.get(key, 0))) for module in modules.values()) for key in keys}
    detected = summed["killed"] + summed["timeout"]
    scored_mutants = summed["mutants"] - summed["equivalent"]
    return {
        **summed,
        "score": round(detected / scored_mutants, 4) if scored_mutants else None,
        "score_all": round(detected / summed["mutants"], 4) if summed["mutants"] else None,
    }


COLUMNS = ("mutants", "killed", "timeout", "survived", "no_tests", "equivalent", "score", "score_all", "seconds")


def table_line(name: str, row: dict[str, object]) -> str:
    cells = []
    for column in COLUMNS:
        value = row.get(column, "")
        if column.startswith("score"):
            value = f"{float(str(value)):.1%}" if value is not None else "-"
        cells.append(f"{value!s:>{max(9, len(column) + 1)}}")
    return f"{name:<16}" + "".join(cells)


def print_table(modules: dict[str, dict[str, object]], title: str) -> None:
    print(f"\n{title}")
    print(f"{'module':<16}" + "".join(f"{column:>{max(9, len(column) + 1)}}" for column in COLUMNS))
    for name, row in modules.items():
        print(table_line(name, row))
    print(table_line("total", totals(modules)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma list of target names (default: all)")
    parser.add_argument("--baseline", action="store_true", help="store the run as `baseline`, not `current`")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2, help="mutants tested at once")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directories (mutmut browse there)")
    parser.add_argument("--rescore", action="store_true", help="only re-apply EQUIVALENT to the stored results")
    args = parser.parse_args(argv)
    if args.rescore:
        results = rescore(json.loads(RESULTS_FILE.read_text()))
        RESULTS_FILE.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        for key in ("baseline", "current"):
            if key in results:
                print_table(results[key]["modules"], key)
        return 0
    names = [name for name in (args.only or "").split(",") if name]
    unknown = sorted(set(names) - {target.name for target in TARGETS})
    if unknown:
        raise SystemExit(f"mutate.py: unknown target(s) {unknown}; targets: {[t.name for t in TARGETS]}")
    selected = [target for target in TARGETS if not names or target.name in names]

    from taskpilot_dev import harness
    from taskpilot_dev.postgres import start_postgres

    scratch = Path(tempfile.mkdtemp(prefix="taskpilot-mutation-"))
    started = time.monotonic()
    modules: dict[str, dict[str, object]] = {}
    # TEST_DATABASE_URL if set, else a throwaway server; the mutants' test sessions inherit the variable.
    admin_url, stop_postgres = start_postgres(scratch / "postgres")
    os.environ["TEST_DATABASE_URL"] = admin_url
    # Every mutant runs its tests in a new pytest session, which needs a database at head: a copy of this
    # one (CREATE DATABASE ... TEMPLATE) takes a fraction of a migration run.
    template_url = harness.create_database(admin_url)
    harness.migrate(template_url)
    os.environ["TEST_MIGRATED_TEMPLATE_DATABASE"] = template_url.rsplit("/", 1)[-1].split("?")[0]
    try:
        for target in selected:
            print(f"[mutation] {target.name}: {target.module} against {', '.join(target.tests)}", flush=True)
            modules[target.name] = run_target(target, scratch / target.name, args.children)
            print(table_line(f"[{target.name}]", modules[target.name]), flush=True)
    finally:
        harness.drop_database(admin_url, template_url)
        stop_postgres()
        if args.keep:
            print(f"[mutation] scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    wall = time.monotonic() - started

    results = json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.exists() else {}
    key = "baseline" if args.baseline else "current"
    previous = results.get(key, {}).get("modules", {}) if names else {}
    merged = {t.name: ({**previous, **modules})[t.name] for t in TARGETS if t.name in {**previous, **modules}}
    results[key] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": "mutmut",
        "tool_version": importlib.metadata.version("mutmut"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "children": args.children,
        "wall_seconds": round(wall, 1),
        "targets_run": [target.name for target in selected],
        "target_score": TARGET_SCORE,
        "modules": merged,
        "total": totals(merged),
    }
    results = rescore(results)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print_table(modules, f"this run ({key}, {wall:.0f} s wall, {args.children} at once):")
    print(f"\nresults: {RESULTS_FILE.relative_to(REPO_ROOT)} [{key}]")
    below = [name for name, row in modules.items() if row["score"] is None or float(str(row["score"])) < TARGET_SCORE]
    if below:
        print(f"below {TARGET_SCORE:.0%}: {', '.join(below)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
