"""A site ban reaches a live socket on another server process: two real gunicorn
processes share MongoDB and Redis; the ban is made on one, the banned user's socket is
connected to the other and gets `force_logout`, then is disconnected."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import socketio as socketio_client

from tests.helpers import bearer
from tests.topic_helpers import Person
from utils.embedded_db import free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


class ServerProcess:
    def __init__(self, mongo_uri: str, db_name: str, redis_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "FLASK_ENV": "production", "BIND": f"127.0.0.1:{self.port}",
               "SECRET_KEY": "live-ban-test-secret-key-0123456789abcdef",
               "MONGO_URI": mongo_uri, "MONGO_DB_NAME": db_name, "REDIS_URL": redis_url,
               "SESSION_COOKIE_SECURE": "false", "MAIL_BACKEND": "console",
               "LOG_LEVEL": "WARNING"}
        self.process = subprocess.Popen(
            [str(GUNICORN), "-c", "gunicorn.conf.py", "app:create_app()"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait_ready(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.process.stderr.read().decode()[-2000:])
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server on {self.port} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@pytest.fixture
def two_servers(app, mongo_server, redis_url):
    servers = [ServerProcess(mongo_server.uri, app.config["MONGO_DB_NAME"], redis_url)
               for _ in range(2)]
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


def test_site_ban_logs_out_a_socket_on_another_process(client, two_servers):
    first, second = two_servers
    admin = Person(client, "boss")
    admin.set_role("admin")
    victim_headers = bearer(client, "victim")
    victim_id = client.get("/api/auth/me", headers=victim_headers).get_json()["user"]["id"]
    token = victim_headers["Authorization"].split()[1]

    got_logout = threading.Event()
    disconnected = threading.Event()
    reasons: list = []
    sio = socketio_client.Client(reconnection=False)
    sio.on("force_logout", lambda data: (reasons.append(data), got_logout.set()))
    sio.on("disconnect", lambda *args: disconnected.set())
    sio.connect(second.url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    try:
        assert sio.connected
        response = requests.post(f"{first.url}/api/admin/users/{victim_id}/ban",
                                 json={"reason": "spam ring"}, headers=admin.headers,
                                 timeout=10)
        assert response.status_code == 200, response.text
        assert got_logout.wait(10), "no force_logout reached the other process's socket"
        assert "spam ring" in reasons[0]["reason"]
        assert disconnected.wait(10), "the socket was not disconnected"
    finally:
        if sio.connected:
            sio.disconnect()
    # Neither process accepts the user again.
    for server in two_servers:
        me = requests.get(f"{server.url}/api/auth/me", headers=victim_headers, timeout=10)
        assert me.status_code == 401
    refused = socketio_client.Client(reconnection=False)
    with pytest.raises(socketio_client.exceptions.ConnectionError):
        refused.connect(first.url, auth={"token": token}, transports=["websocket"],
                        wait_timeout=5)
