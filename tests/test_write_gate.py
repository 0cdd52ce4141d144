"""The write gate (services/accounts/write_gate.py, docs/ADMIN.md): a site mute stops every write
but the short list of account self-care. Found by walking the app like the authorization
matrix does (every unsafe route of `app.url_map`, every registered Socket.IO event), so a
write route or event added tomorrow is tried the day it is written.

A muted member, a muted topic owner (who owns the topic, the group and the direct room)
and a muted site admin try each write on the matrix's world. Each must answer 403
`muted` (the socket failure ack with code `muted`), unless the same person unmuted is
refused the same way (the mute is then not what stops them); every write must answer
`muted` to at least one of them, and nothing may be written.
"""
from __future__ import annotations

import io
from typing import Any

from bson import ObjectId
from PIL import Image

from services.accounts import write_gate
from tests.authz_checks import error_of, written
from tests.authz_tables import (
    ROUTES,
    discovered_events,
    discovered_routes,
    emit_variants,
    emitted,
    variants,
)
from tests.authz_world import add_calls, build_world, snapshot
from utils import user_versions
from utils.db import get_db
from utils.extensions import socketio

# Writes a muted account may still make, by the self-care action they are (each one of
# write_gate.SELF_CARE). Routes the matrix classes as acting on the caller's credentials
# or session ("credentials", "own-account") are account self-care, but for the avatar.
SELF_CARE_ROUTES = {
    "POST /api/users/me/export": "account",
    "POST /api/auth/availability/email": "account",
    "POST /api/users/<objectid:user_id>/block": "block",
    "DELETE /api/users/<objectid:user_id>/block": "block",
    "PUT /api/users/<objectid:user_id>/hide": "block",
    "DELETE /api/users/<objectid:user_id>/hide": "block",
    "DELETE /api/users/me/friends/<objectid:user_id>": "block",
    "POST /api/users/me/friend-requests/<objectid:request_id>/decline": "decline",
    "POST /api/topics/<objectid:topic_id>/invitations/decline": "decline",
    "POST /api/messages/invitations/<objectid:invitation_id>/decline": "decline",
    "POST /api/notifications/<objectid:notification_id>/read": "notifications",
    "DELETE /api/notifications/<objectid:notification_id>": "notifications",
    "POST /api/notifications/read-all": "notifications",
    "PATCH /api/notifications/settings": "notifications",
    "POST /api/notifications/unsubscribe": "notifications",
    "POST /api/push/subscriptions": "notifications",
    "DELETE /api/push/subscriptions/<objectid:subscription_id>": "notifications",
    "PUT /api/notifications/mutes/<any(topic, post, room, user):target_type>"
    "/<objectid:target_id>": "notifications",
    "DELETE /api/notifications/mutes/<any(topic, post, room, user):target_type>"
    "/<objectid:target_id>": "notifications",
    "POST /api/topics/<objectid:topic_id>/leave": "leave",
    "POST /api/messages/rooms/<objectid:room_id>/leave": "leave",
    "POST /api/messages/rooms/<objectid:room_id>/read": "read",
    "PUT /api/posts/<objectid:post_id>/follow": "personal",
    "DELETE /api/posts/<objectid:post_id>/follow": "personal",
    "DELETE /api/messages/<objectid:message_id>/for-me": "personal",
    "PUT /api/messages/rooms/<objectid:room_id>/archive": "personal",
    "DELETE /api/messages/rooms/<objectid:room_id>/archive": "personal",
    "PUT /api/saved/<any(post, comment, message):item_type>/<objectid:item_id>": "personal",
    "DELETE /api/saved/<any(post, comment, message):item_type>/<objectid:item_id>": "personal",
    "PUT /api/messages/rooms/<objectid:room_id>/draft": "personal",
    "POST /api/messages/<objectid:message_id>/thread/follow": "personal",
    "DELETE /api/messages/<objectid:message_id>/thread/follow": "personal",
    "POST /api/messages/<objectid:message_id>/thread/read": "read",
    "DELETE /api/topics/<objectid:topic_id>": "delete",
    "DELETE /api/posts/<objectid:post_id>": "delete",
    "DELETE /api/comments/<objectid:comment_id>": "delete",
    "DELETE /api/messages/<objectid:message_id>": "delete",
    "DELETE /api/messages/scheduled/<objectid:scheduled_id>": "delete",
    "POST /api/reports": "report",
}
SELF_CARE_EVENTS = {"mark_read": "read", "delete_message": "delete", "call_hangup": "leave",
                    "call_reject": "leave", "call_cancel": "leave", "save_draft": "personal"}
# Events that only read (or leave a live room): not writes.
READ_EVENTS = {"connect", "disconnect", "*", "join_room", "leave_room", "join_topic",
               "leave_topic", "join_post", "leave_post", "get_online_users", "call_active",
               "call_mine"}
# Bodies the matrix does not send (its classes accept any answer there).
EXTRA_BODIES = {"POST /api/uploads/presign": {"name": "w.png", "size": 1000}}
FILE_ROUTES = {"POST /api/uploads", "PUT /api/users/me/avatar"}
ACTORS = ("member", "owner", "admin")


