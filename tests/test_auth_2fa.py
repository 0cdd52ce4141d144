"""TOTP two-factor authentication with replay protection and recovery codes."""
from __future__ import annotations

from tests.auth_helpers import code, enable
from tests.helpers import DEFAULT_PASSWORD, csrf, register_and_login


def login(client, otp=None):
    body = {"login": "alice", "password": DEFAULT_PASSWORD}
    if otp is not None:
        body["otp"] = otp
    return client.post("/api/auth/login", json=body)


def test_enable_requires_a_valid_code(client, db):
    _, token = register_and_login(client)
    client.post("/api/auth/2fa/setup", headers=csrf(token))
    response = client.post("/api/auth/2fa/enable", headers=csrf(token),
                           json={"otp": "000000", "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    assert db.users.find_one({"username": "alice"})["totp_enabled"] is False


def test_login_needs_the_code_and_refuses_replay(client, db):
    _, token = register_and_login(client)
    secret, codes = enable(client, token)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = db.users.find_one({"username": "alice"})
    assert not set(codes) & set(stored["recovery_code_hashes"])
    missing = login(client)
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "otp_required"
    wrong = login(client, "123456" if code(secret) != "123456" else "654321")
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "otp_required"
    current = code(secret)
    assert login(client, current).status_code == 200
    replay = login(client, current)
    assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "otp_required"
    # The enabling code (previous step) cannot be used either: steps only move forward.
    assert login(client, code(secret, -1)).status_code == 401


def test_recovery_codes_work_once(client, db):
    _, token = register_and_login(client)
    _, codes = enable(client, token)
    assert login(client, codes[0]).status_code == 200
    assert login(client, codes[0]).status_code == 401
    assert len(db.users.find_one({"username": "alice"})["recovery_code_hashes"]) == 9
    assert login(client, codes[1].upper()).status_code == 200


def test_disable_needs_password_and_code(client, monkeypatch):
    _, token = register_and_login(client)
    secret, _ = enable(client, token)
    url = "/api/auth/2fa/disable"
    bad_password = client.post(url, headers=csrf(token),
                               json={"password": "wrong-password", "otp": code(secret)})
    assert bad_password.status_code == 401
    bad_code = client.post(url, headers=csrf(token),
                           json={"password": DEFAULT_PASSWORD, "otp": "000000"})
    assert bad_code.status_code == 401
    response = client.post(url, headers=csrf(token),
                           json={"password": DEFAULT_PASSWORD, "otp": code(secret)})
    assert response.status_code == 200
    assert login(client).status_code == 200


def test_token_creation_also_needs_the_code(client):
    _, token = register_and_login(client)
    secret, _ = enable(client, token)
    body = {"login": "alice", "password": DEFAULT_PASSWORD}
    assert client.post("/api/auth/token", json=body).status_code == 401
    assert client.post("/api/auth/token", json=body | {"otp": code(secret)}).status_code == 201


def test_enable_needs_the_password_too(client, db):
    """A stolen session alone cannot put the owner behind the thief's second factor."""
    _, token = register_and_login(client)
    secret = client.post("/api/auth/2fa/setup", headers=csrf(token)).get_json()["secret"]
    missing = client.post("/api/auth/2fa/enable", headers=csrf(token), json={"otp": code(secret)})
    assert missing.status_code == 400 and "password" in missing.get_json()["error"]["details"]
    wrong = client.post("/api/auth/2fa/enable", headers=csrf(token),
                        json={"otp": code(secret), "password": "not-the-password"})
    assert wrong.status_code == 401
    assert db.users.find_one({"username": "alice"})["totp_enabled"] is False


def test_wrong_passwords_on_disable_are_throttled_like_logins(client):
    _, token = register_and_login(client)
    secret, _ = enable(client, token)
    guesser = {"REMOTE_ADDR": "192.0.2.70"}
    for _ in range(5):
        response = client.post("/api/auth/2fa/disable", headers=csrf(token), environ_base=guesser,
                               json={"password": "not-the-password", "otp": code(secret)})
        assert response.status_code == 401
    response = client.post("/api/auth/2fa/disable", headers=csrf(token), environ_base=guesser,
                           json={"password": DEFAULT_PASSWORD, "otp": code(secret)})
    assert response.status_code == 429 and response.headers["Retry-After"]


def test_each_step_out_of_order_is_a_400_that_changes_nothing(client, db):
    _, token = register_and_login(client)
    body = {"otp": "123456", "password": DEFAULT_PASSWORD}
    # Enable before setup; disable (either factor) while it is off.
    for path, json in (("/api/auth/2fa/enable", body), ("/api/auth/2fa/disable", body),
                       ("/api/auth/2fa/email/disable", {"password": DEFAULT_PASSWORD})):
        answer = client.post(path, headers=csrf(token), json=json)
        assert answer.status_code == 400, (path, answer.get_json())
        assert answer.get_json()["error"]["code"] == "bad_request"
    stored = db.users.find_one({"username": "alice"})
    assert stored["totp_enabled"] is False and not stored.get("email_2fa_enabled")
    assert stored["recovery_code_hashes"] == []
    # The session those refusals came from still works: nothing was ended.
    assert client.get("/api/auth/me").status_code == 200
