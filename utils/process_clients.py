"""Connection clients shared by every request of one process.

Keyed by process id as well as settings, so a child forked by gunicorn builds its own
instead of reusing its parent's sockets, and tests that build apps with other settings get
other clients.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_clients: dict[tuple, object] = {}


def shared_client(kind: str, settings: tuple[Hashable, ...], factory: Callable[[], T]) -> T:
    key = (os.getpid(), kind, *settings)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = factory()
    return client  # type: ignore[return-value]

