"""Helpers other test modules reuse: accounts that exist, are verified and logged in, a
`Person` acting through the API and Socket.IO, the events a test socket received, and
waiting for a condition instead of sleeping a fixed time."""
from __future__ import annotations

import io
import itertools
import threading
import time
import uuid
from typing import Any

from bson import ObjectId
from flask import Flask
from pymongo import monitoring

from utils import user_versions
from utils.db import get_db
from utils.extensions import socketio

DEFAULT_PASSWORD = "correct horse battery staple"
_addresses = itertools.count(1)


def fresh_address() -> dict[str, str]:
    """A distinct client address, so per-address limits (5 registrations an hour) do not
    couple tests that create many users."""
    n = next(_addresses)
    return {"REMOTE_ADDR": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}


def register(client, username: str = "alice", email: str | None = None,
             password: str = DEFAULT_PASSWORD, verify: bool = True) -> dict[str, Any]:
    """Register through the API; `verify` marks the email verified in the database (the
    mail round trip itself is tested in test_auth_email_verification)."""
    response = client.post("/api/auth/register", environ_base=fresh_address(),
                           json={"username": username, "email": email or f"{username}@example.com",
                                 "password": password})
    assert response.status_code == 201, response.get_data(as_text=True)
    user = response.get_json()["user"]
    if verify:
        with client.application.app_context():
            get_db().users.update_one({"_id": ObjectId(user["id"])},
                                      {"$set": {"email_verified": True}})
            user_versions.changed(ObjectId(user["id"]))
        user["email_verified"] = True
    return user


def user_written(app, user_id: Any) -> None:
    """A test wrote a user (or their topic memberships, topic bans, tokens) straight to
    MongoDB: replace their version stamp as the models do, so no process trusts the copy
    it keeps (utils.local_copies)."""
    with app.app_context():
        user_versions.changed(ObjectId(str(user_id)))


def login(client, login_name: str, password: str = DEFAULT_PASSWORD, **extra) -> str:
    """Log the test client in with the session cookie; returns the CSRF token."""
    response = client.post("/api/auth/login", environ_base=fresh_address(),
                           json={"login": login_name, "password": password, **extra})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["csrf_token"]


def register_and_login(client, username: str = "alice", email: str | None = None,
                       password: str = DEFAULT_PASSWORD) -> tuple[dict[str, Any], str]:
    """(user json, csrf token); send the token as X-CSRF-Token on unsafe requests."""
    user = register(client, username, email, password)
    return user, login(client, username, password)


def bearer(client, username: str = "bob", password: str = DEFAULT_PASSWORD,
           register_first: bool = True) -> dict[str, str]:
    """Headers authenticating as `username` with a bearer token (registering it first)."""
    if register_first:
        register(client, username, password=password)
    response = client.post("/api/auth/token", environ_base=fresh_address(),
                           json={"login": username, "password": password})
    assert response.status_code == 201, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def csrf(token: str) -> dict[str, str]:
    return {"X-CSRF-Token": token}


