"""Where things are in the repository. The package is installed in editable mode from dev/toolkit,
so its own location anchors the checkout."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
BACKEND_DIR = REPO_ROOT / "backend"
FRONTEND_DIR = REPO_ROOT / "frontend"
CHART_DIR = REPO_ROOT / "helm" / "taskpilot-ai"
CACHE_DIR = REPO_ROOT / ".cache"

if not (BACKEND_DIR / "main.py").exists():  # a copied (non-editable) install would point elsewhere
    raise ImportError(
        f"taskpilot_dev expects the repository around it, but {BACKEND_DIR} has no main.py; "
        "install it with `pip install -e dev/toolkit` from the repository root"
    )
