"""The Socket.IO protocol with Flask-SocketIO's test client: acknowledgements, catch-up,
live delivery once per socket, typing, read receipts, presence, removals, logout."""
from __future__ import annotations

import pytest
from bson import ObjectId

from services.forum import topic_members, topic_moderation, topics_service
from services.live import presence
from tests.chat_helpers import open_direct, send
from tests.helpers import (
    Person,
    bearer,
    event_data,
    events,
    received,
    run_jobs,
)
from utils.db import get_db
from utils.extensions import socketio


@pytest.fixture
def trio(app):
    return Person(app, "alice"), Person(app, "bob"), Person(app, "carol")


def test_every_event_is_acknowledged_with_errors(trio):
    alice, bob, _ = trio
    sc = alice.socket()
    missing = sc.emit("join_room", {"room_id": str(ObjectId())}, callback=True)
    assert missing["ok"] is False and missing["error"]["code"] == "not_found"
    bad = sc.emit("send_message", {"room_id": "nope", "body": "x"}, callback=True)
    assert bad["error"]["code"] == "validation_error"
    assert sc.emit("join_room", "text", callback=True)["error"]["code"] == "validation_error"
    assert sc.emit("join_room", {"room_id": str(ObjectId()), "extra": 1},
                   callback=True)["error"]["code"] == "validation_error"
    room_id = open_direct(alice, bob)
    empty = send(sc, room_id, "   ", "c")
    assert empty["error"]["code"] == "validation_error"
    joined = sc.emit("join_room", {"room_id": room_id}, callback=True)
    assert joined == {"ok": True, "data": {"messages": [], "has_more": False,
                                           "room_id": room_id, "last_seq": 0}}


def test_join_catch_up_and_live_delivery_once(trio):
    alice, bob, _ = trio
    room_id = open_direct(alice, bob)
    a_sock = alice.socket()
    for i in range(3):
        assert send(a_sock, room_id, f"m{i}", f"c{i}")["data"]["seq"] == i + 1
    b_sock = bob.socket()
    caught = b_sock.emit("join_room", {"room_id": room_id, "after_seq": 1}, callback=True)
    assert [m["seq"] for m in caught["data"]["messages"]] == [2, 3]
    assert caught["data"]["has_more"] is False
    b_sock.get_received()
    sent = send(a_sock, room_id, "live", "c3")["data"]
    got = received(b_sock)
    # In chat_room_<id> and user_<bob>, yet one `message`; then bob's unread count.
    assert [name for name, _ in got] == ["message", "unread"]
    assert got[0][1] == sent and sent["seq"] == 4 and sent["author"]["username"] == "alice"
    assert got[1][1] == {"room_id": room_id, "unread_count": 4, "muted": False}
    retry = send(a_sock, room_id, "live again", "c3")
    assert retry["data"]["id"] == sent["id"]
    assert events(b_sock, "message") == []
    with alice.app.app_context():
        assert get_db().messages.count_documents({"room_id": ObjectId(room_id)}) == 4


def test_members_receive_without_joining_and_strangers_do_not(trio):
    alice, bob, carol = trio
    room_id = open_direct(alice, bob)
    b_sock, c_sock = bob.socket(), carol.socket()
    assert c_sock.emit("join_room", {"room_id": room_id},
                       callback=True)["error"]["code"] == "not_found"
    send(alice.socket(), room_id, "psst", "p1")
    assert [m["body"] for m in events(b_sock, "message")] == ["psst"]
    assert events(c_sock, "message") == []


def test_catch_up_is_capped(make_app):
    app = make_app(CHAT_CATCHUP_LIMIT=3)
    alice, bob = Person(app, "alice"), Person(app, "bob")
    room_id = open_direct(alice, bob)
    sock = alice.socket()
    for i in range(5):
        send(sock, room_id, f"m{i}", f"k{i}")
    page = bob.socket().emit("join_room", {"room_id": room_id, "after_seq": 0}, callback=True)
    assert [m["seq"] for m in page["data"]["messages"]] == [1, 2, 3]
    assert page["data"]["has_more"] is True


