"""Cold start: `import main` must not pull in the heavy SDKs that most processes never use.

The MCP SDK loads on the first /mcp request (app/mcp/lazy.py) and the OpenAI client on the first
model call; dev/bench/image_bench.py measures what this buys.
"""

from __future__ import annotations

import os
import subprocess
import sys

from taskpilot_dev import harness

PROBE = "import sys, main; print(sorted(name for name in ('mcp', 'openai') if name in sys.modules))"


def test_importing_the_app_loads_neither_mcp_nor_openai() -> None:
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "JWT_SECRET": harness.TEST_JWT_SECRET,
        "APP_ENV": "dev",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=harness.BACKEND_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
