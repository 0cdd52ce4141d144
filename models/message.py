"""Chat messages. `(room_id, seq)` is unique, so a seq is claimed by the insert itself:
a failed insert claims nothing and leaves no gap (and a message the room does not move
onto is taken back: services/chat/chat_seq.py). `(room_id, author_id, client_id)` is
unique, so a retried send finds the stored message instead of creating a second one."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from models.base import BaseModel, utcnow
from models.edit_version import Editable
from models.mixins import LinkPreviewed, Searchable
from utils.pagination import paginate
from utils.text import search_terms


class Message(Searchable, LinkPreviewed, Editable, BaseModel):
    collection_name = "messages"
    indexes = [
        IndexModel([("room_id", ASCENDING), ("seq", ASCENDING)], unique=True,
                   name="room_seq_unique"),
        IndexModel([("room_id", ASCENDING), ("author_id", ASCENDING), ("client_id", ASCENDING)],
                   unique=True, name="room_author_client_unique"),
        IndexModel([("room_id", ASCENDING), ("author_id", ASCENDING), ("seq", ASCENDING)],
                   name="room_author_seq"),
        # Message search (services.discovery.search_service), the same term index posts have.
        IndexModel([("search_terms", ASCENDING), ("_id", DESCENDING)], name="search_recent"),
        # A thread's replies in seq order (services/chat/chat_threads.py): replies live
        # in their root's room, so every thread query names the room (the shard key) too.
        # Partial: only replies carry thread_root_id, so other messages cost it nothing.
        IndexModel([("room_id", ASCENDING), ("thread_root_id", ASCENDING), ("seq", ASCENDING),
                    ("_id", ASCENDING)], name="room_thread_seq",
                   partialFilterExpression={"thread_root_id": {"$exists": True}}),
        # An author's messages across rooms: account export, erasure and staff counts.
        IndexModel([("author_id", ASCENDING), ("_id", ASCENDING)], name="author_id"),
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

    # Search (services/discovery/search_service.py)

    def search_in_rooms(self, room_ids: list[ObjectId], reader_id: ObjectId,
                        shunned: list[ObjectId], whole: list[str], prefix: str | None,
                        limit: int) -> list[dict[str, Any]]:
        """Search candidates among the live messages of `room_ids` the reader did not
        delete for themselves, written by no one in `shunned`."""
        scope = {"room_id": {"$in": room_ids}, "deleted": False,
                 "hidden_for": {"$ne": reader_id}, "author_id": {"$nin": shunned}}
        return self.search_candidates(scope, whole, prefix, limit)

    def without_search_terms(self, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` messages stored before message search (no `search_terms`)."""
        return list(self.collection.find({"search_terms": {"$exists": False}},
                                         {"body": 1, "deleted": 1}).limit(limit))

    def set_search_terms(self, message_id: ObjectId, terms: list[str]) -> None:
        self.collection.update_one({"_id": message_id}, {"$set": {"search_terms": terms}})

    # Account deletion (services/privacy/)

    def call_starts_by(self, author_id: ObjectId) -> list[dict[str, Any]]:
        """The live "<name> started a call" system messages of the author (system, room)."""
        return list(self.collection.find({"author_id": author_id, "system.type": "call",
                                          "system.event": "started", "deleted": False},
                                         {"system": 1, "room_id": 1}))

    def rewrite_body(self, message_id: ObjectId, body: str) -> None:
        """A new body and its search terms, without marking the message edited."""
        self.collection.update_one({"_id": message_id}, {"$set": {
            "body": body, "search_terms": search_terms(body)}})

    def erase_by_author(self, author_id: ObjectId, now: datetime) -> int:
        """Every live message of the author becomes a deleted one, and the words of all
        of them (deleted before too) leave storage and the search index; how many live
        ones were erased."""
        mine: dict[str, Any] = {"author_id": author_id}
        erased = self.collection.update_many(
            {**mine, "deleted": False},
            {"$set": {"body": "", "reactions": {}, "deleted": True, "deleted_at": now,
                      "search_terms": [], "previews": [], "attachments": []}})
        self.collection.update_many(mine, {"$set": {"body": "", "search_terms": [],
                                                    "attachments": []}})
        return erased.modified_count

    def insert_unless_taken(self, document: dict[str, Any]) -> bool:
        """Insert `document` at its seq; False when the room's seq or the author's
        `client_id` is taken already (the unique indexes refuse it)."""
        try:
            self.collection.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

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

    def undeleted_by_ids(self, ids: list[ObjectId]) -> dict[ObjectId, dict[str, Any]]:
        """{_id: message} of those of `ids` that exist and are not deleted."""
        return {m["_id"]: m for m in self.collection.find({"_id": {"$in": ids},
                                                           "deleted": False})}

    def page_after(self, room_id: ObjectId, after_seq: int, limit: int,
                   last_seq: int) -> list[dict[str, Any]]:
        """Up to `limit` messages above `after_seq`, lowest first. A room's seqs have no
        gaps up to its `last_seq` (a deleted message keeps its seq), so this is the seq
        range (after_seq, after_seq + limit]: an index range of `limit` keys whatever the
        room holds. Should the range miss a seq at or below `last_seq` (a message removed
        from storage), the sort over the room answers instead, as before."""
        high = after_seq + limit
        found = self._seq_range(room_id, after_seq + 1, high)
        if len(found) < min(high, last_seq) - after_seq:
            found = list(self.collection.find({"room_id": room_id, "seq": {"$gt": after_seq}})
                         .sort("seq", ASCENDING).limit(limit))
        return found

    def page_before(self, room_id: ObjectId, before_seq: int, limit: int,
                    last_seq: int) -> list[dict[str, Any]]:
        """Up to `limit` messages below `before_seq`, lowest first: the seq range
        [before_seq - limit, before_seq) when no seq in it is missing (see page_after),
        else the sort over the room. A `before_seq` past `last_seq + 1` sorts too (the
        newest messages may be ones the room has not moved onto yet)."""
        low = max(1, before_seq - limit)
        if before_seq <= last_seq + 1:
            found = self._seq_range(room_id, low, before_seq - 1)
            if len(found) >= before_seq - low:
                return found
        found = list(self.collection.find({"room_id": room_id, "seq": {"$lt": before_seq}})
                     .sort("seq", DESCENDING).limit(limit))
        return found[::-1]

    def _seq_range(self, room_id: ObjectId, low: int, high: int) -> list[dict[str, Any]]:
        """The room's messages with low <= seq <= high, lowest first."""
        if high < low:
            return []
        return list(self.collection.find({"room_id": room_id,
                                          "seq": {"$gte": low, "$lte": high}})
                    .sort("seq", ASCENDING))

    def count_by_author_between(self, room_id: ObjectId, author_id: ObjectId, low: int,
                                high: int) -> int:
        """Messages of `author_id` with low < seq <= high."""
        return self.collection.count_documents(
            {"room_id": room_id, "author_id": author_id, "seq": {"$gt": low, "$lte": high}})

    def count_not_unread_between(self, room_id: ObjectId, user_id: ObjectId, low: int,
                                 high: int) -> int:
        """Messages with low < seq <= high that never count as unread for `user_id`:
        their own, and thread-only replies of threads they did not follow when sent."""
        seqs = {"$gt": low, "$lte": high}
        return (self.count_by_author_between(room_id, user_id, low, high)
                + self.collection.count_documents(
                    {"room_id": room_id, "seq": seqs, "thread_quiet": True,
                     "author_id": {"$ne": user_id}, "thread_hearers": {"$ne": user_id}}))

    # Threads (services/chat/chat_threads.py)

    def thread_page(self, room_id: ObjectId, root_id: ObjectId, after_seq: int, limit: int,
                    cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """A thread's replies after `after_seq`, oldest first (`room_id`: the root's)."""
        return paginate(self.collection, {"room_id": room_id, "thread_root_id": root_id,
                                          "seq": {"$gt": after_seq}},
                        [("seq", ASCENDING), ("_id", ASCENDING)], limit, cursor)

    def count_thread_unread(self, room_id: ObjectId, root_id: ObjectId, user_id: ObjectId,
                            after_seq: int) -> int:
        return self.collection.count_documents(
            {"room_id": room_id, "thread_root_id": root_id, "seq": {"$gt": after_seq},
             "author_id": {"$ne": user_id}, "deleted": False})

    def note_thread_reply(self, root_id: ObjectId, at: datetime,
                          repliers: list[ObjectId]) -> dict[str, Any] | None:
        """The root after one more reply: its count, time and latest repliers."""
        return self.update(root_id, {"$inc": {"thread.reply_count": 1},
                                     "$set": {"thread.last_reply_at": at,
                                              "thread.last_repliers": repliers}})

    def note_thread_reply_gone(self, room_id: ObjectId, root_id: ObjectId, keep: int
                               ) -> dict[str, Any] | None:
        """The root after one of its replies was deleted: one fewer, and its latest time
        and `keep` latest distinct repliers taken again from the replies still there."""
        live = {"room_id": room_id, "thread_root_id": root_id, "deleted": False}
        latest = list(self.collection.find(live, {"author_id": 1, "created_at": 1})
                      .sort("seq", DESCENDING).limit(keep * 10))
        repliers: list[ObjectId] = []
        for reply in latest:  # newest first; the summary lists them oldest first
            if reply["author_id"] not in repliers and len(repliers) < keep:
                repliers.append(reply["author_id"])
        last_at = latest[0]["created_at"] if latest else None
        return self.collection.find_one_and_update(
            {"_id": root_id, "thread.reply_count": {"$gt": 0}},
            {"$inc": {"thread.reply_count": -1},
             "$set": {"thread.last_reply_at": last_at,
                      "thread.last_repliers": repliers[::-1]}},
            return_document=ReturnDocument.AFTER)

    def update(self, message_id: ObjectId, operations: dict[str, Any]) -> dict[str, Any] | None:
        return self.collection.find_one_and_update({"_id": message_id}, operations,
                                                   return_document=ReturnDocument.AFTER)

    def edit_body(self, message_id: ObjectId, body: str, now: datetime
                  ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(before, after) of the edit (`Editable.edit`); None if the message is deleted."""
        return self.edit(message_id, {"body": body, "edited_at": now,
                                      "search_terms": search_terms(body)})

    def soft_delete(self, message_id: ObjectId) -> dict[str, Any] | None:
        """The body goes, the seq stays (history keeps no gap)."""
        return self.collection.find_one_and_update(
            {"_id": message_id, "deleted": False},
            {"$set": {"deleted": True, "body": "", "reactions": {}, "previews": [],
                      "attachments": [], "deleted_at": utcnow(), "search_terms": []}},
            return_document=ReturnDocument.AFTER)
