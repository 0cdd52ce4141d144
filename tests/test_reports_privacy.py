"""Reporters are never revealed to the reported, whatever role the reported has; warnings
come only from site staff of a higher rank than the target, and their text is plain."""
from __future__ import annotations

import pytest
from bson import ObjectId

from tests.topic_helpers import Person, join, make_post, make_topic


def report(person: Person, target_type: str, target_id: str, reason: str = "spam"):
    response = person.post("/api/reports", {"target_type": target_type,
                                            "target_id": target_id, "reason": reason})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def resolve(person: Person, report_id: str, action: str, **extra):
    return person.post(f"/api/reports/{report_id}/resolve", {"action": action, **extra})


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def warnings(person: Person) -> list[dict]:
    return [n for n in person.get("/api/notifications/").get_json()["items"]
            if n["kind"] == "warning"]


@pytest.fixture
def world(client):
    people = {name: Person(client, name) for name in
              ("owner", "topicmod", "reporter", "member", "sitemod", "othermod", "boss",
               "boss2")}
    for name, role in (("sitemod", "moderator"), ("othermod", "moderator"),
                       ("boss", "admin"), ("boss2", "admin")):
        people[name].set_role(role)
    topic = make_topic(people["owner"], "Allotments")
    for name in ("topicmod", "reporter", "member"):
        join(people[name], topic["id"])
    assert people["owner"].post(f"/api/topics/{topic['id']}/moderators",
                                {"user_id": people["topicmod"].id}).status_code in (200, 201)
    return people, topic


# Point 11: the reported never see the report

def test_a_topic_owner_never_sees_reports_about_themselves(world):
    people, topic = world
    owner, topicmod, reporter = people["owner"], people["topicmod"], people["reporter"]
    own_post = make_post(owner, topic["id"], "Owner's post", "text")
    member_post = make_post(people["member"], topic["id"], "Member's post", "text")
    about_post = report(reporter, "post", own_post["id"], "harassment")
    about_topic = report(reporter, "topic", topic["id"])
    about_member = report(reporter, "post", member_post["id"])
    listed = owner.get(f"/api/topics/{topic['id']}/reports")
    assert ids(listed) == [about_member["id"]]
    assert owner.get(f"/api/topics/{topic['id']}/reports",
                     query_string={"status": "dismissed"}).get_json()["items"] == []
    # Resolving one is the 404 of a report that does not exist, byte for byte.
    missing = resolve(owner, str(ObjectId()), "dismiss")
    for hidden in (about_post, about_topic):
        answer = resolve(owner, hidden["id"], "dismiss")
        assert (answer.status_code, answer.get_data()) == (404, missing.get_data())
    # Another moderator of the topic handles them, reporter included.
    theirs = topicmod.get(f"/api/topics/{topic['id']}/reports").get_json()["items"]
    assert {r["id"]: r["reporter_id"] for r in theirs} == {
        about_post["id"]: reporter.id, about_topic["id"]: reporter.id,
        about_member["id"]: reporter.id}
    assert resolve(topicmod, about_post["id"], "dismiss").status_code == 200


def test_a_topic_moderator_never_sees_reports_about_their_own_content(world):
    people, topic = world
    topicmod = people["topicmod"]
    mod_post = make_post(topicmod, topic["id"], "Moderator's post", "text")
    filed = report(people["reporter"], "post", mod_post["id"])
    assert ids(topicmod.get(f"/api/topics/{topic['id']}/reports")) == []
    assert resolve(topicmod, filed["id"], "remove_content").status_code == 404
    assert ids(people["owner"].get(f"/api/topics/{topic['id']}/reports")) == [filed["id"]]