class Person:
    """A registered, verified user acting through the HTTP API and Socket.IO.

    `Person(app, name)` is a browser of its own: its own test client (cookie jar), the
    session cookie and the CSRF header. `Person(client, name)` is a script on the given
    test client (several may share one) with a bearer token."""

    def __init__(self, where, name: str) -> None:
        if isinstance(where, Flask):
            self.app, self.client = where, where.test_client()
            self.user, token = register_and_login(self.client, name)
            self.headers, self.token = csrf(token), None
        else:
            self.app, self.client = where.application, where
            self.headers = bearer(where, name)
            self.token = self.headers["Authorization"].removeprefix("Bearer ")
            self.user = self.get("/api/auth/me").get_json()["user"]
        self.id = self.user["id"]
        self.username = name

    def call(self, method: str, path: str, **kwargs: Any):
        return self.client.open(path, method=method, headers=self.headers, **kwargs)

    def get(self, path: str, **kwargs: Any):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any):
        return self.call("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None):
        return self.call("PATCH", path, json=json)

    def delete(self, path: str):
        return self.call("DELETE", path)

    def send(self, room_id: str, body: str, client_id: str):
        """Send a chat message over REST; the response."""
        return self.post(f"/api/messages/rooms/{room_id}/messages",
                         {"body": body, "client_id": client_id})

    def upload(self, data: bytes, name: str = "photo.png"):
        return self.client.post("/api/uploads", headers=self.headers,
                                data={"file": (io.BytesIO(data), name)},
                                content_type="multipart/form-data")

    def socket(self):
        """A connected Socket.IO test client: the cookie session, or the bearer token."""
        if self.token:
            sc = socketio.test_client(self.app, auth={"token": self.token})
        else:
            sc = socketio.test_client(self.app, flask_test_client=self.client)
        assert sc.is_connected()
        return sc

    def set_role(self, role: str) -> None:
        with self.app.app_context():
            get_db().users.update_one({"_id": ObjectId(self.id)}, {"$set": {"role": role}})
            user_versions.changed(ObjectId(self.id))


def event_data(event: dict[str, Any]) -> Any:
    """The payload of one event a Socket.IO test client received."""
    args = event["args"]
    return args[0] if isinstance(args, list) else args


def events(sc, name: str) -> list:
    """The payloads of the `name` events `sc` received since last asked (the others are
    consumed too)."""
    return [event_data(e) for e in sc.get_received() if e["name"] == name]


def queued(sc, name: str) -> list:
    """The payloads of the `name` events `sc` received since last asked, readable after
    a disconnect too (get_received is not); the other events stay queued."""
    found = [event_data(e) for e in sc.queue if e["name"] == name]
    sc.queue = [e for e in sc.queue if e["name"] != name]
    return found


def force_logouts(sc) -> list:
    """The `force_logout` payloads `sc` received since last asked (`queued`)."""
    return queued(sc, "force_logout")


def received(sc) -> list[tuple[str, Any]]:
    """(name, payload) of every event `sc` received since last asked."""
    return [(e["name"], event_data(e)) for e in sc.get_received()]


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    """Poll `predicate` until it returns something true (returned), for at most `timeout`
    seconds: for conditions in other processes, where the app clock cannot be moved."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def read_mails(directory) -> list:
    """Every mail the file backend wrote, oldest first, parsed."""
    import email
    from email import policy
    from pathlib import Path

    paths = sorted(Path(directory).glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in paths]


# An article page with Open Graph tags, as the link-preview tests serve it.
PREVIEW_PAGE = """<!doctype html><html><head>
<meta charset="utf-8">
<title>Plain title</title>
<meta property="og:title" content="Tomato &amp; basil">
<meta property="og:description" content="  How to grow   both together.  ">
<meta property="og:image" content="/img/tomato.png">
<meta property="og:site_name" content="Garden Weekly">
</head><body><meta property="og:title" content="not in the head"></body></html>"""


def forged(token: str) -> str:
    """`token` with one whole character of its signature changed. (Changing the last
    characters can leave the signature's bytes as they were: the last base64 character
    carries unused bits, so such a "forgery" was accepted about once in 256 runs.)"""
    at = token.rfind(".") + 5
    return token[:at] + ("B" if token[at] == "A" else "A") + token[at + 1:]


def link_token(message, path: str) -> str:
    """The token of the `{FRONTEND_URL}/<path>?token=...` link in a mail's text part."""
    import re
    from urllib.parse import unquote

    text = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(rf"/{path}\?token=([^\s\"&<]+)", text)
    assert found, text
    return unquote(found.group(1))


class Recorder:
    """An aiosmtpd handler keeping every mail it accepts; the first `failures` are
    refused with a temporary error."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.messages: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.failures:
                self.failures -= 1
                return "451 Try again later"
            self.messages.append(envelope.content)
        return "250 OK"


def run_jobs(app) -> int:
    """Run every job the app's queue holds (mail, deferred account work), and the retries
    they schedule once due, in this thread, until none is left: what a consumer would do,
    deterministically. The number of runs."""
    from utils import jobs

    return jobs.run_pending(app, timeout=10)


class RedisCommands:
    """Every command the Redis server runs while in the `with` block, as MONITOR reports
    them (those run inside Lua scripts too): what the code did, whatever it logs."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.commands: list[str] = []
        self.marker = f"end-of-monitor-{uuid.uuid4().hex}"

    def __enter__(self) -> RedisCommands:
        self.monitor = self.client.monitor()
        self.monitor.__enter__()  # MONITOR answered OK: every later command is reported
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self) -> None:
        for event in self.monitor.listen():
            if self.marker in event["command"]:
                return
            self.commands.append(event["command"])

    def __exit__(self, *exc_info) -> None:
        self.client.get(self.marker)  # the last command the monitor reports
        self.reader.join(10)
        assert not self.reader.is_alive(), "MONITOR did not report the end marker"
        self.monitor.__exit__()
        self.client.close()

    def touching(self, key_prefix: str) -> list[str]:
        return [command for command in self.commands if key_prefix in command]


def subscribe_push(person: Person, subscription: dict) -> dict:
    """Register a browser's push subscription (tests/push_service.py `subscribe()`) for
    `person` through POST /api/push/subscriptions; the stored subscription."""
    response = person.post("/api/push/subscriptions", subscription)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def png_bytes(size: tuple[int, int] = (16, 16), colour: tuple[int, int, int] = (200, 20, 30)
              ) -> bytes:
    """A small valid PNG, for uploads."""
    from PIL import Image  # only the tests that upload need it

    data = io.BytesIO()
    Image.new("RGB", size, colour).save(data, format="PNG")
    return data.getvalue()


class CommandLog(monitoring.CommandListener):
    """Every MongoDB command the app's client starts while `recording`."""

    def __init__(self):
        self.recording, self.commands = False, []

    def started(self, event):
        if self.recording:
            self.commands.append((event.command_name, event.command.get(event.command_name)))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def listen_to_database(monkeypatch, listener: monitoring.CommandListener) -> None:
    """Every MongoDB client the app makes from now on reports its commands to `listener`
    (an app made afterwards with a setting of its own gets a client of its own)."""
    from pymongo import MongoClient

    from utils import db as db_module

    def make_client(uri: str, timeout_ms: int) -> MongoClient:
        return MongoClient(uri, tz_aware=True, connect=False, timeoutMS=timeout_ms,
                           event_listeners=[listener])

    monkeypatch.setattr(db_module, "make_client", make_client)

