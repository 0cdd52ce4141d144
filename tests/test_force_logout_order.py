"""`force_logout {reason}` reaches a socket before its disconnect, every time, with the
Redis message queue: on the threading development server (one process) and on two
gunicorn processes, whether the socket is held by the process that ended its session or
by the other one. The sockets are raw Engine.IO websockets, so what is checked is the
order of the frames on the wire (python-socketio's client hands each message to a thread
of its own, which could reorder them)."""
from __future__ import annotations

import json
import sys
import uuid

import pytest
import requests
import websocket

from tests.helpers import DEFAULT_PASSWORD
from tests.servers import AppServer

ROUNDS = 20
DEVELOPMENT = {"FLASK_ENV": "development", "REQUIRE_EMAIL_VERIFICATION": "false",
               "BCRYPT_ROUNDS": "4", "MAIL_BACKEND": "console", "LOG_LEVEL": "WARNING",
               "FLASK_DEBUG": "0"}


def open_socket(server: AppServer, token: str | None = None, cookie: str | None = None
                ) -> websocket.WebSocket:
    url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(url, timeout=10, cookie=cookie)
    assert ws.recv().startswith("0")  # Engine.IO open
    ws.send("40" + (json.dumps({"token": token}) if token else ""))
    assert ws.recv().startswith("40"), "socket connect refused"
    return ws


def ending(ws: websocket.WebSocket) -> list[str]:
    """What the socket hears until it is disconnected: `force_logout:<reason>` for that
    event, `disconnect` for the namespace's DISCONNECT packet or the connection closing
    (other events are left out)."""
    heard: list[str] = []
    try:
        while True:
            frame = ws.recv()
            if frame == "2":  # Engine.IO ping
                ws.send("3")
            elif frame.startswith("42"):
                name, *args = json.loads(frame[2:])
                if name == "force_logout":
                    heard.append(f"force_logout:{args[0]['reason']}")
            elif frame.startswith("41") or frame in ("1", ""):
                heard.append("disconnect")
                return heard
    except websocket.WebSocketConnectionClosedException:
        return [*heard, "disconnect"]
    finally:
        ws.close()


def register(server: AppServer) -> str:
    name = f"u{uuid.uuid4().hex[:10]}"
    answer = requests.post(f"{server.url}/api/auth/register", timeout=10, json={
        "username": name, "email": f"{name}@example.com", "password": DEFAULT_PASSWORD})
    assert answer.status_code == 201, answer.text
    return name


def logouts(http: AppServer, holders: list[AppServer]) -> list[list[str]]:
    """ROUNDS browser sessions, each with a socket on the next of `holders`, logged out
    through `http`: what each socket heard."""
    name = register(http)
    heard = []
    for index in range(ROUNDS):
        browser = requests.Session()
        login = browser.post(f"{http.url}/api/auth/login", timeout=10,
                             json={"login": name, "password": DEFAULT_PASSWORD})
        assert login.status_code == 200, login.text
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        ws = open_socket(holders[index % len(holders)], cookie=cookie)
        out = browser.post(f"{http.url}/api/auth/logout", timeout=10,
                           headers={"X-CSRF-Token": login.json()["csrf_token"]})
        assert out.status_code == 204, out.text
        heard.append(ending(ws))
    return heard


def revocations(http: AppServer, holders: list[AppServer]) -> list[list[str]]:
    """ROUNDS bearer tokens, each with a socket on the next of `holders`, revoked through
    `http`: what each socket heard."""
    name = register(http)
    heard = []
    for index in range(ROUNDS):
        issued = requests.post(f"{http.url}/api/auth/token", timeout=10,
                               json={"login": name, "password": DEFAULT_PASSWORD})
        assert issued.status_code == 201, issued.text
        token = issued.json()["token"]
        ws = open_socket(holders[index % len(holders)], token=token)
        gone = requests.delete(f"{http.url}/api/auth/token", timeout=10,
                               headers={"Authorization": f"Bearer {token}"})
        assert gone.status_code == 204, gone.text
        heard.append(ending(ws))
    return heard


@pytest.fixture
def threading_server(mongo_server, mongo_admin, redis_url, tmp_path, monkeypatch):
    """`python app.py`: the threading development server, with the Redis queue."""
    monkeypatch.delenv("FLASK_APP", raising=False)
    database = f"logout_{uuid.uuid4().hex[:12]}"
    server = AppServer({**DEVELOPMENT, "MONGO_URI": mongo_server.uri, "MONGO_DB_NAME": database,
                        "REDIS_URL": redis_url}, tmp_path, command=[sys.executable, "app.py"])
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        mongo_admin.drop_database(database)


def test_threading_server_says_why_before_it_disconnects(threading_server):
    assert logouts(threading_server, [threading_server]) == [
        ["force_logout:logged_out", "disconnect"]] * ROUNDS
    assert revocations(threading_server, [threading_server]) == [
        ["force_logout:token_revoked", "disconnect"]] * ROUNDS


def test_gunicorn_processes_say_why_before_they_disconnect(cluster):
    """Every other socket is on the process that ended its session, the rest on the
    other process."""
    _, (first, second) = cluster
    assert logouts(first, [first, second]) == [
        ["force_logout:logged_out", "disconnect"]] * ROUNDS
    assert revocations(first, [first, second]) == [
        ["force_logout:token_revoked", "disconnect"]] * ROUNDS
