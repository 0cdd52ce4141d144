"""Messages over REST: rooms of each kind, who may do what, seq, idempotent sends,
history, edits, reactions, read cursors and unread counts; stored state checked too."""
from __future__ import annotations

import pytest
from bson import ObjectId

from services.platform import content_filter
from tests.helpers import csrf, register_and_login
from utils.db import get_db


@pytest.fixture
def db(app):
    """The database without holding an app context open (requests would share `g`)."""
    with app.app_context():
        return get_db()


@pytest.fixture
def people(app):
    """Three logged-in clients: alice, bob and carol, each (client, user, headers)."""
    found = {}
    for name in ("alice", "bob", "carol"):
        client = app.test_client()
        user, token = register_and_login(client, name)
        found[name] = (client, user, csrf(token))
    return found


def post(person, path, body=None):
    client, _, headers = person
    return client.post(path, json=body or {}, headers=headers)


def direct(people, a="alice", b="bob"):
    response = post(people[a], "/api/messages/direct", {"user_id": people[b][1]["id"]})
    assert response.status_code in (200, 201), response.get_json()
    return response


def send(person, room_id, body, client_id):
    return post(person, f"/api/messages/rooms/{room_id}/messages",
                {"body": body, "client_id": client_id})


def test_direct_room_is_unique_per_pair(people):
    first = direct(people)
    assert first.status_code == 201
    room = first.get_json()
    assert room["kind"] == "direct" and room["unread_count"] == 0
    assert {m["username"] for m in room["members"]} == {"alice", "bob"}
    again = direct(people, "bob", "alice")
    assert again.status_code == 200 and again.get_json()["id"] == room["id"]


def test_direct_refused_when_blocked_or_settings_forbid(people, db):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    assert post(bob, f"/api/users/{alice[1]['id']}/block").status_code == 204
    refused = post(alice, "/api/messages/direct", {"user_id": bob[1]["id"]})
    assert refused.status_code == 403, refused.get_json()
    client, _, headers = carol
    client.patch("/api/users/me", json={"settings": {"allow_messages_from": "friends"}},
                 headers=headers)
    refused = post(alice, "/api/messages/direct", {"user_id": carol[1]["id"]})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert db.rooms.count_documents({"kind": "direct"}) == 0
    missing = post(alice, "/api/messages/direct", {"user_id": str(ObjectId())})
    assert missing.status_code == 404


def test_block_after_creation_stops_sending(people):
    room_id = direct(people).get_json()["id"]
    assert send(people["alice"], room_id, "hi", "c1").status_code == 201
    post(people["bob"], f"/api/users/{people['alice'][1]['id']}/block")
    assert send(people["alice"], room_id, "hi again", "c2").status_code == 403


