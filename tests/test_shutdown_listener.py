"""Stopping to accept without resetting anyone (utils/shutdown.py): once a stopping worker
has its listener ignore new connection attempts, a new client is neither accepted nor
reset (its SYN goes unanswered, so nginx's retry meets the closed port and moves on),
while a connection the kernel had already queued is still accepted with its request."""
from __future__ import annotations

import socket
import sys

import pytest

from utils.shutdown import ignore_new_connections

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="socket filters are Linux's")


def test_new_connections_go_unanswered_and_queued_ones_are_still_served():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        queued = socket.create_connection(("127.0.0.1", port))
        queued.sendall(b"POST /api/messages")

        assert ignore_new_connections(listener)

        with pytest.raises(TimeoutError):  # not accepted, and not refused or reset
            socket.create_connection(("127.0.0.1", port), timeout=0.3)
        listener.settimeout(5)
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.recv(100) == b"POST /api/messages"
        queued.close()


def test_without_the_filter_a_new_connection_is_completed_by_the_kernel():
    # The control: what the test above rules out happens on an ordinary listener.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        socket.create_connection(listener.getsockname(), timeout=0.3).close()
