"""Helpers for the suites that run real app processes (tests.servers.AppServer): users
made in the shared database with a bearer token, and a python-socketio client that
records every event it receives."""
from __future__ import annotations

import threading

import socketio

from services.accounts import auth_signup, token_pairs
from tests.servers import AppServer


def make_user(app, name: str) -> tuple[dict, str]:
    with app.app_context():
        user = auth_signup.register(name, f"{name}@example.com", "correct horse battery staple",
                                     email_verified=True)
        return user, token_pairs.issue_pair(user, "e2e")["access_token"]


def _handle_messages_on_the_reader(sio: socketio.Client) -> None:
    """python-engineio starts a thread for every message it hands up: 20 clients x 4000
    messages made the test's own clients its largest CPU cost. Our handlers only record
    (and acks only release a waiter), so they run on the read thread instead, in the
    order the server wrote."""
    trigger = sio.eio._trigger_event

    def in_order(event, *args, run_async=False, **kwargs):
        return trigger(event, *args, run_async=run_async and event != "message", **kwargs)

    sio.eio._trigger_event = in_order


class Client:
    """A python-socketio client recording every event it receives."""

    def __init__(self, server: AppServer, token: str) -> None:
        self.events: list[tuple[str, dict]] = []
        self.lock = threading.Condition()
        self.disconnected = threading.Event()
        self.sio = socketio.Client(reconnection=False)
        _handle_messages_on_the_reader(self.sio)
        self.sio.on("*", self._record)
        self.sio.on("disconnect", lambda *reason: self.disconnected.set())
        self.server, self.token = server, token
        self.connect()

    def _record(self, event, data=None):
        with self.lock:
            self.events.append((event, data))
            self.lock.notify_all()

    def connect(self) -> None:
        self.sio.connect(self.server.url, auth={"token": self.token}, transports=["websocket"],
                         wait_timeout=10)

    def call(self, event: str, data: dict) -> dict:
        return self.sio.call(event, data, timeout=30)

    def named(self, name: str) -> list[dict]:
        with self.lock:
            return [data for event, data in self.events if event == name]

    def wait_for(self, name: str, count: int, timeout: float = 20) -> list[dict]:
        with self.lock:
            self.lock.wait_for(lambda: len(self.named(name)) >= count, timeout=timeout)
            return self.named(name)

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()
