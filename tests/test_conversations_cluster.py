"""Issue 28's live events across processes: two real gunicorn/gevent servers sharing one
SecantusDB and one redis-server. A thread reply, a ballot, a draft and a topic room's
deletion written through one process reach the sockets held by the other, and nobody
outside the room hears them."""
from __future__ import annotations

import requests

from tests.cluster_helpers import Client, make_user

POLL = {"question": "Lunch?", "options": ["Pizza", "Soup"]}


def api(server, token: str, method: str, path: str, body: dict | None = None,
        expected: tuple[int, ...] = (200, 201)) -> dict:
    response = requests.request(method, server.url + path, json=body, timeout=30,
                                headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in expected, response.text
    return response.json() if response.content else {}


def group(server, token: str, *member_ids: str) -> str:
    return api(server, token, "POST", "/api/messages/groups",
               {"title": "Crew", "member_ids": list(member_ids)})["id"]


def test_thread_replies_and_thread_updated_cross_processes(cluster):
    app, (a, b) = cluster
    _alice, alice_token = make_user(app, "alice")
    bob, bob_token = make_user(app, "bob")
    _carol, carol_token = make_user(app, "carol")
    room = group(a, alice_token, str(bob["_id"]))
    root = api(a, alice_token, "POST", f"/api/messages/rooms/{room}/messages",
               {"body": "plans?", "client_id": "r1"})
    listener, stranger = Client(a, alice_token), Client(a, carol_token)
    writer = Client(b, bob_token)
    try:
        ack = writer.call("send_message", {"room_id": room, "body": "friday",
                                           "client_id": "t1", "thread_root_id": root["id"]})
        assert ack["ok"], ack
        (message,) = listener.wait_for("message", 1)
        assert message["thread_root_id"] == root["id"] and message["id"] == ack["data"]["id"]
        (update,) = listener.wait_for("thread_updated", 1)
        assert update["root_id"] == root["id"]
        assert update["thread"]["reply_count"] == 1
        assert [u["id"] for u in update["thread"]["last_repliers"]] == [str(bob["_id"])]
        # The REST path from the other process announces the same way.
        api(a, alice_token, "POST", f"/api/messages/rooms/{room}/messages",
            {"body": "works", "client_id": "t2", "thread_root_id": root["id"]})
        assert [u["thread"]["reply_count"]
                for u in writer.wait_for("thread_updated", 2)] == [1, 2]
        assert stranger.named("thread_updated") == [] and stranger.named("message") == []
    finally:
        for client in (listener, stranger, writer):
            client.close()


def test_poll_updated_reaches_room_members_on_the_other_process(cluster):
    app, (a, b) = cluster
    _alice, alice_token = make_user(app, "alice")
    bob, bob_token = make_user(app, "bob")
    _carol, carol_token = make_user(app, "carol")
    room = group(a, alice_token, str(bob["_id"]))
    message = api(a, alice_token, "POST", f"/api/messages/rooms/{room}/messages",
                  {"body": "", "client_id": "p1", "poll": POLL})
    listener, stranger = Client(a, alice_token), Client(a, carol_token)
    try:
        api(b, bob_token, "POST", f"/api/polls/{message['poll']['id']}/vote",
            {"option_ids": ["2"]})
        (update,) = listener.wait_for("poll_updated", 1)
        assert (update["item_type"], update["item_id"]) == ("message", message["id"])
        assert [o["votes"] for o in update["poll"]["options"]] == [0, 1]
        assert update["poll"]["my_vote"] is None  # the room's copy carries nobody's ballot
        assert stranger.named("poll_updated") == []
    finally:
        listener.close()
        stranger.close()


def test_draft_updated_reaches_my_devices_on_both_processes(cluster):
    app, (a, b) = cluster
    _alice, alice_token = make_user(app, "alice")
    bob, bob_token = make_user(app, "bob")
    room = group(a, alice_token, str(bob["_id"]))
    phone, laptop, partner = Client(a, alice_token), Client(b, alice_token), Client(b, bob_token)
    try:
        api(a, alice_token, "PUT", f"/api/messages/rooms/{room}/draft", {"body": "half a"})
        assert [d["body"] for d in laptop.wait_for("draft_updated", 1)] == ["half a"]
        assert [d["body"] for d in phone.wait_for("draft_updated", 1)] == ["half a"]
        # A socket save on process B skips only the socket that saved.
        ack = laptop.call("save_draft", {"room_id": room, "body": "half a thought"})
        assert ack["ok"], ack
        assert [d["body"] for d in phone.wait_for("draft_updated", 2)] == [
            "half a", "half a thought"]
        # A send from a device on process A clears the draft everywhere.
        phone.call("send_message", {"room_id": room, "body": "done", "client_id": "d1"})
        assert laptop.wait_for("draft_updated", 2)[-1]["body"] == ""
        assert partner.named("draft_updated") == []
    finally:
        for client in (phone, laptop, partner):
            client.close()


def test_deleting_a_topic_room_removes_sockets_on_the_other_process(cluster):
    app, (a, b) = cluster
    _olga, olga_token = make_user(app, "olga")
    _mia, mia_token = make_user(app, "mia")
    topic = api(a, olga_token, "POST", "/api/topics/", {"title": "Town square"})
    api(b, mia_token, "POST", f"/api/topics/{topic['id']}/join")
    room = api(b, mia_token, "POST", f"/api/topics/{topic['id']}/rooms", {"name": "Spam den"})
    inside = Client(b, mia_token)
    try:
        assert inside.call("join_room", {"room_id": room["id"]})["ok"]
        api(a, olga_token, "DELETE", f"/api/messages/rooms/{room['id']}", expected=(204,))
        (removed,) = inside.wait_for("removed_from_room", 1)
        assert removed == {"room_id": room["id"], "reason": "room_deleted"}
        listed = api(b, mia_token, "GET", f"/api/topics/{topic['id']}/rooms")
        assert room["id"] not in [r["id"] for r in listed["items"]]
        api(b, mia_token, "GET", f"/api/messages/rooms/{room['id']}/messages",
            expected=(404,))
        # The room is gone for the socket on process B too.
        again = inside.call("join_room", {"room_id": room["id"]})
        assert again["ok"] is False and again["error"]["code"] == "not_found"
    finally:
        inside.close()
