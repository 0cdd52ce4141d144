"""Who owns a party of a call (issue 25): a `party_id` is unique in its call and bound to
the user and the login (cookie session or bearer token) whose socket claimed it. Another
room member cannot join under it, take it over with `call_rejoin`, receive what is
addressed to it or change its state; a reconnect of the same login takes it back. And
`GET /api/calls` lists a call only to those who may still read its room."""
from __future__ import annotations

import pytest
from bson import ObjectId

from tests.call_helpers import CANDIDATE, OFFER, ack, error_code, names, ok
from tests.helpers import Person, events, login
from utils.db import get_db
from utils.extensions import socketio


@pytest.fixture
def trio(app):
    return tuple(Person(app, name) for name in ("alice", "bob", "carol"))


def stored_parties(person, call_id):
    with person.app.app_context():
        call = get_db().calls.find_one({"_id": ObjectId(call_id)})
    return {p["party_id"]: p for p in call["participants"]}


def topic_call(alice, bob, carol):
    """A call in a public topic's room: alice ("alice-tab") and bob ("bob-phone") in it,
    carol a member of the topic who did not join. (call_id, a, b, c)"""
    topic = alice.post("/api/topics/", {"title": "Gardening"}).get_json()
    room = alice.post(f"/api/topics/{topic['id']}/rooms", {"name": "voice"}).get_json()
    for person in (bob, carol):
        assert person.post(f"/api/topics/{topic['id']}/join").status_code == 200
    a, b, c = alice.socket(), bob.socket(), carol.socket()
    call_id = ok(a, "call_start", {"room_id": room["id"], "party_id": "alice-tab"})["call"]["id"]
    ok(b, "call_accept", {"call_id": call_id, "party_id": "bob-phone"})
    for s in (a, b, c):
        s.get_received()
    return call_id, a, b, c


def test_another_member_cannot_claim_or_rejoin_a_victims_party(trio):
    alice, bob, carol = trio
    call_id, a, b, c = topic_call(alice, bob, carol)
    before = stored_parties(alice, call_id)
    # The attack: carol joins under bob's party_id, then "rejoins" it.
    taken = ack(c, "call_accept", {"call_id": call_id, "party_id": "bob-phone"})
    assert taken["ok"] is False and taken["error"]["code"] == "conflict", taken
    assert taken["error"]["details"] == {"reason": "party_taken"}
    rejoin = ack(c, "call_rejoin", {"call_id": call_id, "party_id": "bob-phone"})
    assert rejoin["error"]["details"] == {"reason": "not_in_call"}, rejoin
    assert stored_parties(alice, call_id) == before  # nothing written
    assert names(a) == [] and names(b) == []  # nothing announced
    # What alice addresses to bob's party reaches bob's socket, not carol's.
    ok(a, "call_offer", {"call_id": call_id, "to_party_id": "bob-phone", "description": OFFER})
    ok(a, "call_candidates", {"call_id": call_id, "to_party_id": "bob-phone",
                              "candidates": [CANDIDATE]})
    assert [e["name"] for e in b.get_received()] == ["call_offer", "call_candidates"]
    assert names(c) == []
    # Bob's device keeps working; carol's mute is refused and changes nothing of his.
    ok(b, "call_heartbeat", {"call_id": call_id})
    assert ok(b, "call_mute", {"call_id": call_id, "video_muted": True})["video_muted"]
    assert error_code(c, "call_mute", {"call_id": call_id, "audio_muted": True}) == "forbidden"
    bob_now = stored_parties(alice, call_id)["bob-phone"]
    assert (bob_now["audio_muted"], bob_now["video_muted"]) == (False, True)
    assert bob_now["sid"] == before["bob-phone"]["sid"]


