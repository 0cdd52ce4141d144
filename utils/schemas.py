"""Schemas shared by every blueprint: the error body and list pagination."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


class StrictSchema(Schema):
    """Request bodies: an unknown field is a validation_error, not silently dropped."""

    class Meta:
        unknown = RAISE


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict()


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class PageQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None, validate=validate.Length(max=512))


def page_schema(item_schema: type[Schema] | Schema, name: str) -> type[Schema]:
    """`{"items": [...], "next_cursor": str | null}` around an item schema."""
    return Schema.from_dict(
        {"items": fields.List(fields.Nested(item_schema), required=True),
         "next_cursor": fields.String(allow_none=True, required=True)},
        name=name,
    )
