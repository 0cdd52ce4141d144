"""Socket.IO event handlers. They authenticate on connect and call the same services as
the REST routes; state about sockets lives in Redis or the database, never here."""
from __future__ import annotations

from typing import Any

from flask_socketio import join_room

from services import auth_service
from utils.auth import user_from_session
from utils.extensions import socketio
from utils.socket_events import remember_socket_user


def connecting_user(auth: Any) -> tuple[dict[str, Any] | None, Any]:
    """(user, token id) of a connecting socket: `auth={"token": ...}` or the cookie."""
    if isinstance(auth, dict) and "token" in auth:
        found = auth_service.user_for_token(auth["token"] if isinstance(auth["token"], str)
                                            else "")
        return (found[0], found[1]["_id"]) if found else (None, None)
    return user_from_session(), None


@socketio.on("connect")
def connect(auth=None):
    user, token_id = connecting_user(auth)
    if user is None:
        raise ConnectionRefusedError("unauthorized")
    remember_socket_user(user, token_id)
    join_room(f"user_{user['_id']}")
