"""Personal controls (docs/MESSAGING.md "Personal controls"): delete a message for me
only, mute a room or a topic (unread still counted, flagged `muted`), archive a
conversation (hidden from my room list until a new message), hide a user's content from
me without blocking. Each changes only what I see; outsiders get 404."""
from __future__ import annotations

import pytest
from bson import ObjectId

from tests.helpers import DEFAULT_PASSWORD, events
from tests.topic_helpers import Person, join, make_post, make_topic, send_message, socket_of


def history(person: Person, room_id: str) -> list[dict]:
    response = person.get(f"/api/messages/rooms/{room_id}/messages")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


@pytest.fixture
def trio(client):
    alice, bob, eve = Person(client, "alice"), Person(client, "bob"), Person(client, "eve")
    room = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    return alice, bob, eve, room


def test_delete_for_me_only(app, trio):
    alice, bob, eve, room = trio
    first = send_message(alice, room, "first", "a1")
    send_message(alice, room, "second", "a2")
    other_device = socket_of(app, bob)
    assert eve.delete(f"/api/messages/{first['id']}/for-me").status_code == 404
    assert bob.delete(f"/api/messages/{first['id']}/for-me").status_code == 204
    mine = history(bob, room)
    assert [m["seq"] for m in mine] == [1, 2]  # the seq keeps its place
    assert mine[0]["deleted_for_me"] is True and mine[0]["body"] == ""
    assert mine[1]["deleted_for_me"] is False and mine[1]["body"] == "second"
    theirs = history(alice, room)
    assert theirs[0]["body"] == "first" and theirs[0]["deleted_for_me"] is False
    assert events(other_device, "message_hidden") == [
        {"id": first["id"], "room_id": room, "seq": 1}]
    caught = other_device.emit("join_room", {"room_id": room}, callback=True)
    assert caught["data"]["messages"][0]["deleted_for_me"] is True
    other_device.disconnect()


def test_a_muted_room_counts_unread_but_says_muted(app, trio, client):
    alice, bob, _eve, room = trio
    assert bob.call("PUT", f"/api/notifications/mutes/room/{room}").status_code == 204
    listed = bob.get("/api/messages/rooms").get_json()["items"]
    assert [(r["id"], r["muted"]) for r in listed] == [(room, True)]
    assert alice.get(f"/api/messages/rooms/{room}").get_json()["muted"] is False
    device = socket_of(app, bob)
    send_message(alice, room, "psst", "a1")
    assert events(device, "unread") == [{"room_id": room, "unread_count": 1, "muted": True}]
    assert bob.get(f"/api/messages/rooms/{room}").get_json()["unread_count"] == 1
    assert bob.call("DELETE", f"/api/notifications/mutes/room/{room}").status_code == 204
    send_message(alice, room, "again", "a2")
    assert events(device, "unread") == [{"room_id": room, "unread_count": 2, "muted": False}]
    device.disconnect()
    # No notification from a muted room: a mention in a muted group reaches nobody.
    group = alice.post("/api/messages/groups", {"title": "g", "member_ids": [bob.id]}
                       ).get_json()["id"]
    assert bob.call("PUT", f"/api/notifications/mutes/room/{group}").status_code == 204
    send_message(alice, group, "@bob are you there", "g1")
    assert bob.get("/api/notifications/").get_json()["items"] == []
    bob.call("DELETE", f"/api/notifications/mutes/room/{group}")
    send_message(alice, group, "@bob now?", "g2")
    assert [n["kind"] for n in bob.get("/api/notifications/").get_json()["items"]] == [
        "mention"]
    # A muted topic mutes its chat rooms.
    owner = Person(client, "tom")
    topic = make_topic(owner)
    join(bob, topic["id"])
    topic_room = owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "lounge"}).get_json()
    send_message(bob, topic_room["id"], "hello", "b1")
    assert bob.call("PUT", f"/api/notifications/mutes/topic/{topic['id']}").status_code == 204
    assert bob.get(f"/api/messages/rooms/{topic_room['id']}").get_json()["muted"] is True


