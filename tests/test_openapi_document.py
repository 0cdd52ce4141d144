"""The OpenAPI document is valid OpenAPI 3.0 and declares what the API really sends:
times as `format: date-time`, nullable fields as `nullable`, a nullable nested user as
the PublicUser shape or null (not "any object"), and the register rules of the services.
The bodies themselves are built with the same schemas (services/platform/shapes)."""
from __future__ import annotations

import re

from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from tests.helpers import register, register_and_login

TIME_FIELDS = {"at", "since"}
NULL_FORM = {"type": "object", "nullable": True, "enum": [None]}  # utils/api.py NULL_ONLY


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
        assert spec == {"oneOf": [{"$ref": "#/components/schemas/PublicUser"},
                                  {"type": "object", "nullable": True, "enum": [None]}]}, shape
        assert field in schemas[shape]["required"]
    assert schemas["Room"]["properties"]["last_message"]["oneOf"][0] == {
        "$ref": "#/components/schemas/Snapshot"}
    assert schemas["Post"]["properties"]["edited_at"] == {
        "type": "string", "format": "date-time", "nullable": True}
    # Never null: the username and a generated picture stand in (services/platform/shapes/users.py).
    for field in ("display_name", "avatar_url"):
        assert schemas["PublicUser"]["properties"][field]["type"] == "string"
        assert "nullable" not in schemas["PublicUser"]["properties"][field]



def _admits_null(document: dict, spec: dict) -> bool:
    return OAS30Validator({**spec, "components": document["components"]}).is_valid(None)


def test_every_nullable_field_admits_null_under_a_strict_validator(client):
    """A field declared nullable (alone, or as a shape-or-null) validates `null` under
    openapi-schema-validator's OAS30Validator, and a required shape still refuses it."""
    document = _document(client)
    nullable = [(name, prop, spec) for name, prop, spec in _properties(document)
                if spec.get("nullable") or NULL_FORM in spec.get("oneOf", [])]
    assert len(nullable) > 100
    refused = [f"{name}.{prop}" for name, prop, spec in nullable
               if not _admits_null(document, spec)]
    assert not refused
    schemas = document["components"]["schemas"]
    assert not _admits_null(document, schemas["Message"]["properties"]["room_id"])
    assert not _admits_null(document, schemas["Room"]["properties"]["last_message"]["oneOf"][0])


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

    from services.platform.shapes.fields import Timestamp

    field = Timestamp()
    at = datetime(2026, 11, 25, 23, 18, 48, 208000, tzinfo=timezone.utc)
    assert field.serialize("t", {"t": at}) == "2026-11-25T23:18:48.208Z"
    assert field.serialize("t", {"t": at.replace(microsecond=0)}) == "2026-11-25T23:18:48Z"
    # Naive times are stored UTC; other offsets are printed in UTC.
    assert field.serialize("t", {"t": at.replace(tzinfo=None)}) == "2026-11-25T23:18:48.208Z"
    east = at.astimezone(timezone(timedelta(hours=2)))
    assert field.serialize("t", {"t": east}) == "2026-11-25T23:18:48.208Z"
    assert field.serialize("t", {"t": None}) is None


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


COOKIE_OR_BEARER = [{"cookieAuth": []}, {"bearerAuth": []}]
COOKIE_CSRF_OR_BEARER = [{"cookieAuth": [], "csrfToken": []}, {"bearerAuth": []}]


