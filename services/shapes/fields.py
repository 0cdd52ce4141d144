"""The field every shape's times use."""
from __future__ import annotations

from datetime import datetime
from typing import Any

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
