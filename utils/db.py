"""The MongoDB connection: one MongoClient per process, created on first use and never
shared across a fork (pymongo's own advice). `timeoutMS` bounds every operation, so a dead
database becomes a 503 within about two seconds instead of a hang. The indexes the models
need are created by models.indexes.
"""
from __future__ import annotations

from flask import Flask, current_app
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
