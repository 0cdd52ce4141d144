"""Passkeys (WebAuthn credentials) and the single-use challenges of their ceremonies."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel, ReturnDocument

from models.base import BaseModel, utcnow

# A user's passkeys are few; this only bounds what one request reads.
LIST_LIMIT = 100


class Passkey(BaseModel):
    collection_name = "passkeys"
    conflict_message = "This passkey is already registered."
    indexes = [
        IndexModel([("credential_id", ASCENDING)], unique=True, name="credential_id_unique"),
        IndexModel([("user_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
                   name="user_created_id"),
    ]

    def create(self, user_id: ObjectId, credential_id: bytes, public_key: bytes,
               sign_count: int, name: str, transports: list[str]) -> dict[str, Any]:
        return self.insert({"user_id": user_id, "credential_id": credential_id,
                            "public_key": public_key, "sign_count": sign_count, "name": name,
                            "transports": transports, "created_at": utcnow(),
                            "last_used_at": None})

    def find_by_credential(self, credential_id: bytes) -> dict[str, Any] | None:
        return self.collection.find_one({"credential_id": credential_id})

    def list_for_user(self, user_id: ObjectId) -> list[dict[str, Any]]:
        return list(self.collection.find({"user_id": user_id})
                    .sort([("created_at", ASCENDING), ("_id", ASCENDING)]).limit(LIST_LIMIT))

    def count_for_user(self, user_id: ObjectId) -> int:
        return self.collection.count_documents({"user_id": user_id}, limit=1)

    def rename(self, user_id: ObjectId, passkey_id: ObjectId, name: str
               ) -> dict[str, Any] | None:
        return self.collection.find_one_and_update(
            {"_id": passkey_id, "user_id": user_id}, {"$set": {"name": name}},
            return_document=ReturnDocument.AFTER)

    def delete_one_of(self, user_id: ObjectId, passkey_id: ObjectId) -> dict[str, Any] | None:
        return self.collection.find_one_and_delete({"_id": passkey_id, "user_id": user_id})

    def delete_for_user(self, user_id: ObjectId) -> int:
        return self.collection.delete_many({"user_id": user_id}).deleted_count

    def record_use(self, passkey_id: ObjectId, old_count: int, new_count: int) -> bool:
        """Store the new signature counter, only if no other login moved it meanwhile."""
        return self.collection.update_one(
            {"_id": passkey_id, "sign_count": old_count},
            {"$set": {"sign_count": new_count, "last_used_at": utcnow()}}).modified_count == 1


class WebAuthnChallenge(BaseModel):
    """A ceremony's challenge, stored server-side: taken (deleted) by the one verification
    that uses it, refused once expired."""

    collection_name = "webauthn_challenges"
    indexes = [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0,
                          name="expires_at_ttl")]

    def create(self, challenge: bytes, purpose: str, user_id: ObjectId | None,
               expires_at: datetime) -> dict[str, Any]:
        return self.insert({"challenge": challenge, "purpose": purpose, "user_id": user_id,
                            "expires_at": expires_at})

    def take(self, challenge_id: ObjectId, purposes: tuple[str, ...], now: datetime
             ) -> dict[str, Any] | None:
        found = self.collection.find_one_and_delete({"_id": challenge_id,
                                                     "purpose": {"$in": list(purposes)}})
        return found if found is not None and found["expires_at"] > now else None
