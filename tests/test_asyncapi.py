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
