"""Request schemas of the GIF routes."""
from __future__ import annotations

from marshmallow import fields, validate

from utils.schemas import PageQuerySchema


class GifSearchQuerySchema(PageQuerySchema):
    # GIPHY documents 50 characters as the longest search phrase.
    q = fields.String(required=True, validate=[validate.Length(min=1, max=50),
                                               validate.Regexp(r"\S")])
