"""The developer loop works however the development server is started (issue 26 point 6):
`flask run` consumes the job queue in its own process as `python app.py` does, so the
verification mail of a sign-up shows up in the console; the development registration
limit lets a frontend developer make test accounts all afternoon (tests/test_config.py
compares it with production's)."""
from __future__ import annotations

import sys
import time
import uuid

import click
import flask.cli
import pytest
import requests

import app as app_module
from tests.servers import AppServer

# `make run`'s defaults: development, no Redis (the job queue in SQLite), console mail.
DEVELOPMENT = {"FLASK_ENV": "development", "BCRYPT_ROUNDS": "4", "REDIS_URL": "",
               "SOCKETIO_MESSAGE_QUEUE": "", "JOBS_POLL_MAX_SECONDS": "0.2"}
UNSET = ("FLASK_DEBUG", "FLASK_APP", "JOBS_IN_PROCESS_CONSUMER", "MAIL_BACKEND",
         "RATELIMIT_REGISTER", "LOG_LEVEL")


@pytest.fixture
def flask_run(mongo_server, mongo_admin, tmp_path, monkeypatch):
    """`flask run` as a frontend developer types it, with the development config."""
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    database = f"devloop_{uuid.uuid4().hex[:12]}"
    server = AppServer({**DEVELOPMENT, "MONGO_URI": mongo_server.uri, "MONGO_DB_NAME": database,
                        "SESSION_DIR": str(tmp_path / "sessions"),
                        "JOBS_SQLITE_PATH": str(tmp_path / "jobs.sqlite3"),
                        "UPLOAD_DIR": str(tmp_path / "uploads")},
                       tmp_path, command=[sys.executable, "-m", "flask", "run", "--port", "{port}"])
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        mongo_admin.drop_database(database)


def _poll(condition, seconds: float = 15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    return condition()


def test_flask_run_sends_the_verification_mail_to_the_console(flask_run):
    # More sign-ups from one address than production allows in an hour (5).
    names = [f"dev{uuid.uuid4().hex[:8]}" for _ in range(7)]
    for name in names:
        response = requests.post(f"{flask_run.url}/api/auth/register", timeout=10, json={
            "username": name, "email": f"{name}@example.com",
            "password": "correct horse battery staple"})
        assert response.status_code == 201, response.text

    def mailed() -> bool:
        log = flask_run.log_path.read_text(errors="replace")
        return all(f"To: {name}@example.com" in log for name in names)

    assert _poll(mailed), flask_run.log_path.read_text(errors="replace")
    log = flask_run.log_path.read_text(errors="replace")
    assert "mail (console backend)" in log
    assert "job consumer running in this process" in log

    def consumer_seen() -> bool:
        ready = requests.get(f"{flask_run.url}/health/ready", timeout=10)
        return ready.status_code == 200 and ready.json()["checks"]["jobs"] == "ok"

    assert _poll(consumer_seen)
    flask_run.stop()
    assert "Traceback" not in flask_run.log_path.read_text(errors="replace")


def _started_as(command, monkeypatch, running_main: bool = False, **params) -> str:
    if running_main:
        monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    else:
        monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    with click.Context(command) as context:
        context.params.update(params)
        return app_module._started_as()


def test_only_the_serving_process_of_flask_run_consumes(monkeypatch):
    """`flask run --reload` loads the app in the watching parent too: only the child
    that serves starts a consumer; other flask commands (`flask jobs worker`) never do."""
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    run = flask.cli.run_command
    assert _started_as(run, monkeypatch, reload=None) == "server"
    assert _started_as(run, monkeypatch, reload=False) == "server"
    assert _started_as(run, monkeypatch, reload=True) == "reloader"
    assert _started_as(run, monkeypatch, running_main=True, reload=True) == "server"
    monkeypatch.setenv("FLASK_DEBUG", "1")  # --debug: the reloader unless --no-reload
    assert _started_as(run, monkeypatch, reload=None) == "reloader"
    assert _started_as(flask.cli.shell_command, monkeypatch) == "cli"
    assert app_module._started_as() == "other"  # gunicorn, a test client

