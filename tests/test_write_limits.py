"""Per-user write limits (services/write_gate.LIMITS, docs/ADMIN.md "Write limits and
trust levels"): every write class has a limit of its own; past it the write answers 429
`rate_limited` with `Retry-After` (a `rate_limited` ack on a socket) and writes nothing.
A topic's owner and moderators are not limited inside their own topic."""
from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.authz_world import differences, snapshot
from tests.topic_helpers import Person, join, make_post, make_topic, socket_of

EMOJI = ["\N{THUMBS UP SIGN}", "\N{GRINNING FACE}", "\N{RED APPLE}"]


def png() -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 20, 30)).save(data, format="PNG")
    return data.getvalue()


class Scene:
    """An owner's public topic with a post, a comment and a chat room; a fresh account
    (the spammer) that joined it and owns a group; three bystanders."""

    def __init__(self, client, group: bool = False) -> None:
        self.owner, self.spam = Person(client, "owner"), Person(client, "spammer")
        self.others = [Person(client, f"bystander{i}") for i in range(3)]
        self.topic = make_topic(self.owner)
        join(self.spam, self.topic["id"])
        self.post = make_post(self.owner, self.topic["id"])
        self.comment = self.owner.post(f"/api/posts/{self.post['id']}/comments",
                                       {"body": "first"}).get_json()
        self.room = self.owner.post(f"/api/topics/{self.topic['id']}/rooms",
                                    {"name": "chat"}).get_json()
        if group:  # the spammer's own, to invite into (it counts as a group made)
            self.group = self.spam.post("/api/messages/groups", {
                "title": "mine", "member_ids": [self.owner.id]}).get_json()
        self.message = self.owner.post(f"/api/messages/rooms/{self.room['id']}/messages",
                                       {"body": "hello", "client_id": "scene"}).get_json()


# Write class -> (its setting, one write number `i` by the spammer).
WRITES: dict[str, tuple[str, Any]] = {
    "topic": ("WRITE_LIMIT_TOPICS",
              lambda s, i: s.spam.post("/api/topics/", {"title": f"Spam topic {i}"})),
    "topic_room": ("WRITE_LIMIT_TOPIC_ROOMS",
                   lambda s, i: s.spam.post(f"/api/topics/{s.topic['id']}/rooms",
                                            {"name": f"spam room {i}"})),
    "group": ("WRITE_LIMIT_GROUPS",
              lambda s, i: s.spam.post("/api/messages/groups", {
                  "title": f"spam group {i}", "member_ids": [s.owner.id]})),
    "post": ("WRITE_LIMIT_POSTS",
             lambda s, i: s.spam.post("/api/posts/", {"topic_id": s.topic["id"],
                                                      "title": f"Spam {i}", "body": f"b{i}"})),
    "comment": ("WRITE_LIMIT_COMMENTS",
                lambda s, i: s.spam.post(f"/api/posts/{s.post['id']}/comments",
                                         {"body": f"spam {i}"})),
    "message": ("CHAT_RATE_LIMIT",
                lambda s, i: s.spam.post(f"/api/messages/rooms/{s.room['id']}/messages",
                                         {"body": f"spam {i}", "client_id": f"s-{i}"})),
    "reaction": ("WRITE_LIMIT_REACTIONS",
                 lambda s, i: s.spam.call("PUT", f"/api/messages/{s.message['id']}"
                                                 f"/reactions/{EMOJI[i]}")),
    "vote": ("WRITE_LIMIT_VOTES",
             lambda s, i: s.spam.post(f"/api/posts/{s.post['id']}/vote",
                                      {"value": 1 if i % 2 == 0 else -1})),
    "friend_request": ("WRITE_LIMIT_FRIEND_REQUESTS",
                       lambda s, i: s.spam.post(f"/api/users/{s.others[i].id}/friend-request")),
    "invitation": ("WRITE_LIMIT_INVITATIONS",
                   lambda s, i: s.spam.post(f"/api/messages/rooms/{s.group['id']}/invitations",
                                            {"user_id": s.others[i].id})),
    "report": ("WRITE_LIMIT_REPORTS",
               lambda s, i: s.spam.post("/api/reports", {
                   "target_type": ["post", "comment", "topic"][i], "reason": "spam",
                   "target_id": [s.post["id"], s.comment["id"], s.topic["id"]][i]})),
    "upload": ("WRITE_LIMIT_UPLOADS",
               lambda s, i: s.spam.call("POST", "/api/uploads",
                                        data={"file": (io.BytesIO(png()), f"s{i}.png")},
                                        content_type="multipart/form-data")),
    "profile": ("WRITE_LIMIT_PROFILE_EDITS",
                lambda s, i: s.spam.patch("/api/users/me", {"bio": f"buy now {i}"})),
}


