"""Request and response schemas of the admin, reports and notifications areas."""
from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from models.user import ROLES
from routes.account_schemas import PrivateUserSchema
from utils.filter_rules import ACTIONS, KINDS
from utils.schemas import PageQuerySchema, StrictSchema, page_schema

Reason = fields.String(validate=validate.Length(min=1, max=1000))
ObjectIdString = fields.String(validate=validate.Regexp(r"^[0-9a-f]{24}$"))


# Users

class AdminUserQuerySchema(PageQuerySchema):
    q = fields.String(validate=validate.Length(min=1, max=100))
    role = fields.String(validate=validate.OneOf(ROLES))
    banned = fields.Boolean()


class BanInfoSchema(Schema):
    reason = fields.String(required=True)
    expires_at = fields.String(allow_none=True, required=True)
    banned_at = fields.String(required=True)
    banned_by = fields.String(allow_none=True, required=True)


class AdminUserSchema(PrivateUserSchema):
    banned = fields.Boolean(required=True)
    ban = fields.Nested(BanInfoSchema, allow_none=True, required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


AdminUserPageSchema = page_schema(AdminUserSchema, "AdminUserPage")


class RoleChangeSchema(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    reason = Reason


class BanBodySchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    expires_at = fields.AwareDateTime(format="iso", allow_none=True)


class ReasonBodySchema(StrictSchema):
    reason = Reason


class WarnBodySchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class NotificationSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    data = fields.Dict(required=True)
    read = fields.Boolean(required=True)
    created_at = fields.String(required=True)
    read_at = fields.String(allow_none=True)


NotificationPageSchema = page_schema(NotificationSchema, "NotificationPage")


class NotificationQuerySchema(PageQuerySchema):
    unread = fields.Boolean(load_default=False)


# Content filter

class FilterRuleSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    value = fields.String(required=True, validate=validate.Length(min=1, max=200))
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))


class ContentFilterBodySchema(StrictSchema):
    rules = fields.List(fields.Nested(FilterRuleSchema), required=True,
                        validate=validate.Length(max=1000))
    new_account_link_limit = fields.Integer(required=True,
                                            validate=validate.Range(min=-1, max=1000))
    expected_version = fields.Integer(validate=validate.Range(min=0))
    reason = Reason


class ContentFilterSchema(Schema):
    version = fields.Integer(required=True)
    rules = fields.List(fields.Nested(FilterRuleSchema), required=True)
    new_account_link_limit = fields.Integer(required=True)
    updated_at = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)


# Audit log

class AuditQuerySchema(PageQuerySchema):
    actor = ObjectIdString
    action = fields.String(validate=validate.Length(min=1, max=100))
    target_type = fields.String(validate=validate.Length(min=1, max=50))
    target_id = fields.String(validate=validate.Length(min=1, max=100))
    topic_id = ObjectIdString
    since = fields.AwareDateTime(format="iso")
    until = fields.AwareDateTime(format="iso")

    @validates_schema
    def window_in_order(self, data, **kwargs):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise SchemaError("must not be after until", field_name="since")


class AuditActorSchema(Schema):
    id = fields.String(allow_none=True)
    username = fields.String(required=True)
    role = fields.String(allow_none=True)


class AuditEntrySchema(Schema):
    id = fields.String(required=True)
    at = fields.String(required=True)
    actor = fields.Nested(AuditActorSchema, required=True)
    action = fields.String(required=True)
    target_type = fields.String(required=True)
    target_id = fields.String(allow_none=True)
    topic_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    data = fields.Dict(required=True)


AuditPageSchema = page_schema(AuditEntrySchema, "AuditPage")


# Stats

class DayCountSchema(Schema):
    date = fields.String(required=True)
    count = fields.Integer(required=True)


class UserStatsSchema(Schema):
    total = fields.Integer(required=True)
    new_24h = fields.Integer(required=True)
    new_7d = fields.Integer(required=True)
    online_now = fields.Integer(required=True)


class PerDaySchema(Schema):
    topics = fields.List(fields.Nested(DayCountSchema), required=True)
    posts = fields.List(fields.Nested(DayCountSchema), required=True)
    comments = fields.List(fields.Nested(DayCountSchema), required=True)
    messages = fields.List(fields.Nested(DayCountSchema), required=True)


class StatsSchema(Schema):
    generated_at = fields.String(required=True)
    users = fields.Nested(UserStatsSchema, required=True)
    topics = fields.Integer(required=True)
    posts = fields.Integer(required=True)
    comments = fields.Integer(required=True)
    messages = fields.Integer(required=True)
    per_day = fields.Nested(PerDaySchema, required=True)
    open_reports = fields.Integer(required=True)


# Reports

TARGET_TYPES = ("post", "comment", "message", "user", "topic")
REASONS = ("spam", "harassment", "hate", "violence", "sexual", "misinformation", "other")
RESOLUTIONS = ("dismiss", "remove_content", "warn_user", "ban_user")
STATUSES = ("open", "resolved", "dismissed")


class ReportBodySchema(StrictSchema):
    target_type = fields.String(required=True, validate=validate.OneOf(TARGET_TYPES))
    target_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.OneOf(REASONS))
    details = fields.String(validate=validate.Length(max=2000))


class ResolveBodySchema(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(RESOLUTIONS))
    note = fields.String(validate=validate.Length(max=2000))
    # ban_user only: how long the ban lasts (none: until lifted).
    expires_at = fields.AwareDateTime(format="iso", allow_none=True)


class ReportQuerySchema(PageQuerySchema):
    status = fields.String(load_default="open", validate=validate.OneOf(STATUSES))


class ReportSchema(Schema):
    id = fields.String(required=True)
    target_type = fields.String(required=True)
    target_id = fields.String(required=True)
    topic_id = fields.String(allow_none=True)
    target_author_id = fields.String(allow_none=True)
    reporter_id = fields.String(required=True)
    reason = fields.String(required=True)
    details = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.String(required=True)
    resolved_at = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    snapshot = fields.Dict()


ReportPageSchema = page_schema(ReportSchema, "ReportPage")


class ResolutionSchema(Schema):
    action = fields.String(required=True)
    resolved = fields.Integer(required=True)
    reports = fields.List(fields.Nested(ReportSchema), required=True)
