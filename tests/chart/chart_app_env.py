"""Which environment variables each app reads, taken from the source (the chart must match both ways)."""

from __future__ import annotations

import ast
import re

from taskpilot_dev.paths import REPO_ROOT

BACKEND_CONFIG = REPO_ROOT / "backend" / "app" / "core" / "config.py"
FRONTEND_SRC = REPO_ROOT / "frontend" / "src"

# Read by the backend but deliberately not set by the chart: DATABASE_URL overrides the DB_* parts
# (tests, external databases); in the cluster the DB_* parts are the single source.
BACKEND_READ_NOT_PROVIDED = {"DATABASE_URL"}
# Read by Next.js's generated standalone server.js (not by our source): where to listen.
FRONTEND_READ_BY_NEXT_SERVER = {"PORT", "HOSTNAME"}
# Set by Node/Next themselves, never by a deployment.
FRONTEND_FRAMEWORK_ENV = {"NODE_ENV", "NEXT_RUNTIME", "NEXT_PHASE"}

_ENV_ACCESS = re.compile(r"""\benv\??\.([A-Z][A-Z0-9_]*)\b|\benv\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]""")


def backend_env_names() -> set[str]:
    """Field names of app.core.config.Settings, upper-cased (pydantic-settings, case-insensitive)."""
    tree = ast.parse(BACKEND_CONFIG.read_text())
    settings = next(node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == "Settings")
    prefix = ""
    for node in settings.body:  # honour an env_prefix if one is ever added
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "model_config" for t in node.targets):
            for kw in getattr(node.value, "keywords", []):
                if kw.arg == "env_prefix" and isinstance(kw.value, ast.Constant):
                    prefix = kw.value.value
    return {
        (prefix + node.target.id).upper()
        for node in settings.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id != "model_config"
    }


def frontend_env_names() -> set[str]:
    """Variables frontend/src reads (`process.env.X`, `env.X`, `env["X"]`), minus tests and framework ones."""
    files = [
        p
        for p in FRONTEND_SRC.rglob("*")
        if p.suffix in {".ts", ".tsx", ".js", ".mjs"}
        and not re.search(r"\.(test|spec)\.", p.name)
        and "__tests__" not in p.parts
    ]
    found: set[str] = set()
    for path in files:
        for match in _ENV_ACCESS.finditer(path.read_text(errors="replace")):
            found.add(match.group(1) or match.group(2))
    found -= FRONTEND_FRAMEWORK_ENV
    assert found, f"no environment reads found under {FRONTEND_SRC}: the scan pattern no longer matches the source"
    return found | FRONTEND_READ_BY_NEXT_SERVER
