"""Socket.IO plumbing shared by every event handler: the acknowledgement shape, payload
validation with the same marshmallow schemas as HTTP, and the acting user.

Every client event is answered `{"ok": true, "data": ...}` or
`{"ok": false, "error": {"code", "message"}}`, whatever went wrong.

This module knows no model and no service: it loads users through utils.auth's
registered loaders and counts events through the `hit_event` hook given to `init_app`
(services.platform.chat_limits.hit_event).
"""
from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, request
from marshmallow import Schema, ValidationError
from socketio.packet import BINARY_EVENT, CONNECT, EVENT, Packet

from utils import logs, metrics, user_versions
from utils.auth import load_user
from utils.errors import (
    DEPENDENCY_ERRORS,
    APIError,
    RateLimited,
    Unauthorized,
    dependency_name,
)
from utils.json_text import surrogate_details

log = logging.getLogger(__name__)

SOCKET_IDENTITY = "roundtable.socket_identity"
EVENT_LIMITS_KEY = "roundtable_socket_event_limits"


def ok(data: Any = None) -> dict[str, Any]:
    return {"ok": True, "data": data}


def failed(code: str, message: str, details: dict | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"ok": False, "error": error}


class NestedTooDeeply:
    """Stands for an event payload nested too deeply to parse (see ContractPacket)."""


NESTED_TOO_DEEPLY = NestedTooDeeply()


class NotText:
    """Stands for an event payload holding an unpaired surrogate (see ContractPacket):
    `details` name the field, as a schema's validation_error would."""

    def __init__(self, details: dict) -> None:
        self.details = details


# A client event literally named "*" would reach the catch-all handler without its name
# and fail inside Flask-SocketIO with a traceback; it is decoded under this name instead.
LITERAL_STAR_EVENT = "\x00*"


class ContractPacket(Packet):
    """A client event whose JSON nests deeper than Python's parser recurses would raise
    RecursionError while being decoded: the event was dropped with a logged traceback and
    never acknowledged. Decoded here, it keeps its name and ack id and carries
    NESTED_TOO_DEEPLY as its payload, which `acknowledged` answers `validation_error`.

    An event whose arguments hold an unpaired surrogate anywhere (utils/json_text.py:
    no text, and a 500 wherever it is stored or hashed) carries a NotText payload
    instead, answered the same way before any handler reads it (a surrogate in the
    event's name matches no handler: the catch-all answers `unknown_event`). A connect
    packet's auth data holding one becomes a NotText that `connect` refuses."""

    def decode(self, encoded_packet):
        try:
            attachments = super().decode(encoded_packet)
        except RecursionError:
            if self.packet_type != EVENT:
                raise ValueError("packet nested too deeply") from None
            # decode() has set the type, namespace and id; the data follows them.
            body = encoded_packet[encoded_packet.index("["):]
            try:
                name, _end = json.JSONDecoder().raw_decode(body[1:].lstrip())
            except ValueError:
                name = None
            if not isinstance(name, str):
                raise ValueError("packet nested too deeply") from None
            self.data = [name, NESTED_TOO_DEEPLY]
            return 0
        if self.packet_type in (EVENT, BINARY_EVENT) and isinstance(self.data, list):
            if self.data[:1] == ["*"]:
                self.data[0] = LITERAL_STAR_EVENT
            details = surrogate_details(self.data[1:])
            if details:
                self.data = [*self.data[:1], NotText(surrogate_details(self.data[1]) or details)]
        elif self.packet_type == CONNECT and surrogate_details(self.data):
            self.data = NotText(surrogate_details(self.data))
        return attachments


def remember_socket_user(user: dict[str, Any], origin: str | None = None) -> None:
    """Called on connect: who this socket is, and the credentials that opened it
    (`origin`: its session or token, which end it). Flask-SocketIO keeps one WSGI
    environ per socket for its whole life, in the process that owns the socket, so it
    goes there."""
    request.environ[SOCKET_IDENTITY] = {
        "user_id": str(user["_id"]), "epoch": user.get("session_epoch"), "origin": origin}


def socket_origin() -> str | None:
    """The credentials (a browser login or a bearer token) that opened this socket: what
    a reconnect of the same device shares with it, and another login does not."""
    return (request.environ.get(SOCKET_IDENTITY) or {}).get("origin")


