"""Response bodies kept as the bytes they were encoded to.

A page that many requests share (the topic list) is cached encoded, and a hit is sent as
those bytes: no decoding and no encoding again. What differs per viewer is left `null`
in the shared bytes and filled in by `fill_nulls`, which splices the viewer's values in
without parsing the rest. Routes send an `EncodedJSON` as it is (utils.api.Blueprint).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app


class EncodedJSON(bytes):
    """A JSON body encoded by the app's provider: sent as it is, never encoded again."""


def encode(value: Any) -> bytes:
    """`value` as the app's JSON provider encodes a response body (utils.api.JSONProvider)."""
    return current_app.json.encode(value)


def fill_nulls(body: bytes, field: str, values: Sequence[Any]) -> EncodedJSON | None:
    """`body` with the k-th `"<field>":null` replaced by `values[k]` (None leaves it null).

    Sound because a JSON string escapes every `"` it holds: the sequence `"field":null`
    can only be a member named `field` whose value is null. Each item of a page holds
    `field` once, in order; when the count differs from `len(values)` (a field of that
    name nested elsewhere), None: the caller builds the body the slow way."""
    marker = b'"' + field.encode() + b'":null'
    parts = body.split(marker)
    if len(parts) != len(values) + 1:
        return None
    if all(value is None for value in values):
        return EncodedJSON(body)
    filled = [parts[0]]
    for value, rest in zip(values, parts[1:], strict=True):
        filled.append(marker if value is None else
                      b'"' + field.encode() + b'":' + encode(value))
        filled.append(rest)
    return EncodedJSON(b"".join(filled))