def test_flood_is_rate_limited(make_app):
    app = make_app(CHAT_RATE_LIMIT="10 per 5 seconds")
    alice, bob = Person(app, "alice"), Person(app, "bob")
    room_id = open_direct(alice, bob)
    sock = alice.socket()
    answers = [send(sock, room_id, "x", f"f{i}") for i in range(11)]
    assert all(a["ok"] for a in answers[:10])
    assert answers[10]["ok"] is False and answers[10]["error"]["code"] == "rate_limited"
    assert send(sock, room_id, "x", "f0")["ok"]  # a retry of a stored message is free


def test_edit_delete_react_events(trio):
    alice, bob, _ = trio
    room_id = open_direct(alice, bob)
    a_sock, b_sock = alice.socket(), bob.socket()
    message = send(a_sock, room_id, "hello", "e1")["data"]
    b_sock.get_received()
    edited = a_sock.emit("edit_message", {"message_id": message["id"], "body": "hello!"},
                         callback=True)
    assert edited["ok"] and edited["data"]["body"] == "hello!"
    assert b_sock.emit("edit_message", {"message_id": message["id"], "body": "no"},
                       callback=True)["error"]["code"] == "forbidden"
    reacted = b_sock.emit("react", {"message_id": message["id"], "emoji": "🎉", "on": True},
                          callback=True)
    assert reacted["data"]["reactions"] == {"🎉": [bob.id]}
    deleted = a_sock.emit("delete_message", {"message_id": message["id"]}, callback=True)
    assert deleted["data"]["deleted"] is True
    names = [name for name, _ in received(b_sock)]
    assert names == ["message_updated", "reaction_updated", "message_deleted"]


def test_typing_goes_to_others_and_expires(make_app, clock):
    app = make_app(CHAT_TYPING_EXPIRY_SECONDS=1)
    alice, bob = Person(app, "alice"), Person(app, "bob")
    room_id = open_direct(alice, bob)
    a_sock, b_sock = alice.socket(), bob.socket()
    for sock in (a_sock, b_sock):
        sock.emit("join_room", {"room_id": room_id}, callback=True)
        sock.get_received()
    answer = a_sock.emit("typing", {"room_id": room_id, "typing": True}, callback=True)
    assert answer["ok"] and answer["data"]["expires_in"] == 1
    assert events(a_sock, "typing") == []
    started = events(b_sock, "typing")
    assert [{k: v for k, v in t.items() if k != "user"} for t in started] == [
        {"room_id": room_id, "user_id": alice.id, "typing": True, "expires_in": 1}]
    # The typist's public fields come along, so "alice is typing" needs no lookup.
    assert {k: started[0]["user"][k] for k in ("id", "username", "display_name")} == {
        "id": alice.id, "username": "alice", "display_name": "alice"}
    assert started[0]["user"]["avatar_url"].startswith("/api/users/initials.svg?text=AL&")
    a_sock.emit("typing", {"room_id": room_id, "typing": True}, callback=True)
    assert events(b_sock, "typing") == []  # a renewal is not news
    with app.app_context():
        presence.expire_typing()  # not yet expired: no event
    assert events(b_sock, "typing") == []
    clock.advance(1.1)
    with app.app_context():
        presence.expire_typing()
    assert [(t["typing"], t["user"]["id"]) for t in events(b_sock, "typing")] == [
        (False, alice.id)]


def test_typing_is_throttled(make_app):
    app = make_app(CHAT_TYPING_RATE_LIMIT="2 per 10 seconds")
    alice, bob = Person(app, "alice"), Person(app, "bob")
    room_id = open_direct(alice, bob)
    sock = alice.socket()
    codes = [sock.emit("typing", {"room_id": room_id, "typing": True}, callback=True)
             for _ in range(3)]
    assert [c["ok"] for c in codes] == [True, True, False]
    assert codes[2]["error"]["code"] == "rate_limited"


