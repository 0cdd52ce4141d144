"""Pending invitations into group conversations: one per (room, invitee). Accepting or
declining uses the invitation up (it is deleted), like topic invitations."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from models.base import BaseModel, utcnow
from utils.pagination import paginate


class RoomInvitation(BaseModel):
    collection_name = "room_invitations"
    indexes = [
        IndexModel([("room_id", ASCENDING), ("invitee_id", ASCENDING)], unique=True,
                   name="room_invitee_unique"),
        IndexModel([("invitee_id", ASCENDING), ("_id", DESCENDING)], name="invitee_pending"),
        IndexModel([("inviter_id", ASCENDING)], name="inviter"),  # account deletion
    ]

    def put(self, room_id: ObjectId, invitee_id: ObjectId, inviter_id: ObjectId
            ) -> tuple[dict[str, Any], bool]:
        """(invitation, created): inviting twice keeps the first invitation."""
        before = self.collection.find_one_and_update(
            {"room_id": room_id, "invitee_id": invitee_id},
            {"$setOnInsert": {"inviter_id": inviter_id, "created_at": utcnow()}},
            upsert=True, return_document=ReturnDocument.BEFORE)
        found = self.collection.find_one({"room_id": room_id, "invitee_id": invitee_id})
        return found, before is None

    def page_of_invitee(self, invitee_id: ObjectId, limit: int, cursor: str | None
                        ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the invitations pending for `invitee_id`, newest first."""
        return paginate(self.collection, {"invitee_id": invitee_id}, [("_id", DESCENDING)],
                        limit, cursor)

    def take(self, invitation_id: ObjectId, invitee_id: ObjectId) -> dict[str, Any] | None:
        return self.collection.find_one_and_delete({"_id": invitation_id,
                                                    "invitee_id": invitee_id})

    def drop_room_user(self, room_id: ObjectId, invitee_id: ObjectId) -> None:
        self.collection.delete_one({"room_id": room_id, "invitee_id": invitee_id})

    def delete_all_of(self, user_id: ObjectId) -> None:
        self.collection.delete_many({"$or": [{"invitee_id": user_id}, {"inviter_id": user_id}]})
