"""Structured logs: one JSON object per line on stdout.

Each line carries ``time`` (ISO-8601, UTC), ``level``, ``logger``, ``message``, ``service``,
``request_id`` (while a request is being handled), the fields passed as
``logger.info("...", extra={"fields": {...}})`` and ``exception`` (the traceback) when there is
one. The HTTP middleware writes its own access log line per request, so run uvicorn with
``access_log=False``; its other records go through this handler.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the request being handled; set by the HTTP middleware."""

_RESERVED = frozenset({"time", "level", "logger", "message", "service", "request_id"})


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (no newlines inside)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid is not None:
            line["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                if str(key) not in _RESERVED:
                    line[str(key)] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class JsonHandler(logging.Handler):
    """Writes formatted records to the current ``sys.stdout`` (looked up on every record)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            stream = sys.stdout
            stream.write(text + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def configure_logging(level: str, service: str) -> None:
    """Send every log record (uvicorn's included) as a JSON line to stdout at ``level``.

    Calling it again replaces the handler it installed before; it never adds a second one."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, JsonHandler):
            root.removeHandler(handler)
    handler = JsonHandler()
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's own handlers go; "uvicorn.access" is left as uvicorn's access_log set it.
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True


def get_logger(name: str) -> logging.Logger:
    """The logger ``name``; its records go through the JSON handler once logging is set up."""
    return logging.getLogger(name)
