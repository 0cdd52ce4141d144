"""Roundtable as production runs it (`create_app()`), plus two bench-only Socket.IO events
so the fan-out can be driven exactly like the bare baseline (the real chat path,
`send_message`, is measured as well):
`bench_join` puts a socket in named rooms, `bench_broadcast` emits to one. Both pay what a
real handler pays on our stack: connect auth, the per-event identity check, our manager.
Served by gunicorn as `bench.ours:app`; never imported by the application itself."""
from flask_socketio import emit, join_room

from app import create_app
from utils.extensions import socketio
from utils.socket_events import acknowledged, socket_user

app = create_app()


@socketio.on("bench_join")
@acknowledged()
def bench_join(payload):
    socket_user()
    for room in payload["rooms"]:
        join_room("bench_" + room)
    return None


@socketio.on("bench_broadcast")
def bench_broadcast(payload):
    socket_user()
    emit("message", payload, to="bench_" + payload["room"])

