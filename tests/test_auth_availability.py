"""Sign-up checks: username availability (rate-limited) and the email check, which never
tells whether an address has an account."""
from __future__ import annotations

from tests.helpers import fresh_address, register, run_jobs


def _username(client, name, address=None):
    return client.get("/api/auth/availability", query_string={"username": name},
                      environ_base=address or fresh_address())


def test_username_available_taken_or_invalid(client):
    register(client, "alice")
    free = _username(client, "bob_1")
    assert free.status_code == 200
    assert free.get_json() == {"username": "bob_1", "available": True, "reason": None,
                               "message": None}
    # Case does not make a second name.
    taken = _username(client, "ALICE").get_json()
    assert taken["available"] is False and taken["reason"] == "taken"
    for name in ("a", "has space", "admin", "deleted_42"):
        answer = _username(client, name).get_json()
        assert (answer["available"], answer["reason"]) == (False, "invalid"), name
    assert _username(client, "x" * 65).status_code == 400


def test_username_checks_are_rate_limited_per_address(make_app):
    app = make_app(RATELIMIT_AVAILABILITY="3 per minute")
    client = app.test_client()
    address = {"REMOTE_ADDR": "203.0.113.5"}
    assert [_username(client, f"name{n}", address).status_code for n in range(4)] == [
        200, 200, 200, 429]
    limited = _username(client, "name9", address)
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert client.post("/api/auth/availability/email", json={"email": "x@example.com"},
                       environ_base=address).status_code == 429
    # Another address is not held back.
    assert _username(client, "name9", {"REMOTE_ADDR": "203.0.113.6"}).status_code == 200


def test_the_email_check_answers_alike_for_taken_and_free_addresses(app, client):
    register(client, "alice", "alice@example.com")
    run_jobs(app)  # the verification mail
    answers = [client.post("/api/auth/availability/email", json={"email": email},
                           environ_base=fresh_address())
               for email in ("alice@example.com", "ALICE@Example.com", "nobody@example.com")]
    assert [a.status_code for a in answers] == [202, 202, 202]
    bodies = [a.get_json() for a in answers]
    assert [b["email"] for b in bodies] == ["alice@example.com", "ALICE@example.com",
                                            "nobody@example.com"]
    assert len({(b["status"], b["message"]) for b in bodies}) == 1
    assert bodies[0]["status"] == "accepted"
    # Nothing is looked up or mailed: no job was queued for any of them.
    assert run_jobs(app) == 0


def test_the_email_check_refuses_bad_syntax(client):
    answer = client.post("/api/auth/availability/email", json={"email": "not-an-address"},
                         environ_base=fresh_address())
    assert answer.status_code == 400
    assert "email" in answer.get_json()["error"]["details"]
