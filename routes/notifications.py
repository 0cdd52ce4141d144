"""My notifications, their settings and my mutes."""
from __future__ import annotations

from routes.notification_schemas import (
    NotificationQuerySchema,
    SettingsPatchSchema,
    UnsubscribeQuerySchema,
)
from services.notify import notifications_service, notify_mail, notify_prefs
from services.platform.shapes.notifications import (
    KindSettingsSchema,
    MutePageSchema,
    NotificationPageSchema,
    NotificationSchema,
    UnreadCountSchema,
    UnsubscribeSchema,
)
from utils.api import Blueprint
from utils.auth import csrf_exempt, current_user, login_required
from utils.http import accepts_form_body
from utils.schemas import PageQuerySchema

blp = Blueprint("notifications", __name__, description="The signed-in user's notifications")

MUTE_TYPES = "<any(topic, post, room, user):target_type>"


@blp.route("/")
@login_required
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationPageSchema)
def list_notifications(query):
    """My notifications, most recently changed first (`unread=true` for unread ones)."""
    return notifications_service.list_mine(current_user(), query["limit"], query["cursor"],
                                           query["unread"])


@blp.route("/unread-count")
@login_required
@blp.response(200, UnreadCountSchema)
def unread_count():
    """How many of my notifications are unread (a coalesced one counts once)."""
    return notifications_service.unread_count(current_user())


@blp.route("/<objectid:notification_id>/read", methods=["POST"])
@login_required
@blp.response(200, NotificationSchema)
def mark_read(notification_id):
    """Mark one of my notifications read."""
    return notifications_service.serialize(notifications_service.mark_read(current_user(),
                                                                          notification_id))


@blp.route("/read-all", methods=["POST"])
@login_required
@blp.response(200, UnreadCountSchema)
def mark_all_read():
    """Mark all my notifications read; answers the new unread count (0)."""
    return notifications_service.mark_all_read(current_user())


@blp.route("/<objectid:notification_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def delete(notification_id):
    """Delete one of my notifications."""
    notifications_service.delete(current_user(), notification_id)


@blp.route("/settings")
@login_required
@blp.response(200, KindSettingsSchema)
def get_settings():
    """Per kind, whether it reaches me in the app and by email."""
    return notify_prefs.settings_view(current_user())


@blp.route("/settings", methods=["PATCH"])
@login_required
@blp.arguments(SettingsPatchSchema)
@blp.response(200, KindSettingsSchema)
def patch_settings(body):
    """Change some kinds' channels (`{kinds: {mention: {email: false}}}`) and the digest
    (`{digest: "off" | "daily" | "weekly"}`)."""
    return notify_prefs.update_settings(current_user(), body.get("kinds"), body.get("digest"))


@blp.route("/unsubscribe")
@blp.arguments(UnsubscribeQuerySchema, location="query")
@blp.response(200, UnsubscribeSchema)
def describe_unsubscribe(query):
    """No login: what the unsubscribe link of a mail turns off (a notification kind's
    email, or `digest`) and whether it is still on. A forged token is a 400."""
    return notify_mail.describe_link(query["token"])


@blp.route("/unsubscribe", methods=["POST"])
@accepts_form_body
@csrf_exempt
@blp.arguments(UnsubscribeQuerySchema, location="query")
@blp.response(200, UnsubscribeSchema)
def unsubscribe(query):
    """No login, one click (RFC 8058: the body `List-Unsubscribe=One-Click`, form-encoded
    or JSON, is not needed): turn off the mails the link names. A forged token is a 400."""
    return notify_mail.unsubscribe(query["token"])


@blp.route("/mutes")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, MutePageSchema)
def list_mutes(query):
    """What I muted, most recent first."""
    return notify_prefs.list_mutes(current_user(), query["limit"], query["cursor"])


@blp.route(f"/mutes/{MUTE_TYPES}/<objectid:target_id>", methods=["PUT"])
@login_required
@blp.response(204)
def mute(target_type, target_id):
    """Mute a topic, post, chat room or user: it produces no notification for me."""
    notify_prefs.mute(current_user(), target_type, target_id)


@blp.route(f"/mutes/{MUTE_TYPES}/<objectid:target_id>", methods=["DELETE"])
@login_required
@blp.response(204)
def unmute(target_type, target_id):
    """Unmute it again."""
    notify_prefs.unmute(current_user(), target_type, target_id)
