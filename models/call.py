"""Calls: one document per call, the whole state machine in MongoDB.

`live_room` (the room id) exists only while the call is ringing or active; its unique
sparse index allows at most one live call per room, also when two people start one at
the same moment (glare). Every transition is one conditional update, so when several
processes (or a sweep and a user) race, exactly one of them wins and announces it.

A participant is one device: `{user_id, party_id, sid, origin, joined_at, expires_at,
audio_muted, video_muted}`. `party_id` is unique in the call; `sid` is its socket, None
while it reconnects; `origin` the login (session or token) whose socket claimed it, the
only one that may take it back; `expires_at` is when it is dropped unless it sends a
heartbeat (or, while disconnected, rejoins).
Participants who left move to `history`.
`rung_ids`: the invitees whose push subscriptions a ringing push went to and who have
not been told yet that it stopped (services/calls/call_push.py).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from models.base import BaseModel
from utils.pagination import paginate

RINGING, ACTIVE = "ringing", "active"
LIVE_STATES = (RINGING, ACTIVE)
END_STATES = ("ended", "missed", "rejected", "cancelled")
KINDS = ("audio", "video")
CALL_SORT = [("created_at", DESCENDING), ("_id", DESCENDING)]
AFTER = ReturnDocument.AFTER


class Call(BaseModel):
    collection_name = "calls"
    conflict_message = "This room already has a call."
    indexes = [
        IndexModel([("live_room", ASCENDING)], unique=True, sparse=True, name="live_room_unique"),
        IndexModel([("people", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                   name="people_created"),
        IndexModel([("state", ASCENDING), ("ring_deadline", ASCENDING)], name="state_ring"),
        IndexModel([("state", ASCENDING), ("participants.expires_at", ASCENDING)],
                   name="state_participant_expiry"),
        IndexModel([("participants.sid", ASCENDING)], name="participant_sid"),
    ]

    def find_live(self, call_id: ObjectId) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": call_id, "state": {"$in": LIVE_STATES}})

    def find_live_in_room(self, room_id: ObjectId) -> dict[str, Any] | None:
        return self.collection.find_one({"live_room": room_id})

    def find_live_of_user(self, user_id: ObjectId) -> list[dict[str, Any]]:
        return list(self.collection.find({"state": {"$in": LIVE_STATES}, "people": user_id}))

    def room_ids_of_person(self, user_id: ObjectId) -> list[ObjectId]:
        """The rooms of the calls `user_id` started, was invited to or joined."""
        return self.collection.distinct("room_id", {"people": user_id})

    def page_of_person(self, user_id: ObjectId, room_ids: list[ObjectId], limit: int,
                       cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page, newest first, of the calls of `user_id` (started, invited to or
        joined) in the rooms `room_ids`."""
        return paginate(self.collection, {"people": user_id, "room_id": {"$in": room_ids}},
                        CALL_SORT, limit, cursor)

    def find_by_sid(self, sid: str) -> list[dict[str, Any]]:
        return list(self.collection.find({"participants.sid": sid,
                                          "state": {"$in": LIVE_STATES}}))

    def find_ring_expired(self, now: datetime) -> list[dict[str, Any]]:
        return list(self.collection.find({"state": RINGING, "ring_deadline": {"$lte": now}})
                    .limit(200))

    def find_participant_expired(self, now: datetime) -> list[dict[str, Any]]:
        return list(self.collection.find({"state": {"$in": LIVE_STATES},
                                          "participants.expires_at": {"$lte": now}})
                    .limit(200))

    def add_participant(self, call_id: ObjectId, participant: dict[str, Any], limit: int,
                        answered_at: datetime) -> dict[str, Any] | None:
        """Join a live call: refused (None) when this user already has a device in it
        (the first device to answer wins), its party_id is taken, or the call is full or
        over."""
        query = {"_id": call_id, "participants.user_id": {"$ne": participant["user_id"]},
                 "participants.party_id": {"$ne": participant["party_id"]},
                 "count": {"$lt": limit}}
        update = {"$push": {"participants": participant}, "$inc": {"count": 1},
                  "$addToSet": {"people": participant["user_id"]}}
        # The first answer makes the call active; later joins leave answered_at alone.
        first = self.collection.find_one_and_update(
            {**query, "state": RINGING},
            {**update, "$set": {"state": ACTIVE, "answered_at": answered_at}},
            return_document=AFTER)
        if first is not None:
            return first
        return self.collection.find_one_and_update({**query, "state": ACTIVE}, update,
                                                   return_document=AFTER)

    def update_party(self, call_id: ObjectId, match: dict[str, Any],
                     changes: dict[str, Any]) -> dict[str, Any] | None:
        """Change the live participant matching `match` (its party_id and user_id, and
        e.g. its socket); None when no participant matches any more."""
        # The query checks the whole match; the array filter names the element by what
        # never changes (party_id, unique in a call, and its user), so a change to a
        # matched field (the socket) does not hide the element from the other changes,
        # and no other user's element is ever written.
        return self.collection.find_one_and_update(
            {"_id": call_id, "state": {"$in": LIVE_STATES},
             "participants": {"$elemMatch": match}},
            {"$set": {f"participants.$[p].{k}": v for k, v in changes.items()}},
            array_filters=[{"p.party_id": match["party_id"], "p.user_id": match["user_id"]}],
            return_document=AFTER)

    def remove_party(self, call_id: ObjectId, match: dict[str, Any],
                     record: dict[str, Any]) -> dict[str, Any] | None:
        """Take the participant matching `match` out (into `history`); None when no
        participant matches any more (someone else removed it first)."""
        return self.collection.find_one_and_update(
            {"_id": call_id, "state": {"$in": LIVE_STATES},
             "participants": {"$elemMatch": match}},
            {"$pull": {"participants": match}, "$inc": {"count": -1},
             "$push": {"history": record}},
            return_document=AFTER)

    def add_rejection(self, call_id: ObjectId, user_id: ObjectId) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            {"_id": call_id, "state": {"$in": LIVE_STATES}, "invitee_ids": user_id,
             "rejected_ids": {"$ne": user_id}, "participants.user_id": {"$ne": user_id}},
            {"$push": {"rejected_ids": user_id}}, return_document=AFTER)

    def mark_rung(self, call_id: ObjectId, user_id: ObjectId, now: datetime) -> bool:
        """Note that `user_id` is rung by push, only while the invite still rings for them
        (not answered, declined, over or past its lifetime): False otherwise."""
        return self.collection.update_one(
            {"_id": call_id, "state": {"$in": LIVE_STATES}, "ring_deadline": {"$gt": now},
             "invitee_ids": user_id, "rejected_ids": {"$ne": user_id},
             "participants.user_id": {"$ne": user_id}},
            {"$addToSet": {"rung_ids": user_id}}).modified_count == 1

    def unmark_rung(self, call_id: ObjectId, user_id: ObjectId) -> bool:
        """Take `user_id` off the rung list; True if they were on it (one caller wins)."""
        return self.collection.update_one({"_id": call_id, "rung_ids": user_id},
                                          {"$pull": {"rung_ids": user_id}}).modified_count == 1

    def finish(self, call_id: ObjectId, state: str, reason: str, by: ObjectId | None,
               now: datetime, only_if: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Move a live call to its end state; None when it was already over (someone
        else ended it first) or no longer matches `only_if`."""
        return self.collection.find_one_and_update(
            {"_id": call_id, "state": {"$in": LIVE_STATES}, **(only_if or {})},
            {"$set": {"state": state, "end_reason": reason, "ended_by": by, "ended_at": now},
             "$unset": {"live_room": ""}},
            return_document=AFTER)
