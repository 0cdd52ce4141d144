"""Every documented way of starting the app serves the same app, with its indexes and
without the debugger: `flask run`, `python app.py` (what `make run` runs) and gunicorn,
each on a new, empty database with nobody having run `flask init-db`."""
from __future__ import annotations

import signal
import sys
import uuid

import pytest
import requests
from pymongo.errors import DuplicateKeyError

from models import registry
from tests.servers import CLUSTER_SETTINGS, AppServer

PASSWORD = "correct horse battery staple"
DEVELOPMENT = {"FLASK_ENV": "development", "REQUIRE_EMAIL_VERIFICATION": "false",
               "BCRYPT_ROUNDS": "4", "MAIL_BACKEND": "console", "LOG_LEVEL": "WARNING"}
STARTS = {
    "flask run": ([sys.executable, "-m", "flask", "run", "--port", "{port}", "--no-reload"],
                  DEVELOPMENT),
    "python app.py": ([sys.executable, "app.py"], DEVELOPMENT),
    "gunicorn": (None, CLUSTER_SETTINGS),
}


@pytest.fixture(scope="module", params=list(STARTS))
def started(request, mongo_server, mongo_admin, redis_server, tmp_path_factory):
    """(server, database) for one way of starting, on a database nobody initialised; one
    server serves the module's tests, and is killed at the end (its shutdown is tested
    elsewhere)."""
    command, settings = STARTS[request.param]
    database = f"start_{uuid.uuid4().hex[:12]}"
    # Explicitly off and unset-alike, whatever the environment running the tests says.
    env = {**settings, "FLASK_DEBUG": "0", "FLASK_APP": "app", "MONGO_URI": mongo_server.uri,
           "MONGO_DB_NAME": database, "REDIS_URL": redis_server.url,
           # One Redis for the three servers: six registrations from one address.
           "RATELIMIT_REGISTER": "100 per hour"}
    server = AppServer(env, tmp_path_factory.mktemp("start"), command=command)
    try:
        server.wait_ready()
        yield server, mongo_admin[database]
    finally:
        server.stop(signal.SIGKILL)
        mongo_admin.drop_database(database)


def token_for(server: AppServer, name: str) -> tuple[str, dict[str, str]]:
    registered = requests.post(f"{server.url}/api/auth/register", timeout=10, json={
        "username": name, "email": f"{name}@example.com", "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    issued = requests.post(f"{server.url}/api/auth/token", timeout=10,
                           json={"login": name, "password": PASSWORD})
    assert issued.status_code == 201, issued.text
    return registered.json()["user"]["id"], {
        "Authorization": f"Bearer {issued.json()['token']}"}


def test_served_with_every_index_and_idempotent_sends(started):
    server, database = started
    _alice_id, alice = token_for(server, "alice")
    bob_id, _bob = token_for(server, "bob")

    room = requests.post(f"{server.url}/api/messages/direct", headers=alice, timeout=10,
                         json={"user_id": bob_id})
    assert room.status_code == 201, room.text
    url = f"{server.url}/api/messages/rooms/{room.json()['id']}/messages"
    first = requests.post(url, headers=alice, timeout=10,
                          json={"body": "hello", "client_id": "same-client-id"})
    again = requests.post(url, headers=alice, timeout=10,
                          json={"body": "hello", "client_id": "same-client-id"})
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"]
    assert database.messages.count_documents({}) == 1

    # Every index every model declares exists, so each uniqueness guarantee holds.
    for model in registry.ALL_MODELS:
        existing = database[model.collection_name].index_information()
        for index in model.indexes:
            assert index.document["name"] in existing, (model.collection_name, index.document)
    stored = database.users.find_one({"username_lower": "alice"}, {"_id": 0})
    with pytest.raises(DuplicateKeyError):
        database.users.insert_one({**stored, "email_lower": "other@example.com"})
    message = database.messages.find_one({}, {"_id": 0})
    with pytest.raises(DuplicateKeyError):
        database.messages.insert_one({**message, "client_id": "another-client-id"})


def test_no_debugger_and_no_server_version(started):
    server, _database = started
    console = requests.get(f"{server.url}/console", timeout=10)
    assert console.status_code == 404
    assert console.headers["Content-Type"].startswith("application/json")
    for path in ("/health", "/socket.io/?EIO=4&transport=polling"):
        header = requests.get(server.url + path, timeout=10).headers.get("Server", "")
        assert "/" not in header and "Python" not in header and "Werkzeug" not in header, header
