"""The email-code second factor (a 6-digit code mailed at login through the job queue,
hashed, expiring, attempt-limited) and recovery-code regeneration."""
from __future__ import annotations

import re

import pytest

from tests.auth_helpers import enable as enable_totp
from tests.helpers import DEFAULT_PASSWORD, csrf, read_mails, register_and_login, run_jobs
from utils.extensions import socketio


@pytest.fixture
def mail_app(app, tmp_path):
    app.config.update(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path))
    return app


def _login(client, otp=None, address="198.51.100.7"):
    body = {"login": "alice", "password": DEFAULT_PASSWORD}
    if otp is not None:
        body["otp"] = otp
    return client.post("/api/auth/login", json=body, environ_base={"REMOTE_ADDR": address})


def _enable(client, token):
    answer = client.post("/api/auth/2fa/email/enable", headers=csrf(token),
                         json={"password": DEFAULT_PASSWORD})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["recovery_codes"]


def _mailed_codes(app):
    run_jobs(app)
    return [re.search(r"sign-in code is (\d{6})", m.get_body(("plain",)).get_content()).group(1)
            for m in read_mails(app.config["MAIL_FILE_DIR"])
            if m["Subject"] == "Your sign-in code"]


def test_login_mails_a_code_that_works_once(mail_app, db):
    client = mail_app.test_client()
    _, token = register_and_login(client)
    codes = _enable(client, token)
    assert len(codes) == 10
    first = _login(client)
    assert first.status_code == 401
    assert first.get_json()["error"] == {"code": "otp_required",
                                         "message": "A valid two-factor code is required.",
                                         "details": {"methods": ["email"]}}
    [code] = _mailed_codes(mail_app)
    stored = db.users.find_one({"username": "alice"})
    assert stored["email_otp_hash"] and code not in str(stored)
    assert _login(client, code).status_code == 200
    # Spent: the same code again is refused.
    assert _login(client, code).status_code == 401


def test_a_wrong_password_mails_nothing_and_a_retry_does_not_flood(mail_app, clock):
    client = mail_app.test_client()
    _, token = register_and_login(client)
    _enable(client, token)
    wrong = client.post("/api/auth/login", json={"login": "alice", "password": "wrong" * 3})
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"
    assert _mailed_codes(mail_app) == []
    _login(client)
    _login(client)  # within EMAIL_OTP_RESEND_SECONDS: the live code stands
    assert len(_mailed_codes(mail_app)) == 1
    clock.advance(61)
    _login(client)
    first, second = _mailed_codes(mail_app)
    assert _login(client, first).status_code == 401  # replaced by the newer one
    assert _login(client, second).status_code == 200


def test_codes_expire_and_die_after_too_many_wrong_tries(mail_app, clock):
    client = mail_app.test_client()
    _, token = register_and_login(client)
    _enable(client, token)
    _login(client)
    [code] = _mailed_codes(mail_app)
    clock.advance(minutes=11)
    assert _login(client, code).status_code == 401  # expired

    _login(client)
    code = _mailed_codes(mail_app)[-1]
    wrong = "000000" if code != "000000" else "111111"
    for n in range(5):  # each from its own address: the login throttle is not what stops it
        assert _login(client, wrong, f"198.51.100.{20 + n}").status_code == 401
    assert _login(client, code, "198.51.100.40").status_code == 401


def test_a_recovery_code_works_instead_of_the_mail(mail_app):
    client = mail_app.test_client()
    _, token = register_and_login(client)
    codes = _enable(client, token)
    assert _login(client, codes[0]).status_code == 200
    assert _login(client, codes[0]).status_code == 401


def test_enable_and_disable_need_the_password_and_end_other_sessions(mail_app, db):
    client = mail_app.test_client()
    _, token = register_and_login(client)
    other = mail_app.test_client()
    _login(other)
    other_socket = socketio.test_client(mail_app, flask_test_client=other)
    refused = client.post("/api/auth/2fa/email/enable", headers=csrf(token),
                          json={"password": "not the password"})
    assert refused.status_code == 401
    assert db.users.find_one({"username": "alice"})["email_2fa_enabled"] is False
    _enable(client, token)
    assert other.get("/api/auth/me").status_code == 401
    assert not other_socket.is_connected()
    assert client.get("/api/auth/me").status_code == 200
    # Not beside TOTP, nor twice.
    assert client.post("/api/auth/2fa/setup", headers=csrf(token)).status_code == 400
    assert client.post("/api/auth/2fa/email/enable", headers=csrf(token),
                       json={"password": DEFAULT_PASSWORD}).status_code == 400

    assert client.post("/api/auth/2fa/email/disable", headers=csrf(token),
                       json={"password": "not the password"}).status_code == 401
    off = client.post("/api/auth/2fa/email/disable", headers=csrf(token),
                      json={"password": DEFAULT_PASSWORD})
    assert off.status_code == 200 and client.get("/api/auth/me").status_code == 200
    stored = db.users.find_one({"username": "alice"})
    assert stored["email_2fa_enabled"] is False and stored["recovery_code_hashes"] == []
    assert _login(client).status_code == 200
    assert _mailed_codes(mail_app) == []


def test_email_code_is_refused_beside_totp(client):
    _, token = register_and_login(client)
    enable_totp(client, token)
    assert client.post("/api/auth/2fa/email/enable", headers=csrf(token),
                       json={"password": DEFAULT_PASSWORD}).status_code == 400


@pytest.mark.parametrize("method", ["email", "totp"])
def test_regenerating_recovery_codes_invalidates_the_old_ones(client, method):
    _, token = register_and_login(client)
    old = _enable(client, token) if method == "email" else enable_totp(client, token)[1]
    token = client.get("/api/auth/csrf").get_json()["csrf_token"]
    refused = client.post("/api/auth/2fa/recovery-codes", headers=csrf(token),
                          json={"password": "not the password"})
    assert refused.status_code == 401
    answer = client.post("/api/auth/2fa/recovery-codes", headers=csrf(token),
                         json={"password": DEFAULT_PASSWORD})
    assert answer.status_code == 200
    new = answer.get_json()["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    device = client.application.test_client()
    assert _login(device, old[1]).status_code == 401
    assert _login(device, new[0]).status_code == 200


def test_regenerating_needs_two_factor_on(client):
    _, token = register_and_login(client)
    assert client.post("/api/auth/2fa/recovery-codes", headers=csrf(token),
                       json={"password": DEFAULT_PASSWORD}).status_code == 400
