"""Schemas shared by every blueprint: the error body and list pagination."""
from __future__ import annotations

from flask import current_app
from marshmallow import RAISE, Schema, fields, validate


class StrictSchema(Schema):
    """Request bodies: an unknown field is a validation_error, not silently dropped."""

    class Meta:
        unknown = RAISE


class ConfigLength(validate.Length):
    """A length (of a string, or items of a list) at most a setting of the app, read
    from the current app's config each time: when a request is validated, and when the
    OpenAPI or AsyncAPI document is built from the schema (apispec reads `max`), so
    both follow the configured value instead of a second copy of it."""

    def __init__(self, setting: str, min: int | None = None) -> None:
        super().__init__(min=min)
        self.setting = setting

    @property
    def max(self) -> int:
        return current_app.config[self.setting]

    @max.setter
    def max(self, value: int | None) -> None:
        """Length.__init__ assigns max; the setting holds it instead."""


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict()


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class PageQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None, validate=validate.Length(max=512))


class TaggedUnion(fields.Field):
    """One of several shapes, told apart by a string field (`type`) that each of them
    declares with its one value. Sent as the service built it; documented as `oneOf`
    with a `discriminator` (utils.api)."""

    def __init__(self, choices: dict[str, type[Schema]], key: str = "type",
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.choices, self.key = choices, key


def page_schema(item_schema: type[Schema] | Schema | fields.Field,
                name: str) -> type[Schema]:
    """`{"items": [...], "next_cursor": str | null}` around an item schema (or field)."""
    item = item_schema if isinstance(item_schema, fields.Field) else \
        fields.Nested(item_schema)
    return Schema.from_dict(
        {"items": fields.List(item, required=True),
         "next_cursor": fields.String(allow_none=True, required=True)},
        name=name,
    )
