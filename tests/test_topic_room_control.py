"""Topic rooms their owners control (docs/MESSAGING.md "Closing and deleting a topic
room"): the topic's owner and moderators and site staff close a topic's chat room to
writes (`read_only`, reversible; history stays readable) and delete it (gone from the
topic's list, its history 404); the sockets in it leave with `removed_from_room {room_id,
reason}`; both are audit-logged. Plain members get 403, outsiders the 404 of a missing
room; groups and direct rooms are neither closed nor deleted this way."""
from __future__ import annotations

import pytest

from tests.helpers import events
from tests.topic_helpers import Person, join, make_topic, send_message, socket_of


@pytest.fixture
def town(client):
    people = {name: Person(client, name) for name in ("olga", "mod", "mia", "pete")}
    staff = Person(client, "staff")
    staff.set_role("admin")
    people["staff"] = staff
    owner, moderator, member = people["olga"], people["mod"], people["mia"]
    topic = make_topic(owner, "Town square")
    for person in (moderator, member):
        join(person, topic["id"])
    promoted = owner.post(f"/api/topics/{topic['id']}/moderators", {"user_id": moderator.id})
    assert promoted.status_code in (200, 201), promoted.get_json()
    created = member.post(f"/api/topics/{topic['id']}/rooms", {"name": "Spam den"})
    assert created.status_code == 201, created.get_json()
    return people, topic, created.get_json()


def path(room: dict) -> str:
    return f"/api/messages/rooms/{room['id']}"


def moderation_log(owner: Person, topic: dict) -> list[tuple[str, str]]:
    items = owner.get(f"/api/topics/{topic['id']}/moderation-log").get_json()["items"]
    return [(entry["action"], entry["target_id"]) for entry in items]


def test_moderators_close_a_topic_room_and_reopen_it(app, town):
    people, topic, room = town
    owner, moderator, member = people["olga"], people["mod"], people["mia"]
    send_message(member, room["id"], "before", "c1")
    watcher = socket_of(app, member)
    assert watcher.emit("join_room", {"room_id": room["id"]}, callback=True)["ok"]
    watcher.get_received()

    closed = moderator.patch(path(room), {"read_only": True})
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["read_only"] is True
    assert [r["read_only"] for r in events(watcher, "room_updated")] == [True]
    # Readable, not writable: REST and socket alike, with a code of its own.
    refused = member.send(room["id"], "after", "c2")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "room_read_only"
    ack = watcher.emit("send_message", {"room_id": room["id"], "body": "after",
                                        "client_id": "c3"}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "room_read_only"
    history = member.get(f"{path(room)}/messages").get_json()["items"]
    assert [m["body"] for m in history] == ["before"]
    assert member.get(path(room)).get_json()["read_only"] is True
    # Not the personal archive: nobody's room list changed.
    assert room["id"] in [r["id"] for r in member.get("/api/messages/rooms").get_json()["items"]]

    reopened = owner.patch(path(room), {"read_only": False})
    assert reopened.status_code == 200 and reopened.get_json()["read_only"] is False
    assert send_message(member, room["id"], "open again", "c4")["seq"] == 2
    assert moderation_log(owner, topic)[:2] == [("reopen_room", room["id"]),
                                               ("close_room", room["id"])]
    watcher.disconnect()


def test_who_may_close_or_delete(app, town):
    people, _topic, room = town
    member, outsider, staff = people["mia"], people["pete"], people["staff"]
    missing = "/api/messages/rooms/" + "0" * 24
    # The room's own creator is a plain member of the topic: refused.
    assert member.patch(path(room), {"read_only": True}).status_code == 403
    assert member.delete(path(room)).status_code == 403
    private = make_topic(people["olga"], "Back office", visibility="private")
    hidden = people["mod"]
    secret = people["olga"].post(f"/api/topics/{private['id']}/rooms", {"name": "Ledger"})
    secret_room = secret.get_json()
    for attempt in (lambda p: outsider.patch(p, {"read_only": True}), outsider.delete,
                    lambda p: hidden.patch(p, {"read_only": True}), hidden.delete):
        answer = attempt(path(secret_room))
        assert answer.status_code == 404
        assert answer.get_json() == attempt(missing).get_json()
    # Site staff may, in any topic.
    assert staff.patch(path(room), {"read_only": True}).get_json()["read_only"] is True
    # A group is not a topic room: its owner neither closes nor deletes it this way.
    group = member.post("/api/messages/groups", {"title": "Pals", "member_ids": [outsider.id]})
    group_path = f"/api/messages/rooms/{group.get_json()['id']}"
    assert member.patch(group_path, {"read_only": True}).status_code == 400
    assert member.delete(group_path).status_code == 400
    assert member.get(group_path).status_code == 200


def test_deleting_a_topic_room_removes_it_for_everyone(app, town):
    people, topic, room = town
    owner, member, outsider = people["olga"], people["mia"], people["pete"]
    message = send_message(member, room["id"], "spam spam", "c1")
    inside = socket_of(app, member)
    assert inside.emit("join_room", {"room_id": room["id"]}, callback=True)["ok"]
    browsing = socket_of(app, outsider)  # watches the topic's list of rooms
    assert browsing.emit("join_topic", {"topic_id": topic["id"]}, callback=True)["ok"]
    for sc in (inside, browsing):
        sc.get_received()

    deleted = owner.delete(path(room))
    assert deleted.status_code == 204, deleted.get_json()
    gone = {"room_id": room["id"], "reason": "room_deleted"}
    assert events(inside, "removed_from_room") == [gone]
    assert events(browsing, "removed_from_room") == [gone]
    # The socket left the room: nothing of it reaches it any more, and it cannot rejoin.
    again = inside.emit("join_room", {"room_id": room["id"]}, callback=True)
    assert again["ok"] is False and again["error"]["code"] == "not_found"
    missing = "/api/messages/rooms/" + "0" * 24
    for reader in (member, owner):
        assert reader.get(path(room)).get_json() == reader.get(missing).get_json()
        assert reader.get(f"{path(room)}/messages").status_code == 404
        assert reader.send(room["id"], "more", "c9").status_code == 404
    assert member.get(f"/api/messages/search?q=spam&room_id={room['id']}").status_code == 404
    listed = owner.get(f"/api/topics/{topic['id']}/rooms").get_json()["items"]
    assert room["id"] not in [r["id"] for r in listed]
    mine = member.get("/api/messages/rooms").get_json()["items"]
    assert room["id"] not in [r["id"] for r in mine]
    assert member.patch(f"/api/messages/{message['id']}", {"body": "x"}).status_code == 404
    # Once: a second delete finds nothing.
    assert owner.delete(path(room)).status_code == 404
    assert moderation_log(owner, topic)[0] == ("delete_room", room["id"])
    staff_log = people["staff"].get("/api/admin/audit-log").get_json()["items"]
    assert "topic.delete_room" in [entry["action"] for entry in staff_log]
    inside.disconnect()
    browsing.disconnect()
