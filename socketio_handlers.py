"""Socket.IO event handlers. They authenticate on connect and call the same services as
the REST routes; state about sockets lives in Redis or the database, never here."""
from __future__ import annotations

import logging
from typing import Any

from flask import current_app, request
from flask_socketio import ConnectionRefusedError
from marshmallow import fields

from models.indexes import ensure_indexes
from routes.message_schemas import (
    DraftEventSchema,
    EditEventSchema,
    JoinRoomSchema,
    MarkReadEventSchema,
    MessageRefSchema,
    OnlineQuerySchema,
    ReactEventSchema,
    RoomRefSchema,
    SendEventSchema,
    TypingEventSchema,
)
from routes.topic_schemas import ObjectIdString
from services.accounts import auth_login
from services.admin import maintenance
from services.calls import calls_service
from services.chat import chat_drafts, chat_history, chat_reads, chat_send
from services.live import presence, room_entry
from services.platform import live_rooms
from services.platform.shapes import events
from services.platform.shapes.messages import DraftSchema, MessageSchema, ReactionsSchema
from utils.auth import session_login_id, session_user_id, user_from_session
from utils.extensions import socketio
from utils.schemas import StrictSchema
from utils.socket_events import (
    LITERAL_STAR_EVENT,
    SOCKET_IDENTITY,
    NotText,
    acknowledged,
    failed,
    remember_socket_user,
    socket_user,
)

log = logging.getLogger(__name__)


