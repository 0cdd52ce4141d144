"""/api/asyncapi.json: the Socket.IO events as an AsyncAPI 3.0.0 document, generated from
the schemas the handlers validate with and the services dump with (routes/asyncapi.py).

It is valid against the official AsyncAPI 3.0.0 JSON Schema (vendored:
tests/fixtures/README.md), and it lists every event: each handler registered on the
Socket.IO server, and each event name the source tree emits (found by reading the
source, so a new `realtime.emit("x", ...)` fails here until "x" is documented)."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import jsonschema

from utils.extensions import socketio

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "tests/fixtures/asyncapi-3.0.0.schema.json").read_text())
SOURCES = [*ROOT.glob("*.py"), *(p for d in ("routes", "services", "models", "utils")
                                 for p in (ROOT / d).rglob("*.py"))]


def _document(client) -> dict:
    response = client.get("/api/asyncapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_document_is_valid_asyncapi_3(client):
    document = _document(client)
    jsonschema.Draft7Validator(SCHEMA).validate(document)
    assert document["asyncapi"] == "3.0.0"


def test_an_invalid_document_is_refused_by_the_schema():
    """The vendored schema really checks (an operation without its action fails)."""
    broken = {"asyncapi": "3.0.0", "info": {"title": "t", "version": "1"},
              "channels": {"c": {"address": "c"}},
              "operations": {"o": {"channel": {"$ref": "#/channels/c"}}}}
    assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(broken))


def _server_events(document: dict) -> set[str]:
    return {op["messages"][0]["$ref"].rsplit("/", 1)[-1]
            for op in document["operations"].values() if op["action"] == "receive"}


def _client_events(document: dict) -> set[str]:
    return {name.removeprefix("send.") for name, op in document["operations"].items()
            if op["action"] == "send"}


def test_every_handler_is_a_send_operation_with_its_schemas(client):
    """Every event registered on the Socket.IO server (but connect, disconnect and the
    catch-all) is a `send` operation whose request payload is the schema the handler
    validates with and whose reply is the ack around the handler's reply shape."""
    document = _document(client)
    handlers = set(socketio.server.handlers["/"]) - {"connect", "disconnect", "*"}
    assert len(handlers) >= 25
    assert _client_events(document) == handlers
    messages, schemas = document["components"]["messages"], document["components"]["schemas"]
    assert messages["join_room.request"]["payload"] == {"$ref": "#/components/schemas/JoinRoom"}
    assert set(schemas["JoinRoom"]["properties"]) == {"room_id", "after_seq"}
    assert schemas["JoinRoom"]["required"] == ["room_id"]
    ack = messages["send_message.reply"]["payload"]["oneOf"]
    assert ack[0]["properties"]["data"] == {"$ref": "#/components/schemas/Message"}
    assert ack[1] == {"$ref": "#/components/schemas/AckFailure"}
    operation = document["operations"]["send.send_message"]
    assert operation["reply"]["messages"] == [
        {"$ref": "#/channels/socket/messages/send_message.reply"}]
    for name in handlers:  # every handler declares the shape of its ack's data
        data = messages[f"{name}.reply"]["payload"]["oneOf"][0]["properties"]["data"]
        assert "$ref" in data, name


def _emit_names() -> tuple[set[str], list[str]]:
    """Event names of every emit in the source tree: `x.emit("name", ...)`, a module
    constant (`emit(RESTARTING_EVENT, ...)`), or a parameter of a function that passes it
    on (`emit_post(event, post)`, `relay(user, sid, event, payload)`), whose callers'
    string arguments are then collected. Returns (names, emits nobody could name)."""
    trees = {path: ast.parse(path.read_text()) for path in SOURCES}
    constants: dict[str, str] = {}
    for tree in trees.values():
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and \
                    isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        constants[target.id] = node.value.value
    names: set[str] = set()
    forwarders: dict[str, tuple[int, str]] = {}
    unknown: list[str] = []
    for path, tree in trees.items():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
            for call in ast.walk(function):
                if not (isinstance(call, ast.Call) and call.args and (
                        getattr(call.func, "attr", None) == "emit"
                        or getattr(call.func, "id", None) == "emit")):
                    continue
                first = call.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.add(first.value)
                elif isinstance(first, ast.Name) and first.id in constants:
                    names.add(constants[first.id])
                elif isinstance(first, ast.Name) and first.id in params:
                    if function.name != "emit":  # an emit() passing its own event on
                        forwarders[function.name] = (params.index(first.id), first.id)
                else:
                    unknown.append(f"{path.name}:{call.lineno}")
    for tree in trees.values():
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            called = getattr(call.func, "attr", None) or getattr(call.func, "id", None)
            if called not in forwarders:
                continue
            index, keyword = forwarders[called]
            values = [k.value for k in call.keywords if k.arg == keyword]
            values += call.args[index:index + 1]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    names.add(value.value)
                else:
                    unknown.append(f"call of {called} at line {call.lineno}")
    return names, unknown


