"""The realtime yardstick: bare Flask-SocketIO with gevent under the same gunicorn config.
No auth, no storage: join a room, broadcast to it. Set BENCH_QUEUE to a Redis URL to put
the Redis message queue under it."""
import os

from flask import Flask, jsonify
from flask_socketio import SocketIO, emit, join_room

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent", message_queue=os.environ.get("BENCH_QUEUE"),
                    cors_allowed_origins=None)


@app.get("/health")
def health():
    return jsonify(status="ok")


@socketio.on("bench_join")
def bench_join(payload):
    for room in payload["rooms"]:
        join_room(room)
    return {"ok": True}


@socketio.on("bench_broadcast")
def bench_broadcast(payload):
    emit("message", payload, to=payload["room"])


@socketio.on("send_message")
def send_message(payload):
    # What our send_message does minus validation, auth and storage.
    emit("message", payload, to=payload["room_id"])
    return {"ok": True, "data": payload}