def test_operations_declare_their_credentials(app, client):
    """Public operations need none; the others name the session cookie (with the
    X-CSRF-Token header on an unsafe method that checks it) or a bearer token."""
    document = _document(client)
    assert document["components"]["securitySchemes"]["csrfToken"] == {
        "type": "apiKey", "in": "header", "name": "X-CSRF-Token",
        "description": document["components"]["securitySchemes"]["csrfToken"]["description"]}
    security = {(method.upper(), path): operation.get("security", "missing")
                for path, method, operation in _operations(document)}
    assert "missing" not in security.values()
    assert security["POST", "/api/auth/register"] == []
    assert security["POST", "/api/auth/login"] == []
    assert security["GET", "/api/posts/{post_id}"] == []
    assert security["POST", "/api/auth/token"] == []
    assert security["GET", "/api/auth/me"] == COOKIE_OR_BEARER
    assert security["POST", "/api/posts"] == COOKIE_CSRF_OR_BEARER
    assert security["DELETE", "/api/posts/{post_id}"] == COOKIE_CSRF_OR_BEARER
    assert security["GET", "/api/admin/users"] == COOKIE_OR_BEARER
    assert security["POST", "/api/auth/logout"] == [{}, *COOKIE_CSRF_OR_BEARER]
    # Ending browser sessions refuses a bearer token (services.accounts.auth_sessions).
    assert security["POST", "/api/auth/sessions/revoke-others"] == COOKIE_CSRF_OR_BEARER[:1]
    assert security["DELETE", "/api/auth/sessions/{session_id}"] == COOKIE_CSRF_OR_BEARER[:1]
    assert sum(value == COOKIE_CSRF_OR_BEARER for value in security.values()) > 40


def test_declared_credentials_are_the_enforced_ones(client):
    """Every read that declares credentials refuses an anonymous caller (401), and every
    unsafe one that declares the CSRF header refuses a cookie session without it (403)."""
    document = _document(client)
    register_and_login(client, "cookie_user")  # a cookie session from here on
    reads = writes = 0
    for path, method, operation in _operations(document):
        url = re.sub(r"\{[^}]*_id\}", "0" * 24, path).replace("{username}", "nobody")
        url = re.sub(r"\{[^}]*\}", "x", url)
        if method == "get" and operation["security"] == COOKIE_OR_BEARER:
            reads += 1
            answer = client.application.test_client().get(url)
            assert answer.status_code == 401, (path, answer.get_json())
        if operation["security"] == COOKIE_CSRF_OR_BEARER:
            writes += 1
            answer = client.open(url, method=method.upper(), json={})
            assert answer.status_code == 403, (method, path, answer.get_json())
            assert answer.get_json()["error"]["code"] == "csrf_failed"
    assert reads > 15 and writes > 40


def _conforms_fully(document: dict, body, schema: dict, where: str) -> list[str]:
    """Where `body` sends a key its schema does not declare, or declares but not as
    `required` (a generated client would type it `T | undefined`), or a null its schema
    does not allow; nested shapes, lists and the search union included."""
    schemas = document["components"]["schemas"]
    if NULL_FORM in schema.get("oneOf", []):  # a shape or null
        schema = {**schema["oneOf"][0], "nullable": True}
    while "$ref" in schema:
        nullable = schema.get("nullable", False)
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        schema = {**schema, "nullable": nullable or schema.get("nullable", False)}
    if body is None:
        return [] if schema.get("nullable") else [f"{where}: null"]
    if "oneOf" in schema:
        tag = schema["discriminator"]["propertyName"]
        chosen = {"$ref": schema["discriminator"]["mapping"][body[tag]]}
        return _conforms_fully(document, body, chosen, where)
    if schema.get("type") == "array":
        return [problem for index, item in enumerate(body)
                for problem in _conforms_fully(document, item, schema["items"],
                                               f"{where}[{index}]")]
    if not isinstance(body, dict) or "properties" not in schema:
        return []
    properties, required = schema["properties"], set(schema.get("required", []))
    problems = [f"{where}.{key}: not declared" for key in set(body) - set(properties)]
    problems += [f"{where}.{key}: sent but not required" for key in set(body) - required
                 if key in properties]
    return problems + [problem for key, value in body.items() if key in properties
                       for problem in _conforms_fully(document, value, properties[key],
                                                      f"{where}.{key}")]


