"""Who may message whom, and what a message id gives away.

`allow_messages_from` (and blocks) hold for opening a direct room, for every later write
into it, for creating a group with someone and for adding them to one. A message the
caller may not read answers exactly what a message that does not exist answers, over
REST and Socket.IO alike."""
from __future__ import annotations

import json

import pytest
from bson import ObjectId

from models.user import User
from services.live import presence
from tests.topic_helpers import Person, make_topic
from utils.errors import NotFound
from utils.extensions import socketio
from utils.redis_client import get_redis

THUMBS = "/reactions/%F0%9F%91%8D"  # 👍, quoted as a client sends it


def live(app, person: Person):
    sock = socketio.test_client(app, auth={"token": person.headers["Authorization"][7:]})
    assert sock.is_connected()
    return sock


def allow(person: Person, policy: str) -> None:
    response = person.patch("/api/users/me", {"settings": {"allow_messages_from": policy}})
    assert response.status_code == 200, response.get_json()


def befriend(a: Person, b: Person) -> None:
    request = a.post(f"/api/users/{b.id}/friend-request").get_json()
    assert b.post(f"/api/users/me/friend-requests/{request['id']}/accept").status_code == 200


def send(person: Person, room_id: str, body: str, client_id: str):
    return person.post(f"/api/messages/rooms/{room_id}/messages",
                       {"body": body, "client_id": client_id})


def forbidden(response) -> bool:
    return response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


@pytest.fixture
def people(client):
    return {name: Person(client, name) for name in ("alice", "bob", "carol", "dave")}


# allow_messages_from: groups

def test_a_group_cannot_include_someone_who_refuses_the_creator(people, db):
    alice, bob, carol, dave = (people[n] for n in ("alice", "bob", "carol", "dave"))
    allow(bob, "nobody")
    allow(carol, "friends")
    assert forbidden(alice.post("/api/messages/groups",
                                {"title": "trap", "member_ids": [bob.id, dave.id]}))
    assert forbidden(alice.post("/api/messages/groups",
                                {"title": "trap", "member_ids": [carol.id]}))
    assert db.rooms.count_documents({"kind": "group"}) == 0
    befriend(alice, carol)
    created = alice.post("/api/messages/groups", {"title": "ok", "member_ids": [carol.id]})
    assert created.status_code == 201, created.get_json()
    assert dave.post(f"/api/users/{alice.id}/block").status_code == 204
    assert forbidden(alice.post("/api/messages/groups",
                                {"title": "trap", "member_ids": [dave.id]}))


def test_adding_to_a_group_respects_the_setting(people, db):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = alice.post("/api/messages/groups", {"title": "g", "member_ids": [carol.id]}
                      ).get_json()
    allow(bob, "nobody")
    assert forbidden(alice.post(f"/api/messages/rooms/{room['id']}/members",
                                {"user_id": bob.id}))
    allow(bob, "friends")
    assert forbidden(alice.post(f"/api/messages/rooms/{room['id']}/members",
                                {"user_id": bob.id}))
    assert ObjectId(bob.id) not in db.rooms.find_one({"_id": ObjectId(room["id"])})["member_ids"]
    assert db.room_members.count_documents({"user_id": ObjectId(bob.id)}) == 0
    befriend(bob, alice)
    invited = alice.post(f"/api/messages/rooms/{room['id']}/members", {"user_id": bob.id})
    assert invited.status_code == 202
    # Invited, not added: bob is a member only once he accepts.
    assert ObjectId(bob.id) not in db.rooms.find_one({"_id": ObjectId(room["id"])})["member_ids"]
    accepted = bob.post(f"/api/messages/invitations/{invited.get_json()['id']}/accept")
    assert accepted.status_code == 200


# allow_messages_from: an existing direct room

