"""Site administration: users, roles, bans, warnings, reports, statistics, the content
filter and the audit log. Every route answers 401 anonymous and 403 without the role."""
from __future__ import annotations

from routes.admin_schemas import (
    AdminUserQuerySchema,
    AuditQuerySchema,
    BanBodySchema,
    ContentFilterBodySchema,
    ReasonBodySchema,
    ReportQuerySchema,
    RoleChangeSchema,
    WarnBodySchema,
)
from services.admin import admin_service, reports_service, stats_service
from services.admin.admin_service import admin_user_view
from services.notify.notifications_service import serialize as serialize_notification
from services.platform import audit_service
from services.platform.shapes.admin import (
    AdminUserPageSchema,
    AdminUserSchema,
    AuditPageSchema,
    ContentFilterSchema,
    ReportPageSchema,
    StatsSchema,
)
from services.platform.shapes.notifications import NotificationSchema
from utils.api import Blueprint
from utils.auth import current_user
from utils.pagination import page
from utils.roles import admin_required, site_moderator_required

blp = Blueprint("admin", __name__, description="Site administration and moderation")


@blp.route("/users")
@site_moderator_required
@blp.arguments(AdminUserQuerySchema, location="query")
@blp.response(200, AdminUserPageSchema)
def list_users(query):
    """Users with their role, ban, mute and counts; filter by q, role, banned, muted."""
    users, next_cursor = admin_service.list_users(query, query["limit"], query["cursor"])
    return {"items": admin_service.admin_user_page(users), "next_cursor": next_cursor}


@blp.route("/users/<objectid:user_id>", methods=["PATCH"])
@admin_required
@blp.arguments(RoleChangeSchema)
@blp.response(200, AdminUserSchema)
def change_role(body, user_id):
    """Change a user's site role (the last admin cannot be demoted) or trust level (0 new,
    1 basic, null: by the account's age); each change is audit-logged."""
    user = admin_service.update_user(current_user(), user_id, body)
    return admin_user_view(user)


@blp.route("/users/<objectid:user_id>/ban", methods=["POST"])
@site_moderator_required
@blp.arguments(BanBodySchema)
@blp.response(200, AdminUserSchema)
def ban(body, user_id):
    """Ban from the whole site: sessions, tokens and live sockets end at once."""
    user = admin_service.ban_user(current_user(), user_id, body["reason"],
                                  body.get("expires_at"))
    return admin_user_view(user)


@blp.route("/users/<objectid:user_id>/unban", methods=["POST"])
@site_moderator_required
@blp.arguments(ReasonBodySchema)
@blp.response(200, AdminUserSchema)
def unban(body, user_id):
    """Lift a site ban."""
    return admin_user_view(admin_service.unban_user(current_user(), user_id,
                                                    body.get("reason")))


@blp.route("/users/<objectid:user_id>/mute", methods=["POST"])
@site_moderator_required
@blp.arguments(BanBodySchema)
@blp.response(200, AdminUserSchema)
def mute(body, user_id):
    """Mute site-wide: the account reads but cannot post, comment, send or react."""
    user = admin_service.mute_user(current_user(), user_id, body["reason"],
                                   body.get("expires_at"))
    return admin_user_view(user)


@blp.route("/users/<objectid:user_id>/unmute", methods=["POST"])
@site_moderator_required
@blp.arguments(ReasonBodySchema)
@blp.response(200, AdminUserSchema)
def unmute(body, user_id):
    """Lift a site mute."""
    return admin_user_view(admin_service.unmute_user(current_user(), user_id,
                                                     body.get("reason")))


@blp.route("/users/<objectid:user_id>/warn", methods=["POST"])
@site_moderator_required
@blp.arguments(WarnBodySchema)
@blp.response(201, NotificationSchema)
def warn(body, user_id):
    """Warn a user; they see it as a `warning` notification."""
    return serialize_notification(admin_service.warn_user(current_user(), user_id,
                                                          body["reason"]))


@blp.route("/reports")
@site_moderator_required
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, ReportPageSchema)
def list_reports(query):
    """Every report with this status (open by default), oldest first."""
    reports, next_cursor = reports_service.list_all(current_user(), query["status"],
                                                    query["limit"], query["cursor"])
    return page(reports, next_cursor, reports_service.serialize_report)


@blp.route("/stats")
@admin_required
@blp.response(200, StatsSchema)
def stats():
    """Site statistics, computed at most once a minute."""
    return stats_service.site_stats()


@blp.route("/content-filter")
@admin_required
@blp.response(200, ContentFilterSchema)
def get_content_filter():
    """The banned words and patterns and the new-account link limit."""
    return admin_service.serialize_filter(admin_service.get_content_filter())


@blp.route("/content-filter", methods=["PUT"])
@admin_required
@blp.arguments(ContentFilterBodySchema)
@blp.response(200, ContentFilterSchema)
def put_content_filter(body):
    """Replace the filter; every process applies it on its next use."""
    return admin_service.serialize_filter(admin_service.put_content_filter(current_user(), body))


@blp.route("/audit-log")
@admin_required
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def audit_log(query):
    """Admin and moderator actions, newest first; filter by actor, action, target, time."""
    entries, next_cursor = audit_service.list_entries(query, query["limit"], query["cursor"])
    return page(entries, next_cursor, audit_service.serialize_entry)
