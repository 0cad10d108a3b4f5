"""JSON logs to stdout: one line per request (see RequestMiddleware) plus application events."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

import orjson

REQUEST_LOGGER = "taskpilot.request"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # e.g. a lone surrogate echoed from client input: the slower encoder copes
            return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    # Every request logs a line: skip the per-record thread/process lookups our JSON never prints.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    app_logger = logging.getLogger("taskpilot")
    app_logger.handlers[:] = [handler]
    app_logger.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    app_logger.propagate = False
    # Our request line replaces uvicorn's access log, so each request logs exactly once.
    logging.getLogger("uvicorn.access").disabled = True
