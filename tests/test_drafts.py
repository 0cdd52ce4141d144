"""Drafts that follow me across devices (docs/MESSAGING.md "Drafts"): `PUT/GET
/api/messages/rooms/<id>/draft` and the `save_draft` socket event keep one draft per
(user, room); my other sockets hear `draft_updated` (the saving socket does not), nobody
else does; an empty body deletes it; a send from any device clears it. Drafts need read
access to the room and are bounded by CHAT_MESSAGE_MAX_LENGTH."""
from __future__ import annotations

import pytest
import redis

from services.chat import chat_drafts
from tests.helpers import DEFAULT_PASSWORD, events
from tests.topic_helpers import Person, make_topic, send_message
from utils.embedded_db import free_port


@pytest.fixture
def pair(client):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()
    return alice, bob, room


def draft_path(room: dict) -> str:
    return f"/api/messages/rooms/{room['id']}/draft"


def test_a_draft_follows_me_to_my_other_devices(app, pair, db):
    alice, bob, room = pair
    phone, laptop, partner = alice.socket(), alice.socket(), bob.socket()
    assert alice.get(draft_path(room)).get_json() == {"room_id": room["id"], "body": "",
                                                      "updated_at": None}
    saved = alice.call("PUT", draft_path(room), json={"body": "half a thou"})
    assert saved.status_code == 200
    assert saved.get_json()["body"] == "half a thou" and saved.get_json()["updated_at"]
    # A REST save reaches every socket of mine, none of anyone else's.
    assert [d["body"] for d in events(phone, "draft_updated")] == ["half a thou"]
    assert [d["body"] for d in events(laptop, "draft_updated")] == ["half a thou"]
    assert events(partner, "draft_updated") == []
    # A socket save skips the socket that saved.
    ack = phone.emit("save_draft", {"room_id": room["id"], "body": "half a thought"},
                     callback=True)
    assert ack["ok"] is True and ack["data"]["body"] == "half a thought"
    assert events(phone, "draft_updated") == []
    assert [d["body"] for d in events(laptop, "draft_updated")] == ["half a thought"]
    assert alice.get(draft_path(room)).get_json()["body"] == "half a thought"
    # Private: the other member of the room reads only their own (none).
    assert bob.get(draft_path(room)).get_json()["body"] == ""
    assert db.drafts.count_documents({}) == 1
    # An empty body deletes it.
    cleared = alice.call("PUT", draft_path(room), json={"body": ""})
    assert cleared.get_json() == {"room_id": room["id"], "body": "", "updated_at": None}
    assert [d["body"] for d in events(laptop, "draft_updated")] == [""]
    assert db.drafts.count_documents({}) == 0
    for sc in (phone, laptop, partner):
        sc.disconnect()


def test_sending_from_any_device_clears_the_draft(app, pair, db):
    alice, _bob, room = pair
    phone, laptop = alice.socket(), alice.socket()
    laptop.emit("save_draft", {"room_id": room["id"], "body": "see you at"}, callback=True)
    phone.get_received()
    ack = phone.emit("send_message", {"room_id": room["id"], "body": "see you at noon",
                                      "client_id": "d1"}, callback=True)
    assert ack["ok"] is True
    gone = {"room_id": room["id"], "body": "", "updated_at": None}
    assert events(laptop, "draft_updated") == [gone]
    assert alice.get(draft_path(room)).get_json() == gone
    # Over REST too; a send with no draft to clear announces nothing.
    alice.call("PUT", draft_path(room), json={"body": "and then"})
    events(laptop, "draft_updated")
    send_message(alice, room["id"], "and then we go", "d2")
    assert events(laptop, "draft_updated") == [gone]
    send_message(alice, room["id"], "again", "d3")
    assert events(laptop, "draft_updated") == []
    assert db.drafts.count_documents({}) == 0
    phone.disconnect()
    laptop.disconnect()


def test_drafts_keep_working_while_redis_fails(app, pair, db, monkeypatch, caplog):
    """Redis failing while a draft's mark is written or read (docs/MESSAGING.md): the
    draft is saved all the same, and a send asks MongoDB and clears it."""
    alice, _bob, room = pair
    unreachable = redis.Redis(port=free_port(), socket_connect_timeout=0.2)
    monkeypatch.setattr(chat_drafts, "get_redis", lambda: unreachable)
    saved = alice.call("PUT", draft_path(room), json={"body": "half a thought"})
    assert saved.status_code == 200, saved.get_json()
    assert db.drafts.count_documents({}) == 1
    send_message(alice, room["id"], "the whole thought", "r1")
    assert db.drafts.count_documents({}) == 0
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "not written" in logged and "unreadable" in logged


def test_drafts_need_read_access_and_a_bounded_body(app, client, pair):
    alice, bob, room = pair
    eve = Person(client, "eve")
    missing = "/api/messages/rooms/" + "0" * 24 + "/draft"
    for answer, absent in ((eve.get(draft_path(room)), eve.get(missing)),
                           (eve.call("PUT", draft_path(room), json={"body": "x"}),
                            eve.call("PUT", missing, json={"body": "x"}))):
        assert answer.status_code == 404 and answer.get_json() == absent.get_json()
    sc = eve.socket()
    refused = sc.emit("save_draft", {"room_id": room["id"], "body": "x"}, callback=True)
    assert refused["ok"] is False and refused["error"]["code"] == "not_found"
    sc.disconnect()
    too_long = "x" * (app.config["CHAT_MESSAGE_MAX_LENGTH"] + 1)
    refused = alice.call("PUT", draft_path(room), json={"body": too_long})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == \
        "validation_error"
    # A public topic's room: any reader keeps a draft there, without joining it.
    topic = make_topic(bob, "Open chat")
    topic_room = bob.post(f"/api/topics/{topic['id']}/rooms", {"name": "Lobby"}).get_json()
    kept = eve.call("PUT", draft_path(topic_room), json={"body": "lurking"})
    assert kept.status_code == 200 and eve.get(draft_path(topic_room)).get_json()[
        "body"] == "lurking"


def test_deleting_my_account_deletes_my_drafts(app, pair, db):
    alice, bob, room = pair
    alice.call("PUT", draft_path(room), json={"body": "never sent"})
    bob.call("PUT", draft_path(room), json={"body": "bob's own"})
    gone = alice.call("DELETE", "/api/users/me", json={"password": DEFAULT_PASSWORD,
                                                       "content": "keep"})
    assert gone.status_code == 204
    assert [d["body"] for d in db.drafts.find()] == ["bob's own"]
