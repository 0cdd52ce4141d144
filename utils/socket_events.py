"""Socket.IO plumbing shared by every event handler: the acknowledgement shape, payload
validation with the same marshmallow schemas as HTTP, and the acting user.

Every client event is answered `{"ok": true, "data": ...}` or
`{"ok": false, "error": {"code", "message"}}`, whatever went wrong.
"""
from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from marshmallow import Schema, ValidationError
from socketio.packet import EVENT, Packet

from models.user import User
from utils import user_versions
from utils.errors import DEPENDENCY_ERRORS, APIError, Unauthorized, dependency_name

log = logging.getLogger(__name__)

SOCKET_IDENTITY = "roundtable.socket_identity"


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


class ContractPacket(Packet):
    """A client event whose JSON nests deeper than Python's parser recurses would raise
    RecursionError while being decoded: the event was dropped with a logged traceback and
    never acknowledged. Decoded here, it keeps its name and ack id and carries
    NESTED_TOO_DEEPLY as its payload, which `acknowledged` answers `validation_error`."""

    def decode(self, encoded_packet):
        try:
            return super().decode(encoded_packet)
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


def remember_socket_user(user: dict[str, Any], token_id: Any = None) -> None:
    """Called on connect: who this socket is. Flask-SocketIO keeps one WSGI environ per
    socket for its whole life, in the process that owns the socket, so it goes there."""
    request.environ[SOCKET_IDENTITY] = {
        "user_id": str(user["_id"]), "epoch": user.get("session_epoch"),
        "token_id": str(token_id) if token_id else None}


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
        user = User().find_active(user_id)
        lifetime = current_app.config["SOCKET_USER_CACHE_SECONDS"]
        saved["copy"] = (stamp, now + lifetime, user) if stamp is not None else None
    if user is None or user.get("session_epoch") != saved.get("epoch"):
        raise Unauthorized()
    # A copy per event: a handler that changes its user must not change the next one's.
    return dict(user)


def acknowledged(schema: Schema | None = None) -> Callable:
    """Validate the payload with `schema`, call the handler with it, and turn the result
    or any error into the acknowledgement shape."""

    def decorator(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def wrapper(payload: Any = None, *args: Any) -> dict[str, Any]:
            try:
                if payload is NESTED_TOO_DEEPLY:
                    return failed("validation_error", "The payload is nested too deeply.")
                if schema is not None:
                    if not isinstance(payload, dict):
                        return failed("validation_error", "The payload must be an object.")
                    payload = schema.load(payload)
                return ok(handler(payload))
            except ValidationError as exc:
                return failed("validation_error", "The event has invalid fields.",
                              exc.normalized_messages())
            except APIError as exc:
                return failed(exc.code, exc.message, exc.details)
            except DEPENDENCY_ERRORS as exc:
                log.warning("socket event failed, %s unavailable: %s", dependency_name(exc), exc)
                return failed("service_unavailable", "A backing service is unavailable.")
            except Exception:
                log.exception("socket event %s failed", handler.__name__)
                return failed("internal_error", "Something went wrong on our side.")

        return wrapper

    return decorator
