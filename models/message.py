"""Chat messages. `(room_id, seq)` is unique, so a seq is claimed by the insert itself:
a failed insert claims nothing and leaves no gap (and a message the room does not move
onto is taken back: services/chat/chat_seq.py). `(room_id, author_id, client_id)` is
unique, so a retried send finds the stored message instead of creating a second one."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from models.base import BaseModel, utcnow
from utils.text import search_terms


class Message(BaseModel):
    collection_name = "messages"
    indexes = [
        IndexModel([("room_id", ASCENDING), ("seq", ASCENDING)], unique=True,
                   name="room_seq_unique"),
        IndexModel([("room_id", ASCENDING), ("author_id", ASCENDING), ("client_id", ASCENDING)],
                   unique=True, name="room_author_client_unique"),
        IndexModel([("room_id", ASCENDING), ("author_id", ASCENDING), ("seq", ASCENDING)],
                   name="room_author_seq"),
        # Message search (services.discovery.search_service), the same term index posts have.
        IndexModel([("search_terms", ASCENDING)], name="search_terms"),
    ]

    def new_document(self, room_id: ObjectId, seq: int, author_id: ObjectId, body: str,
                     client_id: str, reply_to: ObjectId | None,
                     system: dict[str, Any] | None = None,
                     attachments: list[dict[str, Any]] | None = None,
                     message_id: ObjectId | None = None) -> dict[str, Any]:
        document = {"room_id": room_id, "seq": seq, "author_id": author_id, "body": body,
                    "client_id": client_id, "reply_to": reply_to, "reactions": {},
                    "created_at": utcnow(), "edited_at": None, "deleted": False,
                    "search_terms": search_terms(body)}
        if message_id is not None:
            document["_id"] = message_id
        if attachments:
            document["attachments"] = attachments
        if system is not None:
            document["system"] = system  # written by the server (a call started or ended)
        return document

    def find_by_client_id(self, room_id: ObjectId, author_id: ObjectId,
                          client_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"room_id": room_id, "author_id": author_id,
                                         "client_id": client_id})

    def above(self, room_id: ObjectId, seq: int, limit: int) -> list[dict[str, Any]]:
        """The room's messages above `seq`, lowest first."""
        return list(self.collection.find({"room_id": room_id, "seq": {"$gt": seq}})
                    .sort("seq", ASCENDING).limit(limit))

    def adopt(self, room_id: ObjectId, low: int, high: int) -> int:
        """Mark the messages with low < seq <= high as kept whatever their senders
        decide (take_back refuses them); how many there were."""
        return self.collection.update_many(
            {"room_id": room_id, "seq": {"$gt": low, "$lte": high}},
            {"$set": {"adopted": True}}).matched_count

    def take_back(self, message_id: ObjectId) -> bool:
        """Delete a just-inserted message whose seq the room did not move onto; False
        when it was adopted meanwhile (the room is being moved over it: it stays)."""
        return self.collection.delete_one(
            {"_id": message_id, "adopted": {"$ne": True}}).deleted_count == 1

    def page_after(self, room_id: ObjectId, after_seq: int, limit: int) -> list[dict[str, Any]]:
        return list(self.collection.find({"room_id": room_id, "seq": {"$gt": after_seq}})
                    .sort("seq", ASCENDING).limit(limit))

    def page_before(self, room_id: ObjectId, before_seq: int,
                    limit: int) -> list[dict[str, Any]]:
        found = list(self.collection.find({"room_id": room_id, "seq": {"$lt": before_seq}})
                     .sort("seq", DESCENDING).limit(limit))
        return found[::-1]

    def count_by_author_between(self, room_id: ObjectId, author_id: ObjectId, low: int,
                                high: int) -> int:
        """Messages of `author_id` with low < seq <= high."""
        return self.collection.count_documents(
            {"room_id": room_id, "author_id": author_id, "seq": {"$gt": low, "$lte": high}})

    def update(self, message_id: ObjectId, operations: dict[str, Any]) -> dict[str, Any] | None:
        return self.collection.find_one_and_update({"_id": message_id}, operations,
                                                   return_document=ReturnDocument.AFTER)

    def edit(self, message_id: ObjectId, body: str) -> dict[str, Any] | None:
        return self.update(message_id, {"$set": {"body": body, "edited_at": utcnow(),
                                                 "search_terms": search_terms(body)}})

    def soft_delete(self, message_id: ObjectId) -> dict[str, Any] | None:
        """The body goes, the seq stays (history keeps no gap)."""
        return self.collection.find_one_and_update(
            {"_id": message_id, "deleted": False},
            {"$set": {"deleted": True, "body": "", "reactions": {}, "previews": [],
                      "attachments": [], "deleted_at": utcnow(), "search_terms": []}},
            return_document=ReturnDocument.AFTER)
