"""Call signaling through Flask-SocketIO's test client: ringing on several devices, the
first answer wins, glare, relaying only between participants, reject vs hangup, mute,
renegotiation, invite lifetime, heartbeats, reconnect grace, blocks, history, REST."""
from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId

from models.base import utcnow
from services.calls import calls_service
from tests.call_helpers import ANSWER, CANDIDATE, OFFER, ack, error_code, names, ok
from tests.chat_helpers import open_direct
from tests.helpers import DEFAULT_PASSWORD, Person, events, received
from utils.db import get_db


@pytest.fixture
def trio(app):
    return Person(app, "alice"), Person(app, "bob"), Person(app, "carol")


def sweep_at(app, monkeypatch, seconds):
    """Run the sweep as if `seconds` had passed."""
    later = utcnow() + timedelta(seconds=seconds)
    monkeypatch.setattr("utils.clock.now", lambda: later)
    with app.app_context():
        return calls_service.sweep()


def history(person, room_id):
    return person.client.get(f"/api/messages/rooms/{room_id}/messages").get_json()["items"]


def start_direct(alice, bob, kind="audio"):
    """alice calls bob; bob's two devices ring. (room_id, call, a, b1, b2)"""
    room_id = open_direct(alice, bob)
    a, b1, b2 = alice.socket(), bob.socket(), bob.socket()
    started = ok(a, "call_start", {"room_id": room_id, "kind": kind, "party_id": "alice-tab"})
    return room_id, started, a, b1, b2


def test_invite_rings_every_device_and_the_first_answer_wins(trio):
    alice, bob, _ = trio
    _, started, a, b1, b2 = start_direct(alice, bob, "video")
    call = started["call"]
    assert started["party_id"] == "alice-tab" and started["glare"] is False
    assert call["state"] == "ringing" and call["kind"] == "video"
    assert call["invitee_ids"] == [bob.id] and call["lifetime_ms"] == 45000
    for device in (b1, b2):
        invite = events(device, "call_invite")
        assert [i["call"]["id"] for i in invite] == [call["id"]]
        assert invite[0]["lifetime_ms"] == 45000 and invite[0]["caller_party_id"] == "alice-tab"
    a.get_received()

    won = ok(b1, "call_accept", {"call_id": call["id"], "party_id": "bob-phone"})
    assert won["call"]["state"] == "active"
    assert won["peers"] == [{"user_id": alice.id, "party_id": "alice-tab"}]
    lost = ack(b2, "call_accept", {"call_id": call["id"], "party_id": "bob-laptop"})
    assert lost["error"]["code"] == "conflict"
    assert lost["error"]["details"] == {"reason": "answered_elsewhere"}
    assert events(b2, "call_answered_elsewhere") == [{"call_id": call["id"],
                                                      "party_id": "bob-phone"}]
    assert events(b1, "call_answered_elsewhere") == []
    accepted = events(a, "call_accepted")
    assert [(e["user_id"], e["party_id"]) for e in accepted] == [(bob.id, "bob-phone")]
    with alice.app.app_context():
        stored = get_db().calls.find_one({"_id": ObjectId(call["id"])})
    assert [p["party_id"] for p in stored["participants"]] == ["alice-tab", "bob-phone"]
    assert stored["state"] == "active" and stored["answered_at"] is not None


