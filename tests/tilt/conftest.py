"""Tiltfile tests: the model modules live next to the tests; dev/ helpers import as top-level."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for path in (HERE, REPO / "dev"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
