"""Deleting an account: personal data goes, the user document stays (so what the user
wrote keeps its place in others' threads), every session and socket ends."""
from __future__ import annotations

from typing import Any

from models.base import utcnow
from models.block import Block
from models.draft import Draft
from models.friendship import Friendship
from models.room_invitation import RoomInvitation
from models.saved_item import SavedItem
from models.thread_follow import ThreadFollow
from models.user import User, default_settings
from models.user_hide import UserHide
from services.accounts import auth_2fa, auth_login, passkeys
from services.chat import chat_scheduled
from services.notify import notify_prefs
from services.platform import file_storage
from services.privacy import account_erasure, data_export, name_copies

KEEP, REMOVE = "keep", "remove"


def delete_account(user: dict[str, Any], password: str, address: str,
                   content: str = KEEP) -> None:
    """Remove personal data but keep the document, so what the user wrote stays in its
    threads: attributed to "deleted user" (`content=keep`), or replaced by deleted
    markers with its words erased (`content=remove`). The username and email become
    free again. Wrong passwords are throttled like logins (per account and client
    `address`)."""
    auth_login.verify_password(user, password, address)
    if content == REMOVE:
        account_erasure.erase_content(user["_id"])
    placeholder = f"deleted_{user['_id']}"
    User().update(user["_id"], {
        "deleted": True, "deleted_at": utcnow(),
        "username": placeholder, "username_lower": placeholder,
        "email": f"{placeholder}@deleted.invalid", "email_lower": f"{placeholder}@deleted.invalid",
        "password_hash": None, "display_name": None, "display_name_lower": None, "bio": "",
        "avatar_key": None, "settings": default_settings(), "email_verified": False,
        **auth_2fa.ALL_OFF, "totp_pending_secret": None, "verify_nonce": None,
        "reset_nonce": None, "mail_nonces": None, "time_zone": None, "quiet_hours": None,
    })
    file_storage.get_storage().delete(user.get("avatar_key"))
    Friendship().delete_all_of(user["_id"])
    Block().delete_all_of(user["_id"])
    UserHide().delete_all_of(user["_id"])
    RoomInvitation().delete_all_of(user["_id"])
    SavedItem().delete_all_of(user["_id"])
    Draft().delete_all_of(user["_id"])
    chat_scheduled.forget_user(user["_id"])
    ThreadFollow().delete_of_user(user["_id"])
    notify_prefs.forget_user(user["_id"])
    data_export.forget_user(user["_id"])
    passkeys.forget_user(user["_id"])
    auth_login.end_all_sessions(user["_id"], reason="account_deleted")
    # Last: nothing the account still had in flight adds a copy of its name afterwards.
    name_copies.erase(user)