def test_signals_reach_only_the_addressed_party_and_renegotiate(trio):
    alice, bob, carol = trio
    _, started, a, b1, b2 = start_direct(alice, bob)
    call_id = started["call"]["id"]
    ok(b1, "call_accept", {"call_id": call_id, "party_id": "bob-phone"})
    c = carol.socket()
    for s in (a, b1, b2):
        s.get_received()
    ok(b1, "call_offer", {"call_id": call_id, "to_party_id": "alice-tab", "description": OFFER})
    ok(a, "call_answer", {"call_id": call_id, "to_party_id": "bob-phone",
                          "description": ANSWER})
    ok(a, "call_candidates", {"call_id": call_id, "to_party_id": "bob-phone",
                              "candidates": [CANDIDATE, {"candidate": ""}]})
    assert events(a, "call_offer") == [{"call_id": call_id, "from_user_id": bob.id,
                                        "from_party_id": "bob-phone", "description": OFFER}]
    got = b1.get_received()
    assert [e["name"] for e in got] == ["call_answer", "call_candidates"]
    assert got[0]["args"][0]["description"] == ANSWER
    assert got[1]["args"][0]["candidates"][0]["candidate"] == CANDIDATE["candidate"]
    # Renegotiation (video added, ICE restart): a new offer on the live pair, same path.
    ok(a, "call_offer", {"call_id": call_id, "to_party_id": "bob-phone", "description": OFFER})
    assert [e["from_party_id"] for e in events(b1, "call_offer")] == ["alice-tab"]
    # Bob's other device and a stranger heard none of it.
    assert names(b2) == [] and names(c) == []
    # Mute and speaking reach the call's other devices (the voip room), not the sender.
    muted = ok(a, "call_mute", {"call_id": call_id, "audio_muted": True})
    assert muted["audio_muted"] is True and muted["video_muted"] is False
    ok(a, "call_speaking", {"call_id": call_id, "speaking": True})
    assert [e["name"] for e in b1.get_received()] == ["call_mute", "call_speaking"]
    assert names(a) == [] and names(b2) == [] and names(c) == []
    view = alice.client.get(f"/api/calls/{call_id}").get_json()
    assert [p["audio_muted"] for p in view["participants"]] == [True, False]


def test_outsiders_are_refused_and_nothing_is_relayed(trio):
    alice, bob, carol = trio
    group = alice.post("/api/messages/groups", {"title": "g", "member_ids": [bob.id, carol.id]})
    room_id = group.get_json()["id"]
    a, b, c = alice.socket(), bob.socket(), carol.socket()
    call_id = ok(a, "call_start", {"room_id": room_id, "party_id": "a"})["call"]["id"]
    ok(b, "call_accept", {"call_id": call_id, "party_id": "b"})
    dave = Person(alice.app, "dave")
    d = dave.socket()
    offer = {"call_id": call_id, "to_party_id": "a", "description": OFFER}
    # A member of the room who did not join, and a stranger who cannot see the room.
    assert error_code(c, "call_offer", offer) == "forbidden"
    assert error_code(d, "call_offer", offer) == "not_found"
    assert error_code(d, "call_hangup", {"call_id": call_id}) == "not_found"
    assert error_code(c, "call_mute", {"call_id": call_id, "audio_muted": True}) == "forbidden"
    # Bob's second device is not the party that joined.
    b_other = bob.socket()
    assert error_code(b_other, "call_offer", offer) == "forbidden"
    # A party that is not in the call cannot be addressed.
    assert error_code(b, "call_offer", {**offer, "to_party_id": "nobody"}) == "not_found"
    # A later legitimate offer is the only one alice ever received.
    a.get_received()
    ok(b, "call_offer", offer)
    assert [e["from_party_id"] for e in events(a, "call_offer")] == ["b"]
    assert "call_offer" not in names(c) and "call_offer" not in names(d)


def test_glare_both_sides_call_at_once_makes_one_call(trio):
    alice, bob, _ = trio
    room_id = open_direct(alice, bob)
    a, b = alice.socket(), bob.socket()
    first = ok(a, "call_start", {"room_id": room_id, "party_id": "a"})
    # Bob pressed "call" before the invite reached him: he joins alice's call instead.
    second = ok(b, "call_start", {"room_id": room_id, "kind": "video", "party_id": "b"})
    assert second["glare"] is True and second["call"]["id"] == first["call"]["id"]
    assert second["call"]["state"] == "active"
    assert second["peers"] == [{"user_id": alice.id, "party_id": "a"}]
    assert [e["party_id"] for e in events(a, "call_accepted")] == ["b"]
    with alice.app.app_context():
        assert get_db().calls.count_documents({}) == 1
    # Alice starting once more is a conflict: she is already in the room's call.
    again = ack(alice.socket(), "call_start", {"room_id": room_id})
    assert again["error"]["details"] == {"reason": "answered_elsewhere"}


