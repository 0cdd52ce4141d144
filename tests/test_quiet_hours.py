"""A user's time zone and quiet hours (docs/NOTIFICATIONS.md "Quiet hours and time
zones"): PATCH /api/users/me validates and stores them, and services/notify/quiet_hours.py
answers whether a moment is quiet in the user's own zone and when the quiet ends."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from bson import ObjectId

from services.notify import quiet_hours
from tests.helpers import DEFAULT_PASSWORD, Person

UTC = timezone.utc
NIGHT_IN_TOKYO = {"time_zone": "Asia/Tokyo", "quiet_hours": {"start": "22:00", "end": "07:00"}}


@pytest.fixture
def app(make_app):
    return make_app(RATELIMIT_ENABLED=False)


def test_the_profile_takes_a_time_zone_and_quiet_hours(app, db):
    alice = Person(app, "alice")
    me = alice.get("/api/users/me").get_json()
    assert me["time_zone"] is None and me["quiet_hours"] is None
    response = alice.patch("/api/users/me", {"time_zone": "Asia/Tokyo",
                                             "quiet_hours": {"start": "22:00", "end": "07:00"}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["time_zone"] == "Asia/Tokyo"
    assert response.get_json()["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    stored = db.users.find_one({"username": "alice"})
    assert stored["time_zone"] == "Asia/Tokyo"
    assert stored["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    # Another change leaves them; null clears them.
    assert alice.patch("/api/users/me", {"bio": "hi"}).get_json()["time_zone"] == "Asia/Tokyo"
    cleared = alice.patch("/api/users/me", {"time_zone": None, "quiet_hours": None}).get_json()
    assert cleared["time_zone"] is None and cleared["quiet_hours"] is None


def test_a_deleted_account_keeps_no_time_zone(app, db):
    alice = Person(app, "alice")
    alice.patch("/api/users/me", NIGHT_IN_TOKYO)
    response = alice.client.delete("/api/users/me", headers=alice.headers,
                                   json={"password": DEFAULT_PASSWORD})
    assert response.status_code == 204, response.get_json()
    stored = db.users.find_one({"_id": ObjectId(alice.id)})
    assert stored["time_zone"] is None and stored["quiet_hours"] is None


@pytest.mark.parametrize("body", [
    {"time_zone": "Mars/Olympus_Mons"},
    {"time_zone": "asia/tokyo"},  # IANA names are case-sensitive
    {"time_zone": "../../etc/passwd"},
    {"time_zone": ""},
    {"time_zone": 9},
    {"quiet_hours": {"start": "24:00", "end": "07:00"}},
    {"quiet_hours": {"start": "7:00", "end": "08:00"}},
    {"quiet_hours": {"start": "22:00", "end": "07:60"}},
    {"quiet_hours": {"start": "22:00\n", "end": "07:00"}},
    {"quiet_hours": {"start": "22:00:00", "end": "07:00"}},
    {"quiet_hours": {"start": "22:00"}},
    {"quiet_hours": {"start": "22:00", "end": "07:00", "days": [1]}},
    {"quiet_hours": {"start": "22:00", "end": "22:00"}},  # an empty (or endless) window
    {"quiet_hours": "22:00-07:00"},
])
def test_bad_zones_and_times_are_refused(app, db, body):
    alice = Person(app, "alice")
    response = alice.patch("/api/users/me", body)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    # Refused for what the value is, not as an unknown field.
    [(field, problem)] = error["details"].items()
    assert field in body and problem != ["Unknown field."]
    stored = db.users.find_one({"username": "alice"})
    assert "time_zone" not in stored and "quiet_hours" not in stored


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("moment", "quiet", "ends"), [
    ("2024-06-01T12:59", False, None),                 # 21:59 in Tokyo (UTC+9)
    ("2024-06-01T13:00", True, "2024-06-01T22:00"),    # 22:00: the start is quiet
    ("2024-06-01T15:00", True, "2024-06-01T22:00"),    # midnight, the next local day
    ("2024-06-01T21:59", True, "2024-06-01T22:00"),    # 06:59
    ("2024-06-01T22:00", False, None),                 # 07:00: the end is not
    ("2024-06-02T03:00", False, None),                 # noon
])
def test_a_window_across_midnight_in_the_users_zone(moment, quiet, ends):
    assert quiet_hours.in_quiet_hours(NIGHT_IN_TOKYO, at(moment)) is quiet
    expected = at(ends) if ends else None
    assert quiet_hours.quiet_ends_at(NIGHT_IN_TOKYO, at(moment)) == expected


def test_a_daytime_window_without_a_zone_is_utc_and_some_kinds_never_wait():
    user = {"quiet_hours": {"start": "09:00", "end": "17:30"}}
    assert not quiet_hours.in_quiet_hours(user, at("2024-06-01T08:59"))
    assert quiet_hours.quiet_ends_at(user, at("2024-06-01T09:00")) == at("2024-06-01T17:30")
    assert not quiet_hours.in_quiet_hours(user, at("2024-06-01T17:30"))
    assert not quiet_hours.in_quiet_hours({}, at("2024-06-01T12:00"))
    noon = at("2024-06-01T12:00")
    assert quiet_hours.held_until(user, "mention", noon) == at("2024-06-01T17:30")
    for kind in ("warning", "content_removed", "topic_ban", "missed_call"):
        assert quiet_hours.held_until(user, kind, noon) is None


def test_quiet_hours_follow_the_wall_clock_across_a_dst_change():
    user = {"time_zone": "America/Los_Angeles",
            "quiet_hours": {"start": "22:00", "end": "07:00"}}
    # The night of 9-10 March 2024 is an hour shorter: 22:00 PST is 06:00 UTC, 07:00
    # PDT the next morning is 14:00 UTC.
    assert quiet_hours.quiet_ends_at(user, at("2024-03-10T06:00")) == at("2024-03-10T14:00")
    assert not quiet_hours.in_quiet_hours(user, at("2024-03-10T14:00"))
    # A window ending at a wall time the change skips ends when that time maps to.
    skipped = {**user, "quiet_hours": {"start": "01:00", "end": "02:30"}}
    assert quiet_hours.quiet_ends_at(skipped, at("2024-03-10T09:30")) == at("2024-03-10T10:30")
