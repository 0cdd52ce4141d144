"""The Socket.IO contract as an AsyncAPI 3.0.0 document, served at /api/asyncapi.json.

Generated, never written by hand: client events come from the handlers registered on
the Socket.IO server (their payload and reply schemas are the ones `acknowledged`
validates with, utils.socket_events), server events from SERVER_EVENTS below, whose
schemas are the ones the services dump the payloads with (services/platform/shapes). apispec's
marshmallow converter turns them into JSON Schema (OpenAPI 3.1 flavour: a nullable field
is `type: [..., "null"]`, a nullable nested shape `anyOf: [{$ref}, {type: null}]`).

Written from the client's side (the application it describes is a client): `send` is
what a client emits, `receive` what it is sent. Layout (docs/CLIENTS.md):
- `channels`: one per room kind (`user`, `topic`, `post`, `chat_room`, `voip`: address
  `user_{user_id}`, ...) with the server events sent there, and `socket` (no address:
  the connection itself) for client events and events sent to one socket.
- `operations`: `send.<event>` per client event, its ack as the `reply`
  (`{ok: true, data}` or `{ok: false, error}`); `receive.<event>.<channel>` per server
  event and room kind it is sent to.
- `components.messages`: `<event>` per server event; `<event>.request` and
  `<event>.reply` per client event (six names, e.g. `typing`, go both ways). Every
  message's `name` is the event name on the wire.
- `components.schemas`: the JSON Schemas.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from services.platform.shapes import events as ev
from services.platform.shapes.forum import CommentSchema, PostSchema
from services.platform.shapes.messages import (
    DraftSchema,
    InvitationSchema,
    MessageSchema,
    ReactionsSchema,
    RoomSchema,
    ThreadUpdatedEventSchema,
)
from services.platform.shapes.notifications import NotificationSchema
from services.platform.shapes.polls import PollUpdatedEventSchema
from utils.extensions import socketio
from utils.schemas import ErrorBodySchema

NAMESPACE = "/"
# Handlers that are not client events.
NOT_EVENTS = {"connect", "disconnect", "*"}

USER, TOPIC, POST, CHAT, VOIP, SOCKET = "user", "topic", "post", "chat_room", "voip", "socket"

CHANNELS: dict[str, dict[str, Any]] = {
    USER: {"address": "user_{user_id}", "parameter": "user_id", "description":
           "Every socket of a user is in it from connect on: direct and group messages, "
           "unread counts, read receipts of direct and group rooms, presence of friends "
           "and partners, notifications, ringing calls."},
    TOPIC: {"address": "topic_{topic_id}", "parameter": "topic_id", "description":
            "Entered with `join_topic`: the topic's posts (new, edited, deleted, and their "
            "`comment_count`) and its chat rooms."},
    POST: {"address": "post_{post_id}", "parameter": "post_id", "description":
           "Entered with `join_post` (the post's topic must be readable): its comments "
           "and the post's own updates, `comment_count` included."},
    CHAT: {"address": "chat_room_{room_id}", "parameter": "room_id", "description":
           "Entered with `join_room`: everything that happens in one chat room."},
    VOIP: {"address": "voip_{call_id}", "parameter": "call_id", "description":
           "The devices in a call (entered by `call_start` / `call_accept` / "
           "`call_rejoin`)."},
    SOCKET: {"address": None, "description":
             "The connection itself: the events a client sends, and the events sent to "
             "one socket (WebRTC signals addressed to a party, `force_logout`, "
             "`server_restarting`, `connect_error`)."},
}


@dataclass(frozen=True)
class ServerEvent:
    schema: type[Schema] | Schema
    channels: tuple[str, ...]
    summary: str


SERVER_EVENTS: dict[str, ServerEvent] = {
    # Chat (docs/MESSAGING.md)
    "message": ServerEvent(MessageSchema, (CHAT, USER),
                           "A new message (direct and group rooms: also to each member's "
                           "user room)."),
    "message_updated": ServerEvent(MessageSchema, (CHAT, USER), "A message was edited."),
    "message_deleted": ServerEvent(ev.MessageDeletedEventSchema, (CHAT, USER),
                                   "A message was deleted."),
    "reaction_updated": ServerEvent(ReactionsSchema, (CHAT, USER),
                                    "A message's reactions changed."),
    "unread": ServerEvent(ev.UnreadEventSchema, (USER,),
                          "My unread count of a room changed."),
    "read": ServerEvent(ev.ReadEventSchema, (CHAT, USER),
                        "A member read up to `seq` (a read receipt); direct and group "
                        "rooms: also to the members' user rooms."),
    "typing": ServerEvent(ev.TypingStateSchema, (CHAT,),
                          "Someone started or stopped typing."),
    "presence": ServerEvent(ev.PresenceEventSchema, (USER,),
                            "Someone I share a room with, or a friend, came online or "
                            "went offline."),
    "room_updated": ServerEvent(RoomSchema, (USER, CHAT, TOPIC),
                                "A room was created or changed (title, members)."),
    "message_pinned": ServerEvent(ev.MessagePinnedEventSchema, (CHAT, USER),
                                  "A message was pinned in the room."),
    "message_unpinned": ServerEvent(ev.MessageUnpinnedEventSchema, (CHAT, USER),
                                    "A message was unpinned (or deleted while pinned)."),
    "thread_updated": ServerEvent(ThreadUpdatedEventSchema, (CHAT, USER),
                                  "A thread got a reply: its root's new summary (after "
                                  "the reply's `message`)."),
    "draft_updated": ServerEvent(DraftSchema, (USER,),
                                 "My draft in a room changed on another device, or a "
                                 "message I sent there cleared it (empty `body`)."),
    "message_hidden": ServerEvent(ev.MessageHiddenEventSchema, (USER,),
                                  "I deleted a message for myself (to my other devices)."),
    "room_invitation": ServerEvent(InvitationSchema, (USER,),
                                   "I was invited to a group."),
    "room_muted": ServerEvent(ev.RoomMutedEventSchema, (USER,),
                              "A room's moderators muted me there until `expires_at`."),
    "account_muted": ServerEvent(ev.AccountMutedEventSchema, (USER,),
                                 "An admin muted my account (read only) until `expires_at`."),
    "account_unmuted": ServerEvent(ev.AccountUnmutedEventSchema, (USER,),
                                   "My account's mute was lifted."),
    "removed_from_room": ServerEvent(ev.RoomRefEventSchema, (USER, TOPIC),
                                     "I was removed from a room or left it, or the "
                                     "topic's room was deleted (`reason`)."),
    "force_logout": ServerEvent(ev.ForceLogoutEventSchema, (SOCKET,),
                                "This socket's session ended; it is disconnected next."),
    "server_restarting": ServerEvent(ev.ServerRestartingEventSchema, (SOCKET,),
                                     "This server process is stopping, or its Socket.IO "
                                     "queue missed events in a Redis outage or failover: "
                                     "reconnect after `retry_after_ms` and re-join rooms "
                                     "with `after_seq`."),
    # Topics (docs/TOPICS.md)
    "new_post": ServerEvent(PostSchema(exclude=("my_vote",)), (TOPIC,), "A new post."),
    "post_updated": ServerEvent(PostSchema(exclude=("my_vote",)), (TOPIC, POST),
                                "A post changed: edited, deleted, pinned, locked, voted "
                                "on, or a comment was added (`comment_count`)."),
    "new_comment": ServerEvent(CommentSchema, (POST,), "A new comment on the post."),
    "poll_updated": ServerEvent(PollUpdatedEventSchema, (CHAT, USER, TOPIC, POST),
                                "A poll's results changed: a message's poll to the room's "
                                "audience, a post's to the topic and post rooms; at most "
                                "one per poll per POLL_UPDATE_INTERVAL_SECONDS, the last "
                                "state always sent (docs/POLLS.md)."),
    "comment_updated": ServerEvent(CommentSchema, (POST,),
                                   "A comment's link previews arrived (`previews`)."),
    # Notifications (docs/NOTIFICATIONS.md)
    "notification": ServerEvent(NotificationSchema, (USER,), "A new or updated notification."),
    "notification_count": ServerEvent(ev.NotificationCountEventSchema, (USER,),
                                      "My unread notification count."),
    # Calls (docs/CALLS.md)
    "call_invite": ServerEvent(ev.CallInviteEventSchema, (USER,), "A call rings for me."),
    "call_accepted": ServerEvent(ev.CallAcceptedEventSchema, (VOIP,),
                                 "A device joined the call."),
    "call_answered_elsewhere": ServerEvent(ev.CallAnsweredElsewhereEventSchema, (USER,),
                                           "Another of my devices answered."),
    "call_party_rejoined": ServerEvent(ev.CallPartyEventSchema, (VOIP,),
                                       "A device came back within its reconnect grace."),
    "call_rejected": ServerEvent(ev.CallRejectedEventSchema, (VOIP, USER),
                                 "An invitee rejected the call."),
    "call_left": ServerEvent(ev.CallLeftEventSchema, (VOIP,), "A device left the call."),
    "call_ended": ServerEvent(ev.CallEndedEventSchema, (VOIP, USER), "The call is over."),
    "call_party_disconnected": ServerEvent(ev.CallPartyDisconnectedEventSchema, (VOIP,),
                                           "A device lost its connection; its place is "
                                           "kept for `grace_seconds`."),
    "call_offer": ServerEvent(ev.CallDescriptionEventSchema, (SOCKET,),
                              "A WebRTC offer from another party."),
    "call_answer": ServerEvent(ev.CallDescriptionEventSchema, (SOCKET,),
                               "A WebRTC answer from another party."),
    "call_candidates": ServerEvent(ev.CallCandidatesEventSchema, (SOCKET,),
                                   "ICE candidates from another party."),
    "call_mute": ServerEvent(ev.CallMuteEventSchema, (VOIP,), "A party's mute state."),
    "call_speaking": ServerEvent(ev.CallSpeakingEventSchema, (VOIP,),
                                 "A party started or stopped speaking."),
}

# Not sent with emit: the refusal of a connection, as socket.io-client reports it.
CONNECT_ERROR = "connect_error"


def client_events() -> dict[str, Any]:
    """Every event a client may send: the handlers on the Socket.IO server."""
    handlers = socketio.server.handlers.get(NAMESPACE, {}) if socketio.server else {}
    return {name: handler for name, handler in sorted(handlers.items())
            if name not in NOT_EVENTS}


def _schema_name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema") or cls.__name__
    excluded = sorted(getattr(schema, "exclude", ()) or ()) if not isinstance(schema, type) else []
    if excluded:
        name += "Without" + "".join(part.capitalize() for f in excluded for part in f.split("_"))
    return name


class _Names:
    """One component name per schema; two classes of the same name (`RoomRefSchema` of
    chat and of calls) get their module's name in front."""

    def __init__(self) -> None:
        self.taken: dict[str, tuple] = {}

    def __call__(self, schema: type[Schema] | Schema) -> str:
        cls = schema if isinstance(schema, type) else type(schema)
        key = (cls, tuple(sorted(getattr(schema, "exclude", ()) or ()))
               if not isinstance(schema, type) else ())
        name = _schema_name(schema)
        owner = self.taken.setdefault(name, key)
        if owner != key:
            module = cls.__module__.rsplit(".", 1)[-1].removesuffix("_schemas")
            name = "".join(part.capitalize() for part in module.split("_")) + name
            self.taken.setdefault(name, key)
        return name


