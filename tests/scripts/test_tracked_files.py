"""What is committed stays coherent: no file holds an unresolved merge, and every figure in a benchmark
table of the README or docs/ is one that a results file in dev/bench/results/ contains.

A benchmark table is a Markdown table introduced by text naming a benchmark (`dev/bench/<name>.py|.mjs`
or `dev/bench/results/<name>.json`), or one with a `result` / `measured` column whose rows name one.
Its figures are the numbers in that column (or, without one, in every column but the first) of each
row that names a benchmark, or of every row when the text above names it. Each figure must equal, at
the precision written, a number in those benchmarks' results files (as is, or as a percentage of a
fraction). Text in backticks and link targets are not figures.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from taskpilot_dev.paths import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "dev" / "bench" / "results"
MARKDOWN = ["README.md", *sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "docs").glob("*.md"))]
BENCHMARK_NAME = re.compile(r"dev/bench/(?:results/)?(\w+)\.(?:py|mjs|json)\b")
# Built, not written out: this file must not hold the markers it looks for.
CONFLICT_MARKER = re.compile("^(?:" + "|".join(re.escape(c * 7) for c in "<|>") + ")(?: |$)", re.MULTILINE)
FIGURE = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w.])")


def tracked_files() -> list[Path]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    return [REPO_ROOT / name for name in listing.decode().split("\0") if name]


def conflicted(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
        return False  # binary, a submodule, or deleted in the working tree
    return CONFLICT_MARKER.search(text) is not None


def test_no_tracked_file_holds_merge_conflict_markers():
    files = tracked_files()
    assert len(files) > 100, "git ls-files listed too little: not a checkout?"
    assert [str(p.relative_to(REPO_ROOT)) for p in files if conflicted(p)] == []


def test_the_conflict_check_sees_a_conflict(tmp_path):
    ours, theirs = "<" * 7 + " HEAD", ">" * 7 + " main"
    (tmp_path / "merged.md").write_text(f"a\n{ours}\nb\n{'=' * 7}\nc\n{theirs}\n")
    (tmp_path / "clean.md").write_text(f"Title\n{'=' * 7}\n\nsee `{'<' * 7}` in the text\n")
    assert conflicted(tmp_path / "merged.md") and not conflicted(tmp_path / "clean.md")


def result_numbers(name: str) -> list[float]:
    """Every number in dev/bench/results/<name>.json: values, list items and numeric keys."""
    found: list[float] = []

    def walk(node: object) -> None:
        if isinstance(node, bool):
            return
        if isinstance(node, int | float):
            found.append(float(node))
        elif isinstance(node, dict):
            for key, value in node.items():
                if re.fullmatch(r"-?\d+(?:\.\d+)?", key):
                    found.append(float(key))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads((RESULTS_DIR / f"{name}.json").read_text()))
    return found


def backed(figure: str, numbers: list[float]) -> bool:
    value = float(figure)
    decimals = len(figure.split(".")[1]) if "." in figure else 0
    half_step = 0.5 * 10**-decimals + 1e-9
    return any(abs(n - value) <= half_step or abs(n * 100 - value) <= half_step for n in numbers)


def figures(cell: str) -> list[str]:
    cell = re.sub(r"`[^`]*`", " ", cell)  # code: paths, commands, image names
    cell = re.sub(r"\]\([^)]*\)", "]", cell)  # link targets
    cell = re.sub(r"(?<![\w.])(\d{1,3})[\u00a0\u202f ](\d{3})(?![\w.])", r"\1\2", cell)  # 18 877 -> 18877
    return FIGURE.findall(cell.replace("*", ""))


def benchmark_tables(text: str) -> list[tuple[int, list[str], list[list[str]], str]]:
    """(line number, header cells, row cells, the text above it since the last heading or table)."""
    tables, above, lines = [], [], text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("|") and index + 1 < len(lines) and re.match(r"^\|[-:| ]+\|$", lines[index + 1]):
            start, header = index, _cells(line)
            index += 2
            rows = []
            while index < len(lines) and lines[index].startswith("|"):
                rows.append(_cells(lines[index]))
                index += 1
            tables.append((start + 1, header, rows, "\n".join(above)))
            above = []
            continue
        above = [] if line.startswith("#") else [*above, line]
        index += 1
    return tables


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def unbacked_figures(text: str) -> list[str]:
    problems = []
    for line, header, rows, above in benchmark_tables(text):
        named_above = BENCHMARK_NAME.findall(above)
        columns = [i for i, name in enumerate(header) if name.lower() in ("result", "measured")]
        if not columns and not named_above:
            continue  # e.g. a table of protections that only links to a benchmark
        columns = columns or list(range(1, len(header)))
        for row in rows:
            names = BENCHMARK_NAME.findall(" ".join(row)) or named_above
            if not names:
                continue
            files = sorted({n for n in names if (RESULTS_DIR / f"{n}.json").exists()})
            if not files:
                problems.append(f"line {line}: {row[0]!r} names {sorted(set(names))}, none has a results file")
                continue
            numbers = [n for name in files for n in result_numbers(name)]
            for column in columns:
                for figure in figures(row[column] if column < len(row) else ""):
                    if not backed(figure, numbers):
                        problems.append(f"table at line {line}, row {row[0]!r}: {figure} is in none of {files}")
    return problems


@pytest.mark.parametrize("document", MARKDOWN)
def test_benchmark_figures_come_from_results_files(document):
    assert unbacked_figures((REPO_ROOT / document).read_text()) == []


def test_the_figure_check_rejects_a_figure_without_results():
    table = (
        "| benchmark | script | result |\n|---|---|---|\n"
        "| real-time | `dev/bench/realtime_bench.py` | p50 15 ms, p95 {} ms (load ≈ 9) |\n"
    )
    assert unbacked_figures(table.format("49")) == []
    assert unbacked_figures(table.format("133")) == [
        "table at line 1, row 'real-time': 133 is in none of ['realtime_bench']"
    ]
    missing = "| benchmark | script | result |\n|---|---|---|\n| x | `dev/bench/nothing_bench.py` | 1 s |\n"
    assert "none has a results file" in unbacked_figures(missing)[0]
