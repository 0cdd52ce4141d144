"""Bearer tokens for non-browser clients. Only a SHA-256 of the token is stored: the
token is 256 random bits, so a fast hash is enough and a leaked table reveals nothing."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel

from models.base import BaseModel, utcnow
from utils import user_versions


class AuthToken(BaseModel):
    collection_name = "auth_tokens"
    indexes = [
        IndexModel([("token_hash", ASCENDING)], unique=True, name="token_hash_unique"),
        IndexModel([("user_id", ASCENDING)], name="user_id"),
        # Expired tokens are also refused on read; the TTL index only tidies up.
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expires_at_ttl"),
    ]

    def create(self, user_id: ObjectId, token_hash: str, name: str,
               expires_at: datetime) -> dict[str, Any]:
        return self.insert({"user_id": user_id, "token_hash": token_hash, "name": name,
                            "created_at": utcnow(), "expires_at": expires_at})

    def find_valid_with_user(self, token_hash: str, now: datetime
                             ) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """(token, its user or None) for a live token, in one round trip: every bearer
        request asks this, so the user comes along through `$lookup` on users' `_id`
        index instead of a second query."""
        return self.find_one_with_user({"token_hash": token_hash, "expires_at": {"$gt": now}})

    # Processes keep a token with its user under the user's version stamp
    # (services.accounts.auth_login.user_for_token): deleting tokens replaces the stamp.

    def delete(self, token_id: ObjectId) -> None:
        deleted = self.collection.find_one_and_delete({"_id": token_id}, {"user_id": 1})
        if deleted is not None:
            user_versions.changed(deleted["user_id"])

    def delete_for_user(self, user_id: ObjectId, keep: ObjectId | None = None) -> int:
        query: dict[str, Any] = {"user_id": user_id}
        if keep is not None:
            query["_id"] = {"$ne": keep}
        count = self.collection.delete_many(query).deleted_count
        user_versions.changed(user_id)
        return count

    def list_for_user(self, user_id: ObjectId, now: datetime, limit: int) -> list[dict[str, Any]]:
        return list(self.collection.find({"user_id": user_id, "expires_at": {"$gt": now}},
                                         {"token_hash": 0})
                    .sort([("created_at", -1), ("_id", -1)]).limit(limit))

    def delete_one_of(self, user_id: ObjectId, token_id: ObjectId) -> dict[str, Any] | None:
        """Delete the user's token `token_id`; None when the user has no such token."""
        deleted = self.collection.find_one_and_delete({"_id": token_id, "user_id": user_id})
        if deleted is not None:
            user_versions.changed(user_id)  # processes drop their copy of the token
        return deleted
