"""Every registered model's indexes, created before anything is served from the database:
once per process on the first request or socket connection (a step of the request hooks), by the
readiness probe, and by hand with `flask init-db`. The app factory registers the models
(`init_app(app, models.registry.ALL_MODELS)`).
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable

import click
from flask import Flask, current_app, request
from flask.cli import with_appcontext
from pymongo.errors import OperationFailure

from models.base import BaseModel
from utils.db import get_db
from utils.errors import ServiceUnavailable

log = logging.getLogger(__name__)

EXTENSION = "roundtable_models"

# Endpoints that must answer without the database: liveness, readiness (which reports the
# index state itself) and the API documentation.
INDEX_FREE_BLUEPRINTS = frozenset({"health", "api-docs"})

# (pid, uri, database) whose indexes this process has made sure of. A fact about the
# database remembered per process, so the check costs a set lookup after the first time;
# keyed by pid so a forked worker checks for itself.
_indexed: set[tuple[int, str, str]] = set()
_indexing_lock = threading.Lock()


def init_indexes(app: Flask | None = None) -> list[str]:
    """Create every model's indexes; safe to run any number of times."""
    app = app or current_app
    db = get_db(app)
    created: list[str] = []
    for model in registered_models(app):
        created.extend(f"{model.collection_name}.{name}" for name in model.ensure_indexes(db))
    _indexed.add(_index_key(app))
    return created


def registered_models(app: Flask | None = None) -> tuple[type[BaseModel], ...]:
    """The model classes `init_app` registered on the app."""
    return (app or current_app).extensions[EXTENSION]


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


def ensure_indexes_before_request() -> None:
    """A before step of the request hooks (app.py `_init_request_hooks`)."""
    if request.endpoint is None or request.blueprint in INDEX_FREE_BLUEPRINTS:
        return
    ensure_indexes()


def superseded_indexes(app: Flask | None = None) -> list[tuple[str, str]]:
    """(collection, index name) of the indexes on the models' collections that no model
    declares: left behind when an index was replaced under a new name (creating the new
    one never removes the old, which still costs every write and may still refuse one)."""
    app = app or current_app
    declared: dict[str, set[str]] = {}
    for model in registered_models(app):
        names = declared.setdefault(model.collection_name, {"_id_"})
        names.update(index.document["name"] for index in model.indexes)
    db = get_db(app)
    return sorted((collection, name) for collection, names in declared.items()
                  for name in db[collection].index_information() if name not in names)


@click.command("init-db")
@click.option("--drop-superseded", is_flag=True,
              help="Also drop the indexes no model declares any more (listed without it).")
@with_appcontext
def init_db_command(drop_superseded: bool) -> None:
    """Create all MongoDB indexes (idempotent); list, or drop, the superseded ones."""
    names = init_indexes()
    click.echo(f"Indexes ready: {len(names)}")
    for name in names:
        click.echo(f"  {name}")
    leftover = superseded_indexes()
    if not leftover:
        return
    if drop_superseded:
        for collection, name in leftover:
            get_db()[collection].drop_index(name)
    click.echo(f"{'Dropped' if drop_superseded else 'Superseded'} (no model declares them): "
               f"{len(leftover)}")
    for collection, name in leftover:
        click.echo(f"  {collection}.{name}")
    if not drop_superseded:
        click.echo("Drop them with `flask init-db --drop-superseded` once every process "
                   "runs this release.")


def init_app(app: Flask, models: Iterable[type[BaseModel]]) -> None:
    app.extensions[EXTENSION] = tuple(models)
    app.cli.add_command(init_db_command)