def test_reject_is_not_hangup(trio):
    alice, bob, _ = trio
    room_id, started, a, b1, b2 = start_direct(alice, bob)
    call_id = started["call"]["id"]
    a.get_received()
    b2.get_received()
    ok(b1, "call_reject", {"call_id": call_id, "reason": "user_busy"})
    assert events(b2, "call_rejected") == [{"call_id": call_id, "user_id": bob.id,
                                            "reason": "user_busy"}]
    got = a.get_received()
    assert [e["name"] for e in got] == ["call_rejected", "call_ended", "message"]
    ended = got[1]["args"][0]
    assert (ended["state"], ended["reason"], ended["by"]) == ("rejected", "user_busy", bob.id)
    # A declined call cannot be hung up by the invitee (they never joined) ...
    assert error_code(b1, "call_hangup", {"call_id": call_id}) == "forbidden"
    # ... and a hang-up in an answered call ends it as `ended`, not `rejected`.
    second = ok(a, "call_start", {"room_id": room_id, "party_id": "a2"})["call"]["id"]
    ok(b1, "call_accept", {"call_id": second})
    assert error_code(b1, "call_reject", {"call_id": second}) == "conflict"
    a.get_received()
    hung = ok(b1, "call_hangup", {"call_id": second})
    assert hung["call"]["state"] == "ended" and hung["call"]["end_reason"] == "user_hangup"
    ended = events(a, "call_ended")
    assert [(e["state"], e["reason"], e["by"]) for e in ended] == [
        ("ended", "user_hangup", bob.id)]
    bodies = [m["body"] for m in history(alice, room_id)]
    assert bodies == ["alice started a audio call", "Audio call declined",
                      "alice started a audio call", "Audio call ended · 0:00"]
    # Neither is a missed call.
    assert bob.client.get("/api/notifications/").get_json()["items"] == []


def test_caller_cancel_before_answer(trio):
    alice, bob, _ = trio
    room_id, started, a, b1, _ = start_direct(alice, bob)
    call_id = started["call"]["id"]
    assert error_code(b1, "call_cancel", {"call_id": call_id}) == "conflict"
    ok(a, "call_cancel", {"call_id": call_id})
    ended = events(b1, "call_ended")
    assert [(e["state"], e["reason"]) for e in ended] == [("cancelled", "user_hangup")]
    assert history(alice, room_id)[-1]["system"]["state"] == "cancelled"


def test_invite_timeout_is_a_missed_call_with_a_notification(trio, monkeypatch):
    alice, bob, _ = trio
    room_id, started, a, b1, b2 = start_direct(alice, bob, "video")
    call_id = started["call"]["id"]
    assert sweep_at(alice.app, monkeypatch, 44) == 0  # still ringing
    b1.get_received()
    assert sweep_at(alice.app, monkeypatch, 46) == 1
    ended = events(a, "call_ended")
    assert [(e["state"], e["reason"], e["by"]) for e in ended] == [
        ("missed", "invite_timeout", None)]
    got = b1.get_received()  # bob's devices stop ringing and learn about the miss
    assert [e["name"] for e in got] == ["call_ended", "message", "unread", "notification",
                                        "notification_count"]
    assert got[4]["args"][0] == {"count": 1}
    note = got[3]["args"][0]
    assert note["kind"] == "missed_call"
    assert note["data"]["call_id"] == call_id and note["data"]["caller_id"] == alice.id
    listed = bob.client.get("/api/notifications/").get_json()["items"]
    assert [n["kind"] for n in listed] == ["missed_call"]
    last = history(bob, room_id)[-1]
    assert last["body"] == "Missed video call"
    assert last["system"] == {"type": "call", "event": "missed", "call_id": call_id,
                              "kind": "video", "state": "missed", "reason": "invite_timeout",
                              "duration_seconds": None}
    assert sweep_at(alice.app, monkeypatch, 100) == 0  # ended once
    assert error_code(b2, "call_accept", {"call_id": call_id}) == "conflict"


def test_blocked_user_cannot_call(trio):
    alice, bob, carol = trio
    room_id = open_direct(alice, bob)
    group = alice.post("/api/messages/groups", {"title": "g", "member_ids": [bob.id, carol.id]})
    assert bob.post(f"/api/users/{alice.id}/block").status_code == 204
    a, b = alice.socket(), bob.socket()
    refused = ack(a, "call_start", {"room_id": room_id})
    assert refused["error"]["code"] == "forbidden"
    assert error_code(b, "call_start", {"room_id": room_id}) == "forbidden"
    # In a group, the blocked pair's devices do not ring for each other.
    started = ok(a, "call_start", {"room_id": group.get_json()["id"]})
    assert started["call"]["invitee_ids"] == [carol.id]
    assert "call_invite" not in names(b)
    with alice.app.app_context():
        assert get_db().calls.count_documents({}) == 1


