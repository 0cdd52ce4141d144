"""Forgot, reset and change password; ending sessions and tokens."""
from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from models.base import utcnow
from tests.helpers import (
    DEFAULT_PASSWORD,
    csrf,
    forged,
    fresh_address,
    link_token,
    login,
    read_mails,
    register,
    run_jobs,
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
    run_jobs(app)
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
    run_jobs(mail_app)
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
    moment = utcnow() + timedelta(minutes=61)
    monkeypatch.setattr("utils.clock.now", lambda: moment)
    response = client.post("/api/auth/password/reset", json={"token": token,
                                                             "password": NEW_PASSWORD})
    assert response.status_code == 400


def test_reset_rejects_weak_password_and_forged_token(mail_app):
    client = mail_app.test_client()
    register(client, "alice")
    token = reset_token(mail_app, client)
    weak = client.post("/api/auth/password/reset", json={"token": token, "password": "password123"})
    assert weak.status_code == 400 and "password" in weak.get_json()["error"]["details"]
    refused = client.post("/api/auth/password/reset",
                          json={"token": forged(token), "password": NEW_PASSWORD})
    assert refused.status_code == 400


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


def test_forgot_and_resend_do_the_same_work_for_known_and_unknown_emails(mail_app, monkeypatch):
    """Timing cannot be asserted robustly; the structure can: the request only queues one
    job, the same one for any address, and every lookup runs in that job."""
    from models.user import User
    from utils import jobs

    client = mail_app.test_client()
    register(client, "alice", verify=False)
    run_jobs(mail_app)
    lookups = []
    real_find = User.find_by_login
    monkeypatch.setattr(User, "find_by_login", lambda self, login: lookups.append(
        login) or real_find(self, login))
    huey = jobs.get_huey(mail_app)
    for path in ("/api/auth/password/forgot", "/api/auth/resend-verification"):
        queued = []
        for email in ("alice@example.com", "nobody@example.com"):
            before = len(lookups)
            response = client.post(path, json={"email": email}, environ_base=fresh_address())
            assert response.status_code == 202
            queued.append([task.name for task in huey.pending()])
            assert len(lookups) == before, (path, email)  # nothing looked up on the request
            run_jobs(mail_app)
        # One job each, the same one for both addresses, and both were looked up there.
        assert len(queued[0]) == 1 and queued[0] == queued[1], queued
        assert lookups == ["alice@example.com", "nobody@example.com"]
        lookups.clear()
    sent = [(m["To"], m["Subject"]) for m in read_mails(mail_app.config["MAIL_FILE_DIR"])]
    assert sent[1:] == [("alice@example.com", "Reset your password"),
                        ("alice@example.com", "Confirm your email address")]


def test_forgot_finds_the_account_whatever_invisible_characters_the_address_has(mail_app):
    client = mail_app.test_client()
    register(client, "alice")
    assert forgot(client, "alice@example.com\u200b").status_code == 202
    run_jobs(mail_app)
    mail = read_mails(mail_app.config["MAIL_FILE_DIR"])[-1]
    assert mail["To"] == "alice@example.com"
    token = link_token(mail, "reset-password")
    response = client.post("/api/auth/password/reset", json={"token": token,
                                                             "password": NEW_PASSWORD})
    assert response.status_code == 200


def change(client, token, current, address):
    return client.post("/api/auth/password/change", headers=csrf(token), environ_base=address,
                       json={"current_password": current, "new_password": NEW_PASSWORD})


def test_wrong_current_passwords_on_change_are_throttled_like_logins(client):
    register(client, "alice")
    token = login(client, "alice")
    guesser, owner = {"REMOTE_ADDR": "192.0.2.80"}, {"REMOTE_ADDR": "198.51.100.80"}
    for _ in range(5):
        assert change(client, token, "not-the-password", guesser).status_code == 401
    throttled = change(client, token, DEFAULT_PASSWORD, guesser)
    assert throttled.status_code == 429
    assert throttled.get_json()["error"]["code"] == "rate_limited"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert change(client, token, DEFAULT_PASSWORD, owner).status_code == 200


def test_wrong_passwords_on_account_deletion_are_throttled_like_logins(client, db):
    register(client, "alice")
    token = login(client, "alice")
    guesser = {"REMOTE_ADDR": "192.0.2.81"}
    for _ in range(5):
        response = client.delete("/api/users/me", headers=csrf(token), environ_base=guesser,
                                 json={"password": "not-the-password"})
        assert response.status_code == 401
    response = client.delete("/api/users/me", headers=csrf(token), environ_base=guesser,
                             json={"password": DEFAULT_PASSWORD})
    assert response.status_code == 429
    assert db.users.find_one({"username": "alice"})["deleted"] is False


# A password reset and 2FA (docs/ACCOUNTS.md, "Password reset and two-factor")

def enable_2fa(client, token) -> str:
    secret = client.post("/api/auth/2fa/setup", headers=csrf(token)).get_json()["secret"]
    otp = pyotp.TOTP(secret).at(utcnow() - timedelta(seconds=30))
    response = client.post("/api/auth/2fa/enable", headers=csrf(token),
                           json={"otp": otp, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    return secret


def reset_mail(app, client):
    assert forgot(client, "alice@example.com").status_code == 202
    run_jobs(app)
    return read_mails(app.config["MAIL_FILE_DIR"])[-1]


def password_login(client, password=NEW_PASSWORD):
    return client.post("/api/auth/login", json={"login": "alice", "password": password},
                       environ_base=fresh_address())


def test_reset_never_removes_2fa_by_itself(mail_app):
    client = mail_app.test_client()
    register(client, "alice")
    enable_2fa(client, login(client, "alice"))
    token = link_token(reset_mail(mail_app, client), "reset-password")
    assert client.post("/api/auth/password/reset",
                       json={"token": token, "password": NEW_PASSWORD}).status_code == 200
    response = password_login(client)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "otp_required"


def test_recent_2fa_is_removed_only_through_the_link_in_the_reset_mail(mail_app, db):
    thief = mail_app.test_client()
    register(thief, "alice")
    enable_2fa(thief, login(thief, "alice"))  # by someone holding the session and password
    mail = reset_mail(mail_app, thief.application.test_client())
    remove = link_token(mail, "remove-2fa")
    reset = link_token(mail, "reset-password")
    owner = mail_app.test_client()
    assert owner.post("/api/auth/password/reset",
                      json={"token": reset, "password": NEW_PASSWORD}).status_code == 200
    assert password_login(owner).status_code == 401  # still behind the thief's factor
    assert owner.post("/api/auth/2fa/remove", json={"token": remove}).status_code == 200
    stored = db.users.find_one({"username": "alice"})
    assert stored["totp_enabled"] is False and stored["totp_secret"] is None
    assert password_login(owner).status_code == 200
    assert thief.get("/api/auth/me").status_code == 401
    # Single use.
    assert owner.post("/api/auth/2fa/remove", json={"token": remove}).status_code == 400


def test_old_2fa_gets_no_removal_link(mail_app, db):
    client = mail_app.test_client()
    register(client, "alice")
    enable_2fa(client, login(client, "alice"))
    db.users.update_one({"username": "alice"},
                        {"$set": {"totp_enabled_at": utcnow() - timedelta(hours=73)}})
    text = reset_mail(mail_app, client).get_body(preferencelist=("plain",)).get_content()
    assert "reset-password?token=" in text and "remove-2fa" not in text


def test_removal_link_is_bound_to_the_enrolment_it_names(mail_app, db):
    client = mail_app.test_client()
    register(client, "alice")
    token = login(client, "alice")
    secret = enable_2fa(client, token)
    remove = link_token(reset_mail(mail_app, client), "remove-2fa")
    otp = pyotp.TOTP(secret).now()
    assert client.post("/api/auth/2fa/disable", headers=csrf(token),
                       json={"password": DEFAULT_PASSWORD, "otp": otp}).status_code == 200
    enable_2fa(client, token)
    assert client.post("/api/auth/2fa/remove", json={"token": remove}).status_code == 400
    assert db.users.find_one({"username": "alice"})["totp_enabled"] is True
