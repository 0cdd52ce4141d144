"""The MongoDB connection: one MongoClient per process, created on first use and never
shared across a fork (pymongo's own advice). `timeoutMS` bounds every operation, so a dead
database becomes a 503 within about two seconds instead of a hang.
"""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from pymongo import MongoClient
from pymongo.database import Database

from utils.process_clients import shared_client


def make_client(uri: str, timeout_ms: int) -> MongoClient:
    return MongoClient(
        uri,
        tz_aware=True,
        connect=False,
        timeoutMS=timeout_ms,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        appname="roundtable",
    )


def get_client(app: Flask | None = None) -> MongoClient:
    app = app or current_app
    uri, timeout_ms = app.config["MONGO_URI"], app.config["MONGO_TIMEOUT_MS"]
    return shared_client("mongo", (uri, timeout_ms), lambda: make_client(uri, timeout_ms))


def get_db(app: Flask | None = None) -> Database:
    app = app or current_app
    return get_client(app)[app.config["MONGO_DB_NAME"]]


def ping(app: Flask | None = None) -> None:
    """Raise a pymongo error when the database does not answer in time."""
    get_client(app).admin.command("ping")


def init_indexes(app: Flask | None = None) -> list[str]:
    """Create every model's indexes; safe to run any number of times."""
    from models import registry

    db = get_db(app)
    created: list[str] = []
    for model in registry.all_models():
        created.extend(f"{model.collection_name}.{name}" for name in model.ensure_indexes(db))
    return created


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create all MongoDB indexes (idempotent)."""
    names = init_indexes()
    click.echo(f"Indexes ready: {len(names)}")
    for name in names:
        click.echo(f"  {name}")


def init_app(app: Flask) -> None:
    app.cli.add_command(init_db_command)