def test_every_emitted_event_is_a_receive_operation(client):
    names, unknown = _emit_names()
    assert not unknown, f"emits whose event name the scan cannot read: {unknown}"
    # The scan sees the events that only reach a room through a forwarding function.
    assert {"new_post", "post_updated", "call_offer", "call_candidates",
            "server_restarting", "force_logout", "notification"} <= names
    documented = _server_events(_document(client))
    assert not names - documented, f"emitted but not in the AsyncAPI document: {names - documented}"
    assert documented - names == {"connect_error"}


def test_server_events_name_their_rooms_and_payloads(client):
    document = _document(client)
    channels = document["channels"]
    assert {key: channel["address"] for key, channel in channels.items()} == {
        "user": "user_{user_id}", "topic": "topic_{topic_id}", "post": "post_{post_id}",
        "chat_room": "chat_room_{room_id}", "voip": "voip_{call_id}", "socket": None}
    receive = document["operations"]["receive.message.chat_room"]
    assert receive["channel"] == {"$ref": "#/channels/chat_room"}
    assert receive["messages"] == [{"$ref": "#/channels/chat_room/messages/message"}]
    messages = document["components"]["messages"]
    assert messages["message"]["payload"] == {"$ref": "#/components/schemas/Message"}
    assert messages["new_post"]["payload"] == {"$ref": "#/components/schemas/PostWithoutMyVote"}
    assert "my_vote" not in document["components"]["schemas"]["PostWithoutMyVote"]["properties"]
    refusal = document["components"]["schemas"]["ConnectErrorData"]
    assert set(refusal["properties"]["code"]["enum"]) >= {"unauthorized", "session_expired",
                                                         "banned"}
    for event in ("call_invite", "call_ended", "notification", "notification_count"):
        assert f"receive.{event}.user" in document["operations"], event
    assert "receive.call_mute.voip" in document["operations"]


def _validator(document: dict, payload: dict) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator({"allOf": [payload],
                                       "components": document["components"]})


class Session:
    """Records what the server emits (services.platform.realtime.emit) and what it acknowledges,
    for checking both against the document."""

    def __init__(self, app, monkeypatch) -> None:
        from services.platform import realtime

        self.app, self.sent, self.acks = app, [], []
        original = realtime.emit

        def recorded(event, data, to, skip_sid=None):
            self.sent.append((event, json.loads(json.dumps(data))))
            return original(event, data, to, skip_sid)

        monkeypatch.setattr(realtime, "emit", recorded)

    def person(self, name):
        from tests.helpers import csrf, register_and_login

        web = self.app.test_client()
        user, token = register_and_login(web, name)
        return web, user, csrf(token), socketio.test_client(self.app, flask_test_client=web)

    def emit(self, sc, event, payload):
        answer = sc.emit(event, payload, callback=True)
        self.acks.append((event, answer))
        assert answer["ok"], (event, answer)
        return answer["data"]

    def check(self, document: dict) -> None:
        messages = document["components"]["messages"]
        for event, data in self.sent:
            errors = list(_validator(document, messages[event]["payload"]).iter_errors(data))
            assert not errors, (event, data, [e.message for e in errors])
        for event, answer in self.acks:
            errors = list(_validator(document, messages[f"{event}.reply"]["payload"])
                          .iter_errors(answer))
            assert not errors, (event, answer, [e.message for e in errors])


