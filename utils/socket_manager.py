"""The Socket.IO client manager, with the counts `/metrics` reports added on top of
python-socketio's own managers: connections open on this process, and for each event it
hands to its sockets, how many sockets got it (the fan-out).

Only counting lives here; routing, rooms and the Redis transport are the library's.
"""
from __future__ import annotations

from typing import Any

import socketio as socketio_lib

from utils import metrics


class _Counting:
    def connect(self, sid: str, namespace: str) -> Any:
        # Called once a connection passed the connect handler (refused ones never are).
        sid = super().connect(sid, namespace)
        metrics.SOCKET_CONNECTIONS.inc()
        return sid

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> Any:
        accepted = (sid in self.rooms.get(namespace, {}).get(None, {})
                    and sid not in self.pending_connect.get(namespace, []))
        result = super().basic_disconnect(sid, namespace, **kwargs)
        if accepted:
            metrics.SOCKET_CONNECTIONS.dec()
        return result

    def _count_delivery(self, event: str, namespace: str | None, room: Any,
                        skip_sid: Any) -> None:
        skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        recipients = sum(1 for sid, _ in self.get_participants(namespace or "/", room)
                         if sid not in skipped)
        if recipients:
            metrics.SOCKET_EVENTS_OUT.labels(event).inc()
            metrics.SOCKET_DELIVERIES.labels(event).inc(recipients)


class CountingManager(_Counting, socketio_lib.Manager):
    """One process, no queue: every emit is delivered here."""

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None,
             to=None, **kwargs):
        self._count_delivery(event, namespace, to or room, skip_sid)
        return super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                            callback=callback, to=to, **kwargs)


class CountingRedisManager(_Counting, socketio_lib.RedisManager):
    """Several processes: every emit, this process's own included, comes back from the
    Redis channel and is delivered to the local sockets here."""

    def _handle_emit(self, message: dict[str, Any]) -> None:
        self._count_delivery(message["event"], message.get("namespace"), message.get("room"),
                             message.get("skip_sid"))
        super()._handle_emit(message)


def make(queue_url: str | None, channel: str) -> socketio_lib.Manager:
    if queue_url:
        return CountingRedisManager(queue_url, channel=channel)
    return CountingManager()