def test_an_existing_direct_room_follows_the_current_setting(app, people):
    alice, bob = people["alice"], people["bob"]
    room_id = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    first = send(alice, room_id, "hello", "a1")
    assert first.status_code == 201
    allow(bob, "nobody")
    assert forbidden(send(alice, room_id, "still there?", "a2"))
    assert forbidden(alice.patch(f"/api/messages/{first.get_json()['id']}", {"body": "edit"}))
    assert forbidden(alice.call("PUT", f"/api/messages/{first.get_json()['id']}{THUMBS}"))
    sock = live(app, alice)
    for event, payload in (
            ("send_message", {"room_id": room_id, "body": "sock", "client_id": "a3"}),
            ("typing", {"room_id": room_id, "typing": True}),
            ("edit_message", {"message_id": first.get_json()["id"], "body": "x"})):
        ack = sock.emit(event, payload, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", (event, ack)
    sock.disconnect()
    # The room stays: both still read it, and bob may still write to alice.
    assert alice.get(f"/api/messages/rooms/{room_id}/messages").status_code == 200
    assert send(bob, room_id, "I can still answer", "b1").status_code == 201
    history = bob.get(f"/api/messages/rooms/{room_id}/messages").get_json()["items"]
    assert [m["body"] for m in history] == ["hello", "I can still answer"]
    allow(bob, "friends")
    assert forbidden(send(alice, room_id, "friends now?", "a4"))
    befriend(alice, bob)
    assert send(alice, room_id, "friends now", "a5").status_code == 201
    allow(bob, "everyone")
    assert bob.post(f"/api/users/{alice.id}/block").status_code == 204
    assert forbidden(send(alice, room_id, "blocked", "a6"))


# One answer for a message id the caller may not read

@pytest.fixture
def hidden_messages(people):
    """Ids of messages carol may not read: a direct room, a group, a private topic's
    room, a deleted message in a room she may read, and an id that never existed."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    dm = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()
    group = alice.post("/api/messages/groups", {"title": "g", "member_ids": [bob.id]}
                       ).get_json()
    topic = make_topic(alice, "Secret", visibility="private")
    topic_room = alice.post(f"/api/topics/{topic['id']}/rooms", {"name": "hall"}).get_json()
    own = carol.post("/api/messages/direct", {"user_id": alice.id}).get_json()
    ids = {}
    for name, room in (("direct", dm), ("group", group), ("private_topic", topic_room),
                       ("deleted", own)):
        response = send(alice, room["id"], f"in {name}", name)
        assert response.status_code == 201, response.get_json()
        ids[name] = response.get_json()["id"]
    assert alice.delete(f"/api/messages/{ids['deleted']}").status_code == 200
    return ids


def rest_answers(carol: Person, message_id: str) -> list[tuple[int, bytes]]:
    path = f"/api/messages/{message_id}"
    calls = [carol.patch(path, {"body": "mine now"}), carol.delete(path),
             carol.call("PUT", path + THUMBS), carol.call("DELETE", path + THUMBS),
             carol.post("/api/reports", {"target_type": "message", "target_id": message_id,
                                         "reason": "spam"})]
    return [(response.status_code, response.get_data()) for response in calls]


def test_rest_answers_an_unreadable_message_like_a_missing_one(people, hidden_messages):
    carol = people["carol"]
    missing = rest_answers(carol, str(ObjectId()))
    assert all(status == 404 for status, _ in missing)
    assert json.loads(missing[0][1]) == {"error": {"code": "not_found",
                                                   "message": "Message not found."}}
    for name, message_id in hidden_messages.items():
        assert rest_answers(carol, message_id) == missing, name


def test_socket_answers_an_unreadable_message_like_a_missing_one(app, people,
                                                                 hidden_messages):
    sock = live(app, people["carol"])

    def answers(message_id: str) -> list[str]:
        calls = [("edit_message", {"message_id": message_id, "body": "mine now"}),
                 ("delete_message", {"message_id": message_id}),
                 ("react", {"message_id": message_id, "emoji": "👍", "on": True}),
                 ("react", {"message_id": message_id, "emoji": "👍", "on": False})]
        return [json.dumps(sock.emit(event, payload, callback=True), sort_keys=True)
                for event, payload in calls]

    missing = answers(str(ObjectId()))
    assert json.loads(missing[0]) == {"ok": False, "error": {
        "code": "not_found", "message": "Message not found."}}
    for name, message_id in hidden_messages.items():
        assert answers(message_id) == missing, name
    sock.disconnect()


def test_members_still_reach_their_messages(people, hidden_messages):
    bob = people["bob"]
    response = bob.call("PUT", f"/api/messages/{hidden_messages['direct']}{THUMBS}")
    assert response.status_code == 200 and response.get_json()["reactions"] == {"👍": [bob.id]}
    assert bob.patch(f"/api/messages/{hidden_messages['group']}", {"body": "x"}
                     ).status_code == 403  # readable, but not bob's


def test_typing_is_refused_to_whoever_may_not_write_before_it_is_recorded(app, people):
    """presence.typing is the one way to type (the socket handler only calls it): an
    outsider gets the 404 of a missing room and nothing is recorded or sent."""
    room = people["alice"].post("/api/messages/direct", {"user_id": people["bob"].id})
    room_id = room.get_json()["id"]
    with app.test_request_context():
        carol = User().find_by_id(people["carol"].id)
        with pytest.raises(NotFound):
            presence.typing(room_id, carol, True, None)
        assert get_redis().zscore("rt:typing", f"{room_id}|{carol['_id']}") is None
        alice = User().find_by_id(people["alice"].id)
        presence.typing(room_id, alice, True, None)
        assert get_redis().zscore("rt:typing", f"{room_id}|{alice['_id']}") is not None
        presence.typing(room_id, alice, False, None)
