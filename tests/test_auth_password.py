"""Forgot, reset and change password; ending sessions and tokens."""
from __future__ import annotations

from datetime import timedelta

import pytest

from models.base import utcnow
from tests.helpers import (
    DEFAULT_PASSWORD,
    csrf,
    flush_mail,
    fresh_address,
    link_token,
    login,
    read_mails,
    register,
)

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def mail_app(make_app, tmp_path):
    return make_app(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path))


def forgot(client, email):
    return client.post("/api/auth/password/forgot", json={"email": email},
                       environ_base=fresh_address())


def reset_token(app, client, email="alice@example.com"):
    assert forgot(client, email).status_code == 202
    flush_mail(app)
    mail = read_mails(app.config["MAIL_FILE_DIR"])[-1]
    assert mail["To"] == email
    return link_token(mail, "reset-password")


def test_forgot_is_identical_for_known_and_unknown_emails(mail_app):
    client = mail_app.test_client()
    register(client, "alice")
    known, unknown = forgot(client, "alice@example.com"), forgot(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.get_data() == unknown.get_data()
    assert dict(known.headers).keys() == dict(unknown.headers).keys()
    flush_mail(mail_app)
    assert len(read_mails(mail_app.config["MAIL_FILE_DIR"])) == 2  # verification + reset


def test_reset_ends_every_session_and_token(mail_app):
    client, other = mail_app.test_client(), mail_app.test_client()
    register(client, "alice")
    login(client, "alice")
    login(other, "alice")
    api = client.post("/api/auth/token", json={"login": "alice", "password": DEFAULT_PASSWORD})
    headers = {"Authorization": f"Bearer {api.get_json()['token']}"}
    token = reset_token(mail_app, client)
    response = client.post("/api/auth/password/reset", json={"token": token,
                                                             "password": NEW_PASSWORD})
    assert response.status_code == 200
    assert client.get("/api/auth/me").status_code == 401
    assert other.get("/api/auth/me").status_code == 401
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    login(client, "alice", NEW_PASSWORD)
    bad = client.post("/api/auth/login", json={"login": "alice", "password": DEFAULT_PASSWORD})
    assert bad.status_code == 401


def test_reset_token_is_single_use(mail_app):
    client = mail_app.test_client()
    register(client, "alice")
    token = reset_token(mail_app, client)
    body = {"token": token, "password": NEW_PASSWORD}
    assert client.post("/api/auth/password/reset", json=body).status_code == 200
    again = client.post("/api/auth/password/reset", json=body | {"password": "yet another one!"})
    assert again.status_code == 400


def test_reset_token_expires_after_an_hour(mail_app, monkeypatch):
    client = mail_app.test_client()
    register(client, "alice")
    token = reset_token(mail_app, client)
    monkeypatch.setattr("utils.clock.now", lambda: utcnow() + timedelta(minutes=61))
    response = client.post("/api/auth/password/reset", json={"token": token,
                                                             "password": NEW_PASSWORD})
    assert response.status_code == 400


def test_reset_rejects_weak_password_and_forged_token(mail_app):
    client = mail_app.test_client()
    register(client, "alice")
    token = reset_token(mail_app, client)
    weak = client.post("/api/auth/password/reset", json={"token": token, "password": "password123"})
    assert weak.status_code == 400 and "password" in weak.get_json()["error"]["details"]
    forged = client.post("/api/auth/password/reset",
                         json={"token": token[:-2] + "xx", "password": NEW_PASSWORD})
    assert forged.status_code == 400


def test_change_keeps_this_session_and_ends_the_others(client):
    register(client, "alice")
    token = login(client, "alice")
    other = client.application.test_client()
    login(other, "alice")
    api = other.post("/api/auth/token", json={"login": "alice", "password": DEFAULT_PASSWORD})
    headers = {"Authorization": f"Bearer {api.get_json()['token']}"}
    response = client.post("/api/auth/password/change", headers=csrf(token),
                           json={"current_password": DEFAULT_PASSWORD,
                                 "new_password": NEW_PASSWORD})
    assert response.status_code == 200
    assert client.get("/api/auth/me").status_code == 200
    assert other.get("/api/auth/me").status_code == 401
    assert other.get("/api/auth/me", headers=headers).status_code == 401
    # The surviving session keeps working for unsafe requests too.
    assert client.patch("/api/users/me", json={"bio": "x"}, headers=csrf(token)).status_code == 200


def test_change_by_bearer_keeps_that_token(client):
    register(client, "alice")
    api = client.post("/api/auth/token", json={"login": "alice", "password": DEFAULT_PASSWORD})
    headers = {"Authorization": f"Bearer {api.get_json()['token']}"}
    response = client.post("/api/auth/password/change", headers=headers,
                           json={"current_password": DEFAULT_PASSWORD,
                                 "new_password": NEW_PASSWORD})
    assert response.status_code == 200
    assert client.get("/api/auth/me", headers=headers).status_code == 200


def test_change_needs_the_current_password(client):
    register(client, "alice")
    token = login(client, "alice")
    response = client.post("/api/auth/password/change", headers=csrf(token),
                           json={"current_password": "not-the-password",
                                 "new_password": NEW_PASSWORD})
    assert response.status_code == 401
    assert client.get("/api/auth/me").status_code == 200
