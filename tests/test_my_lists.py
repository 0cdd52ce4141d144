"""A topic by slug, my topics, my pending topic invitations and my reports with their
outcome: each shows the caller only what is theirs, and a private topic stays the 404
of a missing one for outsiders."""
from __future__ import annotations

import pytest

from tests.topic_helpers import Person, join, make_post, make_topic


@pytest.fixture
def people(client):
    return {name: Person(client, name) for name in ("owner", "member", "outsider", "staff")}


def test_topic_by_slug_hides_private_topics_from_non_members(client, people):
    owner, member, outsider = people["owner"], people["member"], people["outsider"]
    public = make_topic(owner, "Open Garden Club")
    secret = make_topic(owner, "Secret Garden Club", visibility="private")
    assert public["slug"] == "open-garden-club"
    found = client.get("/api/topics/by-slug/open-garden-club")
    assert found.status_code == 200 and found.get_json()["id"] == public["id"]
    assert owner.get(f"/api/topics/by-slug/{secret['slug']}").get_json()["my_role"] == "owner"

    missing = outsider.get("/api/topics/by-slug/no-such-club")
    assert missing.status_code == 404
    for caller in (outsider.get, client.get, member.get):
        hidden = caller(f"/api/topics/by-slug/{secret['slug']}")
        assert hidden.status_code == 404 and hidden.get_json() == missing.get_json()
    assert owner.post(f"/api/topics/{secret['id']}/invitations",
                      {"user_id": member.id}).status_code == 204
    assert member.post(f"/api/topics/{secret['id']}/invitations/accept").status_code == 200
    seen = member.get(f"/api/topics/by-slug/{secret['slug']}").get_json()
    assert seen["id"] == secret["id"] and seen["my_role"] == "member"
    assert owner.delete(f"/api/topics/{public['id']}").status_code == 204
    gone = client.get("/api/topics/by-slug/open-garden-club")
    assert gone.status_code == 404 and gone.get_json() == missing.get_json()
    assert client.get("/api/topics/by-slug/" + "a" * 300).status_code == 404


def test_my_topics_lists_my_roles_and_only_mine(people):
    owner, member, outsider = people["owner"], people["member"], people["outsider"]
    mine = make_topic(owner, "Owned Topic")
    moderated = make_topic(outsider, "Moderated Topic")
    joined = make_topic(outsider, "Joined Topic")
    gone = make_topic(outsider, "Deleted Topic")
    for topic in (mine, moderated, joined, gone):
        if topic is not mine:
            join(owner, topic["id"])
    assert outsider.post(f"/api/topics/{moderated['id']}/moderators",
                         {"user_id": owner.id}).status_code == 200
    assert outsider.delete(f"/api/topics/{gone['id']}").status_code == 204
    make_topic(member, "Not Mine")

    listed = owner.get("/api/users/me/topics").get_json()["items"]
    assert [(t["id"], t["my_role"]) for t in listed] == [
        (joined["id"], "member"), (moderated["id"], "moderator"), (mine["id"], "owner")]
    only = owner.get("/api/users/me/topics", query_string={"role": "moderator"}).get_json()
    assert [t["id"] for t in only["items"]] == [moderated["id"]]
    assert owner.get("/api/users/me/topics",
                     query_string={"role": "king"}).status_code == 400
    assert [t["title"] for t in member.get("/api/users/me/topics").get_json()["items"]] == [
        "Not Mine"]


def test_anonymous_callers_have_no_lists(client):
    for path in ("/api/users/me/topics", "/api/users/me/topic-invitations",
                 "/api/reports/mine"):
        assert client.get(path).status_code == 401


def test_pending_invitations_are_listed_for_the_invitee_only(people):
    owner, member, outsider = people["owner"], people["member"], people["outsider"]
    first = make_topic(owner, "First Private", visibility="private", description="plans")
    second = make_topic(owner, "Second Private", visibility="private")
    for topic in (first, second):
        assert owner.post(f"/api/topics/{topic['id']}/invitations",
                          {"user_id": member.id}).status_code == 204

    pending = member.get("/api/users/me/topic-invitations").get_json()["items"]
    assert [i["topic"]["id"] for i in pending] == [second["id"], first["id"]]
    assert pending[1]["topic"]["description"] == "plans"
    assert pending[1]["topic"]["my_role"] is None
    assert pending[1]["invited_by"]["username"] == "owner"
    assert outsider.get("/api/users/me/topic-invitations").get_json()["items"] == []
    assert owner.get("/api/users/me/topic-invitations").get_json()["items"] == []

    assert member.post(f"/api/topics/{first['id']}/invitations/accept").status_code == 200
    assert member.post(f"/api/topics/{second['id']}/invitations/decline").status_code == 204
    assert member.get("/api/users/me/topic-invitations").get_json()["items"] == []


def test_my_reports_show_the_outcome_but_not_the_moderator(people):
    owner, member, outsider, staff = (people[n] for n in ("owner", "member", "outsider",
                                                          "staff"))
    staff.set_role("moderator")
    topic = make_topic(owner, "Reported Topic")
    join(outsider, topic["id"])
    bad = make_post(outsider, topic["id"], "Bad post", "spam spam")
    worse = make_post(outsider, topic["id"], "Worse post", "spam")
    filed = [member.post("/api/reports", {"target_type": "post", "target_id": post["id"],
                                          "reason": "spam"}).get_json()
             for post in (bad, worse)]
    resolved = staff.post(f"/api/reports/{filed[0]['id']}/resolve",
                          {"action": "remove_content", "note": "private staff note"})
    assert resolved.status_code == 200, resolved.get_json()

    listed = member.get("/api/reports/mine").get_json()["items"]
    assert [r["id"] for r in listed] == [filed[1]["id"], filed[0]["id"]]
    open_one, closed = listed
    assert (open_one["status"], open_one["action_taken"], open_one["resolved_at"]) == (
        "open", None, None)
    assert closed["status"] == "resolved" and closed["action_taken"] == "remove_content"
    assert closed["resolved_at"] is not None
    text = str(listed)
    assert staff.id not in text and "private staff note" not in text
    assert not {"resolved_by", "note", "reporter_id"} & set(closed)
    # Nobody else sees them, the reported author and the moderator included.
    for other in (outsider, staff, owner):
        assert other.get("/api/reports/mine").get_json()["items"] == []
