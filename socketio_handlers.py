"""Socket.IO event handlers. They authenticate on connect and call the same services as
the REST routes; state about sockets lives in Redis or the database, never here."""
from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_socketio import join_room, leave_room
from marshmallow import fields

from routes.message_schemas import (
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
from services import (
    auth_service,
    calls_service,
    chat_limits,
    posts_service,
    presence,
    realtime,
    topics_service,
)
from services import messages_service as chat
from utils.auth import user_from_session
from utils.errors import APIError
from utils.extensions import socketio
from utils.schemas import StrictSchema
from utils.socket_events import SOCKET_IDENTITY, acknowledged, remember_socket_user, socket_user


def connecting_user(auth: Any) -> tuple[dict[str, Any] | None, Any]:
    """(user, token id) of a connecting socket: `auth={"token": ...}` or the cookie."""
    if isinstance(auth, dict) and "token" in auth:
        found = auth_service.user_for_token(auth["token"] if isinstance(auth["token"], str)
                                            else "")
        return (found[0], found[1]["_id"]) if found else (None, None)
    return user_from_session(), None


@socketio.on("connect")
def connect(auth=None):
    user, token_id = connecting_user(auth)
    if user is None:
        raise ConnectionRefusedError("unauthorized")
    remember_socket_user(user, token_id)
    join_room(realtime.user_room(user["_id"]))
    presence.connected(user, request.sid)
    realtime.start_maintenance(current_app._get_current_object())


@socketio.on("disconnect")
def disconnect(reason=None):
    saved = request.environ.get(SOCKET_IDENTITY) or {}
    if saved.get("user_id"):
        presence.disconnected(saved["user_id"], request.sid)
        # Its calls keep its place for the reconnect grace (docs/CALLS.md).
        calls_service.socket_gone(request.sid)


# Chat rooms

@socketio.on("join_room")
@acknowledged(JoinRoomSchema())
def on_join_room(payload):
    """Enter the room first, then read the catch-up: a message stored after the read is
    published after the join and arrives live, so nothing falls in between (a live event
    may repeat the end of the catch-up; clients drop seqs they already have)."""
    user = socket_user()
    room = chat.chat_room(payload["room_id"])
    join_room(room)
    try:
        # Checked after entering: a removal racing with this join still takes effect.
        return chat.catch_up(user, payload["room_id"], payload["after_seq"])
    except APIError:
        leave_room(room)
        raise


@socketio.on("leave_room")
@acknowledged(RoomRefSchema())
def on_leave_room(payload):
    socket_user()
    leave_room(chat.chat_room(payload["room_id"]))
    return {"room_id": payload["room_id"]}


@socketio.on("send_message")
@acknowledged(SendEventSchema())
def on_send_message(payload):
    message, _created = chat.send_message(socket_user(), payload["room_id"], payload["body"],
                                          payload["client_id"], payload["reply_to"])
    return message


@socketio.on("edit_message")
@acknowledged(EditEventSchema())
def on_edit_message(payload):
    return chat.edit_message(socket_user(), payload["message_id"], payload["body"])


@socketio.on("delete_message")
@acknowledged(MessageRefSchema())
def on_delete_message(payload):
    return chat.delete_message(socket_user(), payload["message_id"])


@socketio.on("react")
@acknowledged(ReactEventSchema())
def on_react(payload):
    return chat.react(socket_user(), payload["message_id"], payload["emoji"], payload["on"])


@socketio.on("typing")
@acknowledged(TypingEventSchema())
def on_typing(payload):
    user = socket_user()
    chat.writable_room(user, payload["room_id"])
    chat_limits.hit("typing", str(user["_id"]), "CHAT_TYPING_RATE_LIMIT",
                    "Too many typing events; slow down.")
    presence.typing(payload["room_id"], str(user["_id"]), payload["typing"])
    return {"room_id": payload["room_id"], "typing": payload["typing"],
            "expires_in": current_app.config["CHAT_TYPING_EXPIRY_SECONDS"]}


@socketio.on("mark_read")
@acknowledged(MarkReadEventSchema())
def on_mark_read(payload):
    unread = chat.mark_read(socket_user(), payload["room_id"], payload["seq"],
                            skip_sid=request.sid)
    return {"room_id": payload["room_id"], "unread_count": unread}


@socketio.on("get_online_users")
@acknowledged(OnlineQuerySchema())
def on_get_online_users(payload):
    user = socket_user()
    if "room_id" in payload:
        people = chat.room_people(user, payload["room_id"])
    else:
        people = chat.topic_people(user, payload["topic_id"])
    return {**payload, "user_ids": presence.online_among(people)}


# Topics and posts

class TopicRefSchema(StrictSchema):
    topic_id = fields.String(required=True, validate=ObjectIdString)


class PostRefSchema(StrictSchema):
    post_id = fields.String(required=True, validate=ObjectIdString)


@socketio.on("join_topic")
@acknowledged(TopicRefSchema())
def on_join_topic(payload: dict[str, Any]) -> dict[str, Any]:
    """Follow a topic's `new_post` / `post_updated`; a private topic needs membership."""
    room = topics_service.live_room(socket_user(), payload["topic_id"])
    join_room(room)
    return {"topic_id": payload["topic_id"], "room": room}


@socketio.on("leave_topic")
@acknowledged(TopicRefSchema())
def on_leave_topic(payload: dict[str, Any]) -> dict[str, Any]:
    leave_room(f"topic_{payload['topic_id']}")
    return {"topic_id": payload["topic_id"]}


@socketio.on("join_post")
@acknowledged(PostRefSchema())
def on_join_post(payload: dict[str, Any]) -> dict[str, Any]:
    """Follow a post's `new_comment` events."""
    room = posts_service.live_room(socket_user(), payload["post_id"])
    join_room(room)
    return {"post_id": payload["post_id"], "room": room}


@socketio.on("leave_post")
@acknowledged(PostRefSchema())
def on_leave_post(payload: dict[str, Any]) -> dict[str, Any]:
    leave_room(f"post_{payload['post_id']}")
    return {"post_id": payload["post_id"]}
