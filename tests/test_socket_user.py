"""The acting user of a socket event: kept on the socket between events, never past a
write to the user. Whatever ends the user's sessions (a password change or reset, a site
ban, deleting the account) refuses the socket's next event even when no forced
disconnect reaches it."""
from __future__ import annotations

import pytest
from bson import ObjectId
from pymongo import monitoring

from services.platform import live_rooms
from tests.helpers import DEFAULT_PASSWORD, bearer, csrf, listen_to_database, login
from tests.topic_helpers import Person
from utils.extensions import socketio


def event(sock):
    """Any event that needs the acting user and nothing else."""
    return sock.emit("leave_room", {"room_id": str(ObjectId())}, callback=True)


def refused(answer):
    return answer["ok"] is False and answer["error"]["code"] == "unauthorized"


@pytest.fixture
def no_forced_disconnects(monkeypatch):
    """As if the disconnect went to another process and got lost: only the stored
    state can stop the socket."""
    monkeypatch.setattr(live_rooms, "end_sockets", lambda *args, **kwargs: 0)


def token_socket(app, client, name):
    headers = bearer(client, name)
    sock = socketio.test_client(app, auth={"token": headers["Authorization"].split()[1]})
    assert sock.is_connected() and event(sock)["ok"]  # the socket now holds its user
    return sock, headers


def test_password_change_elsewhere_refuses_the_next_event(app, client, no_forced_disconnects):
    sock, _ = token_socket(app, client, "alice")
    # The same account, logged in in a browser, changes its password: other sessions end.
    owner = app.test_client()
    csrf_token = login(owner, "alice")
    changed = owner.post("/api/auth/password/change", headers=csrf(csrf_token),
                         json={"current_password": DEFAULT_PASSWORD,
                               "new_password": "a brand new passphrase 7"})
    assert changed.status_code == 200, changed.get_json()
    assert sock.is_connected()  # the forced disconnect got lost
    assert refused(event(sock))


def test_site_ban_refuses_the_next_event(app, client, no_forced_disconnects):
    admin = Person(client, "boss")
    admin.set_role("admin")
    sock, headers = token_socket(app, client, "victim")
    victim_id = client.get("/api/auth/me", headers=headers).get_json()["user"]["id"]
    banned = admin.post(f"/api/admin/users/{victim_id}/ban", {"reason": "spam"})
    assert banned.status_code == 200, banned.get_json()
    assert refused(event(sock))


def test_deleting_the_account_refuses_the_next_event(app, client, no_forced_disconnects):
    sock, headers = token_socket(app, client, "leaver")
    gone = client.delete("/api/users/me", headers=headers, json={"password": DEFAULT_PASSWORD})
    assert gone.status_code == 204, gone.get_json()
    assert refused(event(sock))


def test_a_changed_user_is_seen_at_the_next_event(app, client):
    from utils.socket_events import acknowledged, socket_user

    @socketio.on("my_bio")
    @acknowledged()
    def my_bio(_payload):
        return socket_user()["bio"]

    try:
        sock, headers = token_socket(app, client, "carol")
        assert sock.emit("my_bio", {}, callback=True)["data"] == ""
        assert client.patch("/api/users/me", json={"bio": "chess"},
                            headers=headers).status_code == 200
        assert sock.emit("my_bio", {}, callback=True)["data"] == "chess"
    finally:
        # The server is shared by the session: tests that list every handler (the
        # authorization matrix, the AsyncAPI document) must not find this one.
        socketio.server.handlers["/"].pop("my_bio", None)


class UserReads(monitoring.CommandListener):
    def __init__(self):
        self.count = 0

    def started(self, event):
        if event.command_name == "find" and event.command.get("find") == "users":
            self.count += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_events_do_not_read_the_user_each_time(make_app, monkeypatch):
    reads = UserReads()
    listen_to_database(monkeypatch, reads)
    app = make_app(MONGO_TIMEOUT_MS=2346)  # its own client, with the listener
    sock, _ = token_socket(app, app.test_client(), "dave")
    before = reads.count
    for _ in range(5):
        assert event(sock)["ok"]
    assert reads.count == before