def test_disconnect_grace_rejoin_then_expiry_ends_the_call(trio, monkeypatch):
    alice, bob, _ = trio
    _, started, a, b1, _ = start_direct(alice, bob)
    call_id = started["call"]["id"]
    ok(b1, "call_accept", {"call_id": call_id, "party_id": "bob-phone"})
    a.get_received()
    b1.disconnect()
    gone = events(a, "call_party_disconnected")
    assert [(e["party_id"], e["grace_seconds"]) for e in gone] == [("bob-phone", 20)]
    assert sweep_at(alice.app, monkeypatch, 10) == 0  # within the grace
    monkeypatch.undo()
    back = bob.socket()
    rejoined = ok(back, "call_rejoin", {"call_id": call_id, "party_id": "bob-phone"})
    assert rejoined["peers"] == [{"user_id": alice.id, "party_id": "alice-tab"}]
    assert [e["party_id"] for e in events(a, "call_party_rejoined")] == ["bob-phone"]
    # Signals reach the new socket.
    ok(a, "call_offer", {"call_id": call_id, "to_party_id": "bob-phone", "description": OFFER})
    assert len(events(back, "call_offer")) == 1
    back.disconnect()
    assert sweep_at(alice.app, monkeypatch, 21) == 1
    ended = events(a, "call_ended")
    assert [(e["state"], e["reason"]) for e in ended] == [("ended", "connection_lost")]
    assert error_code(bob.socket(), "call_rejoin",
                      {"call_id": call_id, "party_id": "bob-phone"}) == "conflict"


def test_heartbeats_keep_a_device_and_their_absence_drops_it(trio, monkeypatch):
    alice, bob, _ = trio
    _, started, a, b1, _ = start_direct(alice, bob)
    call_id = started["call"]["id"]
    ok(b1, "call_accept", {"call_id": call_id, "party_id": "bob-phone"})
    later = utcnow() + timedelta(seconds=30)
    monkeypatch.setattr("utils.clock.now", lambda: later)
    assert ok(a, "call_heartbeat", {"call_id": call_id})["expires_in"] == 45
    a.get_received()
    # 50 s on: bob's device (last seen at 0 s) is gone, alice's (30 s) is not.
    assert sweep_at(alice.app, monkeypatch, 50) == 1
    left = events(a, "call_left")
    assert [(e["party_id"], e["reason"]) for e in left] == [("bob-phone", "heartbeat_timeout")]
    assert [e["reason"] for e in events(b1, "call_ended")] == ["heartbeat_timeout"]


def test_group_call_mesh_limit_and_last_two(make_app):
    app = make_app(CALL_MAX_PARTICIPANTS=3)
    alice, bob, carol, dave = (Person(app, n) for n in ("alice", "bob", "carol", "dave"))
    group = alice.post("/api/messages/groups", {"title": "g",
                                                "member_ids": [bob.id, carol.id, dave.id]})
    room_id = group.get_json()["id"]
    a, b, c, d = alice.socket(), bob.socket(), carol.socket(), dave.socket()
    call = ok(a, "call_start", {"room_id": room_id, "party_id": "a"})["call"]
    assert sorted(call["invitee_ids"]) == sorted([bob.id, carol.id, dave.id])
    ok(b, "call_accept", {"call_id": call["id"], "party_id": "b"})
    joined = ok(c, "call_accept", {"call_id": call["id"], "party_id": "c"})
    assert [p["party_id"] for p in joined["peers"]] == ["a", "b"]
    full = ack(d, "call_accept", {"call_id": call["id"], "party_id": "d"})
    assert full["error"]["details"] == {"reason": "call_full"}
    # Carol offers to each peer; each gets only its own.
    for peer in ("a", "b"):
        ok(c, "call_offer", {"call_id": call["id"], "to_party_id": peer, "description": OFFER})
    assert len(events(a, "call_offer")) == 1 and len(events(b, "call_offer")) == 1
    ok(a, "call_hangup", {"call_id": call["id"]})
    assert [e["party_id"] for e in events(b, "call_left")] == ["a"]
    assert "call_ended" not in names(c)  # two remain: the call goes on
    ok(b, "call_hangup", {"call_id": call["id"]})
    assert [(e["state"], e["by"]) for e in events(c, "call_ended")] == [("ended", bob.id)]
    assert [e["name"] for e in d.get_received()].count("call_ended") == 1


