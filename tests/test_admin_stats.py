"""GET /api/admin/stats against a known data set, and its 60-second cache."""
from __future__ import annotations

from datetime import timedelta

from bson import ObjectId

from models.base import utcnow
from tests.topic_helpers import Person


def seed(db, now):
    """2 live users (2 and 10 days old) and a deleted one; content on known days."""
    day = timedelta(days=1)
    db.users.insert_many([
        {"username": f"seed{n}", "username_lower": f"seed{n}", "email_lower": f"s{n}@x.io",
         "role": "user", "deleted": deleted, "created_at": created}
        for n, (created, deleted) in enumerate([(now - 2 * day, False), (now - 10 * day, False),
                                                (now - 3 * day, True)])])
    db.topics.insert_many([{"slug": "a", "deleted": False, "created_at": now - 20 * day},
                           {"slug": "b", "deleted": True, "created_at": now - day}])
    db.posts.insert_many([{"deleted": False, "created_at": now},
                          {"deleted": False, "created_at": now},
                          {"deleted": True, "created_at": now - 3 * day},
                          {"deleted": False, "created_at": now - 30 * day}])
    db.comments.insert_many([{"deleted": False, "created_at": now - 13 * day}])
    room = ObjectId()
    db.messages.insert_many([{"room_id": room, "seq": n + 1, "client_id": str(n),
                              "deleted": n == 5, "created_at": now - (n % 5) * day}
                             for n in range(6)])
    db.reports.insert_many([{"status": "open"}, {"status": "resolving"},
                            {"status": "dismissed"}])


def day_counts(series):
    return {item["date"]: item["count"] for item in series if item["count"]}


def test_numbers_match_a_known_data_set(client, db):
    admin = Person(client, "boss")  # the third live user, created now
    admin.set_role("admin")
    now = utcnow()
    seed(db, now)
    stats = admin.get("/api/admin/stats").get_json()

    def date(days):
        return (now - timedelta(days=days)).strftime("%Y-%m-%d")

    assert stats["users"] == {"total": 3, "new_24h": 1, "new_7d": 2, "online_now": 0}
    assert (stats["topics"], stats["posts"], stats["comments"], stats["messages"]) == (1, 3, 1, 5)
    assert stats["open_reports"] == 2
    per_day = stats["per_day"]
    assert all(len(series) == 14 for series in per_day.values())
    assert per_day["messages"][-1] == {"date": date(0), "count": 2}
    assert day_counts(per_day["messages"]) == {date(0): 2, date(1): 1, date(2): 1, date(3): 1,
                                               date(4): 1}
    assert day_counts(per_day["posts"]) == {date(0): 2, date(3): 1}
    assert day_counts(per_day["comments"]) == {date(13): 1}
    assert day_counts(per_day["topics"]) == {date(1): 1}


def test_stats_are_cached_for_a_minute(client, db, monkeypatch):
    admin = Person(client, "boss")
    admin.set_role("admin")
    first = admin.get("/api/admin/stats").get_json()
    db.users.insert_one({"username": "late", "deleted": False, "created_at": utcnow(),
                         "_id": ObjectId()})
    assert admin.get("/api/admin/stats").get_json() == first
    from utils.cache import get_cache

    with client.application.app_context():
        get_cache().invalidate("admin_stats")
    assert admin.get("/api/admin/stats").get_json()["users"]["total"] == 2


def test_online_now_counts_live_sockets(app, client):
    from utils.extensions import socketio

    admin = Person(client, "boss")
    admin.set_role("admin")
    other = Person(client, "other")
    sockets = [socketio.test_client(app, auth={"token": person.headers["Authorization"][7:]})
               for person in (admin, other, other)]
    assert admin.get("/api/admin/stats").get_json()["users"]["online_now"] == 2
    for sock in sockets:
        sock.disconnect()
