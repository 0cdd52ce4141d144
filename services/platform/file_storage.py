"""Stored files as the rest of the services see them: the configured backend
(utils/storage.py: local directory or S3) and the public URL of an avatar. Avatars and
attachments go through the same backend."""
from __future__ import annotations

from flask import Flask, Response

from utils import storage as backends
from utils.errors import NotFound

AVATAR_FOLDER = "avatars"


def get_storage() -> backends.Storage:
    return backends.get_storage()


def save_avatar(data: bytes) -> str:
    key = backends.new_key(AVATAR_FOLDER, "png")
    get_storage().save(key, data, "image/png")
    return key


def url_for(key: str) -> str:
    return f"/api/files/{key}"


def avatar_download(folder: str, name: str) -> Response:
    """An avatar (public, always a PNG made by services/platform/avatars.py)."""
    key = f"{folder}/{name}"
    if folder != AVATAR_FOLDER or not backends.KEY_PATTERN.match(key):
        raise NotFound("File not found.")
    storage = get_storage()
    if not storage.exists(key):
        raise NotFound("File not found.")
    response = storage.download(key, "image/png", name, inline=True, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def init_app(app: Flask) -> None:
    backends.init_app(app)
