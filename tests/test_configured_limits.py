"""Request schemas take their limits from the settings and constants the services apply,
so a configured limit is the one enforced and the one both documents show: a larger
CHAT_MESSAGE_MAX_LENGTH lets longer messages in over REST and socket, and OpenAPI and
AsyncAPI state the app's CHAT_MESSAGE_MAX_LENGTH and UPLOAD_MAX_ATTACHMENTS."""
from __future__ import annotations

import pytest

from tests.topic_helpers import Person, socket_of

LONGER = {"CHAT_MESSAGE_MAX_LENGTH": 30000, "UPLOAD_MAX_ATTACHMENTS": 4}


@pytest.fixture
def longer(make_app):
    return make_app(**LONGER)


def test_a_larger_message_limit_is_the_one_enforced(longer):
    client = longer.test_client()
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    body = "word " * 5000  # 25000 characters, over the old fixed cap of 20000
    sent = alice.post(f"/api/messages/rooms/{room}/messages",
                      {"body": body, "client_id": "rest"})
    assert sent.status_code == 201, sent.get_json()
    assert len(sent.get_json()["body"]) == len(body.strip())
    socket = socket_of(longer, alice)
    ack = socket.emit("send_message", {"room_id": room, "body": "socket " + body,
                                       "client_id": "socket"}, callback=True)
    assert ack["ok"], ack
    too_long = alice.post(f"/api/messages/rooms/{room}/messages",
                          {"body": "x" * 30001, "client_id": "long"})
    assert too_long.status_code == 400
    assert too_long.get_json()["error"]["code"] == "validation_error"
    assert "body" in too_long.get_json()["error"]["details"]
    socket.disconnect()


def _property(schemas: dict, schema: str, field: str) -> dict:
    return schemas[schema]["properties"][field]


def test_both_documents_state_the_configured_limits(longer):
    client = longer.test_client()
    openapi = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    asyncapi = client.get("/api/asyncapi.json").get_json()["components"]["schemas"]
    for schemas, send in ((openapi, "SendBody"), (asyncapi, "SendEvent")):
        assert _property(schemas, send, "body")["maxLength"] == 30000
        assert _property(schemas, send, "attachments")["maxItems"] == 4
    for name in ("PostCreate", "CommentCreate"):
        assert _property(openapi, name, "attachments")["maxItems"] == 4
    assert _property(asyncapi, "EditEvent", "body")["maxLength"] == 30000


def test_the_default_app_documents_its_own_limits(app, client):
    openapi = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    assert _property(openapi, "SendBody", "body")["maxLength"] == \
        app.config["CHAT_MESSAGE_MAX_LENGTH"]
    assert _property(openapi, "SendBody", "attachments")["maxItems"] == \
        app.config["UPLOAD_MAX_ATTACHMENTS"]
