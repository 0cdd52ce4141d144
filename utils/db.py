"""The MongoDB connection: one MongoClient per process, created on first use and never
shared across a fork (pymongo's own advice). `timeoutMS` bounds every operation, so a dead
database becomes a 503 within about two seconds instead of a hang.
"""
from __future__ import annotations

import logging
import os
import threading

import click
from flask import Flask, current_app, request
from flask.cli import with_appcontext
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import OperationFailure

from utils.errors import ServiceUnavailable
from utils.process_clients import shared_client

log = logging.getLogger(__name__)

# Endpoints that must answer without the database: liveness, readiness (which reports the
# index state itself) and the API documentation.
INDEX_FREE_BLUEPRINTS = frozenset({"health", "api-docs"})

# (pid, uri, database) whose indexes this process has made sure of. A fact about the
# database remembered per process, so the check costs a set lookup after the first time;
# keyed by pid so a forked worker checks for itself.
_indexed: set[tuple[int, str, str]] = set()
_indexing_lock = threading.Lock()


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

    app = app or current_app
    db = get_db(app)
    created: list[str] = []
    for model in registry.all_models():
        created.extend(f"{model.collection_name}.{name}" for name in model.ensure_indexes(db))
    _indexed.add(_index_key(app))
    return created


def _index_key(app: Flask) -> tuple[int, str, str]:
    return os.getpid(), app.config["MONGO_URI"], app.config["MONGO_DB_NAME"]


def ensure_indexes(app: Flask | None = None) -> None:
    """Create the indexes once per process before anything is served from the database.

    The unique indexes carry guarantees (idempotent sends, gap-free seq, one account per
    name and address, one vote per user), so no way of starting the app (`flask run`,
    `python app.py`, gunicorn, a test client) may serve without them. Creating an index
    that exists is a no-op, so several processes starting at once is fine. A failure
    (database down, or duplicates that a unique index refuses) raises, so the request
    answers 503 and the next one tries again."""
    app = app or current_app
    key = _index_key(app)
    if key in _indexed:
        return
    with _indexing_lock:
        if key in _indexed:
            return
        try:
            names = init_indexes(app)
        except OperationFailure as exc:
            # Typically rows that break a unique index, written while it was missing.
            log.error("MongoDB indexes cannot be created; not serving: %s", exc)
            raise ServiceUnavailable("The database indexes cannot be created; see the log.",
                                     {"dependency": "mongo"}) from exc
        log.info("MongoDB indexes ready on %s (%d)", app.config["MONGO_DB_NAME"], len(names))


def _ensure_indexes_before_request() -> None:
    if request.endpoint is None or request.blueprint in INDEX_FREE_BLUEPRINTS:
        return
    ensure_indexes()


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
    app.before_request(_ensure_indexes_before_request)
