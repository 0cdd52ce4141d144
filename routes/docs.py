"""Swagger UI's files, served from the swagger-ui-bundle package (no CDN: the machines
that run this are often offline), and the AsyncAPI document of the Socket.IO events
(the OpenAPI document is flask-smorest's, at /api/openapi.json)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from routes import asyncapi

bp = Blueprint("docs_assets", __name__)


@bp.route("/api/docs/assets/<path:filename>")
def swagger_asset(filename: str):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


@bp.route("/api/asyncapi.json")
def asyncapi_document():
    """The Socket.IO events as an AsyncAPI 3.0.0 document (routes/asyncapi.py)."""
    cached = current_app.extensions.get("roundtable_asyncapi")
    if cached is None:  # built once per app: the handlers and shapes do not change
        cached = asyncapi.build(current_app.config["API_TITLE"],
                                current_app.config["API_VERSION"])
        current_app.extensions["roundtable_asyncapi"] = cached
    return jsonify({**cached, "servers": asyncapi.servers(request.host)})
