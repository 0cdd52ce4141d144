"""Reports: filing (visible targets only, fixed reasons, idempotent), who sees them, and
resolution with each action, closing every open report about the same target, with
the live events and the audit trail each action leaves."""
from __future__ import annotations

import pytest
from bson import ObjectId

from tests.helpers import events
from tests.topic_helpers import Person, join, make_post, make_topic


def report(person: Person, target_type: str, target_id: str, reason: str = "spam", **extra):
    return person.post("/api/reports", {"target_type": target_type, "target_id": target_id,
                                        "reason": reason, **extra})


def resolve(person: Person, report_id: str, action: str, **extra):
    return person.post(f"/api/reports/{report_id}/resolve", {"action": action, **extra})


def audit(admin: Person, **filters) -> list[dict]:
    return admin.get("/api/admin/audit-log", query_string=filters).get_json()["items"]


@pytest.fixture
def world(client):
    people = {name: Person(client, name) for name in
              ("owner", "topicmod", "author", "reporter", "second", "boss", "sitemod")}
    people["admin"] = people["boss"]
    people["admin"].set_role("admin")
    people["sitemod"].set_role("moderator")
    topic = make_topic(people["owner"], "Neighbourhood")
    for name in ("topicmod", "author", "reporter", "second"):
        join(people[name], topic["id"])
    people["owner"].post(f"/api/topics/{topic['id']}/moderators",
                         {"user_id": people["topicmod"].id})
    post = make_post(people["author"], topic["id"], "Buy my stuff", "cheap pills")
    return people, topic, post


def test_filing_is_idempotent_and_validated(world, db):
    people, topic, post = world
    first = report(people["reporter"], "post", post["id"], details="ads")
    assert first.status_code == 201, first.get_json()
    again = report(people["reporter"], "post", post["id"], "hate")
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert db.reports.count_documents({}) == 1
    assert report(people["second"], "post", post["id"]).status_code == 201
    assert report(people["reporter"], "post", post["id"], "boring").status_code == 400
    assert report(people["reporter"], "video", post["id"]).status_code == 400
    assert report(people["reporter"], "post", str(ObjectId())).status_code == 404
    assert report(people["reporter"], "post", "not-an-id").status_code == 404
    assert report(people["author"], "post", post["id"]).status_code == 400  # own content
    assert report(people["reporter"], "user", people["author"].id).status_code == 201
    assert report(people["reporter"], "topic", topic["id"]).status_code == 201
    stored = db.reports.find_one({"_id": ObjectId(first.get_json()["id"])})
    assert stored["snapshot"]["text"] == "cheap pills"
    assert stored["topic_id"] == ObjectId(topic["id"])


def test_what_a_reporter_cannot_see_is_not_found(world):
    people, _, _ = world
    secret = make_topic(people["owner"], "Secret club", visibility="private")
    hidden = make_post(people["owner"], secret["id"], "Hidden", "body")
    assert report(people["reporter"], "post", hidden["id"]).status_code == 404
    assert report(people["reporter"], "topic", secret["id"]).status_code == 404
    room = people["author"].post("/api/messages/direct",
                                 {"user_id": people["second"].id}).get_json()
    message = people["author"].post(f"/api/messages/rooms/{room['id']}/messages",
                                    {"body": "psst", "client_id": "c1"}).get_json()
    assert report(people["reporter"], "message", message["id"]).status_code == 404
    assert report(people["second"], "message", message["id"]).status_code == 201


def test_lists_by_status_for_staff_and_topic_moderators(world):
    people, topic, post = world
    filed = report(people["reporter"], "post", post["id"]).get_json()
    direct = report(people["reporter"], "user", people["author"].id).get_json()
    site = people["sitemod"].get("/api/admin/reports").get_json()["items"]
    assert [item["id"] for item in site] == [filed["id"], direct["id"]]
    mine = people["topicmod"].get(f"/api/topics/{topic['id']}/reports").get_json()["items"]
    assert [item["id"] for item in mine] == [filed["id"]]
    # A report with no topic is for site staff only.
    assert resolve(people["topicmod"], direct["id"], "dismiss").status_code == 404
    assert resolve(people["reporter"], filed["id"], "dismiss").status_code == 404
    assert resolve(people["topicmod"], filed["id"], "dismiss").status_code == 200
    assert people["sitemod"].get("/api/admin/reports").get_json()["items"] == [direct]
    dismissed = people["admin"].get("/api/admin/reports",
                                    query_string={"status": "dismissed"}).get_json()["items"]
    assert [item["id"] for item in dismissed] == [filed["id"]]
    assert people["admin"].get("/api/admin/reports",
                               query_string={"status": "lost"}).status_code == 400