def test_topic_room_call_is_for_participants_and_bans_apply(trio):
    alice, bob, carol = trio
    topic = alice.post("/api/topics/", {"title": "Gardening"}).get_json()
    room = alice.post(f"/api/topics/{topic['id']}/rooms", {"name": "voice"}).get_json()
    for person in (bob, carol):
        assert person.post(f"/api/topics/{topic['id']}/join").status_code == 200
    ban = alice.post(f"/api/topics/{topic['id']}/bans", {"user_id": carol.id})
    assert ban.status_code == 201, ban.get_json()
    call = ok(alice.socket(), "call_start", {"room_id": room["id"]})["call"]
    # A topic room rings nobody; its participants join from the room.
    assert call["invitee_ids"] == [] and call["room_kind"] == "topic"
    assert error_code(carol.socket(), "call_accept", {"call_id": call["id"]}) == "forbidden"
    assert error_code(carol.socket(), "call_start", {"room_id": room["id"]}) == "forbidden"
    joined = ok(bob.socket(), "call_accept", {"call_id": call["id"]})
    assert joined["call"]["state"] == "active"
    dave = Person(alice.app, "dave")  # not a member: may read a public topic, not write
    assert error_code(dave.socket(), "call_accept", {"call_id": call["id"]}) == "forbidden"


def test_active_and_mine_views_and_rest(trio):
    alice, bob, carol = trio
    room_id, started, a, b1, _ = start_direct(alice, bob)
    call_id = started["call"]["id"]
    assert ok(b1, "call_active", {"room_id": room_id})["call"]["id"] == call_id
    assert error_code(carol.socket(), "call_active", {"room_id": room_id}) == "not_found"
    assert [c["id"] for c in ok(b1, "call_mine", {})["calls"]] == [call_id]
    assert ok(carol.socket(), "call_mine", {})["calls"] == []
    assert carol.client.get(f"/api/calls/{call_id}").status_code == 404
    assert alice.client.get(f"/api/calls/{ObjectId()}").status_code == 404
    ok(a, "call_hangup", {"call_id": call_id})
    listed = bob.client.get(f"/api/calls/?room_id={room_id}").get_json()
    assert [(c["id"], c["state"]) for c in listed["items"]] == [(call_id, "cancelled")]
    assert listed["next_cursor"] is None
    assert carol.client.get("/api/calls/").get_json()["items"] == []
    assert ok(b1, "call_active", {"room_id": room_id})["call"] is None


def test_system_messages_arrive_in_catch_up(trio):
    alice, bob, _ = trio
    room_id, started, a, b1, _ = start_direct(alice, bob)
    call_id = started["call"]["id"]
    ok(b1, "call_accept", {"call_id": call_id})
    ok(a, "call_hangup", {"call_id": call_id})
    caught = ok(bob.socket(), "join_room", {"room_id": room_id, "after_seq": 0})
    systems = [m["system"] for m in caught["messages"]]
    assert [(s["event"], s["call_id"]) for s in systems] == [("started", call_id),
                                                             ("ended", call_id)]
    assert systems[1]["duration_seconds"] == 0 and systems[1]["reason"] == "user_hangup"
    assert caught["messages"][0]["author"]["username"] == "alice"


def test_payloads_are_validated(trio):
    alice, _, _ = trio
    a = alice.socket()
    assert error_code(a, "call_start", {"room_id": "x"}) == "validation_error"
    assert error_code(a, "call_start", {"room_id": str(ObjectId()),
                                        "kind": "hologram"}) == "validation_error"
    assert error_code(a, "call_start", {"room_id": str(ObjectId())}) == "not_found"
    assert error_code(a, "call_offer", {"call_id": str(ObjectId()), "to_party_id": "p",
                                        "description": {"type": "pranswer", "sdp": "x"}}
                      ) == "validation_error"
    assert error_code(a, "call_hangup", {"call_id": str(ObjectId()),
                                         "reason": "made_up"}) == "validation_error"


