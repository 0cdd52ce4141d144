"""Trust levels (services/accounts/trust.py, docs/ADMIN.md "Write limits and trust levels"): for
its first TRUST_NEW_ACCOUNT_HOURS an account has lower limits and may put only a few
mentions, attachments and links in one item; age lifts it, and site admins may lift or
hold an account by hand (audit-logged)."""
from __future__ import annotations

import io

from PIL import Image

from tests.authz_world import differences, snapshot
from tests.topic_helpers import Person, join, make_topic


def png() -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 90, 30)).save(data, format="PNG")
    return data.getvalue()


def posts(person: Person, topic_id: str, count: int, start: int = 0) -> list[int]:
    return [person.post("/api/posts/", {"topic_id": topic_id, "title": f"Post {i}",
                                        "body": "x"}).status_code
            for i in range(start, start + count)]


def scene(app):
    client = app.test_client()
    owner, newbie = Person(client, "owner"), Person(client, "newbie")
    topic = make_topic(owner)
    join(newbie, topic["id"])
    return owner, newbie, topic


def test_a_new_account_has_lower_limits_until_it_is_a_day_old(make_app, clock):
    app = make_app(NEW_ACCOUNT_LIMIT_POSTS="1 per minute", WRITE_LIMIT_POSTS="3 per minute",
                   NEW_ACCOUNT_LIMIT_GROUPS="1 per minute")
    owner, newbie, topic = scene(app)
    assert posts(newbie, topic["id"], 2) == [201, 429]
    group = {"title": "crew", "member_ids": [owner.id]}
    assert [newbie.post("/api/messages/groups", group).status_code for _ in range(2)] == [
        201, 429]
    clock.advance(hours=25)
    # Now under the ordinary limit alone, which counted the first post too.
    assert posts(newbie, topic["id"], 3, start=2) == [201, 201, 429]
    assert newbie.post("/api/messages/groups", group).status_code == 201


def test_staff_lift_or_hold_an_account_and_it_is_audit_logged(make_app, clock):
    app = make_app(NEW_ACCOUNT_LIMIT_POSTS="1 per minute", WRITE_LIMIT_POSTS="5 per minute")
    _owner, newbie, topic = scene(app)
    admin = Person(app.test_client(), "boss")
    admin.set_role("admin")
    view = admin.get("/api/admin/users", query_string={"q": "newbie"}).get_json()["items"][0]
    assert (view["trust_level"], view["trust_level_set"]) == (0, False)
    assert posts(newbie, topic["id"], 2) == [201, 429]
    lifted = admin.patch(f"/api/admin/users/{newbie.id}", {"trust_level": 1, "reason": "known"})
    assert lifted.status_code == 200, lifted.get_json()
    assert (lifted.get_json()["trust_level"], lifted.get_json()["trust_level_set"]) == (1, True)
    assert posts(newbie, topic["id"], 2, start=2) == [201, 201]
    entry = admin.get("/api/admin/audit-log", query_string={"action": "user.trust_level"}
                      ).get_json()["items"][0]
    assert entry["target_id"] == newbie.id and entry["reason"] == "known"
    # Held at level 0, an old account is new again.
    clock.advance(hours=30)
    assert admin.patch(f"/api/admin/users/{newbie.id}", {"trust_level": 0}).status_code == 200
    assert posts(newbie, topic["id"], 1, start=4) == [429]
    back = admin.patch(f"/api/admin/users/{newbie.id}", {"trust_level": None}).get_json()
    assert (back["trust_level"], back["trust_level_set"]) == (1, False)
    # Only admins, and only the known levels.
    assert newbie.patch(f"/api/admin/users/{newbie.id}", {"trust_level": 1}).status_code == 403
    assert admin.patch(f"/api/admin/users/{newbie.id}", {"trust_level": 7}).status_code == 400
    assert admin.patch(f"/api/admin/users/{newbie.id}", {}).status_code == 400


