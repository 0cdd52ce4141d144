"""What happens to a thread when its parts go (docs/MESSAGING.md "Threads"): a deleted
reply leaves the root's summary and its followers' unread counts, and the room hears
`thread_updated`; a deleted root ends the thread for its followers; a deleted account
follows nothing. A reply sent only to its thread never shows as the room's last message."""
from __future__ import annotations

from tests.helpers import DEFAULT_PASSWORD, Person, events
from tests.topic_helpers import send_message


def reply(person: Person, room_id: str, root_id: str, body: str, client_id: str, **extra):
    sent = person.post(f"/api/messages/rooms/{room_id}/messages",
                       {"body": body, "client_id": client_id, "thread_root_id": root_id,
                        **extra})
    assert sent.status_code == 201, sent.get_json()
    return sent.get_json()


def group(owner: Person, *others: Person) -> str:
    room = owner.post("/api/messages/groups", {"title": "Crew",
                                               "member_ids": [p.id for p in others]})
    room_id = room.get_json()["id"]
    for other in others:
        for invitation in other.get("/api/messages/invitations").get_json()["items"]:
            other.post(f"/api/messages/invitations/{invitation['id']}/accept")
    return room_id


def summary(person: Person, root_id: str) -> dict | None:
    return person.get(f"/api/messages/{root_id}/thread").get_json()["root"]["thread"]


def my_threads(person: Person) -> list[tuple[str, int]]:
    return [(t["root"]["id"], t["unread_count"])
            for t in person.get("/api/messages/threads").get_json()["items"]]


def test_a_deleted_reply_leaves_the_summary_and_the_unread_counts(client):
    alice, bob, carol = Person(client, "alice"), Person(client, "bob"), Person(client, "carol")
    room = group(alice, bob, carol)
    root = send_message(alice, room, "plans?", "a1")
    first = reply(bob, room, root["id"], "saturday", "b1")
    second = reply(carol, room, root["id"], "sunday", "c1")
    assert summary(alice, root["id"])["reply_count"] == 2
    assert my_threads(alice) == [(root["id"], 2)]
    watcher = alice.socket()
    assert bob.delete(f"/api/messages/{first['id']}").status_code == 200
    (update,) = events(watcher, "thread_updated")
    assert update["root_id"] == root["id"] and update["thread"]["reply_count"] == 1
    assert [u["id"] for u in update["thread"]["last_repliers"]] == [carol.id]
    shown = summary(alice, root["id"])
    assert shown["reply_count"] == 1 and shown["last_reply_at"] == second["created_at"]
    assert my_threads(alice) == [(root["id"], 1)]
    # Bob follows (he replied) and never counted his own reply; carol's still counts.
    assert my_threads(bob) == [(root["id"], 1)]
    # The last reply gone: the root carries no thread any more.
    carol.delete(f"/api/messages/{second['id']}")
    assert summary(alice, root["id"]) is None
    assert my_threads(alice) == [(root["id"], 0)]
    assert events(watcher, "thread_updated")[0]["thread"] is None
    watcher.disconnect()


def test_a_deleted_root_ends_the_thread_for_its_followers(client, db):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room = group(alice, bob)
    root = send_message(alice, room, "plans?", "a1")
    reply(bob, room, root["id"], "saturday", "b1")
    assert db.thread_follows.count_documents({}) == 2
    assert alice.delete(f"/api/messages/{root['id']}").status_code == 200
    assert db.thread_follows.count_documents({}) == 0
    assert my_threads(bob) == []


def test_a_deleted_account_follows_no_thread(client, db):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room = group(alice, bob)
    root = send_message(alice, room, "plans?", "a1")
    reply(bob, room, root["id"], "saturday", "b1")
    gone = bob.call("DELETE", "/api/users/me", json={"password": DEFAULT_PASSWORD,
                                                     "content": "keep"})
    assert gone.status_code == 204
    followers = {str(f["user_id"]) for f in db.thread_follows.find()}
    assert followers == {alice.id}


def test_a_thread_only_reply_is_never_the_rooms_last_message(client):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room = group(alice, bob)
    root = send_message(alice, room, "plans?", "a1")

    def last_message() -> dict:
        return bob.get(f"/api/messages/rooms/{room}").get_json()["last_message"]

    quiet = reply(bob, room, root["id"], "saturday", "b1")
    assert last_message()["id"] == root["id"]
    # Editing and deleting the shown message keep the copy true past a quiet reply.
    alice.patch(f"/api/messages/{root['id']}", {"body": "plans for the weekend?"})
    assert last_message()["body"] == "plans for the weekend?"
    loud = reply(bob, room, root["id"], "everyone come", "b2", also_to_room=True)
    assert last_message()["id"] == loud["id"]
    reply(alice, room, root["id"], "ok", "a2")
    assert last_message()["id"] == loud["id"]
    assert bob.delete(f"/api/messages/{loud['id']}").status_code == 200
    assert last_message()["id"] == loud["id"] and last_message()["deleted"] is True
    # The room's seq still covers every reply.
    rooms = bob.get("/api/messages/rooms").get_json()["items"]
    assert [r["last_seq"] for r in rooms if r["id"] == room] == [4]
    assert quiet["seq"] == 2
