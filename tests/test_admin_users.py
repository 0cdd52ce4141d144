"""Site roles, the last-admin rule, the user list, site bans (sessions and tokens end,
login answers 403, unban restores, expiry lifts), warnings as notifications, and the
audit trail of each action."""
from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId

from models.base import isoformat, utcnow
from tests.helpers import DEFAULT_PASSWORD, fresh_address, register_and_login, user_written
from tests.topic_helpers import Person, join, make_post, make_topic
from utils import clock


@pytest.fixture
def staff(client):
    admin = Person(client, "boss")
    admin.set_role("admin")
    moderator = Person(client, "sitemod")
    moderator.set_role("moderator")
    return admin, moderator


def audit(admin: Person, **filters) -> list[dict]:
    response = admin.get("/api/admin/audit-log", query_string=filters)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def login_status(client, username: str):
    return client.post("/api/auth/login", environ_base=fresh_address(),
                       json={"login": username, "password": DEFAULT_PASSWORD})


def test_roles_change_and_are_audited(client, staff):
    admin, _ = staff
    user = Person(client, "carol")
    response = admin.patch(f"/api/admin/users/{user.id}", {"role": "moderator",
                                                           "reason": "helpful"})
    assert response.status_code == 200 and response.get_json()["role"] == "moderator"
    assert user.get("/api/admin/reports").status_code == 200
    entry = audit(admin, action="user.role_change")[0]
    assert entry["target_id"] == user.id and entry["actor"]["username"] == "boss"
    assert entry["data"] == {"from": "user", "to": "moderator"}
    assert entry["reason"] == "helpful"
    assert admin.patch(f"/api/admin/users/{user.id}", {"role": "king"}).status_code == 400
    assert admin.patch(f"/api/admin/users/{ObjectId()}", {"role": "user"}).status_code == 404


def test_the_last_admin_cannot_be_demoted_or_banned(client, staff, db):
    admin, _ = staff
    response = admin.patch(f"/api/admin/users/{admin.id}", {"role": "user"})
    assert response.status_code == 409
    assert db.users.find_one({"_id": ObjectId(admin.id)})["role"] == "admin"
    second = Person(client, "second")
    assert admin.patch(f"/api/admin/users/{second.id}", {"role": "admin"}).status_code == 200
    # With two admins one may step down; then the other is the last again.
    assert admin.patch(f"/api/admin/users/{admin.id}", {"role": "user"}).status_code == 200
    assert second.patch(f"/api/admin/users/{second.id}", {"role": "user"}).status_code == 409
    assert second.post(f"/api/admin/users/{second.id}/ban",
                       {"reason": "x"}).status_code == 403  # nobody bans themselves
    third = Person(client, "third")
    third.set_role("admin")
    db.users.update_one({"_id": ObjectId(third.id)},
                        {"$set": {"ban": {"reason": "old", "expires_at": None,
                                          "banned_by": None, "banned_at": utcnow()}}})
    user_written(client.application, third.id)
    # A banned admin does not count: second is still the last active one.
    assert second.patch(f"/api/admin/users/{second.id}", {"role": "user"}).status_code == 409


def test_ban_ends_sessions_and_tokens_and_unban_restores(app, client, staff, db):
    admin, moderator = staff
    browser = app.test_client()
    victim, _ = register_and_login(browser, "victim")
    api = Person(app.test_client(), "victim2")
    assert browser.get("/api/auth/me").status_code == 200
    expires = (utcnow() + timedelta(days=3)).isoformat()
    response = moderator.post(f"/api/admin/users/{victim['id']}/ban",
                              {"reason": "spamming", "expires_at": expires})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["banned"] is True
    assert browser.get("/api/auth/me").status_code == 401
    login = login_status(client, "victim")
    assert login.status_code == 403
    error = login.get_json()["error"]
    assert error["code"] == "forbidden" and "spamming" in error["message"]
    assert error["details"]["reason"] == "spamming" and error["details"]["expires_at"]
    token_response = client.post("/api/auth/token", environ_base=fresh_address(),
                                 json={"login": "victim", "password": DEFAULT_PASSWORD})
    assert token_response.status_code == 403
    # Bearer tokens die with the ban too.
    assert moderator.post(f"/api/admin/users/{api.id}/ban", {"reason": "x"}).status_code == 200
    assert api.get("/api/auth/me").status_code == 401
    assert db.auth_tokens.count_documents({"user_id": ObjectId(api.id)}) == 0
    # Moderators cannot ban staff.
    assert moderator.post(f"/api/admin/users/{admin.id}/ban", {"reason": "x"}).status_code == 403

    listed = admin.get("/api/admin/users", query_string={"banned": "true"}).get_json()
    assert {item["username"] for item in listed["items"]} == {"victim", "victim2"}
    assert moderator.post(f"/api/admin/users/{victim['id']}/unban",
                          {"reason": "appeal"}).status_code == 200
    assert login_status(client, "victim").status_code == 200
    assert moderator.post(f"/api/admin/users/{victim['id']}/unban", {}).status_code == 409
    actions = [entry["action"] for entry in audit(admin, target_id=victim["id"])]
    assert actions == ["user.unban", "user.ban"]
    assert audit(admin, actor=moderator.id, action="user.ban")[0]["reason"] == "x"


def test_ban_input_is_validated(staff):
    admin, _ = staff
    user_id = str(ObjectId())
    past = (utcnow() - timedelta(hours=1)).isoformat()
    assert admin.post(f"/api/admin/users/{user_id}/ban", {}).status_code == 400
    assert admin.post(f"/api/admin/users/{user_id}/ban",
                      {"reason": "x", "expires_at": "tomorrow"}).status_code == 400
    assert admin.post(f"/api/admin/users/{user_id}/ban", {"reason": "x"}).status_code == 404
    assert admin.post(f"/api/admin/users/{admin.id}/ban",
                      {"reason": "x", "expires_at": past}).status_code == 400


