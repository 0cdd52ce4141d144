"""Blueprints, one module per area, registered under /api by `register`."""
from __future__ import annotations

from flask import Flask

from utils.api import Api


def register(app: Flask, api: Api) -> None:
    from routes import docs, health

    api.register_blueprint(health.blp)
    app.register_blueprint(docs.bp)