def test_a_participant_cannot_take_over_another_party(trio):
    """Carol in the call under her own party_id: rejoining bob's party is refused, and
    her mute changes her own state only."""
    alice, bob, carol = trio
    call_id, a, b, c = topic_call(alice, bob, carol)
    ok(c, "call_accept", {"call_id": call_id, "party_id": "carol-x"})
    for s in (a, b):
        s.get_received()
    before = stored_parties(alice, call_id)
    rejoin = ack(c, "call_rejoin", {"call_id": call_id, "party_id": "bob-phone"})
    assert rejoin["error"]["details"] == {"reason": "not_in_call"}, rejoin
    assert stored_parties(alice, call_id) == before
    ok(c, "call_mute", {"call_id": call_id, "audio_muted": True})
    parties = stored_parties(alice, call_id)
    assert parties["carol-x"]["audio_muted"] is True
    assert parties["bob-phone"]["audio_muted"] is False
    ok(a, "call_offer", {"call_id": call_id, "to_party_id": "bob-phone", "description": OFFER})
    assert len(events(b, "call_offer")) == 1 and "call_offer" not in names(c)
    ok(b, "call_heartbeat", {"call_id": call_id})


def test_rejoin_is_for_the_login_that_claimed_the_party(trio):
    """A reconnect of the same login takes the party back; another login of the same
    user (another browser, a token) does not, while connected or during the grace."""
    alice, bob, carol = trio
    call_id, a, b, _ = topic_call(alice, bob, carol)
    other_login = alice.app.test_client()
    login(other_login, "bob")
    elsewhere = socketio.test_client(alice.app, flask_test_client=other_login)
    payload = {"call_id": call_id, "party_id": "bob-phone"}
    before = stored_parties(alice, call_id)
    assert ack(elsewhere, "call_rejoin", payload)["error"]["details"] == {"reason": "not_in_call"}
    assert stored_parties(alice, call_id) == before
    b.disconnect()
    waiting = stored_parties(alice, call_id)
    assert waiting["bob-phone"]["sid"] is None
    assert ack(elsewhere, "call_rejoin", payload)["error"]["details"] == {"reason": "not_in_call"}
    assert stored_parties(alice, call_id) == waiting
    assert "call_party_rejoined" not in names(a)
    back = bob.socket()  # the same browser login, a new socket
    assert ok(back, "call_rejoin", payload)["party_id"] == "bob-phone"
    assert [e["party_id"] for e in events(a, "call_party_rejoined")] == ["bob-phone"]
    ok(a, "call_offer", {"call_id": call_id, "to_party_id": "bob-phone", "description": OFFER})
    assert len(events(back, "call_offer")) == 1 and "call_offer" not in names(elsewhere)


def test_my_calls_list_only_calls_of_rooms_i_may_read(trio):
    """Removed from a group, carol no longer finds its live call (participants, mute
    state) in GET /api/calls, with or without `room_id`; the members still do."""
    alice, bob, carol = trio
    group = alice.post("/api/messages/groups", {"title": "g", "member_ids": [bob.id, carol.id]})
    room_id = group.get_json()["id"]
    a, b = alice.socket(), bob.socket()
    call_id = ok(a, "call_start", {"room_id": room_id, "party_id": "a"})["call"]["id"]
    ok(b, "call_accept", {"call_id": call_id, "party_id": "b"})
    ok(a, "call_mute", {"call_id": call_id, "audio_muted": True})
    listed = carol.client.get("/api/calls/").get_json()["items"]
    assert [c["id"] for c in listed] == [call_id]  # invited: hers while she is a member
    removed = alice.client.delete(f"/api/messages/rooms/{room_id}/members/{carol.id}",
                                  headers=alice.headers)
    assert removed.status_code == 200, removed.get_json()
    assert carol.client.get("/api/calls/").get_json() == {"items": [], "next_cursor": None}
    narrowed = carol.client.get(f"/api/calls/?room_id={room_id}").get_json()
    assert narrowed == {"items": [], "next_cursor": None}
    assert [c["id"] for c in bob.client.get("/api/calls/").get_json()["items"]] == [call_id]
    assert carol.client.get(f"/api/calls/{call_id}").status_code == 404