def test_site_staff_see_every_report_but_those_about_themselves(world):
    people, topic = world
    sitemod, boss = people["sitemod"], people["boss"]
    about_sitemod = report(people["reporter"], "user", sitemod.id, "harassment")
    about_boss = report(people["reporter"], "user", boss.id)
    about_owner = report(people["reporter"], "topic", topic["id"])
    assert ids(sitemod.get("/api/admin/reports")) == [about_boss["id"], about_owner["id"]]
    assert ids(boss.get("/api/admin/reports")) == [about_sitemod["id"], about_owner["id"]]
    assert ids(people["othermod"].get("/api/admin/reports")) == [
        about_sitemod["id"], about_boss["id"], about_owner["id"]]
    assert resolve(sitemod, about_sitemod["id"], "dismiss").status_code == 404
    assert resolve(boss, about_boss["id"], "dismiss").status_code == 404
    # Staff may read topic report lists too, minus their own.
    assert ids(sitemod.get(f"/api/topics/{topic['id']}/reports")) == [about_owner["id"]]
    assert ids(people["owner"].get(f"/api/topics/{topic['id']}/reports")) == []
    handled = resolve(people["othermod"], about_sitemod["id"], "dismiss")
    assert handled.status_code == 200
    assert handled.get_json()["reports"][0]["reporter_id"] == people["reporter"].id


# Point 12: who warns, and how the text is shown

def test_topic_moderators_cannot_warn_through_reports(world, db):
    people, topic = world
    post = make_post(people["member"], topic["id"], "Member's post", "text")
    filed = report(people["reporter"], "post", post["id"])
    for moderator in (people["owner"], people["topicmod"]):
        answer = resolve(moderator, filed["id"], "warn_user", note="Official: you're banned")
        assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"
    assert warnings(people["member"]) == []
    assert db.notifications.count_documents({}) == 0
    # The failed action left the report open for someone who may act.
    assert ids(people["owner"].get(f"/api/topics/{topic['id']}/reports")) == [filed["id"]]
    assert resolve(people["sitemod"], filed["id"], "warn_user", note="calm down"
                   ).status_code == 200
    assert [w["data"]["reason"] for w in warnings(people["member"])] == ["calm down"]


@pytest.mark.parametrize(("actor", "target", "via_report"), [
    ("sitemod", "member", 200), ("boss", "member", 200), ("boss", "sitemod", 200),
    # Staff who may handle the report, but do not outrank its target.
    ("sitemod", "othermod", 403), ("sitemod", "boss", 403), ("boss", "boss2", 403),
    # Not staff, or the report is about the actor: they do not even see it.
    ("boss", "boss", 404), ("owner", "member", 404), ("member", "owner", 404),
])
def test_only_a_higher_site_rank_warns(world, actor, target, via_report):
    people, _ = world
    allowed = via_report == 200
    direct = people[actor].post(f"/api/admin/users/{people[target].id}/warn",
                                {"reason": "first"})
    assert direct.status_code == (201 if allowed else 403), direct.get_json()
    filed = report(people["reporter"], "user", people[target].id)
    answer = resolve(people[actor], filed["id"], "warn_user", note="second")
    assert answer.status_code == via_report, answer.get_json()
    expected = ["second", "first"] if allowed else []
    assert [w["data"]["reason"] for w in warnings(people[target])] == expected


def test_warning_text_is_plain_text(world):
    people, _ = world
    reason = ("<img src=x onerror=alert(1)> **Official**: [verify here](https://evil.example)"
              "\r\nsecond line\u202e\x07 &amp;")
    response = people["sitemod"].post(f"/api/admin/users/{people['member'].id}/warn",
                                      {"reason": reason})
    assert response.status_code == 201, response.get_json()
    data = warnings(people["member"])[0]["data"]
    assert data["reason"] == ("<img src=x onerror=alert(1)> **Official**: "
                              "[verify here](https://evil.example)\nsecond line &amp;")
    assert data["reason_html"] == (
        "&lt;img src=x onerror=alert(1)&gt; **Official**: [verify here](https://evil.example)"
        "<br>\nsecond line &amp;amp;")
    blank = people["sitemod"].post(f"/api/admin/users/{people['member'].id}/warn",
                                   {"reason": "\u202e\x07 "})
    assert blank.status_code == 400