def test_dismiss_closes_every_open_report_of_the_target_once(world):
    people, topic, post = world
    first = report(people["reporter"], "post", post["id"]).get_json()
    second = report(people["second"], "post", post["id"], "hate").get_json()
    response = resolve(people["topicmod"], first["id"], "dismiss", note="fine")
    assert response.status_code == 200
    body = response.get_json()
    assert body["resolved"] == 2
    assert {r["id"] for r in body["reports"]} == {first["id"], second["id"]}
    assert {r["status"] for r in body["reports"]} == {"dismissed"}
    assert resolve(people["topicmod"], second["id"], "dismiss").status_code == 409
    # Closed reports free the reporter to report the same target again later.
    assert report(people["reporter"], "post", post["id"]).status_code == 201
    entry = audit(people["admin"], action="report.dismiss")[0]
    assert entry["actor"]["username"] == "topicmod" and entry["target_id"] == post["id"]
    assert entry["topic_id"] == topic["id"] and len(entry["data"]["reports"]) == 2


def test_remove_content_deletes_the_post_live(app, world, db):
    people, topic, post = world
    watcher = people["second"].socket()
    watcher.emit("join_topic", {"topic_id": topic["id"]}, callback=True)
    watcher.get_received()
    filed = report(people["reporter"], "post", post["id"]).get_json()
    assert resolve(people["topicmod"], filed["id"], "remove_content").status_code == 200
    assert db.posts.find_one({"_id": ObjectId(post["id"])})["deleted"] is True
    updates = events(watcher, "post_updated")
    assert [(u["id"], u["deleted"]) for u in updates] == [(post["id"], True)]
    watcher.disconnect()
    assert people["reporter"].get(f"/api/posts/{post['id']}").get_json()["deleted"] is True
    actions = [e["action"] for e in audit(people["admin"], target_id=post["id"])]
    assert actions == ["report.remove_content", "topic.delete_post"]


def test_remove_content_on_comments_and_messages(app, world, db):
    people, topic, post = world
    comment = people["author"].post(f"/api/posts/{post['id']}/comments",
                                    {"body": "rude"}).get_json()
    filed = report(people["reporter"], "comment", comment["id"]).get_json()
    assert resolve(people["topicmod"], filed["id"], "remove_content").status_code == 200
    assert db.comments.find_one({"_id": ObjectId(comment["id"])})["deleted"] is True
    room = people["owner"].post(f"/api/topics/{topic['id']}/rooms",
                                {"name": "lobby"}).get_json()
    watcher = people["second"].socket()
    ack = watcher.emit("join_room", {"room_id": room["id"]}, callback=True)
    assert ack["ok"], ack
    message = people["author"].post(f"/api/messages/rooms/{room['id']}/messages",
                                    {"body": "nasty", "client_id": "x1"}).get_json()
    filed = report(people["reporter"], "message", message["id"]).get_json()
    assert filed["topic_id"] == topic["id"]
    watcher.get_received()
    assert resolve(people["topicmod"], filed["id"], "remove_content").status_code == 200
    assert [e["id"] for e in events(watcher, "message_deleted")] == [message["id"]]
    assert db.messages.find_one({"_id": ObjectId(message["id"])})["deleted"] is True
    watcher.disconnect()


def test_failed_action_leaves_reports_open(world):
    people, _, _ = world
    filed = report(people["reporter"], "user", people["author"].id).get_json()
    response = resolve(people["sitemod"], filed["id"], "remove_content")
    assert response.status_code == 400
    open_ids = [r["id"] for r in people["sitemod"].get("/api/admin/reports").get_json()["items"]]
    assert open_ids == [filed["id"]]


