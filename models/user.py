"""Users. Usernames and emails are unique without regard to case through lowercased
copies (`username_lower`, `email_lower`) under unique indexes."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel, ReturnDocument

from models.base import BaseModel, utcnow
from utils import identity, user_versions
from utils.pagination import paginate

ROLES = ("user", "moderator", "admin")
BY_USERNAME = [("username_lower", ASCENDING), ("_id", ASCENDING)]
MESSAGE_POLICIES = ("everyone", "friends", "nobody")


def default_settings() -> dict[str, Any]:
    return {
        "notifications": {"email": True, "mentions": True, "replies": True,
                          "direct_messages": True, "friend_requests": True},
        "allow_messages_from": "everyone",
    }


class User(BaseModel):
    collection_name = "users"
    conflict_message = "This username or email is already registered."
    indexes = [
        IndexModel([("username_lower", ASCENDING)], unique=True, name="username_lower_unique"),
        IndexModel([("email_lower", ASCENDING)], unique=True, name="email_lower_unique"),
        IndexModel([("display_name_lower", ASCENDING)], name="display_name_lower"),
        # The admin user list (staff_page) in username order, and by role (count_admins).
        IndexModel([("deleted", ASCENDING), *BY_USERNAME], name="live_by_name"),
        IndexModel([("role", ASCENDING), *BY_USERNAME], name="role_by_name"),
        # The hourly digest job reads only the users who chose a digest.
        IndexModel([("settings.notifications.digest", ASCENDING)], name="digest"),
    ]

    def create(self, username: str, email: str, password_hash: str, role: str = "user",
               email_verified: bool = False) -> dict[str, Any]:
        return self.insert(self.new_document(username, email, password_hash, role,
                                             email_verified))

    @staticmethod
    def new_document(username: str, email: str, password_hash: str | None,
                     role: str = "user", email_verified: bool = False) -> dict[str, Any]:
        """A new user as `create` would store it (without `_id`)."""
        now = utcnow()
        return {
            "username": username,
            "username_lower": username.lower(),
            "email": email,
            "email_lower": identity.email_key(email),
            "password_hash": password_hash,
            "email_verified": email_verified,
            "role": role,
            "display_name": None,
            "display_name_lower": None,
            "bio": "",
            "avatar_key": None,
            "settings": default_settings(),
            # Bumped to end sessions and tokens: a session holding an older epoch is dead.
            "session_epoch": 0,
            "totp_enabled": False,
            "totp_secret": None,
            "totp_pending_secret": None,
            "totp_last_step": 0,
            # When 2FA was turned on, and a nonce naming that enrolment (the link in a
            # reset mail that may remove a recent enrolment is bound to it).
            "totp_enabled_at": None,
            "totp_enrolment": None,
            "recovery_code_hashes": [],
            "email_2fa_enabled": False,
            "verify_nonce": None,
            "reset_nonce": None,
            "deleted": False,
            "created_at": now,
            "updated_at": now,
        }

    def find_by_login(self, login: str) -> dict[str, Any] | None:
        """By username or email, case-insensitively and in the one spelling of
        utils.identity; deleted accounts are never found."""
        login = identity.normalize_login(login)
        field = "email_lower" if "@" in login else "username_lower"
        return self.collection.find_one({field: login.lower(), "deleted": False})

    def find_by_username(self, username: str) -> dict[str, Any] | None:
        return self.collection.find_one({"username_lower": username.lower(), "deleted": False})

    def find_by_usernames(self, usernames: list[str]) -> list[dict[str, Any]]:
        lowered = [name.lower() for name in usernames]
        return list(self.collection.find({"username_lower": {"$in": lowered},
                                          "deleted": False}))

    def find_active(self, user_id: Any) -> dict[str, Any] | None:
        user = self.find_by_id(user_id)
        return None if user is None or user.get("deleted") else user

    # Lists and counts (services/accounts/users_service.py, services/admin/)

    def search_page(self, text: str, excluded_ids: list[ObjectId] | None, limit: int,
                    cursor: str | None, projection: dict[str, Any] | None = None
                    ) -> tuple[list[dict[str, Any]], str | None]:
        """Live users whose username or display name starts with `text` (any case), but
        none of `excluded_ids`, by username."""
        prefix = {"$regex": "^" + re.escape(text.strip().lower())}
        conditions: dict[str, Any] = {"deleted": False,
                                      "$or": [{"username_lower": prefix},
                                              {"display_name_lower": prefix}]}
        if excluded_ids is not None:
            conditions["_id"] = {"$nin": excluded_ids}
        return paginate(self.collection, conditions, BY_USERNAME, limit, cursor, projection)

    def staff_page(self, text: str | None, role: str | None, conditions: list[dict[str, Any]],
                   limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """The admin user list, by username: live users whose username, email or display
        name starts with `text`, holding `role`, matching every one of `conditions`."""
        query: dict[str, Any] = {"deleted": False}
        clauses = []
        if text:
            prefix = "^" + re.escape(text.strip().lower())
            clauses.append({"$or": [{"username_lower": {"$regex": prefix}},
                                    {"email_lower": {"$regex": prefix}},
                                    {"display_name_lower": {"$regex": prefix}}]})
        if role:
            query["role"] = role
        clauses += conditions
        if clauses:
            query["$and"] = clauses
        return paginate(self.collection, query, BY_USERNAME, limit, cursor)

    def count_admins(self, condition: dict[str, Any]) -> int:
        """Live admins matching `condition`."""
        return self.collection.count_documents({"role": "admin", "deleted": False,
                                                **condition})

    def count_live(self, created_since: dict[str, datetime]) -> dict[str, int]:
        """{"total": live users, name: how many of them were created since each time}."""
        rows = list(self.collection.aggregate([
            {"$match": {"deleted": False}},
            {"$group": {"_id": None, "total": {"$sum": 1},
                        **{name: {"$sum": {"$cond": [{"$gte": ["$created_at", since]}, 1, 0]}}
                           for name, since in created_since.items()}}}]))
        row = rows[0] if rows else {}
        return {key: int(row.get(key, 0)) for key in ("total", *created_since)}

    def digest_subscribers(self, digests: list[str]) -> Iterator[dict[str, Any]]:
        """Live users with a verified email who chose one of the `digests` periods."""
        return self.collection.find({"settings.notifications.digest": {"$in": digests},
                                     "deleted": False, "email_verified": True})

    def update(self, user_id: ObjectId, changes: dict[str, Any],
               unset: list[str] | None = None) -> dict[str, Any] | None:
        operations: dict[str, Any] = {"$set": {**changes, "updated_at": utcnow()}}
        if unset:
            operations["$unset"] = {field: "" for field in unset}
        return self._changed(self.collection.find_one_and_update(
            {"_id": user_id}, operations, return_document=ReturnDocument.AFTER))

    def update_if(self, user_id: ObjectId, condition: dict[str, Any],
                  operations: dict[str, Any]) -> dict[str, Any] | None:
        """Apply `operations` only while `condition` holds (single-use tokens and codes)."""
        operations.setdefault("$set", {})["updated_at"] = utcnow()
        return self._changed(self.collection.find_one_and_update(
            {"_id": user_id, **condition}, operations, return_document=ReturnDocument.AFTER))

    def bump_session_epoch(self, user_id: ObjectId) -> dict[str, Any] | None:
        return self._changed(self.collection.find_one_and_update(
            {"_id": user_id}, {"$inc": {"session_epoch": 1}, "$set": {"updated_at": utcnow()}},
            return_document=ReturnDocument.AFTER))

    @staticmethod
    def _changed(updated: dict[str, Any] | None) -> dict[str, Any] | None:
        # Every write to a user ends here, so copies of the user (a live socket's) learn
        # that they are stale; see utils.user_versions.
        if updated is not None:
            user_versions.changed(updated["_id"])
        return updated
