"""A site ban reaches a live socket on another server process: two real gunicorn
processes share MongoDB and Redis; the ban is made on one, the banned user's socket is
connected to the other and gets `force_logout`, then is disconnected."""
from __future__ import annotations

import threading

import pytest
import requests
import socketio as socketio_client

from tests.helpers import bearer
from tests.topic_helpers import Person


def test_site_ban_logs_out_a_socket_on_another_process(client, cluster):
    _, (first, second) = cluster
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
    for server in (first, second):
        me = requests.get(f"{server.url}/api/auth/me", headers=victim_headers, timeout=10)
        assert me.status_code == 401
    refused = socketio_client.Client(reconnection=False)
    with pytest.raises(socketio_client.exceptions.ConnectionError):
        refused.connect(first.url, auth={"token": token}, transports=["websocket"],
                        wait_timeout=5)