def test_every_limited_class_is_tried():
    from services.accounts.write_gate import LIMITS
    assert set(WRITES) == set(LIMITS)
    assert {setting for setting, _ in WRITES.values()} == {s for s, _ in LIMITS.values()}


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_past_its_limit_a_write_is_refused_and_writes_nothing(make_app, kind):
    setting, write = WRITES[kind]
    app = make_app(**{setting: "2 per minute"})
    scene = Scene(app.test_client(), group=kind == "invitation")
    for i in range(2):
        response = write(scene, i)
        assert response.status_code in (200, 201), (kind, i, response.get_json())
    before = snapshot(app)
    refused = write(scene, 2)
    assert refused.status_code == 429, (kind, refused.get_json())
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert differences(before, snapshot(app)) == []
    # Someone else is not held back by the spammer's count.
    if kind in ("topic", "group", "profile", "upload"):
        scene.spam = scene.others[0]
        assert write(scene, 0).status_code in (200, 201), kind


def test_socket_writes_count_against_the_same_limits(make_app):
    app = make_app(WRITE_LIMIT_REACTIONS="2 per minute", CHAT_RATE_LIMIT="2 per minute")
    scene = Scene(app.test_client())
    socket = socket_of(app, scene.spam)
    acks = [socket.emit("react", {"message_id": scene.message["id"], "emoji": emoji,
                                  "on": True}, callback=True) for emoji in EMOJI]
    assert [ack["ok"] for ack in acks] == [True, True, False]
    assert acks[2]["error"]["code"] == "rate_limited"
    assert 1 <= acks[2]["error"]["details"]["retry_after"] <= 60
    # REST and the socket share one count.
    assert WRITES["message"][1](scene, 0).status_code == 201
    sends = [socket.emit("send_message", {"room_id": scene.room["id"], "body": f"s{i}",
                                          "client_id": f"socket-{i}"}, callback=True)
             for i in range(2)]
    assert [ack["ok"] for ack in sends] == [True, False]
    assert sends[1]["error"]["code"] == "rate_limited"
    assert 1 <= sends[1]["error"]["details"]["retry_after"] <= 60
    socket.disconnect()


def test_a_topic_owner_and_moderators_are_not_limited_in_their_topic(make_app):
    app = make_app(WRITE_LIMIT_POSTS="2 per minute", WRITE_LIMIT_TOPIC_ROOMS="2 per minute",
                   WRITE_LIMIT_COMMENTS="2 per minute", CHAT_RATE_LIMIT="2 per minute")
    scene = Scene(app.test_client())
    owner, topic = scene.owner, scene.topic
    assert owner.post(f"/api/topics/{topic['id']}/moderators",
                      {"user_id": scene.spam.id}).status_code == 200
    for person in (owner, scene.spam):
        for i in range(4):
            assert person.post("/api/posts/", {"topic_id": topic["id"], "title": f"News {i}",
                                               "body": "x"}).status_code == 201
            assert person.post(f"/api/topics/{topic['id']}/rooms",
                               {"name": f"room {i}"}).status_code == 201
            assert person.post(f"/api/posts/{scene.post['id']}/comments",
                               {"body": f"c {i}"}).status_code == 201
            assert person.post(f"/api/messages/rooms/{scene.room['id']}/messages",
                               {"body": f"m {i}", "client_id": f"{person.id}-{i}"}
                               ).status_code == 201
    # Elsewhere the owner is limited like anyone.
    other = make_topic(scene.others[0], "Elsewhere")
    join(owner, other["id"])
    answers = [owner.post("/api/posts/", {"topic_id": other["id"], "title": f"Post {i}",
                                          "body": "x"}).status_code for i in range(3)]
    assert answers == [201, 201, 429]



def test_every_write_request_counts_against_the_users_ceiling(make_app):
    """Self-care writes (drafts, saved items, read markers, thread follows) have no class
    limit of their own; WRITE_LIMIT_ANY holds every REST write of one user, counted
    before the write, so a refused one writes nothing."""
    app = make_app(WRITE_LIMIT_ANY="4 per minute")
    client = app.test_client()
    owner, spam = Person(client, "owner"), Person(client, "spammer")
    topic = make_topic(owner)
    room = owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "chat"}).get_json()
    message = owner.post(f"/api/messages/rooms/{room['id']}/messages",
                         {"body": "hello", "client_id": "m1"}).get_json()
    writes = [
        lambda i: spam.call("PUT", f"/api/messages/rooms/{room['id']}/draft",
                            json={"body": f"draft {i}"}),
        lambda i: spam.call("PUT", f"/api/saved/message/{message['id']}"),
        lambda i: spam.post(f"/api/messages/{message['id']}/thread/follow"),
        lambda i: spam.post(f"/api/messages/rooms/{room['id']}/read", {"seq": 1}),
    ]
    assert [write(i).status_code for i, write in enumerate(writes)] == [200, 204, 204, 200]
    before = snapshot(app)
    refused = spam.call("PUT", f"/api/messages/rooms/{room['id']}/draft",
                        json={"body": "one too many"})
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert differences(before, snapshot(app)) == []
    # Reading is not a write; another user has a count of their own.
    assert spam.get(f"/api/messages/rooms/{room['id']}/draft").status_code == 200
    assert owner.call("PUT", f"/api/messages/rooms/{room['id']}/draft",
                      json={"body": "mine"}).status_code == 200