def test_every_sent_field_is_declared_required(client):
    """The answers of the main reads, walked field by field against their documented
    200 shape: whatever fields the shapes carry, a field that is sent is `required`."""
    from tests.topic_helpers import Person, make_post, make_topic

    document = _document(client)
    owner, reader = Person(client, "olivia"), Person(client, "oscar")
    topic = make_topic(owner, "Quince jam")
    post = make_post(owner, topic["id"], "Quince paste", "slow cooked")
    comment = reader.post(f"/api/posts/{post['id']}/comments", {"body": "yum"}).get_json()
    reader.post(f"/api/posts/{post['id']}/comments", {"body": "me too",
                                                     "parent_id": comment["id"]})
    room = owner.post("/api/messages/groups", {"title": "Jam", "member_ids": [reader.id]})
    room_id = room.get_json()["id"]
    assert owner.post(f"/api/messages/rooms/{room_id}/messages",
                      {"body": "hi", "client_id": "c-1"}).status_code == 201
    reads = {"/api/posts/{post_id}": f"/api/posts/{post['id']}",
             "/api/posts": "/api/posts",
             "/api/posts/{post_id}/comments": f"/api/posts/{post['id']}/comments",
             "/api/topics/{topic_id}": f"/api/topics/{topic['id']}",
             "/api/topics": "/api/topics",
             "/api/messages/rooms": "/api/messages/rooms",
             "/api/messages/rooms/{room_id}/messages": f"/api/messages/rooms/{room_id}/messages",
             "/api/auth/me": "/api/auth/me",
             "/api/users/{username}": "/api/users/oscar",
             "/api/notifications/": "/api/notifications/"}
    searches = [f"/api/search?q={q}&type={kind}" for q, kind in
                (("quince", "posts"), ("quince", "topics"), ("oscar", "users"))]
    problems, checked = [], 0
    for template, url in [*reads.items(), *(("/api/search", url) for url in searches)]:
        answer = owner.get(url)
        assert answer.status_code == 200, (url, answer.get_json())
        operation = document["paths"].get(template) or document["paths"][template.rstrip("/")]
        schema = operation["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        problems += _conforms_fully(document, answer.get_json(), schema, url)
        checked += 1
    assert not problems, "\n".join(sorted(problems))
    assert checked == 13


def _strictly_valid(document: dict, answer, path: str, method: str = "get") -> list[str]:
    """What a strict OpenAPI 3.0 validator (openapi-schema-validator's OAS30Validator, as
    client tooling uses) finds wrong in a real answer against its documented shape."""
    operation = document["paths"][path][method]
    status = str(answer.status_code)
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    validator = OAS30Validator({**schema, "components": document["components"]})
    return [f"{method.upper()} {path} {status}: {'/'.join(map(str, error.absolute_path))}: "
            f"{error.message}" for error in validator.iter_errors(answer.get_json())]


def test_null_answers_validate_under_a_strict_validator(app, client):
    """Every nullable field, sent as null, validates: a new room's `last_message` (topic,
    direct, group; created and listed), a post's `edited_at`, a notification's `subject`
    and `read_at`, a user's `ban` and `mute` in the admin list."""
    from tests.topic_helpers import Person, make_post, make_topic

    document = _document(client)
    owner, friend = Person(client, "olivia"), Person(client, "oscar")
    owner.set_role("admin")
    topic = make_topic(owner, "Quince jam")
    post = make_post(owner, topic["id"], "Quince paste", "slow cooked")
    friend.post(f"/api/topics/{topic['id']}/join")
    friend.post(f"/api/posts/{post['id']}/comments", {"body": "yum"})
    calls = [
        (owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "jam", "description": ""}),
         "/api/topics/{topic_id}/rooms", "post"),
        (owner.get(f"/api/topics/{topic['id']}/rooms"), "/api/topics/{topic_id}/rooms", "get"),
        (owner.post("/api/messages/direct", {"user_id": friend.id}),
         "/api/messages/direct", "post"),
        (owner.post("/api/messages/groups", {"title": "Jam", "member_ids": [friend.id]}),
         "/api/messages/groups", "post"),
        (owner.get("/api/messages/rooms"), "/api/messages/rooms", "get"),
        (owner.get(f"/api/posts/{post['id']}"), "/api/posts/{post_id}", "get"),
        (owner.get("/api/notifications/"), "/api/notifications/", "get"),
        (owner.get("/api/admin/users"), "/api/admin/users", "get"),
    ]
    bodies = [answer.get_json() for answer, _path, _method in calls]
    assert [b["last_message"] for b in bodies[2:4]] == [None, None]
    assert {r["last_message"] for r in bodies[4]["items"]} == {None}
    assert bodies[6]["items"][0]["read_at"] is None
    assert {u["ban"] for u in bodies[7]["items"]} == {None}
    problems = [problem for answer, path, method in calls
                for problem in _strictly_valid(document, answer, path, method)]
    assert not problems, "\n".join(problems)
