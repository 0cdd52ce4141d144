"""Socket.IO event handlers. They authenticate on connect and call the same services as
the REST routes; state about sockets lives in Redis or the database, never here."""
from __future__ import annotations

from typing import Any

from flask_socketio import join_room, leave_room
from marshmallow import fields

from routes.topic_schemas import ObjectIdString
from services import auth_service, posts_service, topics_service
from utils.auth import user_from_session
from utils.extensions import socketio
from utils.schemas import StrictSchema
from utils.socket_events import acknowledged, remember_socket_user, socket_user


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
    join_room(f"user_{user['_id']}")


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
