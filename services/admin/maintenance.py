"""The realtime maintenance loop, one per process: heartbeat, presence sweep, typing
expiry and the call sweep (without Redis only the call sweep has work: the other steps
are no-ops)."""
from __future__ import annotations

import logging
import os

from flask import Flask

from services.calls import calls_service
from services.live import presence
from services.platform import connections
from utils.extensions import socketio

log = logging.getLogger(__name__)

# Started once per process and database, keyed by pid so a forked worker starts its own.
_maintenance_started: set[tuple[int, str]] = set()


def start_maintenance(app: Flask) -> None:
    """Start this process's loop once (on its first connection). Off when
    `REALTIME_MAINTENANCE` is false, e.g. in tests that drive the steps by hand."""
    if not app.config["REALTIME_MAINTENANCE"]:
        return
    key = (os.getpid(), app.config["MONGO_DB_NAME"])
    if key in _maintenance_started:
        return
    _maintenance_started.add(key)
    socketio.start_background_task(_maintenance_loop, app)


def _maintenance_loop(app: Flask) -> None:
    interval = float(app.config["REALTIME_SWEEP_SECONDS"])
    every = max(1, round(float(app.config["PRESENCE_HEARTBEAT_SECONDS"]) / interval))
    tick = 0
    while True:
        try:
            with app.app_context():
                presence.expire_typing()
                # Stored call deadlines: invites past their lifetime, devices gone.
                calls_service.sweep()
                if tick % every == 0:
                    connections.heartbeat()
                    for user_id in connections.sweep_offline():
                        presence.announce(user_id, online=False)
        except Exception:
            # A Redis or database outage must not end the loop: the next tick retries.
            log.exception("realtime maintenance tick failed")
        tick += 1
        socketio.sleep(interval)
