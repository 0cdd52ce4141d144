"""The world the authorization matrix (tests/test_authorization_matrix.py) acts on: a
private topic with a post, a comment, a chat room and a message, a group and a direct
conversation with a message each (each message with an image attached), a live call in
each of the three rooms (`add_calls`), a report, a notification and a friend request,
and the people who try to reach them: anonymous, an outsider, a moderator of another
topic, a member, and a site admin.

Every private thing carries a marker word of its scope (`xylotopic`, `xylogroup`,
`xylodirect`) in its text; a response or a socket event that contains the marker or the
id of something in a scope the caller may not read is a leak.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bson import ObjectId
from PIL import Image

from services.platform import tokens
from services.privacy import data_export
from tests.helpers import bearer
from utils import local_copies, user_versions
from utils.db import get_db
from utils.redis_client import get_redis

# Who may read what: the topic scope holds the private topic, its post, comment, chat
# room and message; `report` is the report about the post (its topic's moderators and
# site staff); `notification`, `friend_request` and the data `export` belong to the member.
READS = {
    "anonymous": set(),
    "outsider": set(),
    "other_mod": set(),
    "member": {"topic", "group", "direct", "notification", "friend_request", "export"},
    # Site admins read every topic (and handle every report), never others' conversations.
    "admin": {"topic", "report", "turned"},
}
ROLES = tuple(READS)
MARKERS = {"topic": "xylotopic", "group": "xylogroup", "direct": "xylodirect",
           "turned": "xyloturned"}


class Actor:
    """Someone calling the API: bearer headers, or none for the anonymous caller."""

    def __init__(self, app, name: str | None) -> None:
        self.client = app.test_client()
        self.name = name
        self.headers: dict[str, str] = {}
        self.token: str | None = None
        self.id: str | None = None
        if name is not None:
            self.headers = bearer(self.client, name)
            self.token = self.headers["Authorization"].split(" ", 1)[1]
            self.id = self.client.get("/api/auth/me",
                                      headers=self.headers).get_json()["user"]["id"]

    def call(self, method: str, path: str, body: Any = None, query: dict | None = None):
        return self.client.open(path, method=method, headers=self.headers, json=body,
                                query_string=query)

    def upload_image(self) -> str:
        """The id of a new upload of mine: an image large enough to have a thumbnail."""
        data = io.BytesIO()
        Image.new("RGB", (400, 300), (10, 20, 30)).save(data, format="PNG")
        response = self.client.post("/api/uploads", headers=self.headers,
                                    data={"file": (io.BytesIO(data.getvalue()), "w.png")},
                                    content_type="multipart/form-data")
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self.call(method, path, body)
        assert response.status_code in (200, 201, 204), (method, path, response.get_json())
        return response.get_json() if response.status_code != 204 else {}


@dataclass
class World:
    app: Any
    people: dict[str, Actor]
    ids: dict[str, str] = field(default_factory=dict)
    # object name -> scope; ids of objects in a scope a role cannot read must not leak.
    scopes: dict[str, str] = field(default_factory=dict)
    # call name -> role -> that role's party_id in the call (`add_calls`).
    parties: dict[str, dict[str, str]] = field(default_factory=dict)

    def actor(self, role: str) -> Actor:
        return self.people[role]

    def add(self, name: str, scope: str | None, object_id: str) -> str:
        self.ids[name] = object_id
        if scope:
            self.scopes[name] = scope
        return object_id

    def leak_tokens(self, role: str) -> list[str]:
        """Strings that must never reach `role`: ids and markers of scopes it cannot read."""
        hidden = {scope for scope in self.scopes.values() if scope not in READS[role]}
        tokens = [self.ids[name] for name, scope in self.scopes.items() if scope in hidden]
        return tokens + [MARKERS[scope] for scope in hidden if scope in MARKERS]


# Every post and message of the world carries this poll (docs/POLLS.md).
POLL = {"question": "xylotopic choice?", "options": ["xylo one", "xylo two"]}


def build_world(app) -> World:
    people = {"anonymous": Actor(app, None)}
    for name in ("owner", "outsider", "other_mod", "member", "admin", "target", "newcomer",
                 "exile"):
        people[name] = Actor(app, f"mx_{name}")
    world = World(app, people)
    owner, member = people["owner"], people["member"]
    with app.app_context():
        get_db().users.update_one({"_id": ObjectId(people["admin"].id)},
                                  {"$set": {"role": "admin"}})
        user_versions.changed(ObjectId(people["admin"].id))
    people["admin"].ok("POST", f"/api/admin/users/{people['exile'].id}/ban",
                       {"reason": "matrix"})
    people["admin"].ok("POST", f"/api/admin/users/{people['exile'].id}/mute",
                       {"reason": "matrix"})

    # A public topic of the owner's that other_mod moderates (and nothing else).
    other = owner.ok("POST", "/api/topics/", {"title": "Open garden"})
    world.add("other_topic", None, other["id"])
    people["other_mod"].ok("POST", f"/api/topics/{other['id']}/join")
    owner.ok("POST", f"/api/topics/{other['id']}/moderators", {"user_id": people["other_mod"].id})

    topic = owner.ok("POST", "/api/topics/", {"title": "Hidden xylotopic circle",
                                              "description": "xylotopic plans",
                                              "visibility": "private",
                                              "allow_anonymous": True})
    topic_id = world.add("topic", "topic", topic["id"])
    world.add("topic_slug", "topic", topic["slug"])
    owner.ok("POST", f"/api/topics/{topic_id}/invitations", {"user_id": member.id})
    member.ok("POST", f"/api/topics/{topic_id}/invitations/accept")
    owner.ok("POST", f"/api/topics/{topic_id}/bans", {"user_id": people["target"].id,
                                                      "reason": "matrix"})
    post = member.ok("POST", "/api/posts/", {"topic_id": topic_id,
                                             "title": "A xylotopic post",
                                             "body": "xylotopic body", "poll": POLL})
    world.add("post", "topic", post["id"])
    world.add("post_poll", "topic", post["poll"]["id"])
    comment = member.ok("POST", f"/api/posts/{post['id']}/comments",
                        {"body": "a xylotopic comment", "anonymous": True})
    world.add("comment", "topic", comment["id"])
    world.add("pseudonym", "topic", comment["author"]["username"])
    room = owner.ok("POST", f"/api/topics/{topic_id}/rooms", {"name": "xylotopic chat"})
    world.add("topic_room", "topic", room["id"])
    upload = world.add("topic_upload", "topic", member.upload_image())
    message = member.ok("POST", f"/api/messages/rooms/{room['id']}/messages",
                        {"body": "xylotopic words", "client_id": "w-topic",
                         "attachments": [upload], "poll": POLL})
    world.add("topic_message", "topic", message["id"])
    world.add("topic_poll", "topic", message["poll"]["id"])

    group = owner.ok("POST", "/api/messages/groups", {"title": "xylogroup crew",
                                                      "member_ids": [member.id]})
    world.add("group", "group", group["id"])
    upload = world.add("group_upload", "group", member.upload_image())
    # An invitation of someone outside every role: nobody in the matrix may see or use it.
    invitation = owner.ok("POST", f"/api/messages/rooms/{group['id']}/invitations",
                          {"user_id": people["newcomer"].id})
    world.add("room_invitation", "invitation", invitation["id"])
    message = member.ok("POST", f"/api/messages/rooms/{group['id']}/messages",
                        {"body": "xylogroup words", "client_id": "w-group",
                         "attachments": [upload], "poll": POLL})
    world.add("group_message", "group", message["id"])
    world.add("group_poll", "group", message["poll"]["id"])

    direct = owner.ok("POST", "/api/messages/direct", {"user_id": member.id})
    world.add("direct", "direct", direct["id"])
    upload = world.add("direct_upload", "direct", member.upload_image())
    message = member.ok("POST", f"/api/messages/rooms/{direct['id']}/messages",
                        {"body": "xylodirect words", "client_id": "w-direct",
                         "attachments": [upload], "poll": POLL})
    world.add("direct_message", "direct", message["id"])
    world.add("direct_poll", "direct", message["poll"]["id"])

    report = owner.ok("POST", "/api/reports", {"target_type": "post", "target_id": post["id"],
                                               "reason": "spam", "details": "xylotopic"})
    world.add("report", "report", report["id"])
    notifications = member.ok("GET", "/api/notifications/")["items"]
    invitation = next(n for n in notifications if n["kind"] == "topic_invitation")
    world.add("notification", "notification", invitation["id"])
    request = owner.ok("POST", f"/api/users/{member.id}/friend-request")
    world.add("friend_request", "friend_request", request["id"])
    export = member.call("POST", "/api/users/me/export").get_json()
    world.add("export", "export", export["id"])
    with app.app_context():
        data_export.build_export(export["id"])  # what the queued job does
        world.add("export_token", None, tokens.make("export", member.id, export["id"],
                                                    timedelta(hours=1)))
    return world


# The live calls: call name -> the room it is in.
CALL_ROOMS = {"topic_call": "topic_room", "group_call": "group", "direct_call": "direct"}


def party_id(world: World, call: str, role: str) -> str:
    """A device's party_id in `call`: it carries the call's scope marker, so any event or
    answer that shows a party of a call to someone who may not read its room is a leak."""
    return f"{MARKERS[world.scopes[CALL_ROOMS[call]]]}-{role}"


def emit_ok(sc, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    ack = sc.emit(event, payload, callback=True)
    assert isinstance(ack, dict) and ack.get("ok"), (event, payload, ack)
    return ack["data"]


def add_calls(world: World, member_socket, owner_socket) -> None:
    """A live (active) call in the private topic's chat room, the group and the direct
    room, each started by the member from `member_socket` (`call_start`, the real socket
    path) and answered or joined by the owner from `owner_socket`. Those two sockets are
    the calls' participants; any other socket, the member's too, is not."""
    for call, room in CALL_ROOMS.items():
        mine = party_id(world, call, "member")
        started = emit_ok(member_socket, "call_start", {"room_id": world.ids[room],
                                                        "kind": "video", "party_id": mine})
        assert started["glare"] is False, started
        world.add(call, world.scopes[room], started["call"]["id"])
        theirs = party_id(world, call, "owner")
        joined = emit_ok(owner_socket, "call_accept", {"call_id": world.ids[call],
                                                       "party_id": theirs})
        assert joined["call"]["state"] == "active", joined
        world.parties[call] = {"member": mine, "owner": theirs}


def add_turned_topic(world: World) -> None:
    """A public topic of the owner's with a post and a chat room (`turned` scope), for
    sockets to follow before `turn_private` makes it private."""
    owner = world.actor("owner")
    topic = owner.ok("POST", "/api/topics/", {"title": "Once open xyloturned"})
    world.add("turned_topic", "turned", topic["id"])
    post = owner.ok("POST", "/api/posts/", {"topic_id": topic["id"],
                                            "title": "A xyloturned post", "body": "words"})
    world.add("turned_post", "turned", post["id"])
    room = owner.ok("POST", f"/api/topics/{topic['id']}/rooms", {"name": "xyloturned chat"})
    world.add("turned_room", "turned", room["id"])


def turn_private(world: World) -> None:
    world.actor("owner").ok("PATCH", f"/api/topics/{world.ids['turned_topic']}",
                            {"visibility": "private"})


# The database before and after a call

def snapshot(app) -> dict[str, list[dict[str, Any]]]:
    """Every document of every collection, by collection, in _id order."""
    with app.app_context():
        db = get_db()
        return {name: list(db[name].find().sort("_id", 1))
                for name in sorted(db.list_collection_names())}


def differences(before: dict[str, list], after: dict[str, list]) -> list[str]:
    changed = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, []), after.get(name, [])
        if old != new:
            changed.append(f"{name}: {len(old)} -> {len(new)} documents"
                           + ("" if len(old) != len(new) else " (changed in place)"))
    return changed


def restore(app, saved: dict[str, list[dict[str, Any]]],
            current: dict[str, list[dict[str, Any]]] | None = None) -> None:
    """Put the database back as `saved` had it (`current`: a snapshot of it now), and drop
    every cached list (a cached page may describe the state that was just undone)."""
    current = current if current is not None else snapshot(app)
    with app.app_context():
        db = get_db()
        for name in set(current) | set(saved):
            if current.get(name, []) == saved.get(name, []):
                continue
            db[name].delete_many({})
            if saved.get(name):
                db[name].insert_many(saved[name])
        redis = get_redis(app)
        for key in redis.scan_iter("rt:cache:*"):
            redis.delete(key)
    # The apps' copies of users, roles, bans and topics, kept under stamps that writes
    # replace: this restore wrote around the models.
    local_copies.clear()
