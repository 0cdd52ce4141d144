"""Admin views of users, the content filter, the audit log, stats and
reports."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.platform.shapes.fields import StoredData, Timestamp
from services.platform.shapes.users import PrivateUserSchema
from utils.filter_rules import ACTIONS, KINDS
from utils.schemas import StrictSchema, page_schema


class BanInfoSchema(Schema):
    reason = fields.String(required=True)
    expires_at = Timestamp(allow_none=True, required=True, dump_default=None)
    banned_at = Timestamp(required=True)
    banned_by = fields.String(allow_none=True, required=True, dump_default=None)


class MuteInfoSchema(Schema):
    reason = fields.String(required=True)
    expires_at = Timestamp(allow_none=True, required=True, dump_default=None)
    muted_at = Timestamp(required=True)
    muted_by = fields.String(allow_none=True, required=True, dump_default=None)


class AdminUserSchema(PrivateUserSchema):
    banned = fields.Boolean(required=True)
    ban = fields.Nested(BanInfoSchema, allow_none=True, required=True)
    muted = fields.Boolean(required=True)
    mute = fields.Nested(MuteInfoSchema, allow_none=True, required=True)
    trust_level = fields.Integer(required=True, metadata={
        "description": "0 new (lower write limits), 1 basic (docs/ADMIN.md)."})
    trust_level_set = fields.Boolean(required=True, metadata={
        "description": "Set by staff; false: follows the account's age."})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class FilterRuleSchema(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    value = fields.String(required=True, validate=validate.Length(min=1, max=200))
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))


class ContentFilterSchema(Schema):
    """The stored setting: `{version, value: {rules, new_account_link_limit}, updated_*}`."""

    version = fields.Integer(required=True)
    rules = fields.List(fields.Nested(FilterRuleSchema), required=True, attribute="value.rules")
    new_account_link_limit = fields.Integer(required=True,
                                            attribute="value.new_account_link_limit")
    updated_at = Timestamp(allow_none=True, required=True, dump_default=None)
    updated_by = fields.String(allow_none=True, required=True, dump_default=None)


class AuditActorSchema(Schema):
    id = fields.String(allow_none=True, required=True)
    username = fields.String(required=True)
    role = fields.String(allow_none=True, required=True)


class AuditEntrySchema(Schema):
    id = fields.String(attribute="_id", required=True)
    at = Timestamp(required=True)
    actor = fields.Nested(AuditActorSchema, required=True)
    action = fields.String(required=True)
    target_type = fields.String(required=True)
    target_id = fields.String(allow_none=True, required=True, dump_default=None)
    topic_id = fields.String(allow_none=True, required=True, dump_default=None)
    reason = fields.String(allow_none=True, required=True, dump_default=None)
    data = StoredData(required=True)


class DayCountSchema(Schema):
    date = fields.String(required=True, metadata={"format": "date"})
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
    generated_at = Timestamp(required=True)
    users = fields.Nested(UserStatsSchema, required=True)
    topics = fields.Integer(required=True)
    posts = fields.Integer(required=True)
    comments = fields.Integer(required=True)
    messages = fields.Integer(required=True)
    per_day = fields.Nested(PerDaySchema, required=True)
    open_reports = fields.Integer(required=True)
    # Jobs in the job queue's dead-letter list (`flask jobs failed` lists them).
    failed_jobs = fields.Integer(required=True)


class ReportSchema(Schema):
    id = fields.String(attribute="_id", required=True)
    target_type = fields.String(required=True)
    target_id = fields.String(required=True)
    topic_id = fields.String(allow_none=True, required=True)
    target_author_id = fields.String(
        allow_none=True, required=True, dump_default=None,
        metadata={"description": "For anonymous content, the id of its pseudonym's stand-in "
                                 "(GET /api/topics/<id>/pseudonyms/<name> resolves it, logged)"})
    target_pseudonym = fields.String(
        allow_none=True, required=True, dump_default=None,
        metadata={"description": "The pseudonym of anonymous content; null otherwise"})
    reporter_id = fields.String(required=True)
    reason = fields.String(required=True)
    details = fields.String(required=True)
    status = fields.String(required=True)
    created_at = Timestamp(required=True)
    resolved_at = Timestamp(allow_none=True, required=True, dump_default=None)
    resolved_by = fields.String(allow_none=True, required=True, dump_default=None)
    resolution = fields.String(allow_none=True, required=True, dump_default=None)
    note = fields.String(allow_none=True, required=True, dump_default=None)
    snapshot = fields.Dict(required=True)


class MyReportSchema(Schema):
    """A report as its reporter sees it: the outcome, never who handled it or their note."""
    id = fields.String(attribute="_id", required=True)
    target_type = fields.String(required=True)
    target_id = fields.String(required=True)
    reason = fields.String(required=True)
    details = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open, resolved or dismissed"})
    action_taken = fields.String(attribute="resolution", allow_none=True, required=True,
                                 dump_default=None,
                                 metadata={"description": "dismiss, remove_content, warn_user "
                                                          "or ban_user; null while open"})
    created_at = Timestamp(required=True)
    resolved_at = Timestamp(allow_none=True, required=True, dump_default=None)


class ResolutionSchema(Schema):
    action = fields.String(required=True)
    resolved = fields.Integer(required=True)
    reports = fields.List(fields.Nested(ReportSchema), required=True)


AdminUserPageSchema = page_schema(AdminUserSchema, "AdminUserPage")
AuditPageSchema = page_schema(AuditEntrySchema, "AuditPage")
ReportPageSchema = page_schema(ReportSchema, "ReportPage")
MyReportPageSchema = page_schema(MyReportSchema, "MyReportPage")

ADMIN_USER = AdminUserSchema()
CONTENT_FILTER = ContentFilterSchema()
AUDIT_ENTRY = AuditEntrySchema()
STATS = StatsSchema()
REPORT = ReportSchema()
MY_REPORT = MyReportSchema()
