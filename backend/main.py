"""ASGI entry point: `uvicorn main:app` from backend/ (configuration from the environment only)."""

import sys

from app.core.config import ConfigError
from app.main import create_app

try:
    app = create_app()
except ConfigError as error:
    sys.exit(str(error))  # one clear line on stderr, exit code 1
