"""Socket.IO event handlers. They authenticate on connect and call the same services as
the REST routes; state about sockets lives in Redis or the database, never here."""
from __future__ import annotations

from typing import Any

from flask_socketio import join_room

from services import auth_service
from utils.auth import user_from_session
from utils.extensions import socketio


def socket_user(auth: Any) -> dict[str, Any] | None:
    """The user of a connecting socket: `auth={"token": ...}` or the session cookie."""
    if isinstance(auth, dict) and "token" in auth:
        found = auth_service.user_for_token(auth["token"] if isinstance(auth["token"], str)
                                            else "")
        return found[0] if found else None
    return user_from_session()


@socketio.on("connect")
def connect(auth=None):
    user = socket_user(auth)
    if user is None:
        raise ConnectionRefusedError("unauthorized")
    join_room(f"user_{user['_id']}")