def test_mark_read_receipts_and_other_devices(trio):
    alice, bob, _ = trio
    room_id = open_direct(alice, bob)
    a_sock = alice.socket()
    for i in range(3):
        send(a_sock, room_id, f"m{i}", f"r{i}")
    phone, laptop = bob.socket(), bob.socket()
    a_sock.emit("join_room", {"room_id": room_id}, callback=True)
    for sock in (phone, laptop, a_sock):
        sock.get_received()
    answer = phone.emit("mark_read", {"room_id": room_id, "seq": 2}, callback=True)
    assert answer["data"] == {"room_id": room_id, "unread_count": 1}
    assert events(a_sock, "read") == [{"room_id": room_id, "user_id": bob.id, "seq": 2}]
    assert events(laptop, "unread") == [{"room_id": room_id, "unread_count": 1, "muted": False}]
    assert events(phone, "unread") == []


def test_presence_goes_to_partners_and_get_online_users(trio):
    alice, bob, carol = trio
    room_id = open_direct(alice, bob)
    a_sock, c_sock = alice.socket(), carol.socket()
    a_sock.get_received()
    b1 = bob.socket()
    assert events(a_sock, "presence") == [{"user_id": bob.id, "online": True}]
    assert events(c_sock, "presence") == []  # not a friend, no direct room
    b2 = bob.socket()
    assert events(a_sock, "presence") == []  # a second tab changes nothing
    online = a_sock.emit("get_online_users", {"room_id": room_id}, callback=True)
    assert sorted(online["data"]["user_ids"]) == sorted([alice.id, bob.id])
    b1.disconnect()
    assert events(a_sock, "presence") == []
    b2.disconnect()
    assert events(a_sock, "presence") == [{"user_id": bob.id, "online": False}]
    online = a_sock.emit("get_online_users", {"room_id": room_id}, callback=True)
    assert online["data"]["user_ids"] == [alice.id]
    both = a_sock.emit("get_online_users", {"room_id": room_id, "topic_id": room_id},
                       callback=True)
    assert both["error"]["code"] == "validation_error"


def test_removed_group_member_leaves_the_room_live(trio):
    alice, bob, carol = trio
    room = alice.post("/api/messages/groups", {"title": "G", "member_ids": [bob.id, carol.id]})
    room_id = room.get_json()["id"]
    c_sock, b_sock = carol.socket(), bob.socket()
    c_sock.emit("join_room", {"room_id": room_id}, callback=True)
    c_sock.get_received()
    alice.client.delete(f"/api/messages/rooms/{room_id}/members/{carol.id}",
                        headers=alice.headers)
    assert events(c_sock, "removed_from_room") == [{"room_id": room_id}]
    b_sock.get_received()
    send(alice.socket(), room_id, "after", "g1")
    assert events(c_sock, "message") == []
    assert [m["body"] for m in events(b_sock, "message")] == ["after"]
    again = c_sock.emit("join_room", {"room_id": room_id}, callback=True)
    assert again["error"]["code"] == "not_found"


