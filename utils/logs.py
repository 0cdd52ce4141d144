"""Logging: every line carries the request id, so a 500's traceback can be found from its
answer; one line per HTTP request and per socket event (request id, user id, route or
event, status, duration).

`LOG_FORMAT=json` (the production default) writes one JSON object per line for a log
shipper; `text` (development) writes lines a person reads.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from utils.auth import USER_KEY
from utils.request_hooks import elapsed

access_log = logging.getLogger("roundtable.access")
socket_log = logging.getLogger("roundtable.socket")

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s",
                             rename_fields={"levelname": "level", "name": "logger"},
                             timestamp="time")
    return logging.Formatter(TEXT_FORMAT)


def _our_handler(root: logging.Logger) -> logging.Handler | None:
    for handler in root.handlers:
        if any(isinstance(f, RequestIdFilter) for f in handler.filters):
            return handler
    return None


def init_app(app: Flask) -> None:
    root = logging.getLogger()
    handler = _our_handler(root)
    if handler is None:
        handler = logging.StreamHandler()
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    # Logging is per process; the newest app (tests build many) sets the format.
    handler.setFormatter(formatter(app.config["LOG_FORMAT"]))
    root.setLevel(app.config["LOG_LEVEL"])
    app.config["PROPAGATE_EXCEPTIONS"] = False  # our handlers answer; tests see what users see
    # `log_request` runs as a step of the request hooks (app.py `_init_request_hooks`).


def _request_user_id() -> str | None:
    user = request.environ.get(USER_KEY)
    return str(user["_id"]) if isinstance(user, dict) else None


def log_request(response):
    """The access log line (an after step of utils.request_hooks)."""
    seconds = elapsed()
    if seconds is None or not access_log.isEnabledFor(logging.INFO):
        return response
    duration_ms = round(seconds * 1000, 2)
    rule = request.url_rule
    fields: dict[str, Any] = {
        "kind": "request", "method": request.method, "path": request.path,
        "route": rule.rule if rule is not None else None, "status": response.status_code,
        "duration_ms": duration_ms, "user_id": _request_user_id(),
        "remote_addr": request.remote_addr}
    access_log.info("%s %s %s %.1fms user=%s ip=%s", request.method, request.path,
                    response.status_code, duration_ms, fields["user_id"] or "-",
                    request.remote_addr, extra=fields)
    return response


def log_socket_event(event: str, outcome: str, seconds: float, user_id: str | None,
                     sid: str | None) -> None:
    """One line per client event, after its acknowledgement was decided."""
    if not socket_log.isEnabledFor(logging.INFO):
        return
    duration_ms = round(seconds * 1000, 2)
    fields = {"kind": "socket_event", "event": event, "status": outcome,
              "duration_ms": duration_ms, "user_id": user_id, "sid": sid}
    socket_log.info("socket %s %s %.1fms user=%s sid=%s", event, outcome, duration_ms,
                    user_id or "-", sid or "-", extra=fields)

