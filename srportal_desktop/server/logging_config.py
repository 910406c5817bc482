"""Structured logs: one JSON object per line, and one line per HTTP request.

`logging_config()` is the dictConfig that `srportal-server serve` hands to uvicorn (so every
worker process uses it); `RequestLogMiddleware` writes the request lines and gives each request
an id (the caller's `X-Request-ID` when it is sane, else a new one) that every log line written
while handling it carries, and that the response echoes.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOGGER = "srportal_desktop.server.access"
REQUEST_ID_HEADER = "X-Request-ID"
# Extra attributes of a log record that become fields of its JSON line.
REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "client")
# Probes hit these every few seconds; their successes are logged at DEBUG only.
QUIET_PATHS = frozenset({"/healthz", "/readyz"})

_request_id: ContextVar[str | None] = ContextVar("srportal_request_id", default=None)
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = logging.getLogger(ACCESS_LOGGER)


def current_request_id() -> str | None:
    return _request_id.get()


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: time, level, logger, message, then request fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None) or _request_id.get()
        if request_id:
            entry["request_id"] = request_id
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(level: str = "INFO", fmt: Literal["json", "text"] = "json") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: everything to stderr through the root logger."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": f"{__name__}.JsonFormatter"},
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            # uvicorn's loggers keep no handlers of their own, so its lines get the same format.
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            # Our request lines replace uvicorn's access log.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
            # Alembic narrates every schema check; `migrations.upgrade` logs what it changed.
            "alembic": {"handlers": [], "level": "WARNING", "propagate": True},
        },
        "root": {"handlers": ["stderr"], "level": level},
    }


class RequestLogMiddleware:
    """Pure ASGI middleware: a request id for each HTTP request and a log line when it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        # Not reset afterwards: the handler for crashes runs outside this middleware and logs
        # with it. Each request runs in a task of its own, so the id goes no further.
        _request_id.set(request_id)
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _log_request(scope, status, (time.perf_counter() - started) * 1000)


def _incoming_request_id(scope: Scope) -> str | None:
    wanted = REQUEST_ID_HEADER.lower().encode("latin-1")
    for name, value in scope.get("headers", ()):
        if name == wanted:
            text = value.decode("latin-1")
            return text if _SANE_REQUEST_ID.fullmatch(text) else None
    return None


def _log_request(scope: Scope, status: int, duration_ms: float) -> None:
    path: str = scope.get("path", "")
    if status >= 500:
        level = logging.ERROR
    elif path in QUIET_PATHS and status < 400:
        level = logging.DEBUG
    else:
        level = logging.INFO
    if not log.isEnabledFor(level):
        return
    method: str = scope.get("method", "")
    client = scope.get("client")
    log.log(
        level,
        "%s %s %d %.1f ms",
        method,
        path,
        status,
        duration_ms,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(duration_ms, 2),
            "client": client[0] if client else None,
        },
    )
