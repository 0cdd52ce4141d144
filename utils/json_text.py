"""JSON strings that are Unicode text.

JSON may escape a lone UTF-16 surrogate (`"\\ud800"`), and Python's parser decodes it
into a `str` that no UTF-8 encoder takes: MongoDB, Redis keys, password hashing and log
lines then fail with a 500. The two places JSON from clients is parsed (utils/api.py for
REST, utils/socket_events.py for Socket.IO) ask `unpaired_surrogate_field` and refuse the
body or event before anything reads it. A well-formed pair (`"\\ud83d\\ude00"`) decodes
to one code point and is text like any other.
"""
from __future__ import annotations

import re
from typing import Any

UNPAIRED_SURROGATE = "Text may not contain an unpaired surrogate (\\ud800-\\udfff)."
_SURROGATE = re.compile("[\ud800-\udfff]")
WHOLE_BODY = "_schema"


def _has_surrogate(value: Any) -> bool:
    """Whether `value` or anything inside it (keys too) holds a surrogate; iterative, so
    a deep document cannot exhaust the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def unpaired_surrogate_field(data: Any) -> str | None:
    """None when every string in `data` is text; else the top-level field holding the
    first surrogate, or `_schema` when it is a key or the body is no object (the name
    itself is not text, so it is not echoed)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if _has_surrogate(key):
                return WHOLE_BODY
            if _has_surrogate(value):
                return key
        return None
    return WHOLE_BODY if _has_surrogate(data) else None


def surrogate_details(data: Any) -> dict[str, list[str]] | None:
    """The `validation_error` details naming where `data` holds a surrogate, or None."""
    field = unpaired_surrogate_field(data)
    return None if field is None else {field: [UNPAIRED_SURROGATE]}
