"""Graceful shutdown of a gunicorn gevent worker (wired in gunicorn.conf.py).

On SIGTERM gunicorn's master closes its listening socket and tells the worker to stop;
the worker closes its own copy within a second and then waits up to `graceful_timeout`
for its open connections to end. Plain HTTP requests end by themselves; Socket.IO
connections never would. So once the listener is closed (a reconnecting client then
lands on another process), every socket of this process is sent `server_restarting`
`{retry_after_ms}` and disconnected, and the worker exits as soon as the requests still
running have been answered.
"""
from __future__ import annotations

import logging
import random
import time
from typing import Any

import gevent

log = logging.getLogger(__name__)

RESTARTING_EVENT = "server_restarting"
NAMESPACE = "/"
# Clients reconnect after a random delay up to this, so that thousands of sockets do not
# all knock on the other processes in the same millisecond.
RECONNECT_SPREAD_MS = 1000


def watch(worker: Any) -> None:
    """gunicorn `post_worker_init` hook: drain this worker's sockets when it is stopped."""
    gevent.spawn(_drain_when_stopped, worker)


def _listening(worker: Any) -> bool:
    return any(sock.fileno() != -1 for sock in worker.sockets)


def _drain_when_stopped(worker: Any) -> None:
    while worker.alive:
        gevent.sleep(0.1)
    started = time.monotonic()
    # gunicorn's run loop closes the listeners within a second of being told to stop.
    while _listening(worker) and time.monotonic() - started < 2:
        gevent.sleep(0.05)
    from utils.extensions import socketio

    server = socketio.server
    if server is None:
        return
    seen: set[str] = set()
    # Until gunicorn gives up on us: a socket that arrived before the listener closed
    # is drained too.
    while time.monotonic() - started < worker.cfg.graceful_timeout:
        sockets = [(sid, eio_sid) for sid, eio_sid in
                   server.manager.get_participants(NAMESPACE, None) if sid not in seen]
        if sockets:
            log.info("shutting down: telling %d sockets to reconnect elsewhere", len(sockets))
        for sid, eio_sid in sockets:
            seen.add(sid)
            gevent.spawn(_notify_and_close, server, sid, eio_sid)
        gevent.sleep(0.2)


def _notify_and_close(server: Any, sid: str, eio_sid: str) -> None:
    try:
        server.emit(RESTARTING_EVENT, {"retry_after_ms": random.randint(0, RECONNECT_SPREAD_MS)},
                    to=sid, namespace=NAMESPACE, ignore_queue=True)
        # The Socket.IO disconnect runs our disconnect handler (presence); closing the
        # Engine.IO session ends the websocket or the pending long-poll, so the
        # connection's request finishes and the worker may exit.
        server.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)
        server.eio.disconnect(eio_sid)
    except Exception:
        log.exception("could not close socket %s on shutdown", sid)
