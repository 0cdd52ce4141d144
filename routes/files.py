"""Uploaded files (avatars), served from the storage directory."""
from __future__ import annotations

from flask import send_file

from services import file_storage
from utils.api import Blueprint
from utils.errors import NotFound

blp = Blueprint("files", __name__, description="Uploaded files")


@blp.route("/<string:folder>/<string:name>")
@blp.response(200, content_type="image/png", description="The stored image.")
def get_file(folder, name):
    """An uploaded image; always PNG, never sniffed as anything else."""
    storage = file_storage.get_storage()
    key = f"{folder}/{name}"
    if not storage.exists(key):
        raise NotFound("File not found.")
    response = send_file(storage.path_for(key), mimetype="image/png", max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
