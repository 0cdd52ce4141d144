"""The Socket.IO client manager, with the counts `/metrics` reports added on top of
python-socketio's own managers: connections open on this process, and for each event it
hands to its sockets, how many sockets got it (the fan-out).

One addition to the queue's messages: an `emit` marked `then_disconnect` (sent by
`QueuePublisher.send_then_disconnect`) is delivered by each process to the sockets it
holds, which it then disconnects. The library's own `disconnect` is a message of its own
(and a local socket is disconnected at once, without the queue), so it could overtake
the event that says why; one message handled in order on the holder cannot.

Otherwise routing, rooms and the Redis transport are the library's.
"""
from __future__ import annotations

from typing import Any

import socketio as socketio_lib

from utils import metrics

THEN_DISCONNECT = "then_disconnect"


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
        namespace = message.get("namespace") or "/"
        self._count_delivery(message["event"], namespace, message.get("room"),
                             message.get("skip_sid"))
        held = [sid for sid, _ in self.get_participants(namespace, message.get("room"))
                ] if message.get(THEN_DISCONNECT) else []
        super()._handle_emit(message)
        # After the event: both packets go onto each socket's one send queue, in order.
        for sid in held:
            self.server.disconnect(sid, namespace=namespace, ignore_queue=True)


class QueuePublisher(socketio_lib.RedisManager):
    """The write-only end of the queue the app publishes every event through
    (services.platform.realtime)."""

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel, write_only=True)

    def send_then_disconnect(self, event: str, data: Any, namespace: str,
                             sids: list[str]) -> None:
        """`event` to each socket in `sids`, then its disconnect, by the process that
        holds it: one `emit` message (the library's format, plus THEN_DISCONNECT)."""
        self._publish({"method": "emit", "event": event, "data": [data], "binary": False,
                       "namespace": namespace, "room": sids, "skip_sid": None,
                       "callback": None, "host_id": self.host_id, THEN_DISCONNECT: True})


def make(queue_url: str | None, channel: str) -> socketio_lib.Manager:
    if queue_url:
        return CountingRedisManager(queue_url, channel=channel)
    return CountingManager()
