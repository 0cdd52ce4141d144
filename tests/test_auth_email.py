"""Email verification and the mail service (file backend and a real SMTP server)."""
from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from models.base import utcnow
from tests.helpers import (
    DEFAULT_PASSWORD,
    Recorder,
    fresh_address,
    link_token,
    read_mails,
    run_jobs,
)
from utils import jobs
from utils.embedded_db import free_port


@pytest.fixture
def mail_app(make_app, tmp_path):
    return make_app(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path))


def register(client, username="alice"):
    return client.post("/api/auth/register", environ_base=fresh_address(),
                       json={"username": username, "email": f"{username}@example.com",
                             "password": DEFAULT_PASSWORD})


def verification_token(app):
    run_jobs(app)
    return link_token(read_mails(app.config["MAIL_FILE_DIR"])[-1], "verify-email")


def test_registration_mails_a_verification_link_with_text_and_html(mail_app):
    assert register(mail_app.test_client()).status_code == 201
    run_jobs(mail_app)
    [mail] = read_mails(mail_app.config["MAIL_FILE_DIR"])
    assert mail["To"] == "alice@example.com"
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "http://localhost:5173/verify-email?token=" in html
    assert link_token(mail, "verify-email")


def test_verify_then_login(mail_app):
    client = mail_app.test_client()
    register(client)
    response = client.post("/api/auth/verify-email", json={"token": verification_token(mail_app)})
    assert response.status_code == 200
    assert response.get_json()["user"]["email_verified"] is True
    login = client.post("/api/auth/login", json={"login": "alice", "password": DEFAULT_PASSWORD})
    assert login.status_code == 200


def test_verification_token_is_single_use(mail_app, db):
    client = mail_app.test_client()
    register(client)
    token = verification_token(mail_app)
    assert client.post("/api/auth/verify-email", json={"token": token}).status_code == 200
    assert client.post("/api/auth/verify-email", json={"token": token}).status_code == 400


def test_verification_token_expires_after_48_hours(mail_app, monkeypatch, db):
    client = mail_app.test_client()
    register(client)
    token = verification_token(mail_app)
    start = utcnow()
    monkeypatch.setattr("utils.clock.now", lambda: start + timedelta(hours=48, minutes=1))
    assert client.post("/api/auth/verify-email", json={"token": token}).status_code == 400
    monkeypatch.setattr("utils.clock.now", lambda: start + timedelta(hours=47))
    assert client.post("/api/auth/verify-email", json={"token": token}).status_code == 200


def test_resend_is_identical_for_any_email_and_kills_the_old_link(mail_app):
    client = mail_app.test_client()
    register(client)
    old = verification_token(mail_app)
    known = client.post("/api/auth/resend-verification", json={"email": "alice@example.com"})
    unknown = client.post("/api/auth/resend-verification", json={"email": "zed@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_data() == unknown.get_data()
    new = verification_token(mail_app)
    assert new != old
    assert client.post("/api/auth/verify-email", json={"token": old}).status_code == 400
    assert client.post("/api/auth/verify-email", json={"token": new}).status_code == 200


@pytest.fixture
def smtp_server():
    def start(failures: int = 0):
        recorder = Recorder(failures)
        controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
        controller.start()
        started.append(controller)
        return recorder, controller.port

    started: list[Controller] = []
    yield start
    for controller in started:
        controller.stop()


def smtp_app(make_app, port, **extra):
    return make_app(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                    MAIL_USE_TLS=False, MAIL_TIMEOUT_SECONDS=2, **extra)


def test_smtp_backend_delivers_to_a_real_server(make_app, smtp_server):
    recorder, port = smtp_server()
    app = smtp_app(make_app, port)
    assert register(app.test_client()).status_code == 201
    run_jobs(app)
    [raw] = recorder.messages
    assert b"To: alice@example.com" in raw and b"verify-email?token=" in raw


def test_smtp_failure_is_retried(make_app, smtp_server):
    recorder, port = smtp_server(failures=2)
    app = smtp_app(make_app, port)
    assert register(app.test_client()).status_code == 201
    run_jobs(app)
    assert len(recorder.messages) == 1


def test_dead_mail_server_never_fails_the_request(make_app, caplog):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    app = smtp_app(make_app, port, MAIL_MAX_ATTEMPTS=2)
    assert register(app.test_client()).status_code == 201
    assert run_jobs(app) == 3  # the verification job, then the mail twice
    # Given up after two attempts: in the dead-letter list, logged, counted in the stats.
    [failed] = jobs.failed_jobs(app)
    assert (failed["name"], failed["attempts"]) == ("services.email_service.deliver", 2)
    assert "Connection refused" in failed["error"] or "Errno" in failed["error"]
    assert "failed after 2 attempts" in caplog.text


def test_console_backend_logs_the_mail(make_app, caplog):
    import logging

    app = make_app(MAIL_BACKEND="console")
    with caplog.at_level(logging.INFO):
        register(app.test_client())
        run_jobs(app)
    assert "verify-email?token=" in caplog.text.replace("=\n", "")


def test_console_backend_prints_the_decoded_link_on_one_line(make_app, caplog):
    import logging
    import re

    app = make_app(MAIL_BACKEND="console")
    client = app.test_client()
    with caplog.at_level(logging.INFO):
        register(client)
        run_jobs(app)
    # Copied from the log as it is (no `=3D`, no soft line break), the link works.
    [token] = re.findall(r"^http://localhost:5173/verify-email\?token=(\S+)$", caplog.text,
                         re.MULTILINE)
    assert "=3D" not in caplog.text
    response = client.post("/api/auth/verify-email", json={"token": token})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["email_verified"] is True


def test_flask_users_verify_marks_the_address_verified(app):
    client = app.test_client()
    assert register(client, "carol").status_code == 201
    credentials = {"login": "carol", "password": DEFAULT_PASSWORD}
    refused = client.post("/api/auth/login", json=credentials, environ_base=fresh_address())
    assert refused.status_code == 403, refused.get_json()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "verify", "Carol"])
    assert result.exit_code == 0, result.output
    assert "carol <carol@example.com>: email verified." in result.output
    allowed = client.post("/api/auth/login", json=credentials, environ_base=fresh_address())
    assert allowed.status_code == 200, allowed.get_json()
    missing = runner.invoke(args=["users", "verify", "nobody_here"])
    assert missing.exit_code != 0 and "No account named nobody_here" in missing.output