def test_archive_until_a_new_message(trio):
    alice, bob, eve, room = trio
    assert eve.call("PUT", f"/api/messages/rooms/{room}/archive").status_code == 404
    assert bob.call("PUT", f"/api/messages/rooms/{room}/archive").status_code == 204
    assert bob.get("/api/messages/rooms").get_json()["items"] == []
    archived = bob.get("/api/messages/rooms", query_string={"archived": "true"}).get_json()
    assert [(r["id"], r["archived"]) for r in archived["items"]] == [(room, True)]
    assert [r["id"] for r in alice.get("/api/messages/rooms").get_json()["items"]] == [room]
    send_message(alice, room, "you there?", "a1")  # a new message brings it back
    listed = bob.get("/api/messages/rooms").get_json()["items"]
    assert [(r["id"], r["archived"]) for r in listed] == [(room, False)]
    bob.call("PUT", f"/api/messages/rooms/{room}/archive")
    assert bob.call("DELETE", f"/api/messages/rooms/{room}/archive").status_code == 204
    assert [r["id"] for r in bob.get("/api/messages/rooms").get_json()["items"]] == [room]


def test_hiding_a_user_filters_my_lists_only(client, trio):
    alice, bob, eve, room = trio
    topic = make_topic(eve)
    join(alice, topic["id"])
    join(bob, topic["id"])
    post = make_post(alice, topic["id"], "Alice speaks")
    make_post(eve, topic["id"], "Eve speaks")
    comment = alice.post(f"/api/posts/{post['id']}/comments", {"body": "alice here"}).get_json()
    said = send_message(alice, room, "hello bob", "a1")
    assert bob.call("PUT", f"/api/users/{bob.id}/hide").status_code == 400
    assert bob.call("PUT", f"/api/users/{ObjectId()}/hide").status_code == 404
    assert bob.call("PUT", f"/api/users/{alice.id}/hide").status_code == 204
    hidden = bob.get("/api/users/me/hidden").get_json()["items"]
    assert [h["user"]["id"] for h in hidden] == [alice.id]
    titles = [p["title"] for p in bob.get("/api/posts/", query_string={
        "topic_id": topic["id"]}).get_json()["items"]]
    assert titles == ["Eve speaks"]
    front = [p["title"] for p in bob.get("/api/posts/").get_json()["items"]]
    assert "Alice speaks" not in front and "Eve speaks" in front
    # Comments and messages keep their place (replies, seqs) but are emptied and flagged.
    shown = bob.get(f"/api/posts/{post['id']}/comments").get_json()["items"][0]
    assert shown["id"] == comment["id"] and shown["author_hidden"] is True
    assert shown["body"] == ""
    message = history(bob, room)[0]
    assert message["id"] == said["id"] and message["author_hidden"] is True
    assert message["body"] == ""
    # Only for me: eve still sees everything, alice is not told.
    assert len(eve.get("/api/posts/", query_string={"topic_id": topic["id"]}
                       ).get_json()["items"]) == 2
    assert history(alice, room)[0]["author_hidden"] is False
    assert bob.call("DELETE", f"/api/users/{alice.id}/hide").status_code == 204
    assert history(bob, room)[0]["body"] == "hello bob"
    assert len(bob.get("/api/posts/", query_string={"topic_id": topic["id"]}
                       ).get_json()["items"]) == 2


def test_a_deleted_account_leaves_no_hides_or_invitations(client, db):
    alice, bob, carol = Person(client, "alice"), Person(client, "bob"), Person(client, "carol")
    group = alice.post("/api/messages/groups", {"title": "g", "member_ids": [carol.id]}
                       ).get_json()["id"]
    assert alice.post(f"/api/messages/rooms/{group}/invitations", {"user_id": bob.id}
                      ).status_code == 201
    assert bob.call("PUT", f"/api/users/{carol.id}/hide").status_code == 204
    assert carol.call("PUT", f"/api/users/{bob.id}/hide").status_code == 204
    gone = bob.call("DELETE", "/api/users/me", json={"password": DEFAULT_PASSWORD})
    assert gone.status_code == 204, gone.get_json()
    assert db.user_hides.count_documents({}) == 0
    assert db.room_invitations.count_documents({}) == 0
