"""Site statistics for admins, computed with aggregation pipelines and cached (shared
across processes through utils.cache) for ADMIN_STATS_CACHE_SECONDS.

Totals count what exists now (soft-deleted content excluded); the per-day series count
what was created each UTC day, deleted or not, because they measure activity.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from services.platform import connections, realtime
from services.platform.shapes.admin import STATS
from utils import clock, jobs
from utils.cache import get_cache
from utils.db import get_db
from utils.redis_client import get_redis
from utils.socket_events import SOCKET_IDENTITY

CACHE_NAMESPACE = "admin_stats"
DAYS = 14
# collection -> filter for "exists now"
CONTENT = {"topics": {"deleted": False}, "posts": {"deleted": False},
           "comments": {"deleted": False}, "messages": {"deleted": False}}


def site_stats() -> dict[str, Any]:
    """The answer as sent; the cache keeps it dumped."""
    ttl = current_app.config["ADMIN_STATS_CACHE_SECONDS"]
    return get_cache().get_or_set(CACHE_NAMESPACE, "site", lambda: STATS.dump(compute()), ttl)


def compute() -> dict[str, Any]:
    now = clock.now()
    db = get_db()
    first_day = (now - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0,
                                                          microsecond=0)
    return {
        "generated_at": now,
        "users": {**_user_counts(now), "online_now": online_now()},
        **{name: _total(db[name], condition) for name, condition in CONTENT.items()},
        "per_day": {name: _per_day(db[name], first_day) for name in CONTENT},
        "open_reports": _total(db.reports, {"status": {"$in": ["open", "resolving"]}}),
        "failed_jobs": jobs.failed_count(),
    }


def _user_counts(now: datetime) -> dict[str, int]:
    def since(delta: timedelta) -> dict[str, Any]:
        return {"$sum": {"$cond": [{"$gte": ["$created_at", now - delta]}, 1, 0]}}

    rows = list(get_db().users.aggregate([
        {"$match": {"deleted": False}},
        {"$group": {"_id": None, "total": {"$sum": 1}, "new_24h": since(timedelta(hours=24)),
                    "new_7d": since(timedelta(days=7))}}]))
    row = rows[0] if rows else {}
    return {key: int(row.get(key, 0)) for key in ("total", "new_24h", "new_7d")}


def _total(collection, condition: dict[str, Any]) -> int:
    rows = list(collection.aggregate([{"$match": condition},
                                      {"$group": {"_id": None, "n": {"$sum": 1}}}]))
    return int(rows[0]["n"]) if rows else 0


def _per_day(collection, first_day: datetime) -> list[dict[str, Any]]:
    rows = collection.aggregate([
        {"$match": {"created_at": {"$gte": first_day}}},
        {"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at"}},
                    "n": {"$sum": 1}}}])
    found = {row["_id"]: int(row["n"]) for row in rows}
    days = [(first_day + timedelta(days=n)).strftime("%Y-%m-%d") for n in range(DAYS)]
    return [{"date": day, "count": found.get(day, 0)} for day in days]


def online_now() -> int:
    """Users with a live socket on any process (the realtime registry's count)."""
    client = get_redis()
    if client is not None and realtime.multi_process():
        return int(client.zcount(connections.ONLINE_KEY, clock.now().timestamp(), "+inf"))
    server = realtime.socketio.server
    if server is None:
        return 0
    # One process: its own sockets, each carrying the identity recorded on connect
    # (utils.socket_events.remember_socket_user), read through Socket.IO's public calls.
    # The room None holds every connected socket of the namespace.
    users = set()
    for sid, _ in server.manager.get_participants(realtime.NAMESPACE, None):
        identity = (server.get_environ(sid, realtime.NAMESPACE) or {}).get(SOCKET_IDENTITY)
        if identity:
            users.add(identity["user_id"])
    return len(users)