def test_topic_rooms_and_bans(trio):
    alice, bob, carol = trio
    with alice.app.app_context():
        owner = get_db().users.find_one({"_id": ObjectId(alice.id)})
        topic = topics_service.create_topic(owner, "Chess club")
        topic_members.join_topic(get_db().users.find_one({"_id": ObjectId(bob.id)}),
                                  topic["_id"])
    topic_id = str(topic["_id"])
    created = alice.post(f"/api/topics/{topic_id}/rooms", {"name": "Openings"})
    assert created.status_code == 201 and created.get_json()["kind"] == "topic"
    room_id = created.get_json()["id"]
    listed = carol.client.get(f"/api/topics/{topic_id}/rooms").get_json()["items"]
    assert [r["id"] for r in listed] == [room_id]
    assert carol.post(f"/api/topics/{topic_id}/rooms", {"name": "x"}).status_code == 403
    b_sock, c_sock = bob.socket(), carol.socket()
    assert c_sock.emit("join_room", {"room_id": room_id}, callback=True)["ok"]  # may read
    assert send(c_sock, room_id, "hi", "t1")["error"]["code"] == "forbidden"  # not a member
    assert send(b_sock, room_id, "e4", "t2")["ok"]
    assert [m["body"] for m in events(c_sock, "message")] == ["e4"]
    online = b_sock.emit("get_online_users", {"topic_id": topic_id}, callback=True)
    assert online["data"]["user_ids"] == [bob.id]
    b_sock.emit("join_room", {"room_id": room_id}, callback=True)
    b_sock.get_received()
    with alice.app.app_context():
        owner = get_db().users.find_one({"_id": ObjectId(alice.id)})
        # Since topics and messaging met, the ban itself takes bob out of the topic's
        # chat rooms (topics_service._leave_live_rooms); no second call is needed.
        topic_moderation.ban_user(owner, topic_id, bob.id, "spam", None)
    assert events(b_sock, "removed_from_room") == [{"room_id": room_id}]
    send(alice.socket(), room_id, "after the ban", "t3")
    assert events(b_sock, "message") == []
    assert send(b_sock, room_id, "let me in", "t4")["error"]["code"] == "forbidden"


def test_force_logout_on_password_reset_and_deletion(app, trio):
    alice = trio[0]
    sock = alice.socket()
    token = bearer(app.test_client(), "dave")["Authorization"].split()[1]
    bot = socketio.test_client(app, auth={"token": token})
    assert bot.is_connected()
    from services.accounts import auth_passwords
    from services.privacy import account_deletion

    with app.app_context():
        auth_passwords.forgot_password("alice@example.com")
        run_jobs(app)  # the reset link is made on the mail worker
        user = get_db().users.find_one({"_id": ObjectId(alice.id)})
        from services.platform import tokens
        reset = tokens.make("reset", alice.id, user["reset_nonce"], __import__(
            "datetime").timedelta(minutes=5))
        auth_passwords.reset_password(reset, "another long passphrase 42")
    assert not sock.is_connected()
    # get_received() refuses a closed client; the queue still holds what arrived.
    assert [(e["name"], event_data(e)) for e in sock.queue] == [
        ("force_logout", {"reason": "password_reset"})]
    with app.app_context():
        dave = get_db().users.find_one({"username": "dave"})
        account_deletion.delete_account(dave, "correct horse battery staple", "127.0.0.1")
    assert not bot.is_connected()
    assert not socketio.test_client(app, auth={"token": token}).is_connected()


def test_read_receipts_reach_partners_who_did_not_join_the_room(trio):
    """A direct or group room's `read` goes to every member's user room, like `message`:
    the partner's socket, connected but never in `join_room`, gets it after `mark_read`
    and after `POST /rooms/<id>/read`; someone outside the room does not."""
    alice, bob, carol = trio
    room_id = open_direct(alice, bob)
    a_sock, c_sock = alice.socket(), carol.socket()
    for i in range(3):
        send(a_sock, room_id, f"m{i}", f"p{i}")
    b_sock = bob.socket()
    for sock in (a_sock, b_sock, c_sock):
        sock.get_received()
    assert b_sock.emit("mark_read", {"room_id": room_id, "seq": 1}, callback=True)["ok"]
    assert events(a_sock, "read") == [{"room_id": room_id, "user_id": bob.id, "seq": 1}]
    assert bob.post(f"/api/messages/rooms/{room_id}/read", {"seq": 3}).status_code == 200
    assert events(a_sock, "read") == [{"room_id": room_id, "user_id": bob.id, "seq": 3}]
    # carol hears nothing of it; a later event of her own shows her queue was read.
    send(c_sock, open_direct(carol, alice), "hi", "c1")
    names = [name for name, _ in received(c_sock)]
    assert "message" in names and "read" not in names
