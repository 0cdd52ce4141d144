"""The fields every shape's times and free-form data use."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from marshmallow import fields

from models.base import isoformat


class Timestamp(fields.DateTime):
    """A stored datetime as the API has always printed it: UTC with a `Z`, milliseconds
    when there are any (`2026-11-25T23:18:48.208Z`, `2026-11-25T23:18:48Z`). Documented
    as `format: date-time`."""

    def _serialize(self, value: datetime | str | None, attr: Any, obj: Any,
                   **kwargs: Any) -> str | None:
        # A string was printed already (a time carried inside a service's own dict).
        return value if value is None or isinstance(value, str) else isoformat(value)


def jsonable(value: Any) -> Any:
    """Stored data as JSON: ObjectIds as strings, datetimes as Timestamps print them."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, datetime):
        return isoformat(value)
    return value


class StoredData(fields.Dict):
    """A free-form object as stored (an audit entry's `data`), made JSON-ready at any
    depth; none stored prints as `{}`. Documented as an object."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(dump_default=dict, **kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return jsonable(value or {})
