"""The MongoDB connection: one MongoClient per process, created on first use and never
shared across a fork (pymongo's own advice). `timeoutMS` bounds every operation, so a dead
database becomes a 503 within about two seconds instead of a hang. The indexes the models
need are created by models.indexes.
"""
from __future__ import annotations

from collections import Counter

from flask import Flask, current_app
from pymongo import MongoClient, monitoring
from pymongo.database import Database

from utils.process_clients import shared_client


class CommandCounter(monitoring.CommandListener):
    """Counts the commands this process sends to MongoDB, by command and collection (pymongo
    command monitoring). Attached only with MONGO_COUNT_COMMANDS (the benchmark, the
    command-budget tests): production pays nothing for it."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        # "find users", "insert messages", ...: the command and its collection.
        target = event.command.get(event.command_name)
        name = event.command_name
        self.counts[f"{name} {target}" if isinstance(target, str) else name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def total(self) -> int:
        return sum(self.counts.values())


COMMANDS = CommandCounter()


def make_client(uri: str, timeout_ms: int, count_commands: bool = False) -> MongoClient:
    return MongoClient(
        uri,
        tz_aware=True,
        connect=False,
        timeoutMS=timeout_ms,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        appname="roundtable",
        event_listeners=[COMMANDS] if count_commands else [],
    )


def get_client(app: Flask | None = None) -> MongoClient:
    app = app or current_app
    uri, timeout_ms = app.config["MONGO_URI"], app.config["MONGO_TIMEOUT_MS"]
    counting = bool(app.config.get("MONGO_COUNT_COMMANDS"))
    return shared_client("mongo", (uri, timeout_ms, counting),
                         lambda: make_client(uri, timeout_ms, count_commands=True)
                         if counting else make_client(uri, timeout_ms))


def get_db(app: Flask | None = None) -> Database:
    app = app or current_app
    return get_client(app)[app.config["MONGO_DB_NAME"]]


def ping(app: Flask | None = None) -> None:
    """Raise a pymongo error when the database does not answer in time."""
    get_client(app).admin.command("ping")
