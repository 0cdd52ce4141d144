"""A lone UTF-16 surrogate (the JSON text `"\\ud800"`) is valid JSON but no Unicode text:
MongoDB, Redis, hashing and logging cannot encode it. It is refused where JSON is parsed,
for every field, key and nested value: a 400 `validation_error` over REST (which writes
nothing) and a `validation_error` ack over Socket.IO."""
from __future__ import annotations

import json

import pytest

from tests.auth_helpers import add_passkey, refusal
from tests.helpers import DEFAULT_PASSWORD, csrf, register_and_login
from tests.topic_helpers import Person, join, make_post, make_topic, send_message, socket_of
from tests.webauthn_authenticator import SoftAuthenticator
from utils.json_text import UNPAIRED_SURROGATE

LONE = "\ud800"


def stored(db) -> dict[str, list]:
    return {name: list(db[name].find()) for name in sorted(db.list_collection_names())}


def raw(value) -> str:
    """The JSON text with the surrogate escaped (`"\\ud800"`): json.dumps escapes it."""
    return json.dumps(value)


@pytest.fixture
def world(app, client):
    author, friend = Person(client, "author"), Person(client, "friend")
    topic = make_topic(author, "Surrogates")
    join(friend, topic["id"])
    post = make_post(author, topic["id"])
    comment = author.post(f"/api/posts/{post['id']}/comments", {"body": "first"}).get_json()
    room = author.post(f"/api/topics/{topic['id']}/rooms", {"name": "Lounge"}).get_json()
    direct = author.post("/api/messages/direct", {"user_id": friend.id}).get_json()
    message = send_message(author, direct["id"], "hello", "m0")
    passkey_client = app.test_client()
    _, token = register_and_login(passkey_client, "keyholder")
    passkey = add_passkey(passkey_client, token, SoftAuthenticator(), "Laptop")
    return {"author": author, "friend": friend, "topic": topic, "comment": comment,
            "room": room, "message": message, "passkey": (passkey_client, token, passkey)}


def refused_requests(world, client):
    """(label, request thunk) for the requests that answered 500 to a lone surrogate."""
    author, friend = world["author"], world["friend"]
    passkey_client, token, passkey = world["passkey"]

    def anonymous(path, body):
        return lambda: client.post(path, data=raw(body), content_type="application/json")

    def signed_in(method, path, body):
        return lambda: author.call(method, path, data=raw(body),
                                   content_type="application/json")

    return [
        ("login", anonymous("/api/auth/login", {"login": LONE, "password": "x"})),
        ("login password", anonymous("/api/auth/login", {"login": "author",
                                                         "password": "a" + LONE})),
        ("token", anonymous("/api/auth/token", {"login": LONE, "password": "x"})),
        ("passkey login options", anonymous("/api/auth/passkeys/login/options",
                                            {"login": LONE})),
        ("passkey second-factor options", anonymous(
            "/api/auth/passkeys/second-factor/options", {"login": LONE, "password": "x"})),
        ("verify email", anonymous("/api/auth/verify-email", {"token": LONE})),
        ("passkey rename", lambda: passkey_client.patch(
            f"/api/auth/passkeys/{passkey['id']}", headers=csrf(token),
            data=raw({"name": LONE}), content_type="application/json")),
        ("comment edit", signed_in("PATCH", f"/api/comments/{world['comment']['id']}",
                                   {"body": LONE})),
        ("group create", signed_in("POST", "/api/messages/groups",
                                   {"title": LONE, "member_ids": [friend.id]})),
        ("room edit", signed_in("PATCH", f"/api/messages/rooms/{world['room']['id']}",
                                {"name": LONE})),
        ("message edit", signed_in("PATCH", f"/api/messages/{world['message']['id']}",
                                   {"body": "a" + LONE + "b"})),
        ("topic room create", signed_in("POST", f"/api/topics/{world['topic']['id']}/rooms",
                                        {"name": LONE})),
        ("profile display name", signed_in("PATCH", "/api/users/me",
                                           {"display_name": LONE})),
        ("profile bio", signed_in("PATCH", "/api/users/me", {"bio": "x\udfff"})),
        ("register", anonymous("/api/auth/register", {
            "username": "newcomer", "email": "new@example.com",
            "password": DEFAULT_PASSWORD + LONE})),
        # Keys and nested values are refused too, whatever the field.
        ("a key", signed_in("PATCH", "/api/users/me", {LONE: "x"})),
        ("a nested value", signed_in("PATCH", "/api/users/me",
                                     {"settings": {"allow_messages_from": [LONE]}})),
        ("in a list", signed_in("POST", "/api/messages/groups",
                                {"title": "ok", "member_ids": [friend.id, LONE]})),
    ]