def test_warn_user_sends_a_notification(world):
    people, topic, post = world
    filed = report(people["reporter"], "post", post["id"], "harassment").get_json()
    assert resolve(people["sitemod"], filed["id"], "warn_user", note="tone it down"
                   ).status_code == 200
    notes = people["author"].get("/api/notifications/").get_json()["items"]
    assert [(n["kind"], n["data"]["reason"], n["data"]["topic_id"]) for n in notes] == [
        ("warning", "tone it down", topic["id"])]
    assert notes[0]["data"]["report_id"] == filed["id"]
    assert [e["action"] for e in audit(people["admin"], target_id=people["author"].id)] == [
        "user.warn"]


def test_ban_user_by_topic_moderator_is_a_topic_ban(world, db):
    people, topic, post = world
    filed = report(people["reporter"], "post", post["id"]).get_json()
    assert resolve(people["topicmod"], filed["id"], "ban_user").status_code == 200
    assert db.topic_bans.count_documents({"user_id": ObjectId(people["author"].id)}) == 1
    assert db.users.find_one({"_id": ObjectId(people["author"].id)}).get("ban") is None
    assert people["author"].get("/api/auth/me").status_code == 200
    blocked = people["author"].post("/api/posts/", {"topic_id": topic["id"],
                                                    "title": "Again", "body": "x"})
    assert blocked.status_code == 403
    assert [e["action"] for e in audit(people["admin"], target_id=people["author"].id)] == [
        "topic.ban_user"]


def test_ban_user_by_site_staff_is_a_site_ban(world, db):
    people, _, post = world
    filed = report(people["reporter"], "post", post["id"]).get_json()
    response = resolve(people["sitemod"], filed["id"], "ban_user", note="spam ring")
    assert response.status_code == 200
    stored = db.users.find_one({"_id": ObjectId(people["author"].id)})
    assert stored["ban"]["reason"] == "spam ring"
    assert people["author"].get("/api/auth/me").status_code == 401
    ban = audit(people["admin"], action="user.ban")[0]
    assert ban["data"]["report_id"] == filed["id"]
    assert audit(people["admin"], action="report.ban_user")[0]["data"]["ban"] == "site"


def test_topic_moderation_actions_reach_the_audit_log(world):
    people, topic, post = world
    mod = people["topicmod"]
    assert mod.post(f"/api/posts/{post['id']}/pin").status_code == 200
    assert mod.patch(f"/api/topics/{topic['id']}", {"description": "rules"}).status_code == 200
    assert people["owner"].patch(f"/api/topics/{topic['id']}",
                                 {"description": "own edit"}).status_code == 200
    assert mod.post(f"/api/topics/{topic['id']}/bans",
                    {"user_id": people["second"].id, "reason": "rude"}).status_code in (200, 201)
    assert mod.delete(f"/api/topics/{topic['id']}/bans/{people['second'].id}"
                      ).status_code in (200, 204)
    entries = audit(people["admin"], topic_id=topic["id"])
    assert [(e["action"], e["actor"]["username"]) for e in entries] == [
        ("topic.unban_user", "topicmod"), ("topic.ban_user", "topicmod"),
        ("topic.update_topic", "topicmod"), ("topic.pin_post", "topicmod"),
        ("topic.add_moderator", "owner")]
    assert entries[1]["reason"] == "rude" and entries[1]["target_id"] == people["second"].id


def test_moderator_message_deletion_is_audited(world):
    people, topic, _ = world
    room = people["owner"].post(f"/api/topics/{topic['id']}/rooms", {"name": "hall"}).get_json()
    message = people["author"].post(f"/api/messages/rooms/{room['id']}/messages",
                                    {"body": "off topic", "client_id": "z"}).get_json()
    own = people["author"].post(f"/api/messages/rooms/{room['id']}/messages",
                                {"body": "mine", "client_id": "y"}).get_json()
    assert people["author"].delete(f"/api/messages/{own['id']}").status_code == 200
    assert people["topicmod"].delete(f"/api/messages/{message['id']}").status_code == 200
    entries = audit(people["admin"], action="message.delete")
    assert [(e["target_id"], e["topic_id"]) for e in entries] == [(message["id"], topic["id"])]
