"""Request schemas of /api/notifications."""
from __future__ import annotations

from marshmallow import fields, validate

from services.notify.notify_prefs import DIGESTS, KINDS
from services.platform.shapes.notifications import ChannelsSchema
from utils.schemas import PageQuerySchema, StrictSchema


class NotificationQuerySchema(PageQuerySchema):
    unread = fields.Boolean(load_default=False)


class SettingsPatchSchema(StrictSchema):
    kinds = fields.Dict(keys=fields.String(validate=validate.OneOf(list(KINDS))),
                        values=fields.Nested(ChannelsSchema))
    digest = fields.String(validate=validate.OneOf(DIGESTS))


class UnsubscribeQuerySchema(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(max=2000))


