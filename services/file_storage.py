"""Where uploaded files live. One backend today: a local directory (UPLOAD_DIR), served
by routes/files.py. Keys are generated here, never taken from a client, so a key can
never climb out of the directory."""
from __future__ import annotations

import re
import secrets
from pathlib import Path

from flask import Flask, current_app

KEY_PATTERN = re.compile(r"^[a-z]+/[A-Za-z0-9_-]{16,64}\.(png)$")


class LocalFileStorage:
    def __init__(self, root: str, url_prefix: str = "/api/files") -> None:
        self.root = Path(root)
        self.url_prefix = url_prefix

    def new_key(self, folder: str, extension: str) -> str:
        return f"{folder}/{secrets.token_urlsafe(24)}.{extension}"

    def save(self, key: str, data: bytes) -> str:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.tmp")
        partial.write_bytes(data)
        partial.rename(path)
        return key

    def delete(self, key: str | None) -> None:
        if key and KEY_PATTERN.match(key):
            self.path_for(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return bool(KEY_PATTERN.match(key)) and self.path_for(key).is_file()

    def path_for(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    def url_for(self, key: str) -> str:
        return f"{self.url_prefix}/{key}"


def get_storage() -> LocalFileStorage:
    return current_app.extensions["roundtable_storage"]


def init_app(app: Flask) -> None:
    app.extensions["roundtable_storage"] = LocalFileStorage(app.config["UPLOAD_DIR"])