def test_seq_idempotency_and_history(people, db):
    room_id = direct(people).get_json()["id"]
    seqs = [send(people["alice"], room_id, f"m{i}", f"c{i}").get_json()["seq"]
            for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    retry = send(people["alice"], room_id, "m0 again", "c0")
    assert retry.status_code == 200 and retry.get_json()["seq"] == 1
    assert retry.get_json()["body"] == "m0"
    assert db.messages.count_documents({"room_id": ObjectId(room_id)}) == 5
    client = people["bob"][0]
    page = client.get(f"/api/messages/rooms/{room_id}/messages?after_seq=2&limit=2").get_json()
    assert [m["seq"] for m in page["items"]] == [3, 4] and page["has_more"] is True
    page = client.get(f"/api/messages/rooms/{room_id}/messages?before_seq=3").get_json()
    assert [m["seq"] for m in page["items"]] == [1, 2] and page["has_more"] is False
    latest = client.get(f"/api/messages/rooms/{room_id}/messages?limit=2").get_json()
    assert [m["seq"] for m in latest["items"]] == [4, 5] and latest["has_more"] is True
    both = client.get(f"/api/messages/rooms/{room_id}/messages?after_seq=1&before_seq=3")
    assert both.status_code == 400


def test_strangers_see_not_found(people):
    room_id = direct(people).get_json()["id"]
    carol = people["carol"]
    assert carol[0].get(f"/api/messages/rooms/{room_id}").status_code == 404
    assert carol[0].get(f"/api/messages/rooms/{room_id}/messages").status_code == 404
    assert send(carol, room_id, "sneak", "x").status_code == 404
    assert carol[0].get(f"/api/messages/rooms/{ObjectId()}").status_code == 404


def test_a_private_topics_room_answers_like_a_missing_room(people):
    """A chat room of a private topic must not tell a non-member that the room exists
    (and is a topic's) by answering "Topic not found." where a missing room answers
    "Room not found."."""
    alice, carol = people["alice"], people["carol"]
    topic = post(alice, "/api/topics", {"title": "Inner circle", "visibility": "private"})
    room = post(alice, f"/api/topics/{topic.get_json()['id']}/rooms", {"name": "lobby"})
    room_id = room.get_json()["id"]
    for missing_id in (room_id, str(ObjectId())):
        answers = [carol[0].get(f"/api/messages/rooms/{missing_id}"),
                   carol[0].get(f"/api/messages/rooms/{missing_id}/messages"),
                   send(carol, missing_id, "sneak", "x"),
                   post(carol, f"/api/messages/rooms/{missing_id}/read", {"seq": 1})]
        assert [(a.status_code, a.get_json()["error"]["message"]) for a in answers] == [
            (404, "Room not found.")] * 4, missing_id


def test_body_rules(people, app):
    room_id = direct(people).get_json()["id"]
    assert send(people["alice"], room_id, "   ", "a").status_code == 400
    assert send(people["alice"], room_id, "x" * 4001, "b").status_code == 400
    assert send(people["alice"], room_id, "x" * 4000, "c").status_code == 201

    with app.app_context():
        content_filter.save_config({"new_account_link_limit": -1, "rules": [
            {"kind": "word", "value": "spam", "action": "reject"},
            {"kind": "word", "value": "darn", "action": "mask"}]}, None, None)
    assert send(people["alice"], room_id, "buy spam", "d").status_code == 422
    assert send(people["alice"], room_id, "oh darn", "e").get_json()["body"] == "oh ****"


def test_unread_counts_and_read_cursor(people):
    alice, bob = people["alice"], people["bob"]
    room_id = direct(people).get_json()["id"]
    for i in range(3):
        send(alice, room_id, f"a{i}", f"a{i}")
    send(bob, room_id, "b0", "b0")
    send(alice, room_id, "a3", "a3")
    rooms = {r["id"]: r for r in bob[0].get("/api/messages/rooms").get_json()["items"]}
    assert rooms[room_id]["unread_count"] == 4  # 5 messages, one of them bob's own
    assert rooms[room_id]["last_message"]["body"] == "a3"
    mine = {r["id"]: r for r in alice[0].get("/api/messages/rooms").get_json()["items"]}
    assert mine[room_id]["unread_count"] == 1
    read = post(bob, f"/api/messages/rooms/{room_id}/read", {"seq": 3})
    assert read.get_json() == {"unread_count": 1}
    back = post(bob, f"/api/messages/rooms/{room_id}/read", {"seq": 1})
    assert back.get_json() == {"unread_count": 1}  # the cursor never moves back
    assert post(bob, f"/api/messages/rooms/{room_id}/read",
                {"seq": 99}).get_json() == {"unread_count": 0}
    assert post(alice, f"/api/messages/rooms/{room_id}/read",
                {"seq": 5}).get_json() == {"unread_count": 0}


def test_rooms_list_newest_activity_first(people):
    alice = people["alice"]
    first = direct(people).get_json()["id"]
    second = direct(people, "alice", "carol").get_json()["id"]
    send(alice, first, "latest", "l1")
    items = alice[0].get("/api/messages/rooms").get_json()["items"]
    assert [r["id"] for r in items] == [first, second]
    page = alice[0].get("/api/messages/rooms?limit=1").get_json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = alice[0].get(f"/api/messages/rooms?limit=1&cursor={page['next_cursor']}").get_json()
    assert [r["id"] for r in rest["items"]] == [second]


def test_groups_members_and_leaving(people, db):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    response = post(alice, "/api/messages/groups",
                    {"title": "Trip", "member_ids": [bob[1]["id"]]})
    assert response.status_code == 201
    room_id = response.get_json()["id"]
    assert post(bob, f"/api/messages/rooms/{room_id}/members",
                {"user_id": carol[1]["id"]}).status_code == 403
    send(alice, room_id, "before carol", "g1")
    invited = post(alice, f"/api/messages/rooms/{room_id}/members", {"user_id": carol[1]["id"]})
    assert invited.status_code == 202 and invited.get_json()["room_id"] == room_id
    added = post(carol, f"/api/messages/invitations/{invited.get_json()['id']}/accept")
    assert added.status_code == 200 and len(added.get_json()["members"]) == 3
    carol_view = carol[0].get(f"/api/messages/rooms/{room_id}").get_json()
    assert carol_view["unread_count"] == 0  # history before joining is not unread
    renamed = alice[0].patch(f"/api/messages/rooms/{room_id}", json={"title": "Trip 2"},
                             headers=alice[2])
    assert renamed.get_json()["title"] == "Trip 2"
    assert bob[0].patch(f"/api/messages/rooms/{room_id}", json={"title": "x"},
                        headers=bob[2]).status_code == 403
    removed = alice[0].delete(f"/api/messages/rooms/{room_id}/members/{carol[1]['id']}",
                              headers=alice[2])
    assert removed.status_code == 200
    assert carol[0].get(f"/api/messages/rooms/{room_id}").status_code == 404
    assert post(alice, f"/api/messages/rooms/{room_id}/leave").status_code == 204
    stored = db.rooms.find_one({"_id": ObjectId(room_id)})
    assert stored["member_ids"] == [ObjectId(bob[1]["id"])]
    assert stored["created_by"] == ObjectId(bob[1]["id"])  # bob manages it now
    dm = direct(people).get_json()["id"]
    assert post(alice, f"/api/messages/rooms/{dm}/leave").status_code == 400


def test_edit_delete_and_reactions(people, db):
    alice, bob = people["alice"], people["bob"]
    room_id = direct(people).get_json()["id"]
    message = send(alice, room_id, "hello", "h1").get_json()
    reply = post(bob, f"/api/messages/rooms/{room_id}/messages",
                 {"body": "hi", "client_id": "r1", "reply_to": message["id"]})
    assert reply.get_json()["reply_to"] == message["id"]
    assert bob[0].patch(f"/api/messages/{message['id']}", json={"body": "x"},
                        headers=bob[2]).status_code == 403
    edited = alice[0].patch(f"/api/messages/{message['id']}", json={"body": "hello!"},
                            headers=alice[2]).get_json()
    assert edited["body"] == "hello!" and edited["edited_at"]
    path = f"/api/messages/{message['id']}/reactions/👍"
    reacted = bob[0].put(path, headers=bob[2]).get_json()
    assert reacted["reactions"] == {"👍": [bob[1]["id"]]}
    assert bob[0].put(f"/api/messages/{message['id']}/reactions/ab",
                      headers=bob[2]).status_code == 400
    keycap = bob[0].put(f"/api/messages/{message['id']}/reactions/1\ufe0f\u20e3",
                        headers=bob[2])
    assert keycap.status_code == 200, keycap.get_json()
    assert keycap.get_json()["reactions"]["1\ufe0f\u20e3"] == [bob[1]["id"]]
    assert bob[0].delete(path, headers=bob[2]).get_json()["reactions"] == {
        "1\ufe0f\u20e3": [bob[1]["id"]]}
    assert bob[0].delete(f"/api/messages/{message['id']}", headers=bob[2]).status_code == 403
    deleted = alice[0].delete(f"/api/messages/{message['id']}", headers=alice[2]).get_json()
    assert deleted["deleted"] is True and deleted["body"] == "" and deleted["seq"] == 1
    items = alice[0].get(f"/api/messages/rooms/{room_id}/messages").get_json()["items"]
    assert [m["seq"] for m in items] == [1, 2] and items[0]["deleted"]
    assert db.messages.find_one({"_id": ObjectId(message["id"])})["body"] == ""


def test_flood_limit(make_app):
    app = make_app(CHAT_RATE_LIMIT="3 per 5 seconds")
    alice = app.test_client()
    _, token = register_and_login(alice, "alice")
    bob_user, _ = register_and_login(app.test_client(), "bob")
    room = alice.post("/api/messages/direct", json={"user_id": bob_user["id"]},
                      headers=csrf(token)).get_json()
    codes = [alice.post(f"/api/messages/rooms/{room['id']}/messages",
                        json={"body": "x", "client_id": f"f{i}"}, headers=csrf(token))
             for i in range(4)]
    assert [c.status_code for c in codes] == [201, 201, 201, 429]
    assert int(codes[-1].headers["Retry-After"]) >= 1


def test_emoji_rules():
    from services.chat.chat_history import valid_emoji

    # Keycaps, flags (subdivision flags too), skin tones, ZWJ sequences (with skin tones).
    for good in ("👍", "❤️", "👍🏽", "👨‍👩‍👧", "🇫🇷", "1️⃣", "#️⃣", "*️⃣",
                 "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
                 "🧑🏻\u200d❤️\u200d💋\u200d🧑🏼", "👩🏽\u200d💻"):
        assert valid_emoji(good), good
    # Two characters, a digit, two emoji, a lone joiner or skin tone or regional letter,
    # a joiner left dangling.
    for bad in ("a", "ab", "1", "#", "👍👍", "<b>", "", "\u200d", "\ufe0f", "🏽", "🇦",
                "👍\u200d", "1\ufe0f"):
        assert not valid_emoji(bad), bad


def test_rooms_list_last_message_carries_its_author(people):
    """`last_message.author` has the author's public fields, in direct rooms and in topic
    rooms (which have no member list to find the author in)."""
    alice, bob = people["alice"], people["bob"]
    room_id = direct(people).get_json()["id"]
    bob[0].patch("/api/users/me", json={"display_name": "Bobby"}, headers=bob[2])
    assert send(bob, room_id, "hi alice", "b1").status_code == 201
    topic = post(alice, "/api/topics", {"title": "Open chat"}).get_json()
    lobby = post(alice, f"/api/topics/{topic['id']}/rooms", {"name": "lobby"}).get_json()
    assert post(bob, f"/api/topics/{topic['id']}/join").status_code == 200
    assert send(alice, lobby["id"], "welcome", "a1").status_code == 201
    assert send(bob, lobby["id"], "hello lobby", "b2").status_code == 201
    items = {r["id"]: r for r in alice[0].get("/api/messages/rooms").get_json()["items"]}
    author = items[room_id]["last_message"]["author"]
    assert {k: author[k] for k in ("id", "username", "display_name")} == {
        "id": bob[1]["id"], "username": "bob", "display_name": "Bobby"}
    assert author["avatar_url"].startswith("/api/users/initials.svg?text=BO&color=")
    assert "email" not in author
    assert items[lobby["id"]]["last_message"]["author"]["display_name"] == "Bobby"
    single = alice[0].get(f"/api/messages/rooms/{lobby['id']}").get_json()
    assert single["last_message"]["author"]["id"] == bob[1]["id"]


def test_a_reply_names_a_message_of_the_same_room(people, db):
    alice, bob = people["alice"], people["bob"]
    room_id = direct(people).get_json()["id"]
    elsewhere = direct(people, "alice", "carol").get_json()["id"]
    other = send(alice, elsewhere, "for carol", "c1").get_json()
    for target in (other["id"], str(ObjectId())):
        refused = post(bob, f"/api/messages/rooms/{room_id}/messages",
                       {"body": "re", "client_id": f"r-{target}", "reply_to": target})
        assert refused.status_code == 400, refused.get_json()
        error = refused.get_json()["error"]
        assert error["code"] == "validation_error" and "reply_to" in error["details"]
    assert db.messages.count_documents({"room_id": ObjectId(room_id)}) == 0
    assert db.rooms.find_one({"_id": ObjectId(room_id)})["last_seq"] == 0
