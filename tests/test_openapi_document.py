"""The OpenAPI document is valid OpenAPI 3.0 and declares what the API really sends:
times as `format: date-time`, nullable fields as `nullable`, a nullable nested user as
the PublicUser shape or null (not "any object"), and the register rules of the services.
The bodies themselves are built with the same schemas (services/shapes)."""
from __future__ import annotations

import re

from openapi_spec_validator import validate

from tests.helpers import register

TIME_FIELDS = {"at", "since"}


def _document(client) -> dict:
    return client.get("/api/openapi.json").get_json()


def _properties(document: dict):
    for name, schema in document["components"]["schemas"].items():
        for prop, spec in schema.get("properties", {}).items():
            yield name, prop, spec


def test_document_is_valid_openapi(client):
    validate(_document(client))


def test_every_time_is_a_date_time(client):
    document = _document(client)
    times = [(name, prop, spec) for name, prop, spec in _properties(document)
             if prop.endswith("_at") or prop in TIME_FIELDS]
    assert len(times) > 30
    wrong = [f"{name}.{prop}" for name, prop, spec in times
             if spec.get("format") != "date-time"]
    assert not wrong


def test_nullable_nested_shapes_are_the_shape_or_null(client):
    document = _document(client)
    assert not [f"{name}.{prop}" for name, prop, spec in _properties(document)
                if "anyOf" in spec]
    schemas = document["components"]["schemas"]
    for shape, field in (("Post", "author"), ("Comment", "author"), ("Message", "author"),
                         ("Topic", "owner")):
        spec = schemas[shape]["properties"][field]
        assert spec == {"allOf": [{"$ref": "#/components/schemas/PublicUser"}],
                        "nullable": True}, shape
        assert field in schemas[shape]["required"]
    assert schemas["Room"]["properties"]["last_message"]["nullable"] is True
    assert schemas["Post"]["properties"]["edited_at"] == {
        "type": "string", "format": "date-time", "nullable": True}
    # Never null: the username and a generated picture stand in (services/shapes/users.py).
    for field in ("display_name", "avatar_url"):
        assert schemas["PublicUser"]["properties"][field]["type"] == "string"
        assert "nullable" not in schemas["PublicUser"]["properties"][field]


def test_sent_fields_are_required_and_match_the_body(app, client):
    """Every key of a post as the API sends it is declared and required, and the times
    keep their wire format (UTC, milliseconds when any, `Z`)."""
    schemas = _document(client)["components"]["schemas"]
    me = register(client, "shaper")
    assert set(me) == set(schemas["PrivateUser"]["properties"])
    assert set(schemas["PrivateUser"]["required"]) == set(me)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", me["created_at"])


def test_register_rules_are_the_services_rules(client):
    register_body = _document(client)["paths"]["/api/auth/register"]["post"]["requestBody"]
    schema_ref = register_body["content"]["application/json"]["schema"]["$ref"]
    schema = _document(client)["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
    assert schema["properties"]["username"]["pattern"] == "^[A-Za-z0-9_]{3,32}$"
    assert schema["properties"]["password"]["minLength"] == 10
    assert schema["properties"]["password"]["maxLength"] == 1024


def test_times_keep_their_wire_format():
    from datetime import datetime, timedelta, timezone

    from services.shapes.fields import Timestamp

    field = Timestamp()
    at = datetime(2026, 11, 25, 23, 18, 48, 208000, tzinfo=timezone.utc)
    assert field.serialize("t", {"t": at}) == "2026-11-25T23:18:48.208Z"
    assert field.serialize("t", {"t": at.replace(microsecond=0)}) == "2026-11-25T23:18:48Z"
    # Naive times are stored UTC; other offsets are printed in UTC.
    assert field.serialize("t", {"t": at.replace(tzinfo=None)}) == "2026-11-25T23:18:48.208Z"
    east = at.astimezone(timezone(timedelta(hours=2)))
    assert field.serialize("t", {"t": east}) == "2026-11-25T23:18:48.208Z"
    assert field.serialize("t", {"t": None}) is None
