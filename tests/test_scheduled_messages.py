"""Scheduled messages (docs/MESSAGING.md "Scheduled messages"): `send_at` on a REST send
answers 202 and a scheduled item; its author lists, edits and cancels it (anyone else
gets the 404 of a missing one); the every-minute job sends each due one through the
normal send path (next seq, once), or drops it and tells the author why when they may no
longer write there."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.chat.chat_scheduled import send_scheduled_messages
from services.media import attachments
from tests.helpers import DEFAULT_PASSWORD, Person, png_bytes
from tests.topic_helpers import send_message
from utils import clock as app_clock

SCHEDULED = "/api/messages/scheduled"


def later(**delta: float) -> str:
    return (app_clock.now() + timedelta(**delta)).isoformat()


def schedule(person: Person, room_id: str, body: str, send_at: str, client_id: str = "s"):
    return person.post(f"/api/messages/rooms/{room_id}/messages",
                       {"body": body, "client_id": client_id, "send_at": send_at})


@pytest.fixture
def trio(client):
    alice, bob, carol = (Person(client, name) for name in ("alice", "bob", "carol"))
    room = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()
    return alice, bob, carol, room


def test_schedule_list_change_and_cancel(trio, db):
    alice, bob, _carol, room = trio
    first = schedule(alice, room["id"], "in two hours", later(hours=2))
    assert first.status_code == 202, first.get_json()
    item = first.get_json()
    assert item["room_id"] == room["id"] and item["body"] == "in two hours"
    assert item["attachments"] == [] and item["send_at"] and item["created_at"]
    soon = schedule(alice, room["id"], "in one hour", later(hours=1)).get_json()
    assert db.messages.count_documents({}) == 0  # nothing sent yet
    listed = alice.get(SCHEDULED).get_json()
    assert [i["id"] for i in listed["items"]] == [soon["id"], item["id"]]  # soonest first
    assert listed["next_cursor"] is None
    paged = alice.get(SCHEDULED, query_string={"limit": 1}).get_json()
    assert [i["id"] for i in paged["items"]] == [soon["id"]] and paged["next_cursor"]
    rest = alice.get(SCHEDULED, query_string={"limit": 1, "cursor": paged["next_cursor"]})
    assert [i["id"] for i in rest.get_json()["items"]] == [item["id"]]
    assert bob.get(SCHEDULED).get_json()["items"] == []  # mine only
    changed = alice.patch(f"{SCHEDULED}/{item['id']}",
                          {"body": "in half an hour", "send_at": later(minutes=30)})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["body"] == "in half an hour"
    listed = alice.get(SCHEDULED).get_json()
    assert [i["id"] for i in listed["items"]] == [item["id"], soon["id"]]
    assert alice.delete(f"{SCHEDULED}/{soon['id']}").status_code == 204
    assert [i["id"] for i in alice.get(SCHEDULED).get_json()["items"]] == [item["id"]]
    assert alice.delete(f"{SCHEDULED}/{soon['id']}").status_code == 404


def test_someone_elses_item_and_an_unreadable_room_are_not_found(trio, db):
    alice, bob, carol, room = trio
    item = schedule(alice, room["id"], "mine", later(hours=1)).get_json()
    missing = alice.patch(f"{SCHEDULED}/{'0' * 24}", {"body": "x"})
    assert missing.status_code == 404
    for person in (bob, carol):
        patched = person.patch(f"{SCHEDULED}/{item['id']}", {"body": "theirs"})
        assert patched.status_code == 404
        assert patched.get_json() == missing.get_json()
        assert person.delete(f"{SCHEDULED}/{item['id']}").status_code == 404
    assert db.scheduled_messages.find_one()["body"] == "mine"
    outsider = schedule(carol, room["id"], "let me in", later(hours=1))
    assert outsider.status_code == 404
    assert outsider.get_json()["error"]["code"] == "not_found"
    assert db.scheduled_messages.count_documents({}) == 1


@pytest.mark.parametrize("send_at", [
    lambda: later(minutes=-1), lambda: later(days=30, minutes=1), lambda: "tomorrow",
    lambda: (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat(),
])
def test_send_at_must_be_ahead_within_thirty_days(trio, db, send_at):
    alice, _bob, _carol, room = trio
    answer = schedule(alice, room["id"], "when?", send_at())
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["error"]["code"] == "validation_error"
    assert "send_at" in answer.get_json()["error"]["details"]
    assert db.scheduled_messages.count_documents({}) == 0


def test_a_patch_cannot_move_it_into_the_past(trio):
    alice, _bob, _carol, room = trio
    item = schedule(alice, room["id"], "later", later(hours=1)).get_json()
    answer = alice.patch(f"{SCHEDULED}/{item['id']}", {"send_at": later(hours=-1)})
    assert answer.status_code == 400
    assert "send_at" in answer.get_json()["error"]["details"]


def test_the_job_sends_it_when_due_with_the_next_seq_once(app, trio, db, clock):
    alice, bob, _carol, room = trio
    send_message(alice, room["id"], "now", "n1")
    item = schedule(alice, room["id"], "at noon", later(minutes=10)).get_json()
    with app.app_context():
        assert send_scheduled_messages() == 0  # not yet
        assert db.messages.count_documents({}) == 1
        clock.advance(minutes=11)
        assert send_scheduled_messages() == 1
        assert send_scheduled_messages() == 0  # a second run sends nothing
    sent = db.messages.find_one({"body": "at noon"})
    assert sent["seq"] == 2 and sent["client_id"] == f"scheduled-{item['id']}"
    assert str(sent["author_id"]) == alice.id
    assert db.messages.count_documents({}) == 2
    assert db.scheduled_messages.count_documents({}) == 0
    history = bob.get(f"/api/messages/rooms/{room['id']}/messages").get_json()
    assert [m["body"] for m in history["items"]][-1] == "at noon"
    assert bob.get(f"/api/messages/rooms/{room['id']}").get_json()["unread_count"] == 2


def test_one_the_author_may_no_longer_send_is_dropped_and_they_are_told(app, client, db,
                                                                       clock):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    group = alice.post("/api/messages/groups",
                       {"title": "Planning", "member_ids": [bob.id]}).get_json()
    item = schedule(alice, group["id"], "see you all", later(minutes=5))
    assert item.status_code == 202, item.get_json()
    left = alice.post(f"/api/messages/rooms/{group['id']}/leave")
    assert left.status_code in (200, 204), left.get_json()
    with app.app_context():
        clock.advance(minutes=6)
        assert send_scheduled_messages() == 0
    assert db.messages.count_documents({"body": "see you all"}) == 0
    assert db.scheduled_messages.count_documents({}) == 0
    notes = alice.get("/api/notifications").get_json()["items"]
    dropped = [n for n in notes if n["kind"] == "scheduled_message_dropped"]
    assert len(dropped) == 1
    assert dropped[0]["data"]["room_id"] == group["id"]
    assert dropped[0]["data"]["reason"]
    assert dropped[0]["summary"] == "Your scheduled message could not be sent"


def test_the_socket_send_has_no_send_at(trio, db):
    alice, _bob, _carol, room = trio
    socket = alice.socket()
    ack = socket.emit("send_message", {"room_id": room["id"], "body": "hi", "client_id": "k",
                                       "send_at": later(hours=1)}, callback=True)
    socket.disconnect()
    assert ack["ok"] is False and ack["error"]["code"] == "validation_error"
    assert db.messages.count_documents({}) == 0
    assert db.scheduled_messages.count_documents({}) == 0


def test_deleting_my_account_deletes_my_scheduled_messages(trio, db):
    alice, bob, _carol, room = trio
    schedule(alice, room["id"], "never sent", later(hours=1))
    schedule(bob, room["id"], "bob's own", later(hours=1))
    gone = alice.call("DELETE", "/api/users/me", json={"password": DEFAULT_PASSWORD,
                                                       "content": "keep"})
    assert gone.status_code == 204
    assert [d["body"] for d in db.scheduled_messages.find()] == ["bob's own"]


def test_attachments_are_checked_when_scheduled_and_held_until_sent(app, trio, db, clock):
    alice, bob, _carol, room = trio
    mine = alice.upload(png_bytes()).get_json()["id"]
    theirs = bob.upload(png_bytes()).get_json()["id"]

    def with_files(files: list[str], client_id: str):
        return alice.post(f"/api/messages/rooms/{room['id']}/messages",
                          {"body": "", "client_id": client_id, "attachments": files,
                           "send_at": later(days=2)})

    # Someone else's upload is refused now, with the answer a send gets, and nothing kept.
    refused = with_files([theirs], "s0")
    assert refused.status_code == 404, refused.get_json()
    assert db.scheduled_messages.count_documents({}) == 0
    item = with_files([mine], "s1")
    assert item.status_code == 202, item.get_json()
    # Held: not attachable to another message, downloadable by its author alone.
    elsewhere = alice.post(f"/api/messages/rooms/{room['id']}/messages",
                           {"body": "", "client_id": "m1", "attachments": [mine]})
    assert elsewhere.status_code == 404
    assert alice.get(f"/api/uploads/{mine}").status_code == 200
    assert bob.get(f"/api/uploads/{mine}").status_code == 404
    with app.app_context():
        # Two days: past UPLOAD_UNATTACHED_SECONDS, the sweep of unattached uploads leaves it.
        clock.advance(days=2, minutes=1)
        attachments.sweep()
        assert send_scheduled_messages() == 1
    sent = db.messages.find_one({"client_id": f"scheduled-{item.get_json()['id']}"})
    assert [str(a["id"]) for a in sent["attachments"]] == [mine]
    assert bob.get(f"/api/uploads/{mine}").status_code == 200  # now the room's


def test_cancelling_frees_its_uploads(trio, db):
    alice, _bob, _carol, room = trio
    mine = alice.upload(png_bytes()).get_json()["id"]
    item = alice.post(f"/api/messages/rooms/{room['id']}/messages",
                      {"body": "x", "client_id": "s1", "attachments": [mine],
                       "send_at": later(hours=1)}).get_json()
    assert alice.delete(f"{SCHEDULED}/{item['id']}").status_code == 204
    sent = alice.post(f"/api/messages/rooms/{room['id']}/messages",
                      {"body": "", "client_id": "m1", "attachments": [mine]})
    assert sent.status_code == 201, sent.get_json()
