"""Blueprints, one module per area, registered under /api by `register`."""
from __future__ import annotations

from flask import Flask

from utils.api import Api


def register(app: Flask, api: Api) -> None:
    from routes import auth, docs, health

    api.register_blueprint(health.blp)
    api.register_blueprint(auth.blp, url_prefix="/api/auth")
    app.register_blueprint(docs.bp)
