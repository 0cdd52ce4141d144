"""Friend requests and friendships, one document per pair of users: `pending` while
requested, `accepted` once friends. The sorted pair key makes "one per pair" a unique
index instead of a race."""
from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

from models.base import BaseModel, utcnow
from utils.pagination import paginate

PENDING, ACCEPTED = "pending", "accepted"


def pair_key(a: ObjectId, b: ObjectId) -> str:
    low, high = sorted((str(a), str(b)))
    return f"{low}:{high}"


class Friendship(BaseModel):
    collection_name = "friendships"
    conflict_message = "A friend request or friendship already exists."
    indexes = [
        IndexModel([("pair", ASCENDING)], unique=True, name="pair_unique"),
        IndexModel([("addressee_id", ASCENDING), ("status", ASCENDING), ("_id", DESCENDING)],
                   name="incoming"),
        IndexModel([("requester_id", ASCENDING), ("status", ASCENDING), ("_id", DESCENDING)],
                   name="outgoing"),
    ]

    def create_request(self, requester_id: ObjectId, addressee_id: ObjectId) -> dict[str, Any]:
        return self.insert({"pair": pair_key(requester_id, addressee_id),
                            "requester_id": requester_id, "addressee_id": addressee_id,
                            "status": PENDING, "created_at": utcnow(), "accepted_at": None})

    def pending_page(self, user_id: ObjectId, direction: str | None, limit: int,
                     cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Pending requests to the user (`incoming`), from them (`outgoing`) or both
        (any other direction), the latest first."""
        sides = {"incoming": [{"addressee_id": user_id}], "outgoing": [{"requester_id": user_id}]}
        branches = sides.get(direction or "", sides["incoming"] + sides["outgoing"])
        return paginate(self.collection, {"status": PENDING, "$or": branches},
                        [("_id", DESCENDING)], limit, cursor)

    def friends_page(self, user_id: ObjectId, limit: int, cursor: str | None
                     ) -> tuple[list[dict[str, Any]], str | None]:
        """The user's friendships, the latest first."""
        query = {"status": ACCEPTED,
                 "$or": [{"requester_id": user_id}, {"addressee_id": user_id}]}
        return paginate(self.collection, query, [("_id", DESCENDING)], limit, cursor)

    def find_pair(self, a: ObjectId, b: ObjectId) -> dict[str, Any] | None:
        return self.collection.find_one({"pair": pair_key(a, b)})

    def friend_ids_of(self, user_id: ObjectId) -> set[ObjectId]:
        """The users `user_id` is friends with (an accepted request either way)."""
        people: set[ObjectId] = set()
        for pair in self.collection.find(
                {"status": ACCEPTED, "$or": [{"requester_id": user_id},
                                             {"addressee_id": user_id}]},
                {"requester_id": 1, "addressee_id": 1}):
            people.update((pair["requester_id"], pair["addressee_id"]))
        people.discard(user_id)
        return people

    def accept(self, request_id: ObjectId, addressee_id: ObjectId) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            {"_id": request_id, "addressee_id": addressee_id, "status": PENDING},
            {"$set": {"status": ACCEPTED, "accepted_at": utcnow()}},
            return_document=ReturnDocument.AFTER)

    def delete_pending_to(self, request_id: ObjectId, addressee_id: ObjectId) -> bool:
        result = self.collection.delete_one(
            {"_id": request_id, "addressee_id": addressee_id, "status": PENDING})
        return result.deleted_count == 1

    def delete_pair(self, a: ObjectId, b: ObjectId, status: str | None = None) -> bool:
        query: dict[str, Any] = {"pair": pair_key(a, b)}
        if status:
            query["status"] = status
        return self.collection.delete_one(query).deleted_count == 1

    def delete_all_of(self, user_id: ObjectId) -> None:
        self.collection.delete_many({"$or": [{"requester_id": user_id},
                                             {"addressee_id": user_id}]})