def _ack(reply_ref: dict[str, Any] | None) -> dict[str, Any]:
    success: dict[str, Any] = {
        "type": "object", "required": ["ok", "data"],
        "properties": {"ok": {"const": True},
                       "data": reply_ref if reply_ref is not None else {}}}
    return {"oneOf": [success, {"$ref": "#/components/schemas/AckFailure"}]}


def servers(host: str) -> dict[str, Any]:
    """The server the document was fetched from (its Host header)."""
    return {"api": {"host": host, "protocol": "ws", "pathname": "/socket.io",
                    "description": "Socket.IO over websocket or long-polling (Engine.IO 4)."}}


def build(title: str, version: str) -> dict[str, Any]:
    plugin = MarshmallowPlugin(schema_name_resolver=_Names())
    spec = APISpec(title=title, version=version, openapi_version="3.1.0", plugins=[plugin])
    converter = plugin.converter

    def ref(schema: type[Schema] | Schema) -> dict[str, Any]:
        return converter.resolve_nested_schema(schema)

    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for key, channel in CHANNELS.items():
        entry: dict[str, Any] = {"address": channel["address"],
                                 "description": channel["description"], "messages": {}}
        if channel.get("parameter"):
            entry["parameters"] = {channel["parameter"]: {"description": "An object id."}}
        channels[key] = entry

    for event, handler in client_events().items():
        request_key, reply_key = f"{event}.request", f"{event}.reply"
        event_schema = getattr(handler, "event_schema", None)
        reply_schema = getattr(handler, "reply_schema", None)
        request_payload = ref(event_schema) if event_schema is not None else {
            "description": "Any payload, or none."}
        summary = _summary(handler)
        messages[request_key] = {"name": event, "title": f"{event} (client event)",
                                 "payload": request_payload, **summary}
        messages[reply_key] = {
            "name": event, "title": f"{event} acknowledgement",
            "summary": "The ack: `{ok: true, data}` or `{ok: false, error}`.",
            "payload": _ack(ref(reply_schema) if reply_schema is not None else None)}
        channels[SOCKET]["messages"][request_key] = {"$ref": f"#/components/messages/{request_key}"}
        channels[SOCKET]["messages"][reply_key] = {"$ref": f"#/components/messages/{reply_key}"}
        operations[f"send.{event}"] = {
            "action": "send", "channel": {"$ref": "#/channels/socket"}, **summary,
            "messages": [{"$ref": f"#/channels/socket/messages/{request_key}"}],
            "reply": {"channel": {"$ref": "#/channels/socket"},
                      "messages": [{"$ref": f"#/channels/socket/messages/{reply_key}"}]}}

    server_events = {**SERVER_EVENTS, CONNECT_ERROR: ServerEvent(
        ev.ConnectErrorSchema, (SOCKET,),
        "The server refused the connection; `data.code` says why (docs/CLIENTS.md).")}
    for event, spec_of in server_events.items():
        messages[event] = {"name": event, "title": event, "summary": spec_of.summary,
                           "payload": ref(spec_of.schema)}
        for channel in spec_of.channels:
            channels[channel]["messages"][event] = {"$ref": f"#/components/messages/{event}"}
            operations[f"receive.{event}.{channel}"] = {
                "action": "receive", "channel": {"$ref": f"#/channels/{channel}"},
                "summary": spec_of.summary,
                "messages": [{"$ref": f"#/channels/{channel}/messages/{event}"}]}

    failure = {"type": "object", "required": ["ok", "error"],
               "properties": {"ok": {"const": False}, "error": ref(ErrorBodySchema)}}
    schemas = {**spec.to_dict()["components"]["schemas"], "AckFailure": failure}
    document: dict[str, Any] = {
        "asyncapi": "3.0.0",
        "info": {"title": f"{title}: Socket.IO events", "version": version,
                 "description": "Socket.IO (namespace `/`) events of the API, described "
                 "from a client's side: `send` operations are the events a client emits "
                 "(each acknowledged, its ack the operation's reply), `receive` operations "
                 "the events the server sends to a room kind. Connect to `/socket.io` with "
                 "the session cookie or `auth: {token}`. The REST API is "
                 "/api/openapi.json."},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
    return document


def _summary(handler: Any) -> dict[str, str]:
    """`{summary}`: the first paragraph of the handler's docstring, if it has one."""
    doc = (getattr(handler, "__doc__", None) or "").strip()
    return {"summary": " ".join(doc.split("\n\n")[0].split())} if doc else {}
