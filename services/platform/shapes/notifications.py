"""Notifications, their settings and mutes."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_dump

from services.platform.shapes.fields import StoredData, Timestamp
from services.platform.shapes.users import PublicUserSchema, display_name
from utils.schemas import StrictSchema, page_schema

# One line a client can show as is; {n} is the count, {actor} the last actor's display
# name, {title}
# what it is about. The second form is used once events coalesced (n > 1).
SUMMARIES: dict[str, tuple[str, str]] = {
    "post_reply": ("{actor} replied to your post \u201c{title}\u201d",
                   "{n} new replies on \u201c{title}\u201d"),
    "comment_reply": ("{actor} replied to your comment on \u201c{title}\u201d",
                      "{n} new replies to your comment on \u201c{title}\u201d"),
    "mention": ("{actor} mentioned you in {title}", "{n} new mentions in {title}"),
    "thread_reply": ("{actor} replied in a thread in {title}",
                     "{n} new replies in a thread in {title}"),
    "post_activity": ("{actor} commented on \u201c{title}\u201d",
                      "{n} new comments on \u201c{title}\u201d"),
    "direct_message": ("{actor} sent you a message", "{n} new messages from {actor}"),
    "friend_request": ("{actor} sent you a friend request",) * 2,
    "friend_accepted": ("{actor} accepted your friend request",) * 2,
    "content_removed": ("A moderator removed your {title}",) * 2,
    "topic_ban": ("You were banned from {title}",) * 2,
    "scheduled_message_dropped": ("Your scheduled message could not be sent",) * 2,
}


def summary(notification: dict[str, Any]) -> str:
    forms = SUMMARIES.get(notification["kind"])
    if forms is None:
        return notification["kind"].replace("_", " ")
    count = notification.get("count", 1)
    actors = notification.get("actors") or []
    return forms[count > 1].format(
        n=count, actor=display_name(actors[-1]) if actors else "Someone",
        title=notification.get("data", {}).get("title", ""))


class NotificationSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    kind = fields.String(required=True)
    subject = fields.String(allow_none=True, required=True, dump_default=None)
    data = StoredData(required=True)
    summary = fields.String(required=True)
    count = fields.Integer(required=True, dump_default=1)
    actors = fields.List(fields.Nested(PublicUserSchema), required=True, dump_default=[],
                         metadata={"description": "Who caused it, as they are now: the "
                                   "last five, each once, most recent last."})
    read = fields.Boolean(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    read_at = Timestamp(allow_none=True, required=True, dump_default=None)

    @pre_dump
    def present(self, notification: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        # `actors`: users (services/notify/notify_core.py `serialize_all` resolves the
        # stored ids); the last ones, most recent last, each once.
        actors: list[dict[str, Any]] = []
        for actor in reversed(notification.get("actors") or []):
            if all(str(a["_id"]) != str(actor["_id"]) for a in actors):
                actors.insert(0, actor)
        return {**notification, "actors": actors, "summary": summary(notification),
                "updated_at": notification.get("updated_at") or notification["created_at"]}


class UnreadCountSchema(Schema):
    count = fields.Integer(required=True)


class ChannelsSchema(StrictSchema):
    in_app = fields.Boolean()
    email = fields.Boolean()
    # Web Push to my subscribed browsers (docs/NOTIFICATIONS.md "Push").
    push = fields.Boolean()


class KindSettingsSchema(Schema):
    kinds = fields.Dict(keys=fields.String(), values=fields.Nested(ChannelsSchema),
                        required=True)
    digest = fields.String(required=True, metadata={"enum": ["off", "daily", "weekly"]})


class UnsubscribeSchema(Schema):
    """What an unsubscribe link names (a notification kind, or `digest`) and whether its
    mails are still on."""
    kind = fields.String(required=True)
    subscribed = fields.Boolean(required=True)


class MuteSchema(Schema):
    target_type = fields.String(required=True)
    target_id = fields.String(required=True)
    created_at = Timestamp(required=True)


class FollowSchema(Schema):
    post_id = fields.String(required=True)
    following = fields.Boolean(required=True)


NotificationPageSchema = page_schema(NotificationSchema, "NotificationPage")
MutePageSchema = page_schema(MuteSchema, "MutePage")

NOTIFICATION = NotificationSchema()
MUTE = MuteSchema()
FOLLOW = FollowSchema()
