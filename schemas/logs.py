"""Structured logs: one JSON object per line, carrying Envoy's x-request-id where a request is involved.

Every component logs through the standard `logging` module; `configure()` installs the formatter.
A handler that serves a request sets REQUEST_ID (a context variable, so concurrent requests on one
event loop keep theirs apart); fields of a line's own go in `extra={"fields": {...}}`. Nothing here
knows what a secret is: callers never pass credentials, headers or bodies.
"""
import contextvars
import json
import logging
import os
import sys
import time

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# Libraries that log at INFO about things operators do not act on.
QUIET = ("asyncio", "aiohttp.access", "alembic.runtime.migration", "grpc")


class JsonFormatter(logging.Formatter):
    def __init__(self, component: str):
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": _iso(record.created), "level": record.levelname.lower(), "component": self.component,
                 "logger": record.name, "message": record.getMessage()}
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _iso(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


def configure(component: str, env=None) -> None:
    """JSON lines on stderr at CLEW_LOG_LEVEL (default info); `warning` drops the per-request lines."""
    env = os.environ if env is None else env
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(component))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(env.get("CLEW_LOG_LEVEL", "info").upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
