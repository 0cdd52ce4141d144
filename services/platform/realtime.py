"""The publisher every area emits through, on every process. The registry of live
connections is services.platform.connections, typing state services.platform.typing_state, the
per-process loop services.admin.maintenance; room names and every way out of rooms are
services.platform.live_rooms', the way in services.live.room_entry's.

Two modes, chosen by config:
- With `SOCKETIO_MESSAGE_QUEUE` (follows `REDIS_URL`), events are published on the
  Socket.IO Redis channel through a write-only manager, so every process, this one
  included, delivers them in the order they were published.
- Without a queue (one process), events go straight to this process's sockets.

Nothing here keeps socket state in a process-local dict.
"""
from __future__ import annotations

import logging
import os
import uuid
from typing import Any

from flask import current_app

from utils.extensions import socketio
from utils.process_clients import shared_client
from utils.socket_manager import QueuePublisher

log = logging.getLogger(__name__)

NAMESPACE = "/"
# Flask-SocketIO's default channel; the write-only publisher must use the same one.
CHANNEL = "flask-socketio"

# Per-process identity, keyed by pid so a forked worker never reuses its parent's (the
# same reason utils.process_clients keys clients by pid).
_host_ids: dict[int, str] = {}


def host_id() -> str:
    pid = os.getpid()
    if pid not in _host_ids:
        _host_ids[pid] = uuid.uuid4().hex
    return _host_ids[pid]


def multi_process() -> bool:
    return bool(current_app.config.get("SOCKETIO_MESSAGE_QUEUE"))


def _publisher() -> QueuePublisher | None:
    url = current_app.config.get("SOCKETIO_MESSAGE_QUEUE")
    if not url:
        return None
    return shared_client("socketio-publisher", (url,), lambda: QueuePublisher(url, CHANNEL))


# Emitting

def emit(event: str, data: Any, to: str | list[str], skip_sid: str | None = None) -> None:
    """Send `event` to the rooms in `to`, once per socket however many of them it is in.

    With a queue, even local sockets get the event through the Redis channel, so the
    order in which events are published is the order every socket on every process sees
    (the chat send path publishes under a per-room lock, in seq order)."""
    publisher = _publisher()
    if publisher is not None:
        publisher.emit(event, data, namespace=NAMESPACE, room=to, skip_sid=skip_sid)
    else:
        socketio.emit(event, data, to=to, skip_sid=skip_sid, namespace=NAMESPACE)


def emit_then_disconnect(event: str, data: Any, sids: list[str]) -> None:
    """Send `event` to each socket in `sids`, then disconnect it, on whichever process
    holds it: the event always arrives first (`force_logout {reason}`). With a queue this
    is one message, handled by the holder in that order (utils.socket_manager)."""
    if not sids:
        return
    publisher = _publisher()
    if publisher is not None:
        publisher.send_then_disconnect(event, data, NAMESPACE, sids)
        return
    # One process: both go straight onto each socket's send queue, in this order.
    socketio.emit(event, data, to=sids, namespace=NAMESPACE)
    for sid in sids:
        socketio.server.disconnect(sid, namespace=NAMESPACE)