def test_payloads_sent_and_acks_received_match_the_document(app, client, monkeypatch):
    """What the server really sends in a chat, topic and notification session, and what
    it acknowledges, validates against the document's schemas (so a shape the code
    changed without its schema fails here)."""
    from tests.topic_helpers import Person, make_post, make_topic

    session = Session(app, monkeypatch)
    sent, emit = session.sent, session.emit
    document = _document(client)
    messages = document["components"]["messages"]
    a_web, _alice, a_csrf, a_sock = session.person("alice")
    _b_web, bob, _b_csrf, b_sock = session.person("bob")
    room = a_web.post("/api/messages/direct", json={"user_id": bob["id"]},
                      headers=a_csrf).get_json()
    emit(a_sock, "join_room", {"room_id": room["id"]})
    emit(b_sock, "join_room", {"room_id": room["id"], "after_seq": 0})
    message = emit(a_sock, "send_message", {"room_id": room["id"], "body": "hi @bob",
                                            "client_id": "c1"})
    emit(a_sock, "edit_message", {"message_id": message["id"], "body": "hello"})
    emit(b_sock, "react", {"message_id": message["id"], "emoji": "👍"})
    emit(b_sock, "typing", {"room_id": room["id"], "typing": True})
    emit(b_sock, "mark_read", {"room_id": room["id"], "seq": 1})
    emit(b_sock, "get_online_users", {"room_id": room["id"]})
    emit(a_sock, "delete_message", {"message_id": message["id"]})
    group = a_web.post("/api/messages/groups", json={"title": "Pair", "member_ids": [
        bob["id"]]}, headers=a_csrf)
    assert group.status_code == 201, group.get_json()
    emit(a_sock, "leave_room", {"room_id": room["id"]})

    owner = Person(client, "olivia")
    topic = make_topic(owner)
    emit(a_sock, "join_topic", {"topic_id": topic["id"]})
    post = make_post(owner, topic["id"])
    emit(a_sock, "join_post", {"post_id": post["id"]})
    owner.post(f"/api/posts/{post['id']}/comments", {"body": "first"})
    owner.post(f"/api/posts/{post['id']}/vote", {"value": 1})
    emit(a_sock, "leave_post", {"post_id": post["id"]})
    emit(a_sock, "leave_topic", {"topic_id": topic["id"]})
    emit(a_sock, "call_mine", {})
    emit(a_sock, "call_active", {"room_id": room["id"]})

    a_web.post(f"/api/users/{bob['id']}/friend-request", headers=a_csrf)  # a notification
    events = {event for event, _data in sent}
    assert {"message", "message_updated", "reaction_updated", "typing", "read", "unread",
            "message_deleted", "room_updated", "new_post", "post_updated", "new_comment",
            "notification", "notification_count"} <= events, events
    session.check(document)
    # The schemas are strict enough to notice a changed shape.
    message_data = next(data for event, data in sent if event == "message")
    for wrong in ({**message_data, "extra": 1}, {**message_data, "author": {"id": "x"}},
                  {k: v for k, v in message_data.items() if k != "seq"}):
        assert list(_validator(document, messages["message"]["payload"]).iter_errors(wrong))


def test_call_payloads_match_the_document(app, client, monkeypatch):
    session = Session(app, monkeypatch)
    emit = session.emit
    a_web, _alice, a_csrf, a_sock = session.person("alice")
    _b_web, bob, _b_csrf, b_sock = session.person("bob")
    room = a_web.post("/api/messages/direct", json={"user_id": bob["id"]},
                      headers=a_csrf).get_json()
    call = emit(a_sock, "call_start", {"room_id": room["id"], "kind": "video",
                                       "party_id": "a"})["call"]
    emit(b_sock, "call_accept", {"call_id": call["id"], "party_id": "b"})
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    emit(b_sock, "call_offer", {"call_id": call["id"], "to_party_id": "a", "description": offer})
    emit(a_sock, "call_answer", {"call_id": call["id"], "to_party_id": "b",
                                 "description": {"type": "answer", "sdp": "v=0\r\n"}})
    emit(a_sock, "call_candidates", {"call_id": call["id"], "to_party_id": "b", "candidates": [
        {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0",
         "sdpMLineIndex": 0}]})
    emit(a_sock, "call_mute", {"call_id": call["id"], "audio_muted": True})
    emit(a_sock, "call_speaking", {"call_id": call["id"], "speaking": True})
    emit(a_sock, "call_heartbeat", {"call_id": call["id"]})
    emit(a_sock, "call_active", {"room_id": room["id"]})
    emit(b_sock, "call_mine", {})
    emit(b_sock, "call_hangup", {"call_id": call["id"]})
    assert {"call_invite", "call_accepted", "call_answered_elsewhere", "call_offer",
            "call_answer", "call_candidates", "call_mute", "call_speaking", "call_left",
            "call_ended"} <= {event for event, _ in session.sent}
    session.check(_document(client))
