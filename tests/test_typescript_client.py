"""The TypeScript client (clients/typescript) against a real development server: its Node
test suite (`npm test`: register, verify from the logged mail, log in, CSRF, typed errors,
chat, reconnect catch-up, resends with client_id, uploads, downloads and sends with files
or a GIF, generated types current) runs against
`python app.py` started here, with the base URL and the server's log in its environment."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid

import pytest

from tests.node_helpers import CLIENT_DIR, ensure_node_modules
from tests.servers import AppServer

# `make run`'s server: development, console mail (the verification link is logged), the
# job consumer in the process, no Redis. Faster hashing, and room for the suite's users.
DEVELOPMENT = {"FLASK_ENV": "development", "FLASK_DEBUG": "0", "BCRYPT_ROUNDS": "4",
               "MAIL_BACKEND": "console", "LOG_LEVEL": "INFO", "RATELIMIT_REGISTER": "100 per hour",
               "REDIS_URL": "", "SOCKETIO_MESSAGE_QUEUE": "",
               # A GIF is only checked against its host (no provider is asked). One user
               # sends a few dozen messages to one room within seconds.
               "GIF_MEDIA_HOSTS": "media.giphy.com", "CHAT_RATE_LIMIT": "1000 per 5 seconds"}


@pytest.fixture(scope="module")
def dev_server(mongo_server, mongo_admin, tmp_path_factory):
    directory = tmp_path_factory.mktemp("ts-client")
    database = f"tsclient_{uuid.uuid4().hex[:12]}"
    server = AppServer({**DEVELOPMENT, "MONGO_URI": mongo_server.uri, "MONGO_DB_NAME": database,
                        "SESSION_DIR": str(directory / "sessions"),
                        "JOBS_SQLITE_PATH": str(directory / "jobs.sqlite3"),
                        "UPLOAD_DIR": str(directory / "uploads")},
                       directory, command=[sys.executable, "app.py"])
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        mongo_admin.drop_database(database)


def test_typescript_client_suite_passes_against_a_real_server(dev_server):
    ensure_node_modules()
    result = subprocess.run(
        ["npm", "test", "--silent"], cwd=CLIENT_DIR, capture_output=True, text=True, timeout=300,
        env={**os.environ, "ROUNDTABLE_URL": dev_server.url,
             "ROUNDTABLE_LOG": str(dev_server.log_path)})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # node --test's summary: every test ran and passed, none skipped or cancelled.
    summary = dict(re.findall(r"^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$", output, re.M))
    assert int(summary["tests"]) >= 9 and summary["pass"] == summary["tests"], output
    assert summary["fail"] == summary["cancelled"] == summary["skipped"] == "0", output


def test_flask_docs_dump_writes_the_served_documents(app, client, tmp_path):
    result = app.test_cli_runner().invoke(args=["docs", "dump", str(tmp_path / "docs"),
                                                "--host", "localhost"])
    assert result.exit_code == 0, result.output
    for name in ("openapi.json", "asyncapi.json"):
        served = client.get(f"/api/{name}")
        assert served.status_code == 200
        assert json.loads((tmp_path / "docs" / name).read_text()) == served.get_json(), name
