"""Helpers for the call signalling tests: a WebRTC offer, answer and ICE candidate, and
call events emitted on a Socket.IO test client."""
from __future__ import annotations

from typing import Any

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n"}
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
             "sdpMid": "0", "sdpMLineIndex": 0}


def ack(sc, event: str, data: Any) -> dict[str, Any]:
    return sc.emit(event, data, callback=True)


def ok(sc, event: str, data: Any) -> Any:
    """The data of a successful acknowledgement (fails on any other)."""
    answer = ack(sc, event, data)
    assert answer["ok"], answer
    return answer["data"]


def error_code(sc, event: str, data: Any) -> str:
    """The error code of a refused event (fails if it was accepted)."""
    answer = ack(sc, event, data)
    assert answer["ok"] is False, answer
    return answer["error"]["code"]


def names(sc) -> list[str]:
    """The names of the events `sc` received since last asked."""
    return [e["name"] for e in sc.get_received()]