def test_every_request_refuses_a_lone_surrogate_and_writes_nothing(world, client, db):
    before = stored(db)
    answers = {}
    for label, call in refused_requests(world, client):
        response = call()
        answers[label] = (response.status_code, (response.get_json() or {}).get("error"))
    wrong = {label: answer for label, answer in answers.items()
             if answer[0] != 400 or answer[1]["code"] != "validation_error"}
    assert not wrong, wrong
    assert answers["login"][1]["details"] == {"login": [UNPAIRED_SURROGATE]}
    assert answers["a nested value"][1]["details"] == {"settings": [UNPAIRED_SURROGATE]}
    assert list(answers["a key"][1]["details"]) == ["_schema"]
    assert stored(db) == before


def test_a_surrogate_pair_is_text_and_still_accepted(world):
    """An astral character written as its escaped pair decodes to one code point."""
    author = world["author"]
    response = author.call("PATCH", "/api/users/me", data='{"bio": "hi \\ud83d\\ude00"}',
                           content_type="application/json")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["bio"] == "hi \U0001f600"


def test_raw_surrogate_bytes_are_refused_too(world, client):
    """The UTF-8 encoding of a surrogate (ED A0 80) is no valid UTF-8; Python's JSON
    parser lets it through from bytes ('surrogatepass'), the edge does not."""
    response = client.post("/api/auth/login", data=b'{"login": "\xed\xa0\x80", "password": "x"}',
                           content_type="application/json")
    assert response.status_code == 400, response.get_json()


def test_a_socket_event_with_a_lone_surrogate_is_acknowledged_as_invalid(app, world, db):
    """The test client sends packets through the JSON encoder, as a real client does,
    which escapes the surrogate (`"\\ud800"`)."""
    socket = socket_of(app, world["author"])
    assert socket.is_connected()
    before = stored(db)
    room_id, message_id = world["room"]["id"], world["message"]["id"]
    payloads = [("send_message", {"room_id": room_id, "body": LONE, "client_id": "s1"}),
                ("send_message", {"room_id": room_id, "body": "ok", "client_id": LONE}),
                ("edit_message", {"message_id": message_id, "body": "x" + LONE}),
                ("send_message", {"room_id": room_id, "body": "ok", "client_id": "s2",
                                  LONE: 1}),
                ("join_room", {"room_id": room_id, "after_seq": 0, "extra": [{"a": LONE}]})]
    for event, payload in payloads:
        ack = socket.emit(event, payload, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] == "validation_error", (event, ack)
    assert ack["error"]["details"] == {"extra": [UNPAIRED_SURROGATE]}
    unknown = socket.emit("send" + LONE, {"body": "x"}, callback=True)
    assert unknown["ok"] is False and unknown["error"]["code"] == "unknown_event", unknown
    assert stored(db) == before
    sent = socket.emit("send_message", {"room_id": room_id, "body": "still here",
                                        "client_id": "after"}, callback=True)
    assert sent["ok"], sent
    socket.disconnect()


def test_a_connect_with_a_lone_surrogate_in_its_auth_is_refused(app, client):
    Person(client, "someone")
    assert refusal(app, auth={"token": LONE}) == {
        "code": "validation_error", "message": "The auth data has invalid fields.",
        "details": {"token": [UNPAIRED_SURROGATE]}}
