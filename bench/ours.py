"""Roundtable as production runs it (`create_app()`), plus two bench-only Socket.IO events
so the fan-out can be driven exactly like the bare baseline before chat rooms exist:
`bench_join` puts a socket in named rooms, `bench_broadcast` emits to one. Both pay what a
real handler pays on our stack: connect auth, the per-event identity check, our manager.
Served by gunicorn as `bench.ours:app`; never imported by the application itself."""
from flask_socketio import emit, join_room
from pymongo import ReturnDocument

from app import create_app
from models.base import isoformat, utcnow
from utils.db import get_db
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


@socketio.on("bench_send")
@acknowledged()
def bench_send(payload):
    """Stand-in for `send_message` until the messaging branch lands: the same kind of
    work (who is sending, next per-room seq, store, broadcast, ack), on bench collections."""
    user = socket_user()
    db = get_db()
    room = db.bench_rooms.find_one_and_update(
        {"_id": payload["room_id"]}, {"$inc": {"seq": 1}}, upsert=True,
        return_document=ReturnDocument.AFTER)
    document = {"room_id": payload["room_id"], "seq": room["seq"], "author_id": user["_id"],
                "body": payload["body"], "client_id": payload["client_id"],
                "created_at": utcnow()}
    db.bench_messages.insert_one(document)
    message = {"id": str(document["_id"]), "room_id": payload["room_id"], "seq": room["seq"],
               "author": {"id": str(user["_id"]), "username": user["username"]},
               "body": payload["body"], "client_id": payload["client_id"],
               "created_at": isoformat(document["created_at"])}
    emit("message", message, to="bench_" + payload["room_id"])
    return message
