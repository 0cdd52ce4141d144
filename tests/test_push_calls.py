"""Calls ring through Web Push (docs/CALLS.md "Ringing by push"), against the push service
written from the RFCs (tests/push_service.py): an invitee with no open socket is rung with
`Urgency: high` and a TTL of the invite's lifetime; when it stops ringing for them
(the caller hangs up, they decline, they answer on another device, nobody answers) a push
with the same `Topic` says so. A callee with an open socket, one who blocked the caller,
muted the room or switched call pushes off is not rung."""
from __future__ import annotations

from datetime import timedelta

import pytest

from models.base import utcnow
from services.calls import calls_service
from tests.call_helpers import ok
from tests.chat_helpers import open_direct
from tests.helpers import Person, run_jobs, subscribe_push


@pytest.fixture
def pair(app):
    return Person(app, "alice"), Person(app, "bob")


def ring(app, alice, bob, push_service, kind="audio"):
    """bob (offline, subscribed) is called by alice: (alice's socket, call, the ring)."""
    subscribe_push(bob, push_service.subscribe())
    room_id = open_direct(alice, bob)
    a = alice.socket()
    call = ok(a, "call_start", {"room_id": room_id, "kind": kind, "party_id": "a"})["call"]
    run_jobs(app)
    (ringing,) = push_service.received
    assert ringing.status == 201, ringing.refused
    return a, call, ringing


def stopped(app, push_service, ringing) -> dict:
    """The one push sent after the ring: it replaces the ring (same Topic)."""
    run_jobs(app)
    later = push_service.received[1:]
    assert [r.status for r in later] == [201], [r.refused for r in later]
    assert later[0].headers["topic"] == ringing.headers["topic"]
    assert later[0].payload["tag"] == ringing.payload["tag"]
    return later[0].payload


def test_an_offline_callee_is_rung_with_high_urgency_for_the_invite_lifetime(app, pair,
                                                                            push_service):
    alice, bob = pair
    _, call, ringing = ring(app, alice, bob, push_service, "video")
    assert ringing.headers["urgency"] == "high"
    assert int(ringing.headers["ttl"]) == app.config["CALL_RING_SECONDS"] == 45
    assert 0 < len(ringing.headers["topic"]) <= 32
    frontend = app.config["FRONTEND_URL"].rstrip("/")
    assert ringing.payload == {
        "kind": "call", "title": "Roundtable", "body": "Incoming video call from alice",
        "url": f"{frontend}/rooms/{call['room_id']}", "tag": ringing.headers["topic"],
        "notification_id": None, "unread_count": 0, "call_id": call["id"]}


def test_the_caller_hanging_up_replaces_the_ring(app, pair, push_service):
    alice, bob = pair
    a, call, ringing = ring(app, alice, bob, push_service)
    ok(a, "call_hangup", {"call_id": call["id"]})
    ended = stopped(app, push_service, ringing)
    assert ended["kind"] == "call_ended" and ended["reason"] == "cancelled"
    assert ended["call_id"] == call["id"] and ended["body"] == "alice cancelled the audio call"


def test_declining_on_another_device_replaces_the_ring(app, pair, push_service):
    alice, bob = pair
    _, call, ringing = ring(app, alice, bob, push_service)
    ok(bob.socket(), "call_reject", {"call_id": call["id"]})
    ended = stopped(app, push_service, ringing)
    assert (ended["kind"], ended["reason"]) == ("call_ended", "declined")


def test_answering_on_another_device_replaces_the_ring(app, pair, push_service):
    alice, bob = pair
    a, call, ringing = ring(app, alice, bob, push_service)
    ok(bob.socket(), "call_accept", {"call_id": call["id"], "party_id": "bob-phone"})
    ended = stopped(app, push_service, ringing)
    assert (ended["kind"], ended["reason"]) == ("call_ended", "answered_elsewhere")
    assert ended["body"] == "Answered on another device"
    ok(a, "call_hangup", {"call_id": call["id"]})  # the call ends: bob was told already
    run_jobs(app)
    assert len(push_service.received) == 2


