"""The items that may hold a poll, as the packages owning them describe them.

chat and forum sit above this package, so they hand their rules over at start-up
(`registrations.POLL_HOSTS`, given to `init_app` by `create_app`); nothing registers on
import."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

EXTENSION = "roundtable_poll_hosts"


@dataclass(frozen=True)
class PollHost:
    # (user, item_id) -> None, or NotFound when the user may not read the item.
    readable: Callable[[dict[str, Any], Any], None]
    # (user, item_id) -> None, or the refusal of a write there (NotFound when the user
    # may not even read it); passes the write gate with the action "vote".
    writable: Callable[[dict[str, Any], Any], None]
    # item_id -> the Socket.IO rooms an event about the item goes to ([] when it is gone).
    audience: Callable[[Any], list[str]]


def init_app(app: Flask, hosts: Mapping[str, PollHost]) -> None:
    app.extensions[EXTENSION] = dict(hosts)


def hosts(app: Flask | None = None) -> dict[str, PollHost]:
    return (app or current_app).extensions[EXTENSION]


def host(host_type: str) -> PollHost:
    return hosts()[host_type]
