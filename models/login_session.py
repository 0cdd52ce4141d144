"""The index of browser sessions (Flask-Session keeps the sessions themselves, in Redis or
the development file store): one document per login, so a user can list theirs and end
any one. A session whose document is gone is dead (services.accounts.auth_sessions)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from models.base import BaseModel, utcnow
from utils import user_versions

# Bounds the list a user is shown; older sessions stay valid, they are only not listed.
LIST_LIMIT = 200


class LoginSession(BaseModel):
    collection_name = "login_sessions"
    indexes = [
        IndexModel([("login_id", ASCENDING)], unique=True, name="login_id_unique"),
        IndexModel([("user_id", ASCENDING), ("last_seen_at", DESCENDING), ("_id", DESCENDING)],
                   name="user_last_seen_id"),
        # Expired sessions are also refused on read; the TTL index only tidies up.
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expires_at_ttl"),
    ]

    def create(self, user_id: ObjectId, login_id: str, device: str, user_agent: str,
               address: str | None, expires_at: datetime) -> dict[str, Any]:
        now = utcnow()
        return self.insert({"user_id": user_id, "login_id": login_id, "device": device,
                            "user_agent": user_agent, "address": address, "created_at": now,
                            "last_seen_at": now, "expires_at": expires_at})

    def find_live_with_user(self, login_id: str, now: datetime
                            ) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """(session, its user or None) in one round trip, like AuthToken's lookup: every
        cookie request asks this."""
        return self.find_one_with_user({"login_id": login_id, "expires_at": {"$gt": now}})

    def touch(self, session_id: ObjectId, seen_before: datetime, now: datetime,
              address: str | None, expires_at: datetime) -> bool:
        """Move `last_seen_at` to `now` unless it is already after `seen_before` (one write
        a minute at most, whatever the racing requests)."""
        return self.collection.update_one(
            {"_id": session_id, "last_seen_at": {"$lt": seen_before}},
            {"$set": {"last_seen_at": now, "address": address, "expires_at": expires_at}},
        ).modified_count == 1

    def list_for_user(self, user_id: ObjectId, now: datetime) -> list[dict[str, Any]]:
        return list(self.collection.find({"user_id": user_id, "expires_at": {"$gt": now}})
                    .sort([("last_seen_at", DESCENDING), ("_id", DESCENDING)])
                    .limit(LIST_LIMIT))

    def delete_one_of(self, user_id: ObjectId, session_id: ObjectId) -> dict[str, Any] | None:
        """Delete the user's session `session_id`; the deleted document, or None when the
        user has no such session (someone else's answers the same)."""
        deleted = self.collection.find_one_and_delete({"_id": session_id, "user_id": user_id})
        if deleted is not None:
            user_versions.changed(user_id)  # processes drop their copy of the session
        return deleted

    def delete_by_login(self, login_id: str) -> None:
        deleted = self.collection.find_one_and_delete({"login_id": login_id}, {"user_id": 1})
        if deleted is not None:
            user_versions.changed(deleted["user_id"])

    def delete_for_user(self, user_id: ObjectId, keep_login: str | None = None
                        ) -> list[str]:
        """Delete every session of the user but `keep_login`; the login ids deleted."""
        query: dict[str, Any] = {"user_id": user_id}
        if keep_login is not None:
            query["login_id"] = {"$ne": keep_login}
        login_ids = [d["login_id"] for d in self.collection.find(query, {"login_id": 1})]
        if login_ids:
            self.collection.delete_many({"user_id": user_id, "login_id": {"$in": login_ids}})
            user_versions.changed(user_id)
        return login_ids
