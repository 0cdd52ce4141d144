"""Threads in chat rooms (docs/MESSAGING.md "Threads"): replies take the room's seq and
are idempotent, the root carries a summary, replies page oldest first, followers hear of
replies and count them unread per thread, and a thread-only reply does not raise the
room's unread count of members who do not follow it."""
from __future__ import annotations

from tests.helpers import Person, events, received
from tests.topic_helpers import join, make_topic, send_message, socket_of


def reply(person: Person, room_id: str, root_id: str, body: str, client_id: str, **extra):
    return person.post(f"/api/messages/rooms/{room_id}/messages",
                       {"body": body, "client_id": client_id, "thread_root_id": root_id,
                        **extra})


def group(owner: Person, *others: Person) -> str:
    room = owner.post("/api/messages/groups", {"title": "Crew",
                                               "member_ids": [p.id for p in others]})
    room_id = room.get_json()["id"]
    for other in others:  # invitations: each accepts
        for invitation in other.get("/api/messages/invitations").get_json()["items"]:
            other.post(f"/api/messages/invitations/{invitation['id']}/accept")
    return room_id


def unread(person: Person, room_id: str) -> int:
    return person.get(f"/api/messages/rooms/{room_id}").get_json()["unread_count"]


def thread_notes(person: Person) -> list[dict]:
    items = person.get("/api/notifications/").get_json()["items"]
    return [n for n in items if n["kind"] == "thread_reply"]


def test_replies_take_the_rooms_seq_are_idempotent_and_page(client):
    alice, bob, eve = Person(client, "alice"), Person(client, "bob"), Person(client, "eve")
    room = group(alice, bob)
    root = send_message(alice, room, "plans?", "a1")
    first = reply(bob, room, root["id"], "saturday", "b1")
    assert first.status_code == 201, first.get_json()
    first = first.get_json()
    assert (first["seq"], first["thread_root_id"]) == (2, root["id"])
    again = reply(bob, room, root["id"], "saturday", "b1")
    assert again.status_code == 200 and again.get_json()["id"] == first["id"]
    send_message(alice, room, "in the room", "a2")  # seq 3, not in the thread
    second = reply(alice, room, root["id"], "ok", "a3").get_json()
    assert second["seq"] == 4
    third = reply(bob, room, root["id"], "great", "b2").get_json()
    page = alice.get(f"/api/messages/{root['id']}/thread", query_string={"limit": 2})
    assert page.status_code == 200, page.get_json()
    body = page.get_json()
    assert [m["id"] for m in body["items"]] == [first["id"], second["id"]]
    summary = body["root"]["thread"]
    assert summary["reply_count"] == 3
    assert [u["id"] for u in summary["last_repliers"]] == [alice.id, bob.id]
    rest = alice.get(f"/api/messages/{root['id']}/thread",
                     query_string={"limit": 2, "cursor": body["next_cursor"]}).get_json()
    assert [m["id"] for m in rest["items"]] == [third["id"]] and rest["next_cursor"] is None
    caught_up = alice.get(f"/api/messages/{root['id']}/thread",
                          query_string={"after_seq": second["seq"]}).get_json()
    assert [m["id"] for m in caught_up["items"]] == [third["id"]]
    # The room's history keeps every seq, replies included.
    history = alice.get(f"/api/messages/rooms/{room}/messages").get_json()["items"]
    assert [m["seq"] for m in history] == [1, 2, 3, 4, 5]
    # A reply roots no thread; an outsider gets the 404 of a missing message.
    nested = reply(alice, room, first["id"], "deeper", "a4")
    assert nested.status_code == 400
    assert "thread_root_id" in nested.get_json()["error"]["details"]
    missing = alice.get("/api/messages/" + "0" * 24 + "/thread")
    hidden = eve.get(f"/api/messages/{root['id']}/thread")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()
    for method in ("POST", "DELETE"):
        assert eve.call(method, f"/api/messages/{root['id']}/thread/follow").status_code == 404
    assert eve.post(f"/api/messages/{root['id']}/thread/read", {"seq": 9}).status_code == 404
    assert reply(eve, room, root["id"], "sneak", "e1").status_code == 404


