"""Site mute (docs/ADMIN.md): a sanction between a warning and a ban. The muted account
keeps reading, but posts, comments, votes, chat sends, edits and reactions answer 403
`muted` with the expiry, over REST and on a live socket; it shows in the admin user view,
is audit-logged, lifts on unmute and by itself at its expiry."""
from __future__ import annotations

from datetime import timedelta

import pytest

from models.base import isoformat
from tests.topic_helpers import Person, make_post, make_topic
from utils import clock as app_clock
from utils.extensions import socketio


@pytest.fixture
def scene(client):
    admin = Person(client, "boss")
    admin.set_role("admin")
    owner, loud = Person(client, "owner"), Person(client, "loud")
    topic = make_topic(owner)
    loud.post(f"/api/topics/{topic['id']}/join")
    post = make_post(owner, topic["id"])
    room = owner.post("/api/messages/direct", {"user_id": loud.id}).get_json()
    said = loud.post(f"/api/messages/rooms/{room['id']}/messages",
                     {"body": "before", "client_id": "m-0"}).get_json()
    return admin, owner, loud, topic, post, room, said


def writes(loud: Person, topic, post, room, said) -> dict[str, object]:
    return {
        "post": loud.post("/api/posts/", {"topic_id": topic["id"], "title": "Shout",
                                          "body": "loud"}),
        "comment": loud.post(f"/api/posts/{post['id']}/comments", {"body": "loud"}),
        "vote": loud.post(f"/api/posts/{post['id']}/vote", {"value": 1}),
        "send": loud.post(f"/api/messages/rooms/{room['id']}/messages",
                          {"body": "loud", "client_id": "m-1"}),
        "edit": loud.patch(f"/api/messages/{said['id']}", {"body": "edited"}),
        "react": loud.call("PUT", f"/api/messages/{said['id']}/reactions/\N{THUMBS UP SIGN}"),
        "topic": loud.post("/api/topics/", {"title": "My own soapbox"}),
    }


def test_a_muted_account_reads_but_cannot_write_until_unmuted(client, scene):
    admin, _owner, loud, topic, post, room, said = scene
    until = app_clock.now() + timedelta(hours=2)
    muted = admin.post(f"/api/admin/users/{loud.id}/mute",
                       {"reason": "shouting", "expires_at": isoformat(until)})
    assert muted.status_code == 200, muted.get_json()
    view = muted.get_json()
    assert view["muted"] is True and view["mute"]["reason"] == "shouting"
    assert view["mute"]["expires_at"] == isoformat(until) and view["banned"] is False
    listed = admin.get("/api/admin/users", query_string={"q": "loud"}).get_json()["items"]
    assert listed[0]["muted"] is True
    muted_only = admin.get("/api/admin/users", query_string={"muted": "true"}).get_json()
    assert [u["id"] for u in muted_only["items"]] == [loud.id]
    others = admin.get("/api/admin/users", query_string={"muted": "false"}).get_json()
    assert sorted(u["id"] for u in others["items"]) == sorted([admin.id, _owner.id])
    for name, response in writes(loud, topic, post, room, said).items():
        assert response.status_code == 403, (name, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == "muted", name
        assert error["details"]["expires_at"] == isoformat(until), name
    # Reading goes on.
    assert loud.get(f"/api/posts/{post['id']}").status_code == 200
    assert loud.get(f"/api/messages/rooms/{room['id']}/messages").status_code == 200
    entry = admin.get("/api/admin/audit-log", query_string={"action": "user.mute"}
                      ).get_json()["items"][0]
    assert entry["target_id"] == loud.id and entry["reason"] == "shouting"

    lifted = admin.post(f"/api/admin/users/{loud.id}/unmute", {"reason": "calmer"})
    assert lifted.status_code == 200 and lifted.get_json()["muted"] is False
    assert admin.post(f"/api/admin/users/{loud.id}/unmute", {}).status_code == 409
    for name, response in writes(loud, topic, post, room, said).items():
        assert response.status_code in (200, 201), (name, response.get_json())
    assert admin.get("/api/admin/audit-log", query_string={"action": "user.unmute"}
                     ).get_json()["items"][0]["target_id"] == loud.id


def test_a_mute_expires_by_itself(client, scene, clock):
    admin, _owner, loud, _topic, _post, room, _said = scene
    until = app_clock.now() + timedelta(minutes=10)
    admin.post(f"/api/admin/users/{loud.id}/mute",
               {"reason": "cool off", "expires_at": isoformat(until)})
    send = {"body": "hi", "client_id": "x-1"}
    assert loud.post(f"/api/messages/rooms/{room['id']}/messages", send).status_code == 403
    clock.advance(minutes=11)
    assert loud.post(f"/api/messages/rooms/{room['id']}/messages", send).status_code == 201
    view = admin.get("/api/admin/users", query_string={"q": "loud"}).get_json()["items"][0]
    assert view["muted"] is False and view["mute"] is None


def test_a_live_socket_is_muted_at_its_next_event(app, client, scene):
    admin, _owner, loud, _topic, _post, room, said = scene
    socket = socketio.test_client(app, auth={"token": loud.headers["Authorization"][7:]})
    ack = socket.emit("send_message", {"room_id": room["id"], "body": "live",
                                       "client_id": "s-1"}, callback=True)
    assert ack["ok"] is True
    assert admin.post(f"/api/admin/users/{loud.id}/mute", {"reason": "spam"}).status_code == 200
    told = [e for e in socket.get_received() if e["name"] == "account_muted"]
    assert told and told[0]["args"][0] == {"reason": "spam", "expires_at": None}
    for event, payload in [
            ("send_message", {"room_id": room["id"], "body": "live", "client_id": "s-2"}),
            ("edit_message", {"message_id": said["id"], "body": "changed"}),
            ("react", {"message_id": said["id"], "emoji": "\N{THUMBS UP SIGN}", "on": True})]:
        ack = socket.emit(event, payload, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] == "muted", (event, ack)
    # Still reading: joining the room and its catch-up work.
    assert socket.emit("join_room", {"room_id": room["id"]}, callback=True)["ok"] is True
    socket.disconnect()


def test_only_site_staff_mute_and_only_a_higher_rank(client, scene):
    admin, owner, loud, *_ = scene
    assert owner.post(f"/api/admin/users/{loud.id}/mute", {"reason": "x"}).status_code == 403
    assert owner.post(f"/api/admin/users/{loud.id}/unmute", {}).status_code == 403
    moderator = Person(client, "sitemod")
    moderator.set_role("moderator")
    assert moderator.post(f"/api/admin/users/{admin.id}/mute",
                          {"reason": "x"}).status_code == 403
    past = isoformat(app_clock.now() - timedelta(minutes=1))
    response = admin.post(f"/api/admin/users/{loud.id}/mute", {"reason": "x",
                                                               "expires_at": past})
    assert response.status_code == 400
    assert moderator.post(f"/api/admin/users/{loud.id}/mute", {"reason": "x"}).status_code == 200