def test_expired_bans_lift_by_themselves(client, staff, monkeypatch):
    admin, _ = staff
    user = Person(client, "tempban")
    until = (utcnow() + timedelta(hours=1)).replace(microsecond=0)
    assert admin.post(f"/api/admin/users/{user.id}/ban",
                      {"reason": "cool off", "expires_at": until.isoformat()}).status_code == 200
    assert login_status(client, "tempban").status_code == 403
    # A time stored inside an entry's data prints like every other time.
    assert audit(admin, action="user.ban")[0]["data"] == {"expires_at": isoformat(until)}
    later = until + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    listed = admin.get("/api/admin/users", query_string={"banned": "true"}).get_json()
    assert listed["items"] == []
    assert login_status(client, "tempban").status_code == 200
    lifted = audit(admin, action="user.ban_expired")
    assert len(lifted) == 1 and lifted[0]["actor"]["username"] == "system"


def test_warnings_arrive_as_notifications(app, client, staff):
    _, moderator = staff
    user = Person(client, "warned")
    from utils.extensions import socketio

    token = user.headers["Authorization"].split()[1]
    live = socketio.test_client(app, auth={"token": token})
    response = moderator.post(f"/api/admin/users/{user.id}/warn", {"reason": "be nice"})
    assert response.status_code == 201
    events = [e for e in live.get_received() if e["name"] == "notification"]
    assert events and events[0]["args"][0]["kind"] == "warning"
    assert events[0]["args"][0]["data"]["reason"] == "be nice"
    live.disconnect()
    mine = user.get("/api/notifications/").get_json()["items"]
    assert [(n["kind"], n["data"]["reason"], n["read"]) for n in mine] == [
        ("warning", "be nice", False)]
    assert moderator.post(f"/api/notifications/{mine[0]['id']}/read").status_code == 404
    read = user.post(f"/api/notifications/{mine[0]['id']}/read")
    assert read.status_code == 200 and read.get_json()["read"] is True
    assert user.get("/api/notifications/", query_string={"unread": "true"}).get_json()[
        "items"] == []
    assert moderator.post(f"/api/admin/users/{moderator.id}/warn",
                          {"reason": "x"}).status_code == 403


def test_user_list_filters_and_counts(client, staff):
    admin, _ = staff
    author = Person(client, "writer")
    topic = make_topic(author, "Writing club")
    make_post(author, topic["id"], "First post", "body")
    make_post(author, topic["id"], "Second post", "body")
    reader = Person(client, "reader")
    join(reader, topic["id"])
    admin.post(f"/api/admin/users/{reader.id}/warn", {"reason": "x"})
    found = admin.get("/api/admin/users", query_string={"q": "wri"}).get_json()["items"]
    assert [u["username"] for u in found] == ["writer"]
    assert found[0]["counts"]["posts"] == 2 and found[0]["email"] == "writer@example.com"
    staff_list = admin.get("/api/admin/users", query_string={"role": "moderator"}).get_json()
    assert [u["username"] for u in staff_list["items"]] == ["sitemod"]
    reader_row = admin.get("/api/admin/users", query_string={"q": "reader"}).get_json()
    assert reader_row["items"][0]["counts"]["warnings"] == 1
    page = admin.get("/api/admin/users", query_string={"limit": 2}).get_json()
    rest = admin.get("/api/admin/users", query_string={"limit": 2,
                                                       "cursor": page["next_cursor"]}).get_json()
    names = [u["username"] for u in page["items"] + rest["items"]]
    assert names == sorted(names) and len(set(names)) == len(names) == 4


def test_audit_log_is_append_only_and_filterable(app, client, staff):
    admin, moderator = staff
    user = Person(client, "someone")
    moderator.post(f"/api/admin/users/{user.id}/warn", {"reason": "one"})
    moderator.post(f"/api/admin/users/{user.id}/ban", {"reason": "two"})
    entries = audit(admin)
    assert [e["action"] for e in entries] == ["user.ban", "user.warn"]
    # No route edits or deletes the log.
    methods = {method for rule in app.url_map.iter_rules() if "audit" in rule.rule
               for method in rule.methods}
    assert methods <= {"GET", "HEAD", "OPTIONS"}
    from models.audit_log import AuditLog

    assert not any(hasattr(AuditLog, name) for name in ("update", "delete", "remove"))
    future = (utcnow() + timedelta(minutes=5)).isoformat()
    assert audit(admin, since=future) == []
    assert len(audit(admin, until=future, target_type="user")) == 2
    assert admin.get("/api/admin/audit-log",
                     query_string={"since": future, "until": utcnow().isoformat()}
                     ).status_code == 400
    assert admin.get("/api/admin/audit-log", query_string={"actor": "nope"}).status_code == 400


def test_the_admin_view_of_a_user_writes_nothing(app, client, db):
    """admin_user_view only reads: an expired ban shows as no ban and stays stored
    until the user's next login or request lifts it (site_bans.active_ban)."""
    from services.admin.admin_service import admin_user_view

    register_and_login(client, "gone")
    expired = {"reason": "spam", "banned_at": utcnow() - timedelta(days=2),
               "expires_at": utcnow() - timedelta(days=1), "banned_by": None}
    db.users.update_one({"username": "gone"}, {"$set": {"ban": expired}})
    user = db.users.find_one({"username": "gone"})
    with app.test_request_context():
        view = admin_user_view(user)
        assert view["banned"] is False and view["ban"] is None
    assert db.users.find_one({"_id": user["_id"]})["ban"] is not None
