"""Swagger UI's files, served from the swagger-ui-bundle package (no CDN: the machines
that run this are often offline)."""
from __future__ import annotations

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs_assets", __name__)


@bp.route("/api/docs/assets/<path:filename>")
def swagger_asset(filename: str):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
