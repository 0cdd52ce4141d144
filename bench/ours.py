"""Roundtable as production runs it (`create_app()`), plus two bench-only Socket.IO events
so the fan-out can be driven exactly like the bare baseline (the real chat path,
`send_message`, is measured as well):
`bench_join` puts a socket in named rooms, `bench_broadcast` emits to one. Both pay what a
real handler pays on our stack: connect auth, the per-event identity check, our manager.
`GET /bench/commands` answers how many MongoDB commands this process has sent (the bench
runs it with MONGO_COUNT_COMMANDS=true; utils.db.CommandCounter), read before and after each
REST run for the commands-per-request column.
Served by gunicorn as `bench.ours:app`; never imported by the application itself."""
from flask import jsonify
from flask_socketio import emit, join_room

from app import create_app
from utils.db import COMMANDS
from utils.extensions import socketio
from utils.socket_events import acknowledged, socket_user

app = create_app()


@app.get("/bench/commands")
def bench_commands():
    return jsonify(total=COMMANDS.total(), by_name=dict(COMMANDS.counts))


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
