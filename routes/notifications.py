"""My notifications (warnings from moderators and other events)."""
from __future__ import annotations

from routes.admin_schemas import (
    NotificationQuerySchema,
)
from services import notifications_service
from services.shapes.admin import (
    NotificationPageSchema,
    NotificationSchema,
)
from utils.api import Blueprint
from utils.auth import current_user, login_required
from utils.pagination import page

blp = Blueprint("notifications", __name__, description="The signed-in user's notifications")


@blp.route("/")
@login_required
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationPageSchema)
def list_notifications(query):
    """My notifications, newest first (`unread=true` for unread ones only)."""
    items, next_cursor = notifications_service.list_mine(current_user(), query["limit"],
                                                         query["cursor"], query["unread"])
    return page(items, next_cursor, notifications_service.serialize)


@blp.route("/<objectid:notification_id>/read", methods=["POST"])
@login_required
@blp.response(200, NotificationSchema)
def mark_read(notification_id):
    """Mark one of my notifications read."""
    return notifications_service.serialize(notifications_service.mark_read(current_user(),
                                                                          notification_id))
