"""A real coturn with `use-auth-secret`: the credentials GET /api/calls/ice-servers hands
out let turnutils_uclient allocate a relay; expired ones, or ones for another secret, do
not."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from models.base import utcnow
from tests.call_servers import TurnServer, missing
from tests.helpers import Person


@pytest.fixture(scope="module")
def turn_server():
    for binary in ("turnserver", "turnutils_uclient"):
        problem = missing(binary, "coturn")
        if problem:
            pytest.fail(problem)
    server = TurnServer().start()
    yield server
    server.stop()


def turn_entry(person: Person) -> dict:
    body = person.client.get("/api/calls/ice-servers").get_json()
    return next(s for s in body["ice_servers"] if s["urls"][0].startswith("turn:"))


def received_bytes(output: str) -> int:
    found = re.findall(r"tot_recv_bytes ~ (\d+)", output)
    return int(found[-1]) if found else 0


def test_api_credentials_authenticate_with_coturn_and_expire(make_app, turn_server,
                                                              monkeypatch):
    app = make_app(TURN_URLS=[turn_server.url], TURN_SECRET=turn_server.secret,
                   TURN_CREDENTIAL_SECONDS=600)
    alice = Person(app, "alice")
    fresh = turn_entry(alice)
    assert fresh["urls"] == [turn_server.url]
    run = turn_server.allocate(fresh["username"], fresh["credential"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert received_bytes(run.stdout + run.stderr) > 0

    # Issued 20 minutes ago with a 10-minute lifetime: coturn refuses the expiry.
    earlier = utcnow() - timedelta(minutes=20)
    monkeypatch.setattr("utils.clock.now", lambda: earlier)
    stale = turn_entry(alice)
    assert int(stale["username"].split(":")[0]) < int(utcnow().timestamp())
    refused = turn_server.allocate(stale["username"], stale["credential"])
    assert refused.returncode != 0
    assert "Cannot complete Allocation" in refused.stdout + refused.stderr
    assert f"Cannot find credentials of user <{stale['username']}>" in turn_server.log()


def test_credentials_of_another_secret_are_refused(make_app, turn_server):
    app = make_app(TURN_URLS=[turn_server.url], TURN_SECRET="not-the-shared-secret")
    wrong = turn_entry(Person(app, "mallory"))
    refused = turn_server.allocate(wrong["username"], wrong["credential"])
    assert refused.returncode != 0
    assert received_bytes(refused.stdout + refused.stderr) == 0
