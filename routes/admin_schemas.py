"""Request and response schemas of the admin, reports and notifications areas."""
from __future__ import annotations

from marshmallow import ValidationError as SchemaError
from marshmallow import fields, validate, validates_schema

from models.user import ROLES
from services.platform.shapes.admin import FilterRuleSchema
from utils.schemas import PageQuerySchema, StrictSchema

Reason = fields.String(validate=validate.Length(min=1, max=1000))
ObjectIdString = fields.String(validate=validate.Regexp(r"^[0-9a-f]{24}$"))


# Users

class AdminUserQuerySchema(PageQuerySchema):
    q = fields.String(validate=validate.Length(min=1, max=100))
    role = fields.String(validate=validate.OneOf(ROLES))
    banned = fields.Boolean()
    muted = fields.Boolean()


class RoleChangeSchema(StrictSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    # services/accounts/trust.py: 0 new, 1 basic; null: by the account's age again.
    trust_level = fields.Integer(allow_none=True, validate=validate.OneOf([0, 1]))
    reason = Reason

    @validates_schema
    def _role_or_level(self, data, **_kwargs):
        if "role" not in data and "trust_level" not in data:
            raise SchemaError("Give role, trust_level or both.", "_schema")


class BanBodySchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    expires_at = fields.AwareDateTime(format="iso", allow_none=True)


class ReasonBodySchema(StrictSchema):
    reason = Reason


class WarnBodySchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


# Content filter


class ContentFilterBodySchema(StrictSchema):
    rules = fields.List(fields.Nested(FilterRuleSchema), required=True,
                        validate=validate.Length(max=1000))
    new_account_link_limit = fields.Integer(required=True,
                                            validate=validate.Range(min=-1, max=1000))
    expected_version = fields.Integer(validate=validate.Range(min=0))
    reason = Reason


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


# Stats


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


