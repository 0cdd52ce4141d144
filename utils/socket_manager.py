"""The Socket.IO client manager, with the counts `/metrics` reports added on top of
python-socketio's own managers: connections open on this process, and for each event it
hands to its sockets, how many sockets got it (the fan-out).

One addition to the queue's messages: an `emit` marked `then_disconnect` (sent by
`QueuePublisher.send_then_disconnect`) is delivered by each process to the sockets it
holds, which it then disconnects. The library's own `disconnect` is a message of its own
(and a local socket is disconnected at once, without the queue), so it could overtake
the event that says why; one message handled in order on the holder cannot.

When the queue's subscription is lost (Redis restarted, or a Sentinel failover moved the
master), the events published until it is back never reach this process. So once it is
subscribed again (the library reconnects, asking the sentinels for the master), each
socket it holds is told `server_restarting` and disconnected, as on a shutdown: the
client reconnects and re-joins its rooms with `after_seq`, and the catch-up, read from
MongoDB after the new subscription was confirmed, holds whatever it missed.

Otherwise routing, rooms and the Redis transport are the library's.
"""
from __future__ import annotations

import logging
import random
from typing import Any

import socketio as socketio_lib

from utils import metrics, redis_client

log = logging.getLogger(__name__)

THEN_DISCONNECT = "then_disconnect"
RESTARTING_EVENT = "server_restarting"
# Clients reconnect after a random delay up to this, so that thousands of sockets do not
# all knock on the servers in the same millisecond.
RECONNECT_SPREAD_MS = 1000


def tell_to_reconnect(server: Any, sid: str, namespace: str = "/") -> None:
    """`server_restarting {retry_after_ms}` to a socket of this process, then its
    disconnect (our disconnect handler runs; the client closes its transport)."""
    try:
        server.emit(RESTARTING_EVENT, {"retry_after_ms": random.randint(0, RECONNECT_SPREAD_MS)},
                    to=sid, namespace=namespace, ignore_queue=True)
        server.disconnect(sid, namespace=namespace, ignore_queue=True)
    except Exception:
        log.exception("could not close socket %s", sid)


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

    def _redis_connect(self) -> None:
        super()._redis_connect()
        # Subscribe confirmations come through (the library drops them): the listener
        # below learns from them that a lost subscription is back.
        self.pubsub = self.redis.pubsub()

    def _listen(self):
        channel = self.channel.encode("utf-8")
        subscribed_before = False
        for message in self._redis_listen_with_retries():
            if message["type"] == "subscribe":
                if subscribed_before:
                    self._resubscribed()
                subscribed_before = True
            elif (message["type"] == "message" and message["channel"] == channel
                  and "data" in message):
                yield message["data"]

    def _resubscribed(self) -> None:
        sockets = [(sid, namespace) for namespace in list(self.get_namespaces())
                   for sid, _ in list(self.get_participants(namespace, None))]
        log.warning("Socket.IO queue subscribed again after a Redis outage: telling %d "
                    "sockets to reconnect and catch up", len(sockets))
        for sid, namespace in sockets:
            tell_to_reconnect(self.server, sid, namespace)


class QueuePublisher(socketio_lib.RedisManager):
    """The write-only end of the queue the app publishes every event through
    (services.platform.realtime)."""

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel, write_only=True,
                         redis_options=redis_client.queue_options(url))

    def send_then_disconnect(self, event: str, data: Any, namespace: str,
                             sids: list[str]) -> None:
        """`event` to each socket in `sids`, then its disconnect, by the process that
        holds it: one `emit` message (the library's format, plus THEN_DISCONNECT)."""
        self._publish({"method": "emit", "event": event, "data": [data], "binary": False,
                       "namespace": namespace, "room": sids, "skip_sid": None,
                       "callback": None, "host_id": self.host_id, THEN_DISCONNECT: True})


def make(queue_url: str | None, channel: str) -> socketio_lib.Manager:
    if queue_url:
        return CountingRedisManager(queue_url, channel=channel,
                                    redis_options=redis_client.queue_options(queue_url))
    return CountingManager()
