"""Per-address and per-email limits, the create-admin command, socket authentication."""
from __future__ import annotations

import pytest

from tests.helpers import DEFAULT_PASSWORD, bearer, register, register_and_login
from utils.extensions import socketio

ADDRESS = {"REMOTE_ADDR": "203.0.113.9"}


def test_register_is_limited_to_five_per_hour_per_address(client):
    for n in range(5):
        response = client.post("/api/auth/register", environ_base=ADDRESS,
                               json={"username": f"user{n}", "email": f"u{n}@example.com",
                                     "password": DEFAULT_PASSWORD})
        assert response.status_code == 201
    response = client.post("/api/auth/register", environ_base=ADDRESS,
                           json={"username": "user9", "email": "u9@example.com",
                                 "password": DEFAULT_PASSWORD})
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_forgot_is_limited_per_email_and_per_address(client):
    def forgot(email, n):
        return client.post("/api/auth/password/forgot", json={"email": email},
                           environ_base={"REMOTE_ADDR": f"203.0.113.{n}"})

    assert [forgot("a@example.com", n).status_code for n in range(4)] == [202, 202, 202, 429]
    assert [forgot(f"x{n}@example.com", 50).status_code for n in range(6)] == [202] * 5 + [429]


def test_create_admin_asks_for_the_password(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--username", "root_admin",
                                 "--email", "admin@example.com"],
                           input=f"{DEFAULT_PASSWORD}\n{DEFAULT_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    stored = db.users.find_one({"username": "root_admin"})
    assert stored["role"] == "admin" and stored["email_verified"] is True
    weak = runner.invoke(args=["create-admin", "--username", "other", "--email", "o@example.com"],
                         input="password123\npassword123\n")
    assert weak.exit_code != 0 and "common" in weak.output


def test_admin_can_log_in(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["create-admin", "--username", "boss", "--email", "boss@example.com"],
                  input=f"{DEFAULT_PASSWORD}\n{DEFAULT_PASSWORD}\n")
    response = app.test_client().post("/api/auth/login",
                                      json={"login": "boss", "password": DEFAULT_PASSWORD})
    assert response.get_json()["user"]["role"] == "admin"


def test_socket_connects_with_session_cookie_and_joins_user_room(app, client):
    user, _ = register_and_login(client)
    sio = socketio.test_client(app, flask_test_client=client)
    assert sio.is_connected()
    socketio.emit("ping_user", {"x": 1}, to=f"user_{user['id']}")
    assert [e["name"] for e in sio.get_received()] == ["ping_user"]
    sio.disconnect()


def test_socket_connects_with_bearer_token(app, client):
    headers = bearer(client, "bob")
    token = headers["Authorization"].split()[1]
    sio = socketio.test_client(app, auth={"token": token})
    assert sio.is_connected()
    sio.disconnect()


@pytest.mark.parametrize("auth", [None, {"token": "nope"}, {"token": 5}])
def test_socket_refuses_anonymous(app, auth):
    sio = socketio.test_client(app, auth=auth)
    assert not sio.is_connected()


def test_socket_refuses_dead_session(app, client):
    register(client, "alice")
    register_and_login(client, "carol")
    from tests.helpers import csrf

    token = client.get("/api/auth/csrf").get_json()["csrf_token"]
    client.post("/api/auth/logout", headers=csrf(token))
    assert not socketio.test_client(app, flask_test_client=client).is_connected()


def test_create_admin_refuses_a_bad_name_or_address_and_stores_nothing(app, db):
    runner = app.test_cli_runner()
    password = f"{DEFAULT_PASSWORD}\n{DEFAULT_PASSWORD}\n"
    reserved = runner.invoke(args=["create-admin", "--username", "admin",
                                   "--email", "not-an-address"], input=password)
    assert reserved.exit_code != 0
    assert "username: This username is reserved." in reserved.output
    assert "email: Not a valid email address." in reserved.output
    assert db.users.count_documents({}) == 0
