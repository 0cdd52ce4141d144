"""Helpers for the chat tests: a direct room opened through the API, a message sent over
a socket, and room data written or restored behind the app's back (another process, a
crashed send, a backup restore)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bson import ObjectId


def open_direct(a, b) -> str:
    """The id of the direct room of people `a` and `b` (tests.helpers.Person)."""
    return a.post("/api/messages/direct", {"user_id": b.id}).get_json()["id"]


def send(sc, room_id: str, body: str, client_id: str) -> dict[str, Any]:
    """`send_message` on a Socket.IO test client; the acknowledgement."""
    return sc.emit("send_message", {"room_id": room_id, "body": body,
                                    "client_id": client_id}, callback=True)


def stored_elsewhere(db, room_id: str, seq: int, author: str) -> None:
    """A message stored behind this process's back (another process, a crashed send)."""
    author_id = db.users.find_one({"username": author})["_id"]
    db.messages.insert_one({"room_id": ObjectId(room_id), "seq": seq, "author_id": author_id,
                            "body": "elsewhere", "client_id": "other", "reply_to": None,
                            "reactions": {}, "created_at": datetime.now(timezone.utc),
                            "edited_at": None, "deleted": False})


def dump_room(db, room_id: ObjectId) -> dict[str, list[dict]]:
    """The room's documents as mongodump would have saved them."""
    return {"rooms": list(db.rooms.find({"_id": room_id})),
            "messages": list(db.messages.find({"room_id": room_id})),
            "room_members": list(db.room_members.find({"room_id": room_id}))}


def restore_room(db, saved: dict[str, list[dict]], room_id: ObjectId) -> None:
    """As `mongorestore --drop` would leave them: what was written after the dump is gone."""
    for name, documents in saved.items():
        field = "_id" if name == "rooms" else "room_id"
        db[name].delete_many({field: room_id})
        db[name].insert_many(documents)