def test_ice_servers_give_coturn_rest_credentials(make_app, monkeypatch):
    import base64
    import hashlib
    import hmac

    app = make_app(STUN_URLS=["stun:stun.example.org:3478"],
                   TURN_URLS=["turn:turn.example.org:3478?transport=udp"],
                   TURN_SECRET="s3cret", TURN_CREDENTIAL_SECONDS=600)
    alice = Person(app, "alice")
    now = utcnow()
    monkeypatch.setattr("utils.clock.now", lambda: now)
    body = alice.client.get("/api/calls/ice-servers").get_json()
    stun, turn = body["ice_servers"]
    assert stun == {"urls": ["stun:stun.example.org:3478"]}
    expiry = int(now.timestamp()) + 600
    assert turn["username"] == f"{expiry}:{alice.id}"
    expected = base64.b64encode(hmac.new(b"s3cret", turn["username"].encode(),
                                         hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected and body["ttl"] == 600
    assert app.test_client().get("/api/calls/ice-servers").status_code == 401
    bare = Person(make_app(), "bob")
    assert bare.client.get("/api/calls/ice-servers").get_json()["ice_servers"] == []


def test_losing_the_room_takes_the_device_out_of_its_call(trio):
    """Removed from a group (or banned from a topic) mid-call: the device leaves the call
    at once, as `removed_from_room`, and nothing of the call reaches it any more."""
    alice, bob, carol = trio
    group = alice.post("/api/messages/groups", {"title": "g", "member_ids": [bob.id, carol.id]})
    room_id = group.get_json()["id"]
    a, b, c = alice.socket(), bob.socket(), carol.socket()
    call_id = ok(a, "call_start", {"room_id": room_id, "party_id": "a"})["call"]["id"]
    ok(b, "call_accept", {"call_id": call_id, "party_id": "b"})
    ok(c, "call_accept", {"call_id": call_id, "party_id": "c"})
    for s in (a, b, c):
        s.get_received()
    removed = alice.client.delete(f"/api/messages/rooms/{room_id}/members/{bob.id}",
                                  headers=alice.headers)
    assert removed.status_code == 200, removed.get_json()
    left = [(e["party_id"], e["reason"]) for e in events(c, "call_left")]
    assert left == [("b", "removed_from_room")]
    with alice.app.app_context():
        stored = get_db().calls.find_one({"_id": ObjectId(call_id)})
    assert [p["party_id"] for p in stored["participants"]] == ["a", "c"]
    assert stored["state"] == "active"  # two remain
    # Bob's party cannot be addressed, and the call's events no longer reach his socket.
    offer = {"call_id": call_id, "to_party_id": "b", "description": OFFER}
    assert error_code(a, "call_offer", offer) == "not_found"
    ok(a, "call_mute", {"call_id": call_id, "audio_muted": True})
    assert [e["user_id"] for e in events(c, "call_mute")] == [alice.id]
    # A later direct message is the positive event that closes bob's socket's record.
    direct = open_direct(alice, bob)
    alice.post(f"/api/messages/rooms/{direct}/messages", {"body": "still there?",
                                                          "client_id": "after-removal"})
    got = received(b)
    assert "still there?" in [data.get("body") for name, data in got if name == "message"]
    assert not [name for name, _ in got if name.startswith("call_")]


def test_a_deleted_callers_name_leaves_the_call_messages_and_missed_calls(trio, monkeypatch):
    alice, bob, _ = trio
    room_id, *_ = start_direct(alice, bob, "video")
    assert sweep_at(alice.app, monkeypatch, 46) == 1
    assert history(bob, room_id)[0]["body"] == "alice started a video call"
    monkeypatch.undo()
    deleted = alice.client.delete("/api/users/me", json={"password": DEFAULT_PASSWORD},
                                  headers=alice.headers)
    assert deleted.status_code == 204, deleted.get_json()
    assert [m["body"] for m in history(bob, room_id)] == [
        "deleted user started a video call", "Missed video call"]
    (note,) = bob.client.get("/api/notifications/").get_json()["items"]
    assert note["kind"] == "missed_call" and "alice" not in str(note)
    found = bob.client.get("/api/messages/search", query_string={"q": "alice"})
    assert found.status_code == 200 and found.get_json()["items"] == []
