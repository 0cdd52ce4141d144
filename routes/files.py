"""Avatars, served from the storage backend (attachments: routes/uploads.py)."""
from __future__ import annotations

from services.platform import file_storage
from utils.api import Blueprint

blp = Blueprint("files", __name__, description="Uploaded files")


@blp.route("/<string:folder>/<string:name>")
@blp.response(200, content_type="image/png", description="The stored image.")
def get_file(folder, name):
    """An avatar; always PNG, never sniffed as anything else (S3: a redirect)."""
    return file_storage.avatar_download(folder, name)
