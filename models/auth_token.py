"""Bearer tokens for non-browser clients. Only a SHA-256 of the token is stored: the
token is 256 random bits, so a fast hash is enough and a leaked table reveals nothing.

Three kinds share the collection. A login by an app (POST /api/auth/token) starts a
*family*: short-lived `access` tokens and rotating `refresh` tokens sharing `family_id`;
a refresh token used once is kept `retired_at` (so its reuse is recognised) until it
expires. Documents without `kind` are the long-lived tokens issued before; they live on
until they expire. A *credential* is what its owner lists and revokes: a family (by its
`family_id`) or a token of the old kind (by its `_id`); deleting one deletes all of it."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.base import BaseModel, utcnow
from utils import user_versions

ACCESS, REFRESH = "access", "refresh"


class AuthToken(BaseModel):
    collection_name = "auth_tokens"
    indexes = [
        IndexModel([("token_hash", ASCENDING)], unique=True, name="token_hash_unique"),
        IndexModel([("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                   name="user_created"),
        IndexModel([("family_id", ASCENDING)], name="family_id", sparse=True),
        # Expired tokens are also refused on read; the TTL index only tidies up.
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expires_at_ttl"),
    ]

    def create(self, user_id: ObjectId, token_hash: str, name: str,
               expires_at: datetime, **family: Any) -> dict[str, Any]:
        """A token; `family` holds `kind`, `family_id` and (refresh) `started_at`."""
        return self.insert({"user_id": user_id, "token_hash": token_hash, "name": name,
                            "created_at": utcnow(), "expires_at": expires_at, **family})

    def find_valid_with_user(self, token_hash: str, now: datetime
                             ) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """(token, its user or None) for a live token, in one round trip: every bearer
        request asks this, so the user comes along through `$lookup` on users' `_id`
        index instead of a second query."""
        return self.find_one_with_user({"token_hash": token_hash, "expires_at": {"$gt": now},
                                        "kind": {"$ne": REFRESH}})

    def retire_refresh(self, token_hash: str, now: datetime) -> dict[str, Any] | None:
        """Retire a live, unused refresh token; the token, or None when there is none.
        Matching and retiring in one update: of two racing refreshes, one wins."""
        return self.collection.find_one_and_update(
            {"token_hash": token_hash, "kind": REFRESH, "retired_at": None,
             "expires_at": {"$gt": now}}, {"$set": {"retired_at": now}})

    def find_refresh(self, token_hash: str) -> dict[str, Any] | None:
        """A refresh token, live, retired or expired (until the TTL index takes it)."""
        return self.collection.find_one({"token_hash": token_hash, "kind": REFRESH})

    def exists(self, token_id: ObjectId) -> bool:
        return self.collection.count_documents({"_id": token_id}, limit=1) > 0

    # Processes keep a token with its user under the user's version stamp
    # (services.accounts.auth_login.user_for_token): deleting tokens replaces the stamp.

    def delete_for_user(self, user_id: ObjectId, keep: ObjectId | None = None) -> int:
        """Delete every token of the user but those of the credential `keep`."""
        query: dict[str, Any] = {"user_id": user_id}
        if keep is not None:
            query.update({"_id": {"$ne": keep}, "family_id": {"$ne": keep}})
        count = self.collection.delete_many(query).deleted_count
        user_versions.changed(user_id)
        return count

    def list_for_user(self, user_id: ObjectId, now: datetime, limit: int) -> list[dict[str, Any]]:
        """The user's live credentials, newest first: tokens of the old kind, and each
        family's live refresh token (standing for the family; its access tokens come and go)."""
        return list(self.collection.find({"user_id": user_id, "expires_at": {"$gt": now},
                                          "kind": {"$ne": ACCESS}, "retired_at": None},
                                         {"token_hash": 0})
                    .sort([("created_at", -1), ("_id", -1)]).limit(limit))

    def delete_credential(self, user_id: ObjectId, credential_id: ObjectId) -> int:
        """Delete the user's token or token family `credential_id`; how many tokens went
        (0: the user has no such credential)."""
        count = self.collection.delete_many(
            {"user_id": user_id, "$or": [{"_id": credential_id},
                                         {"family_id": credential_id}]}).deleted_count
        if count:
            user_versions.changed(user_id)  # processes drop their copy of the tokens
        return count