def socket_user() -> dict[str, Any]:
    """The acting user as MongoDB holds it now, so that a deleted account or ended
    sessions (password reset, "log out everywhere", a site ban: all bump the session
    epoch) stop a live socket at its next event.

    Reading the user for every event cost a MongoDB round trip each, and that wait let
    the hub wake every socket's writer once per broadcast in a burst. The socket keeps
    its copy instead, with the user's version stamp read before it was loaded
    (utils.user_versions, replaced by every write to a user). An event reads the stamp,
    one Redis GET, and reloads the user when it changed. This does not rely on the
    forced disconnects those paths also send: an event can already be running when one
    arrives, a socket can connect while one is sent, and changing the password logs
    other sessions out without one. Without Redis, or while it fails, every event reads
    the user; a copy also expires after SOCKET_USER_CACHE_SECONDS, which bounds what a
    write whose stamp could not be replaced (Redis down at that moment) leaves stale."""
    saved = request.environ.get(SOCKET_IDENTITY) or {}
    user_id = saved.get("user_id")
    if not user_id:
        raise Unauthorized()
    stamp = user_versions.current(user_id)
    copy = saved.get("copy")
    now = time.monotonic()
    if stamp is not None and copy is not None and copy[0] == stamp and now < copy[1]:
        user = copy[2]
    else:
        user = load_user(user_id)
        lifetime = current_app.config["SOCKET_USER_CACHE_SECONDS"]
        saved["copy"] = (stamp, now + lifetime, user) if stamp is not None else None
    if user is not None and user.get("session_epoch") != saved.get("epoch") and (
            user_versions.adopted_epoch(user_id, saved.get("origin"))
            == user.get("session_epoch")):
        # The session or token that opened this socket ended the others and lives on.
        saved["epoch"] = user.get("session_epoch")
    if user is None or user.get("session_epoch") != saved.get("epoch"):
        raise Unauthorized()
    # A copy per event: a handler that changes its user must not change the next one's.
    return dict(user)


def acknowledged(schema: Schema | None = None, event_class: str | None = None,
                 reply: type[Schema] | Schema | None = None) -> Callable:
    """Count the event against its user's `event_class` limit (the `hit_event` hook),
    validate the payload with `schema`, call the handler with it, and turn the result
    or any error into the acknowledgement shape (`rate_limited` past the limit). Every
    event, whatever its outcome, is counted for /metrics and logged on one line
    (utils.metrics, utils.logs).

    `schema` and `reply` (the shape of the ack's `data`) stay on the handler as
    `event_schema` / `reply_schema`: /api/asyncapi.json is generated from them."""

    def decorator(handler: Callable) -> Callable:
        def answer(payload: Any) -> dict[str, Any]:
            try:
                user_id = (request.environ.get(SOCKET_IDENTITY) or {}).get("user_id")
                if event_class is not None and user_id:
                    current_app.extensions[EVENT_LIMITS_KEY](event_class, user_id)
                if payload is NESTED_TOO_DEEPLY:
                    return failed("validation_error", "The payload is nested too deeply.")
                if isinstance(payload, NotText):
                    return failed("validation_error", "The event has invalid fields.",
                                  payload.details)
                if schema is not None:
                    if not isinstance(payload, dict):
                        return failed("validation_error", "The payload must be an object.")
                    payload = schema.load(payload)
                return ok(handler(payload))
            except ValidationError as exc:
                return failed("validation_error", "The event has invalid fields.",
                              exc.normalized_messages())
            except RateLimited as exc:
                return failed(exc.code, exc.message, {"retry_after": exc.retry_after})
            except APIError as exc:
                return failed(exc.code, exc.message, exc.details)
            except DEPENDENCY_ERRORS as exc:
                dependency = dependency_name(exc)
                metrics.dependency_failed(dependency)
                log.warning("socket event failed, %s unavailable: %s", dependency, exc)
                return failed("service_unavailable", "A backing service is unavailable.")
            except Exception:
                log.exception("socket event %s failed", handler.__name__)
                return failed("internal_error", "Something went wrong on our side.")

        @functools.wraps(handler)
        def wrapper(payload: Any = None, *args: Any) -> dict[str, Any]:
            # A request id per event, so the lines it logs can be found together.
            g.request_id = uuid.uuid4().hex
            started = time.perf_counter()
            result = answer(payload)
            seconds = time.perf_counter() - started
            event = (getattr(request, "event", None) or {}).get("message", handler.__name__)
            outcome = "ok" if result["ok"] else result["error"]["code"]
            metrics.socket_event_handled(event, outcome, seconds)
            saved = request.environ.get(SOCKET_IDENTITY) or {}
            logs.log_socket_event(event, outcome, seconds, saved.get("user_id"),
                                  getattr(request, "sid", None))
            return result

        # Flask-SocketIO's registration wraps this function with functools.wraps, which
        # copies these onto the handler python-socketio holds.
        wrapper.event_schema = schema
        wrapper.reply_schema = reply
        return wrapper

    return decorator


def init_app(app: Flask, hit_event: Callable[[str, str], None]) -> None:
    """`hit_event(event_class, user_id)` counts one event against that user's limit for
    the class and raises RateLimited past it."""
    app.extensions[EVENT_LIMITS_KEY] = hit_event
