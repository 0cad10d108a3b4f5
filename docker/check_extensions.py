"""Import every compiled extension module in a venv's site-packages.

Used by docker/Dockerfile.backend around stripping debug symbols:
  check_extensions.py record FILE   -> write the modules that import now
  check_extensions.py verify FILE   -> fail if any of them no longer imports
"""

from __future__ import annotations

import importlib
import sys
import sysconfig
from pathlib import Path


def extension_modules(site: Path) -> list[str]:
    names = []
    for so in site.rglob("*.so"):
        rel = so.relative_to(site)
        if any(part.endswith((".libs", ".dist-info")) for part in rel.parts):
            continue  # bundled shared libraries, not importable modules
        names.append(".".join((*rel.parts[:-1], rel.name.split(".", 1)[0])))
    return sorted(names)


def importable(names: list[str]) -> set[str]:
    ok = set()
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112  # any failure means "not importable", which is the answer
            continue
        ok.add(name)
    return ok


def main(mode: str, path: str) -> int:
    site = Path(sysconfig.get_paths()["purelib"])
    found = importable(extension_modules(site))
    if mode == "record":
        Path(path).write_text("\n".join(sorted(found)))
        print(f"{len(found)} extension modules import")
        return 0
    expected = set(filter(None, Path(path).read_text().split("\n")))
    broken = sorted(expected - found)
    if broken:
        print("extension modules broken by stripping:", ", ".join(broken), file=sys.stderr)
        return 1
    print(f"all {len(expected)} extension modules still import")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