def connecting_user(auth: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(user, origin) of a connecting socket, `auth={"token": ...}` or the cookie; the
    origin names the token or session whose end closes the socket."""
    if isinstance(auth, dict) and "token" in auth:
        found = auth_login.user_for_token(auth["token"] if isinstance(auth["token"], str)
                                            else "")
        # An app's sockets carry its login (token family): they outlive the access token.
        return (found[0], live_rooms.token_origin(found[1])) if found else (None, None)
    user = user_from_session()
    return user, live_rooms.session_origin(session_login_id()) if user else None


@socketio.on("connect")
def connect(auth=None):
    """Refusals reach the client as `connect_error` with `data: {code, message}`:
    `unauthorized`, `session_expired`, `banned`, `rate_limited` (docs/CLIENTS.md), and
    `validation_error` for auth data that is no text (utils/json_text.py). The
    ConnectionRefusedError is flask_socketio's: python-socketio sends only its arguments
    (Python's own arrives as "Connection refused by server")."""
    if isinstance(auth, NotText):
        raise ConnectionRefusedError("validation_error", {
            "code": "validation_error", "message": "The auth data has invalid fields.",
            "details": auth.details})
    ensure_indexes()  # as before any HTTP request: never serve without them
    claimed = session_user_id()  # before a dead session is cleared
    user, origin = connecting_user(auth)
    if user is None:
        token = auth.get("token") if isinstance(auth, dict) else None
        refusal = auth_login.socket_refusal(token, None if token else claimed)
        raise ConnectionRefusedError(refusal["code"], refusal)
    remember_socket_user(user, origin)
    try:
        presence.connected(user, request.sid, origin)
    except room_entry.TooManySockets as exc:
        raise ConnectionRefusedError(exc.code, {"code": exc.code, "message": exc.message,
                                                "retry_after": exc.retry_after}) from None
    maintenance.start_maintenance(current_app._get_current_object())


@socketio.on("disconnect")
def disconnect(reason=None):
    saved = request.environ.get(SOCKET_IDENTITY) or {}
    if saved.get("user_id"):
        presence.disconnected(saved["user_id"], request.sid)
        # Its calls keep its place for the reconnect grace (docs/CALLS.md).
        calls_service.socket_gone(request.sid)


@socketio.on("*")
def on_unknown_event(event: str, *_args: Any) -> dict[str, Any]:
    """Any event without a handler of its own (python-socketio calls the catch-all only
    then, and never for connect/disconnect). The answer is an ack, so it reaches the
    client only when it asked for one; a silent timeout was all it got before."""
    name = "*" if event == LITERAL_STAR_EVENT or not isinstance(event, str) else event
    shown = name[:64] + ("..." if len(name) > 64 else "")
    log.info("unknown socket event %r", shown)
    return failed("unknown_event", f"There is no event named {shown!r}.")


# Chat rooms

@socketio.on("join_room")
@acknowledged(JoinRoomSchema(), "read", reply=events.JoinRoomAckSchema)
def on_join_room(payload):
    """Checked, then entered, then the catch-up is read: a message stored after the read
    is published after the join and arrives live, so nothing falls in between (a live
    event may repeat the end of the catch-up; clients drop seqs they already have)."""
    user = socket_user()
    return room_entry.enter(user, live_rooms.CHAT, payload["room_id"], request.sid,
                            then=lambda: chat_history.catch_up(user, payload["room_id"],
                                                               payload["after_seq"]))


@socketio.on("leave_room")
@acknowledged(RoomRefSchema(), "read", reply=events.RoomLeftAckSchema)
def on_leave_room(payload):
    socket_user()
    room_entry.leave(live_rooms.CHAT, payload["room_id"], request.sid)
    return {"room_id": payload["room_id"]}


@socketio.on("send_message")
@acknowledged(SendEventSchema(), "write", reply=MessageSchema)
def on_send_message(payload):
    message, _created = chat_send.send_message(socket_user(), payload["room_id"], payload["body"],
                                          payload["client_id"], payload["reply_to"],
                                          payload["attachments"], payload["gif"],
                                          payload["thread_root_id"], payload["also_to_room"],
                                          poll=payload["poll"])
    return message


@socketio.on("edit_message")
@acknowledged(EditEventSchema(), "write", reply=MessageSchema)
def on_edit_message(payload):
    return chat_history.edit_message(socket_user(), payload["message_id"], payload["body"])


@socketio.on("delete_message")
@acknowledged(MessageRefSchema(), "write", reply=MessageSchema)
def on_delete_message(payload):
    return chat_history.delete_message(socket_user(), payload["message_id"])


@socketio.on("react")
@acknowledged(ReactEventSchema(), "write", reply=ReactionsSchema)
def on_react(payload):
    return chat_history.react(socket_user(), payload["message_id"], payload["emoji"], payload["on"])


@socketio.on("typing")
@acknowledged(TypingEventSchema(), "typing", reply=events.TypingAckSchema)
def on_typing(payload):
    presence.typing(payload["room_id"], socket_user(), payload["typing"], request.sid)
    return {"room_id": payload["room_id"], "typing": payload["typing"],
            "expires_in": current_app.config["CHAT_TYPING_EXPIRY_SECONDS"]}


@socketio.on("mark_read")
@acknowledged(MarkReadEventSchema(), "write", reply=events.MarkReadAckSchema)
def on_mark_read(payload):
    unread = chat_reads.mark_read(socket_user(), payload["room_id"], payload["seq"],
                            skip_sid=request.sid)
    return {"room_id": payload["room_id"], "unread_count": unread}


@socketio.on("save_draft")
@acknowledged(DraftEventSchema(), "typing", reply=DraftSchema)
def on_save_draft(payload):
    """Save my draft (an empty body deletes it); my other sockets get `draft_updated`."""
    return chat_drafts.save_draft(socket_user(), payload["room_id"], payload["body"],
                                  request.sid)


@socketio.on("get_online_users")
@acknowledged(OnlineQuerySchema(), "read", reply=events.OnlineUsersAckSchema)
def on_get_online_users(payload):
    user = socket_user()
    if "room_id" in payload:
        people = presence.room_people(user, payload["room_id"])
    else:
        people = presence.topic_people(user, payload["topic_id"])
    return {**payload, "user_ids": presence.online_among(user, people)}


# Topics and posts

class TopicRefSchema(StrictSchema):
    topic_id = fields.String(required=True, validate=ObjectIdString)


class PostRefSchema(StrictSchema):
    post_id = fields.String(required=True, validate=ObjectIdString)


@socketio.on("join_topic")
@acknowledged(TopicRefSchema(), "read", reply=events.TopicJoinedAckSchema)
def on_join_topic(payload: dict[str, Any]) -> dict[str, Any]:
    """Follow a topic's `new_post` / `post_updated`; a private topic needs membership."""
    room = room_entry.enter(socket_user(), live_rooms.TOPIC, payload["topic_id"], request.sid)
    return {"topic_id": payload["topic_id"], "room": room}


@socketio.on("leave_topic")
@acknowledged(TopicRefSchema(), "read", reply=events.TopicLeftAckSchema)
def on_leave_topic(payload: dict[str, Any]) -> dict[str, Any]:
    room_entry.leave(live_rooms.TOPIC, payload["topic_id"], request.sid)
    return {"topic_id": payload["topic_id"]}


@socketio.on("join_post")
@acknowledged(PostRefSchema(), "read", reply=events.PostJoinedAckSchema)
def on_join_post(payload: dict[str, Any]) -> dict[str, Any]:
    """Follow a post's `new_comment` events."""
    room = room_entry.enter(socket_user(), live_rooms.POST, payload["post_id"], request.sid)
    return {"post_id": payload["post_id"], "room": room}


@socketio.on("leave_post")
@acknowledged(PostRefSchema(), "read", reply=events.PostLeftAckSchema)
def on_leave_post(payload: dict[str, Any]) -> dict[str, Any]:
    room_entry.leave(live_rooms.POST, payload["post_id"], request.sid)
    return {"post_id": payload["post_id"]}
