"""Sanctions stored on a room document, read wherever the room already is (no extra
query on the send path): `bans` and `mutes`, each a list of
`{user_id, expires_at, reason, by, at}`. An entry is in force while `expires_at` is None
or in the future; an expired entry is ignored and dropped by the next change of that list.
"""
from __future__ import annotations

from typing import Any

from bson import ObjectId

from models.base import isoformat
from utils import clock
from utils.errors import Forbidden, Muted


def sanction_of(room: dict[str, Any], kind: str, user_id: ObjectId) -> dict[str, Any] | None:
    now = clock.now()
    for entry in room.get(kind) or []:
        if entry["user_id"] == user_id and (entry["expires_at"] is None
                                            or entry["expires_at"] > now):
            return entry
    return None


def require_not_room_muted(user: dict[str, Any], room: dict[str, Any]) -> None:
    mute = sanction_of(room, "mutes", user["_id"])
    if mute is not None:
        raise Muted("You are muted in this room.",
                    {"room_id": str(room["_id"]), "expires_at": isoformat(mute["expires_at"])})


def require_not_room_banned(user: dict[str, Any], room: dict[str, Any]) -> None:
    ban = sanction_of(room, "bans", user["_id"])
    if ban is not None:
        raise Forbidden("You are banned from this room.",
                        {"room_id": str(room["_id"]), "expires_at": isoformat(ban["expires_at"])})
