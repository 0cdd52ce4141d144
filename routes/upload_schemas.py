"""Request schemas of uploads."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from utils.schemas import StrictSchema


class UploadFormSchema(Schema):
    file = Upload(required=True)


class PresignBodySchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    size = fields.Integer(required=True, strict=True,
                          validate=validate.Range(min=1, max=2**53))
