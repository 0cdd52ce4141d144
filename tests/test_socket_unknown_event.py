"""An event name without a handler gets an `unknown_event` error ack, not a timeout; the
catch-all never answers for a real event."""
from __future__ import annotations

from tests.helpers import bearer
from utils.extensions import socketio


def connected(app):
    token = bearer(app.test_client(), "ursula")["Authorization"].split()[1]
    sc = socketio.test_client(app, auth={"token": token})
    assert sc.is_connected()
    return sc


def test_an_unknown_event_gets_an_error_ack(app):
    sc = connected(app)
    ack = sc.emit("send_mesage", {"room_id": "x"}, callback=True)
    assert ack == {"ok": False, "error": {"code": "unknown_event",
                                          "message": "There is no event named 'send_mesage'."}}
    assert sc.emit("no_payload_at_all", callback=True)["error"]["code"] == "unknown_event"
    # Named "*" (the catch-all's own key): answered alike, no traceback in Flask-SocketIO.
    assert sc.emit("*", {}, callback=True)["error"] == {
        "code": "unknown_event", "message": "There is no event named '*'."}
    long_name = "x" * 500
    message = sc.emit(long_name, {}, callback=True)["error"]["message"]
    assert len(message) < 120 and "x" * 64 + "..." in message
    sc.disconnect()


def test_without_an_ack_nothing_is_sent_back(app):
    sc = connected(app)
    sc.get_received()
    sc.emit("no_such_event", {"a": 1})
    # A later answer on the same socket: nothing arrived before it.
    assert sc.emit("get_online_users", {"room_id": "0" * 24}, callback=True)["ok"] is False
    assert sc.get_received() == []
    assert sc.is_connected()
    sc.disconnect()


def test_the_catch_all_never_answers_for_a_real_event(app):
    sc = connected(app)
    events = set(socketio.server.handlers["/"]) - {"connect", "disconnect", "*"}
    assert {"join_room", "send_message", "call_start"} <= events
    for event in sorted(events):
        ack = sc.emit(event, {}, callback=True)
        assert ack.get("error", {}).get("code") != "unknown_event", (event, ack)
    sc.disconnect()