def test_new_accounts_put_few_mentions_attachments_and_links_in_an_item(make_app, clock):
    app = make_app(NEW_ACCOUNT_MAX_MENTIONS=2, NEW_ACCOUNT_MAX_ATTACHMENTS=1,
                   CONTENT_FILTER_NEW_ACCOUNT_LINKS=2)
    owner, newbie, topic = scene(app)
    room = newbie.post("/api/messages/direct", {"user_id": owner.id}).get_json()
    def upload() -> str:
        return newbie.call("POST", "/api/uploads", data={"file": (io.BytesIO(png()), "a.png")},
                           content_type="multipart/form-data").get_json()["id"]

    uploads = [upload(), upload()]

    def tries():
        return {
            "mentions": newbie.post("/api/posts/", {
                "topic_id": topic["id"], "title": "Hello", "body": "@alice1 @bobby2 @carol3"}),
            "title mentions": newbie.post("/api/posts/", {
                "topic_id": topic["id"], "title": "@alice1 @bobby2", "body": "@carol3"}),
            "attachments": newbie.post(f"/api/messages/rooms/{room['id']}/messages", {
                "body": "look", "client_id": "att", "attachments": uploads}),
            "links": newbie.post("/api/posts/", {
                "topic_id": topic["id"], "title": "Deals",
                "body": "a.example.com b.example.com c.example.com"}),
        }

    before = snapshot(app)
    codes = {name: (r.status_code, r.get_json()["error"]["code"]) for name, r in tries().items()}
    assert codes == {"mentions": (422, "too_many_mentions"),
                     "title mentions": (422, "too_many_mentions"),
                     "attachments": (422, "too_many_attachments"),
                     "links": (422, "content_rejected")}
    assert differences(before, snapshot(app)) == []
    # Two mentions, one attachment: allowed.
    assert newbie.post(f"/api/messages/rooms/{room['id']}/messages", {
        "body": "@alice1 @bobby2", "client_id": "ok", "attachments": uploads[:1]}
        ).status_code == 201
    clock.advance(hours=25)
    uploads[0] = upload()
    assert {name: r.status_code for name, r in tries().items()} == dict.fromkeys(
        ["mentions", "title mentions", "attachments", "links"], 201)


def test_an_account_answered_by_an_established_one_is_no_longer_new(make_app, clock):
    app = make_app(NEW_ACCOUNT_LIMIT_POSTS="1 per minute", WRITE_LIMIT_POSTS="5 per minute")
    client = app.test_client()
    elder = Person(client, "elder")
    topic = make_topic(elder)
    room = elder.post(f"/api/topics/{topic['id']}/rooms", {"name": "chat"}).get_json()
    clock.advance(hours=25)
    newbie, puppet, chatter = (Person(client, name) for name in ("newbie", "puppet", "chatter"))
    for person in (newbie, puppet, chatter):
        join(person, topic["id"])
    first = newbie.post("/api/posts/", {"topic_id": topic["id"], "title": "Hello there",
                                        "body": "x"})
    assert first.status_code == 201
    assert posts(newbie, topic["id"], 1, start=1) == [429]
    # Another new account's answer (a sock puppet's) lifts nobody.
    comments = f"/api/posts/{first.get_json()['id']}/comments"
    assert puppet.post(comments, {"body": "great"}).status_code == 201
    assert posts(newbie, topic["id"], 1, start=2) == [429]
    assert elder.post(comments, {"body": "welcome"}).status_code == 201
    assert posts(newbie, topic["id"], 2, start=3) == [201, 201]
    # A chat reply to a new account's message lifts it too.
    assert posts(chatter, topic["id"], 2) == [201, 429]
    said = chatter.post(f"/api/messages/rooms/{room['id']}/messages",
                        {"body": "hello all", "client_id": "c1"}).get_json()
    assert elder.post(f"/api/messages/rooms/{room['id']}/messages", {
        "body": "hi", "client_id": "e1", "reply_to": said["id"]}).status_code == 201
    assert posts(chatter, topic["id"], 2, start=2) == [201, 201]


def test_setting_a_level_names_a_live_account_and_a_repeat_records_nothing(app, client):
    _owner, newbie, _topic = scene(app)
    admin = Person(client, "boss")
    admin.set_role("admin")

    def entries():
        return admin.get("/api/admin/audit-log",
                         query_string={"action": "user.trust_level"}).get_json()["items"]

    missing = admin.patch("/api/admin/users/0123456789abcdef01234567", {"trust_level": 1})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert admin.patch(f"/api/admin/users/{newbie.id}", {"trust_level": 1}).status_code == 200
    again = admin.patch(f"/api/admin/users/{newbie.id}", {"trust_level": 1, "reason": "twice"})
    assert again.status_code == 200 and again.get_json()["trust_level"] == 1
    # Only the change that changed something is in the log.
    assert [(e["target_id"], e["reason"]) for e in entries()] == [(newbie.id, None)]
