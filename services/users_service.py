"""Profiles, search, friends and blocks.

`serialize_public_user` is what anyone may see of a user (never the email);
`serialize_private_user` is the owner's view. Other areas render authors with the public
one, so a deleted account shows as "deleted user" wherever its posts remain.
"""
from __future__ import annotations

from typing import Any

from models.base import id_str, isoformat

DELETED_NAME = "deleted user"


def avatar_url(user: dict[str, Any]) -> str | None:
    from services import file_storage

    key = user.get("avatar_key")
    return file_storage.get_storage().url_for(key) if key else None


def serialize_public_user(user: dict[str, Any]) -> dict[str, Any]:
    if user.get("deleted"):
        return {"id": id_str(user["_id"]), "username": DELETED_NAME,
                "display_name": DELETED_NAME, "bio": "", "avatar_url": None,
                "created_at": isoformat(user["created_at"]), "deleted": True}
    return {
        "id": id_str(user["_id"]),
        "username": user["username"],
        "display_name": user.get("display_name"),
        "bio": user.get("bio") or "",
        "avatar_url": avatar_url(user),
        "created_at": isoformat(user["created_at"]),
        "deleted": False,
    }


def serialize_private_user(user: dict[str, Any]) -> dict[str, Any]:
    return {
        **serialize_public_user(user),
        "email": user["email"],
        "email_verified": user["email_verified"],
        "role": user["role"],
        "settings": user["settings"],
        "totp_enabled": user["totp_enabled"],
    }
