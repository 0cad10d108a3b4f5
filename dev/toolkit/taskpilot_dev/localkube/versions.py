"""The pinned component versions, read from dev/kube/components.conf (the one manifest)."""

from __future__ import annotations

from ..paths import REPO_ROOT

MANIFEST = REPO_ROOT / "dev" / "kube" / "components.conf"


def versions() -> dict[str, str]:
    pinned = {}
    for line in MANIFEST.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = line.split("=", 1)
            pinned[key.strip()] = value.strip()
    return pinned
