"""The development servers (`python app.py`, `flask run`: Werkzeug with simple-websocket)
close a websocket without logging an error."""
from __future__ import annotations

import sys
import uuid

import pytest
import requests
import socketio as socketio_client

from tests.servers import AppServer

DEVELOPMENT = {"FLASK_ENV": "development", "REQUIRE_EMAIL_VERIFICATION": "false",
               "BCRYPT_ROUNDS": "4", "MAIL_BACKEND": "console", "LOG_LEVEL": "INFO"}
STARTS = {
    "python app.py": [sys.executable, "app.py"],
    "flask run": [sys.executable, "-m", "flask", "run", "--port", "{port}", "--no-reload"],
}


@pytest.fixture(params=list(STARTS))
def dev_server(request, mongo_server, mongo_admin, redis_url, tmp_path, monkeypatch):
    for name in ("FLASK_DEBUG", "FLASK_APP"):
        monkeypatch.delenv(name, raising=False)
    database = f"devws_{uuid.uuid4().hex[:12]}"
    server = AppServer({**DEVELOPMENT, "MONGO_URI": mongo_server.uri, "MONGO_DB_NAME": database,
                        "REDIS_URL": redis_url}, tmp_path, command=STARTS[request.param])
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        mongo_admin.drop_database(database)


def test_closing_a_websocket_logs_no_error(dev_server):
    name = f"ws{uuid.uuid4().hex[:8]}"
    assert requests.post(f"{dev_server.url}/api/auth/register", timeout=10, json={
        "username": name, "email": f"{name}@example.com",
        "password": "correct horse battery staple"}).status_code == 201
    token = requests.post(f"{dev_server.url}/api/auth/token", timeout=10, json={
        "login": name, "password": "correct horse battery staple"}).json()["token"]
    for _ in range(5):
        sio = socketio_client.Client(reconnection=False)
        sio.connect(dev_server.url, auth={"token": token}, transports=["websocket"],
                    wait_timeout=10)
        assert sio.call("get_online_users", {"room_id": "0" * 24}, timeout=10)["ok"] is False
        sio.disconnect()
    # A later request, logged after the closes were handled.
    assert requests.get(f"{dev_server.url}/health?after-close", timeout=10).status_code == 200
    dev_server.stop()
    log = dev_server.log_path.read_text(errors="replace")
    assert log.count("socket get_online_users not_found") == 5, log
    assert "/health?after-close" in log
    # Werkzeug used to read the websocket's close frame as the next HTTP request:
    # `ERROR werkzeug: ... code 400, message Bad request syntax ('\x88...')`.
    for bad in ("ERROR", "Traceback", "Bad request", "Error on request", "HTTP/0.9", '" 500 '):
        assert bad not in log, log