def test_thread_only_replies_do_not_raise_unread_for_non_followers(client):
    alice, bob, carol = Person(client, "alice"), Person(client, "bob"), Person(client, "carol")
    room = group(alice, bob, carol)
    root = send_message(alice, room, "plans?", "a1")
    for person in (alice, bob, carol):
        person.post(f"/api/messages/rooms/{room}/read", {"seq": 1})
    reply(bob, room, root["id"], "saturday", "b1")
    assert unread(carol, room) == 0  # does not follow the thread
    assert unread(alice, room) == 1  # the root's author follows it
    reply(bob, room, root["id"], "everyone come", "b2", also_to_room=True)
    assert unread(carol, room) == 1
    assert unread(alice, room) == 2
    # Reading past the quiet reply leaves the count exact afterwards.
    assert carol.post(f"/api/messages/rooms/{room}/read",
                      {"seq": 3}).get_json()["unread_count"] == 0
    reply(bob, room, root["id"], "quiet again", "b3")
    send_message(bob, room, "loud", "b4")
    assert unread(carol, room) == 1
    assert carol.post(f"/api/messages/rooms/{room}/read",
                      {"seq": 5}).get_json()["unread_count"] == 0
    # Following makes the next thread-only reply count for carol too.
    assert carol.post(f"/api/messages/{root['id']}/thread/follow").status_code == 204
    reply(bob, room, root["id"], "now you hear it", "b5")
    assert unread(carol, room) == 1


def test_followers_get_thread_reply_and_unread_per_thread(client):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    carol, dave = Person(client, "carol"), Person(client, "dave")
    room = group(alice, bob, carol, dave)
    root = send_message(alice, room, "plans?", "a1")
    other = send_message(alice, room, "and food?", "a2")
    assert carol.post(f"/api/messages/{root['id']}/thread/follow").status_code == 204
    reply(bob, room, root["id"], "saturday", "b1")
    reply(bob, room, root["id"], "or sunday", "b2")
    for person in (alice, carol):
        notes = thread_notes(person)
        assert len(notes) == 1 and notes[0]["count"] == 2  # coalesced per thread
        assert notes[0]["data"]["root_id"] == root["id"]
    assert thread_notes(bob) == [] and thread_notes(dave) == []
    # Mentioned in a reply: a mention, and dave follows the thread from there.
    reply(bob, room, other["id"], "@dave pizza?", "b3")
    assert thread_notes(dave) == []
    reply(alice, room, other["id"], "yes", "a3")
    assert len(thread_notes(dave)) == 1
    listed = carol.get("/api/messages/threads").get_json()["items"]
    assert [(t["root"]["id"], t["unread_count"]) for t in listed] == [(root["id"], 2)]
    mine = bob.get("/api/messages/threads").get_json()["items"]
    # Bob replied in both; he read what he wrote, the newest activity first.
    assert [(t["root"]["id"], t["unread_count"]) for t in mine] == [
        (other["id"], 1), (root["id"], 0)]
    read = carol.post(f"/api/messages/{root['id']}/thread/read", {"seq": 3})
    assert read.get_json() == {"unread_count": 1}
    assert carol.get("/api/messages/threads").get_json()["items"][0]["unread_count"] == 1
    assert carol.call("DELETE", f"/api/messages/{root['id']}/thread/follow").status_code == 204
    assert carol.get("/api/messages/threads").get_json()["items"] == []
    before = thread_notes(carol)[0]["count"]
    reply(bob, room, root["id"], "last call", "b4")
    assert thread_notes(carol)[0]["count"] == before


def test_socket_reply_in_a_topic_room_is_live_with_thread_updated(app, client):
    owner, member = Person(client, "tom"), Person(client, "mia")
    topic = make_topic(owner)
    join(member, topic["id"])
    lounge = owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "lounge"}).get_json()["id"]
    root = send_message(owner, lounge, "welcome", "o1")
    watcher, writer = socket_of(app, owner), socket_of(app, member)
    assert watcher.emit("join_room", {"room_id": lounge}, callback=True)["ok"]
    watcher.get_received()
    ack = writer.emit("send_message", {"room_id": lounge, "body": "thanks", "client_id": "m1",
                                       "thread_root_id": root["id"]}, callback=True)
    assert ack["ok"], ack
    assert ack["data"]["thread_root_id"] == root["id"] and ack["data"]["seq"] == 2
    again = writer.emit("send_message", {"room_id": lounge, "body": "thanks",
                                         "client_id": "m1", "thread_root_id": root["id"]},
                        callback=True)
    assert again["data"]["id"] == ack["data"]["id"]
    seen = [(name, data) for name, data in received(watcher)
            if name in ("message", "thread_updated")]
    assert [name for name, _ in seen] == ["message", "thread_updated"]
    assert seen[0][1]["thread_root_id"] == root["id"]
    assert seen[1][1]["root_id"] == root["id"]
    assert seen[1][1]["thread"]["reply_count"] == 1
    assert [u["id"] for u in seen[1][1]["thread"]["last_repliers"]] == [member.id]
    nested = writer.emit("send_message", {"room_id": lounge, "body": "x", "client_id": "m2",
                                          "thread_root_id": ack["data"]["id"]}, callback=True)
    assert not nested["ok"] and nested["error"]["code"] == "validation_error"
    assert events(watcher, "thread_updated") == []
    watcher.disconnect()
    writer.disconnect()
