"""Markdown for docs/security.md ("Mutation testing") from dev/bench/results/mutation.json: the score per
module before and after, and every equivalent mutant with its reason.

Usage: .venv/bin/python dev/mutation/report.py
"""

from __future__ import annotations

import json
from pathlib import Path

from mutate import SQL_CASE_REASON  # next to this script

RESULTS_FILE = Path(__file__).resolve().parents[2] / "dev" / "bench" / "results" / "mutation.json"


def percent(value: object) -> str:
    return "-" if value is None else f"{float(str(value)) * 100:.1f} %"


def changed_lines(diff: str) -> str:
    lines = diff.splitlines()
    before = [line[1:].strip() for line in lines if line.startswith("-") and not line.startswith("---")]
    after = [line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")]
    return f"`{' / '.join(before)}` → `{' / '.join(after)}`" if before or after else ""


def main() -> None:
    results = json.loads(RESULTS_FILE.read_text())
    before, after = results.get("baseline", {}).get("modules", {}), results["current"]["modules"]
    print("| module | mutants | before: killed | after: killed | timeout | equivalent | survived | score | of all |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, row in after.items():
        old = before.get(name, {})
        print(
            f"| `{row['module'].removeprefix('backend/app/')}` ({name}) | {row['mutants']} | "
            f"{old.get('killed', '-')} ({percent(old.get('score_all'))}) | {row['killed']} | {row['timeout']} | "
            f"{row['equivalent']} | {row['survived'] + row['no_tests']} | {percent(row['score'])} | "
            f"{percent(row['score_all'])} |"
        )
    total, old_total = results["current"]["total"], results.get("baseline", {}).get("total", {})
    print(
        f"| total | {total['mutants']} | {old_total.get('killed', '-')} ({percent(old_total.get('score_all'))}) | "
        f"{total['killed']} | {total['timeout']} | {total['equivalent']} | {total['survived'] + total['no_tests']} | "
        f"{percent(total['score'])} | {percent(total['score_all'])} |"
    )
    print()
    for row in after.values():
        module = row["module"].removeprefix("backend/")
        sql_case = [e["mutant"].rsplit(".", 1)[1] for e in row["equivalent_mutants"] if e["reason"] == SQL_CASE_REASON]
        if sql_case:
            print(f"- `{module}`, {len(sql_case)} mutants: {SQL_CASE_REASON} ({', '.join(sql_case)})")
        for entry in row["equivalent_mutants"]:
            if entry["reason"] != SQL_CASE_REASON:
                change = changed_lines(entry.get("diff", ""))
                print(f"- `{module}` {entry['mutant'].rsplit('.', 1)[1]}: {change}: {entry['reason']}")
        for entry in row["survivors"]:
            change = changed_lines(entry["diff"])
            print(f"- `{module}` {entry['mutant'].rsplit('.', 1)[1]}, NOT KILLED ({entry['status']}): {change}")


if __name__ == "__main__":
    main()