def test_an_unanswered_invite_times_out_under_the_same_topic(app, pair, push_service, clock):
    alice, bob = pair
    _, call, ringing = ring(app, alice, bob, push_service)
    with app.app_context():
        clock.advance(app.config["CALL_RING_SECONDS"] + 1)
        assert calls_service.sweep() == 1
    run_jobs(app)
    later = push_service.received[1:]
    assert {r.status for r in later} == {201}
    # The end of the ring and the missed-call notification both replace the ring.
    assert sorted(r.payload["kind"] for r in later) == ["call_ended", "missed_call"]
    assert {r.headers["topic"] for r in later} == {ringing.headers["topic"]}
    ended = next(r.payload for r in later if r.payload["kind"] == "call_ended")
    assert ended["reason"] == "missed" and ended["body"] == "Missed audio call from alice"
    assert ended["call_id"] == call["id"]


def test_a_callee_with_an_open_socket_is_not_rung_by_push(app, pair, push_service):
    alice, bob = pair
    subscribe_push(bob, push_service.subscribe())
    b = bob.socket()
    a = alice.socket()
    call = ok(a, "call_start", {"room_id": open_direct(alice, bob), "party_id": "a"})["call"]
    run_jobs(app)
    assert push_service.received == []
    b.disconnect()
    ok(a, "call_hangup", {"call_id": call["id"]})  # never rung by push: told nothing
    run_jobs(app)
    assert push_service.received == []


def test_a_job_running_after_the_call_ended_rings_nobody(app, pair, push_service):
    alice, bob = pair
    subscribe_push(bob, push_service.subscribe())
    a = alice.socket()
    call = ok(a, "call_start", {"room_id": open_direct(alice, bob), "party_id": "a"})["call"]
    ok(a, "call_hangup", {"call_id": call["id"]})
    run_jobs(app)
    assert push_service.received == []


def test_who_blocked_the_caller_muted_the_room_or_turned_call_pushes_off_is_not_rung(
        app, push_service):
    alice, bob, carol, dave, erin = (Person(app, name) for name in
                                     ("alice", "bob", "carol", "dave", "erin"))
    for person in (bob, carol, dave, erin):
        subscribe_push(person, push_service.subscribe())
    group = alice.post("/api/messages/groups", {
        "title": "Calls", "member_ids": [bob.id, carol.id, dave.id, erin.id]}).get_json()
    assert bob.post(f"/api/users/{alice.id}/block").status_code in (200, 201, 204)
    assert carol.call("PUT", f"/api/notifications/mutes/room/{group['id']}").status_code == 204
    settings = dave.patch("/api/notifications/settings", {"kinds": {"call": {"push": False}}})
    assert settings.get_json()["kinds"]["call"]["push"] is False
    a = alice.socket()
    ok(a, "call_start", {"room_id": group["id"], "party_id": "a"})
    # A block made while the invite is queued still counts when it is sent.
    assert erin.post(f"/api/users/{alice.id}/block").status_code in (200, 201, 204)
    run_jobs(app)
    assert push_service.received == []


def test_a_call_kind_is_pushed_by_default_and_listed_in_the_settings(pair):
    _, bob = pair
    kinds = bob.get("/api/notifications/settings").get_json()["kinds"]
    assert kinds["call"]["push"] is True and kinds["missed_call"]["push"] is True


def test_the_ring_ttl_is_what_is_left_of_the_invite(app, pair, push_service, monkeypatch):
    alice, bob = pair
    subscribe_push(bob, push_service.subscribe())
    a = alice.socket()
    ok(a, "call_start", {"room_id": open_direct(alice, bob), "party_id": "a"})
    later = utcnow() + timedelta(seconds=30)
    monkeypatch.setattr("utils.clock.now", lambda: later)
    run_jobs(app)
    (ringing,) = push_service.received
    assert int(ringing.headers["ttl"]) == 15