def self_care(key: str) -> str | None:
    if ROUTES[key] in ("credentials", "own-account") and key != "PUT /api/users/me/avatar":
        return "account"
    return SELF_CARE_ROUTES.get(key)


def test_the_self_care_list_is_the_gates():
    used = set(SELF_CARE_ROUTES.values()) | set(SELF_CARE_EVENTS.values()) | {"account"}
    assert used == set(write_gate.SELF_CARE)
    assert not set(SELF_CARE_ROUTES) - set(ROUTES)


def set_mute(app, world, role: str, on: bool) -> None:
    user_id = ObjectId(world.actor(role).id)
    mute = {"reason": "walk", "expires_at": None, "muted_by": None, "muted_at": None}
    with app.app_context():
        get_db().users.update_one({"_id": user_id}, {"$set": {"mute": mute if on else None}})
        user_versions.changed(user_id)


def image() -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(data, format="PNG")
    return data.getvalue()


def call(world, role: str, variant) -> Any:
    actor = world.actor(role)
    if variant.key in FILE_ROUTES:
        return actor.client.open(variant.path, method=variant.method, headers=actor.headers,
                                 data={"file": (io.BytesIO(image()), "w.png")},
                                 content_type="multipart/form-data")
    body = EXTRA_BODIES.get(variant.key, variant.body)
    return actor.call(variant.method, variant.path, body, variant.query)


def answer(response) -> tuple[int, Any]:
    error = error_of(response)
    return response.status_code, error.get("code") if isinstance(error, dict) else error


def ack_answer(ack: Any) -> tuple[bool, Any]:
    return bool(ack.get("ok")), None if ack.get("ok") else ack["error"]["code"]


def judged(app, world, baseline, role: str, got: tuple, unmuted) -> str | None:
    """What is wrong with a muted `role`'s answer `got` (None: right). A refusal other
    than `muted` must be what `role` gets unmuted too (`unmuted()` answers that)."""
    if got in ((403, "muted"), (False, "muted")):
        return None
    set_mute(app, world, role, False)
    try:
        plain = unmuted()
    finally:
        written(app, baseline)  # puts the mute back and undoes whatever the call wrote
        set_mute(app, world, role, True)
        written(app, baseline)
    succeeded = got[0] is True or (not isinstance(got[0], bool) and got[0] < 400)
    if succeeded or got != plain:
        return f"answered {got} while muted, {plain} unmuted"
    return None


def test_a_muted_account_writes_nothing_but_self_care(make_app):
    app = make_app(MONGO_COUNT_COMMANDS=True, RATELIMIT_ENABLED=False,
                   CHAT_RATE_LIMIT="1000 per 5 seconds", SOCKET_WRITE_RATE_LIMIT="10000 per minute",
                   CHAT_TYPING_RATE_LIMIT="1000 per 10 seconds",
                   CONTENT_FILTER_NEW_ACCOUNT_LINKS=2)
    world = build_world(app)
    sockets = {role: socketio.test_client(app, auth={"token": world.actor(role).token})
               for role in ("member", "owner")}
    add_calls(world, sockets["member"], sockets["owner"])
    for role in ACTORS:
        set_mute(app, world, role, True)
    baseline = snapshot(app)
    failures: list[str] = []
    refused_by: dict[str, int] = {}

    for method, rule in discovered_routes(app):
        key = f"{method} {rule}"
        if method == "GET" or self_care(key):
            continue
        refused_by[key] = 0
        for variant in variants(world, method, rule):
            for role in ACTORS:
                got = answer(call(world, role, variant))
                changed = written(app, baseline)
                if changed:
                    failures.append(f"{variant} as muted {role} ({got}) wrote: {changed}")
                refused_by[key] += got == (403, "muted")
                problem = judged(app, world, baseline, role, got,
                                 lambda: answer(call(world, role, variant)))  # noqa: B023
                if problem:
                    failures.append(f"{variant} as {role}: {problem}")
    for event in discovered_events():
        if event in READ_EVENTS or event in SELF_CARE_EVENTS:
            continue
        refused_by[event] = 0
        for variant in emit_variants(world, event):
            for role, sc in sockets.items():
                got = ack_answer(emitted(sc, variant))
                changed = written(app, baseline)
                if changed:
                    failures.append(f"{variant} as muted {role} ({got}) wrote: {changed}")
                refused_by[event] += got == (False, "muted")
                problem = judged(app, world, baseline, role, got,
                                 lambda: ack_answer(emitted(sc, variant)))  # noqa: B023
                if problem:
                    failures.append(f"{variant} as {role}: {problem}")
    for sc in sockets.values():
        sc.disconnect()
    never = sorted(key for key, count in refused_by.items() if not count)
    assert not never, f"writes that answered `muted` to nobody: {never}"
    # What the audit found a muted account could still do.
    for key in ("POST /api/topics/<objectid:topic_id>/rooms", "POST /api/messages/groups",
                "PATCH /api/users/me", "POST /api/users/<objectid:user_id>/friend-request",
                "send_message", "typing", "call_offer"):
        assert refused_by[key], key
    assert len(refused_by) > 60
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
