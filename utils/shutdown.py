"""Graceful shutdown of a gunicorn gevent worker (wired in gunicorn.conf.py).

On SIGTERM gunicorn's master closes its copy of the listening socket and passes SIGTERM to
the worker. Left alone, the worker would close its listener within a second and then wait
`graceful_timeout` for its connections to end: plain requests do, Socket.IO connections
never would, and a long-polling client whose next request found the listener closed would
be sent by nginx to another process, which does not know its session (a 400 and a drop
without warning).

So the worker first drains its sockets while it still listens: each is sent
`server_restarting {retry_after_ms}` and disconnected, and a long-poll still collects
what was queued for it. A socket that connects meanwhile (sticky routing brings a
reconnecting client back here) is drained the same way. Once no socket is left, the
worker stops accepting (gunicorn closes the listener; reconnecting clients now land on
another process), finishes the requests in flight and exits.

Closing a listener resets the connections the kernel completed but the worker had not
yet accepted. nginx has already sent its request on such a connection, so it may not
pass a POST on to another process: a 502. So before it stops accepting, the worker has
the kernel ignore new connection attempts (a socket filter that drops every packet):
nginx's SYN then goes unanswered, its retry meets the closed port and goes to another
process, while the connections already queued are still accepted and served.
"""
from __future__ import annotations

import ctypes
import logging
import signal
import socket
import sys
import time
from typing import Any

import gevent
import gevent.event

from utils.socket_manager import tell_to_reconnect

log = logging.getLogger(__name__)

NAMESPACE = "/"
# How long clients get to close their transports once told (a long-poll that never
# comes back must not hold the shutdown).
CLOSE_WAIT_SECONDS = 3


def watch(worker: Any) -> None:
    """gunicorn `post_worker_init` hook: on SIGTERM, drain before stopping."""
    stopping = gevent.event.Event()
    # Replaces gunicorn's handler (which would stop accepting at once); like gunicorn's
    # own gevent handlers, it defers the work to a greenlet.
    signal.signal(signal.SIGTERM, lambda *_: gevent.spawn(stopping.set))
    gevent.spawn(_drain_when_stopped, worker, stopping)


def _drain_when_stopped(worker: Any, stopping: Any) -> None:
    # Other ways of ending a worker (max_requests, a lost master) set `alive` directly.
    while worker.alive and not stopping.is_set():
        stopping.wait(0.5)
    from utils.extensions import socketio

    started = time.monotonic()
    while time.monotonic() - started < worker.cfg.graceful_timeout:
        _drain_step(worker, socketio.server, started)
        gevent.sleep(0.05)


def _drain_step(worker: Any, server: Any, started: float) -> None:
    """One pass of the drain: the sockets still here are told to reconnect elsewhere;
    once none is left, the worker stops accepting. A function called anew on each pass,
    so that coverage measures it: coverage.py does not record the lines a frame runs
    after its greenlet has waited (coveragepy issue 841)."""
    sockets = list(server.manager.get_participants(NAMESPACE, None)) if server else []
    if sockets:
        log.info("shutting down: telling %d sockets to reconnect elsewhere", len(sockets))
        for sid, _ in sockets:
            _notify_and_close(server, sid)
    elif worker.alive:
        _wait_for_transports(server, started + worker.cfg.graceful_timeout / 2)
        for listener in worker.sockets:
            ignore_new_connections(getattr(listener, "sock", listener))
        log.info("shutting down: sockets drained, no longer accepting")
        worker.alive = False  # gunicorn closes the listener and waits for requests


def _notify_and_close(server: Any, sid: str) -> None:
    # Runs our disconnect handler (presence) and sends the Socket.IO disconnect; the
    # client then closes its transport itself: a long-poll collects what was queued and
    # posts its close while the session still exists.
    tell_to_reconnect(server, sid, NAMESPACE)


def _wait_for_transports(server: Any, deadline: float) -> None:
    """Let clients close their Engine.IO sessions; cut what is left at `deadline`."""
    if server is None:
        return
    deadline = min(deadline, time.monotonic() + CLOSE_WAIT_SECONDS)

    def open_sessions() -> list:
        return [s for s in list(server.eio.sockets.values()) if not s.closed]

    while open_sessions() and time.monotonic() < deadline:
        # A client that reconnected here meanwhile (sticky routing) is told too, rather
        # than cut without a word at the deadline.
        for sid, _ in list(server.manager.get_participants(NAMESPACE, None)):
            _notify_and_close(server, sid)
        gevent.sleep(0.05)
    for session in open_sessions():
        session.close(wait=False, abort=True)


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


_SO_ATTACH_FILTER = 26  # <asm-generic/socket.h>
_DROP_EVERYTHING = (_SockFilter * 1)(_SockFilter(0x06, 0, 0, 0))  # BPF_RET|BPF_K, accept 0 bytes


def ignore_new_connections(listener: socket.socket) -> bool:
    """Make the kernel drop new connection attempts to `listener` (Linux), so they are
    neither accepted nor reset; connections already queued can still be accepted.
    False where the platform has no socket filters."""
    if not sys.platform.startswith("linux"):
        return False
    program = _SockFprog(1, _DROP_EVERYTHING)
    try:
        listener.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER,
                            ctypes.string_at(ctypes.addressof(program), ctypes.sizeof(program)))
    except OSError:
        log.warning("could not stop new connections before closing the listener",
                    exc_info=True)
        return False
    return True
