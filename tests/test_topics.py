"""Topics through the API: creation, slugs, listing, membership, roles, private topics
with invitations, bans and the moderation log, including every refusal.

No test here uses the `db` fixture: it keeps one app context pushed for the whole test,
and Flask then reuses it (and its `g`, where the current user is cached) for every
request of the test client, so all requests would act as the first caller."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from bson import ObjectId

from tests.topic_helpers import Person, join, make_post, make_topic
from utils.db import get_db


@pytest.fixture
def owner(client):
    return Person(client, "olivia")


@pytest.fixture
def member(client):
    return Person(client, "mike")


@pytest.fixture
def outsider(client):
    return Person(client, "oscar")


def test_create_topic_with_slug_and_owner_role(owner, client):
    topic = make_topic(owner, "Crème Brûlée Lovers", description="desserts",
                       tags=["Food", "baking"])
    assert topic["slug"] == "creme-brulee-lovers"
    assert topic["my_role"] == "owner" and topic["member_count"] == 1
    assert topic["tags"] == ["food", "baking"] and topic["visibility"] == "public"
    again = make_topic(owner, "Crème brûlée lovers")
    assert again["slug"] == "creme-brulee-lovers-2"
    assert client.get(f"/api/topics/{topic['id']}").get_json()["my_role"] is None


@pytest.mark.parametrize("body", [
    {"title": "ab"}, {"title": "x" * 101}, {"title": "   "},
    {"title": "Fine", "tags": ["a", "b", "c", "d", "e", "f"]},
    {"title": "Fine", "description": "d" * 2001}, {"title": "Fine", "visibility": "secret"},
    {"title": "Fine", "extra": 1},
])
def test_create_topic_validation(owner, body):
    response = owner.post("/api/topics/", body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "validation_error"


def test_create_needs_login(client):
    assert client.post("/api/topics/", json={"title": "Nope"}).status_code == 401


def test_list_filter_and_sort(owner, member, client):
    garden = make_topic(owner, "Garden tools", tags=["garden"])
    chess = make_topic(owner, "Chess openings", tags=["games"])
    make_topic(owner, "Secret garden", visibility="private", tags=["garden"])
    join(member, chess["id"])

    def titles(query):
        return [t["title"] for t in client.get(f"/api/topics/?{query}").get_json()["items"]]

    assert titles("sort=new") == ["Chess openings", "Garden tools"]
    assert titles("sort=popular")[0] == "Chess openings"
    assert titles("tag=garden") == ["Garden tools"]
    assert titles("q=gard") == ["Garden tools"]
    assert titles("q=tools%20gar") == ["Garden tools"]
    make_post(owner, garden["id"])
    assert titles("sort=active")[0] == "Garden tools"
    mine = owner.get("/api/topics/?tag=garden").get_json()["items"]
    assert {t["title"] for t in mine} == {"Garden tools", "Secret garden"}
    assert all(t["my_role"] == "owner" for t in mine)


def test_update_by_owner_or_moderator_only(owner, member, outsider):
    topic = make_topic(owner)
    join(member, topic["id"])
    join(outsider, topic["id"])
    assert member.patch(f"/api/topics/{topic['id']}", {"title": "Mine now"}).status_code == 403
    assert owner.post(f"/api/topics/{topic['id']}/moderators",
                      {"user_id": member.id}).status_code == 200
    changed = member.patch(f"/api/topics/{topic['id']}", {"description": "new words"})
    assert changed.status_code == 200 and changed.get_json()["description"] == "new words"
    # Only the owner names moderators, a moderator cannot.
    assert member.post(f"/api/topics/{topic['id']}/moderators",
                       {"user_id": outsider.id}).status_code == 403
    assert owner.delete(f"/api/topics/{topic['id']}/moderators/{member.id}").status_code == 204
    assert member.patch(f"/api/topics/{topic['id']}", {"title": "Again"}).status_code == 403


def test_delete_by_owner_or_admin_is_soft(owner, member, client):
    topic = make_topic(owner)
    join(member, topic["id"])
    assert owner.post(f"/api/topics/{topic['id']}/moderators",
                      {"user_id": member.id}).status_code == 200
    assert member.delete(f"/api/topics/{topic['id']}").status_code == 403
    post = make_post(owner, topic["id"])
    assert owner.delete(f"/api/topics/{topic['id']}").status_code == 204
    assert client.get(f"/api/topics/{topic['id']}").status_code == 404
    assert client.get(f"/api/posts/{post['id']}").status_code == 404
    assert client.get("/api/posts/").get_json()["items"] == []
    db = get_db(client.application)
    stored = db.topics.find_one({"_id": ObjectId(topic["id"])})
    assert stored["deleted"] is True
    assert db.audit_log.find_one({"action": "topic.delete_topic"}) is not None

    other = make_topic(owner, "Second")
    admin = Person(client, "adam")
    admin.set_role("admin")
    assert admin.delete(f"/api/topics/{other['id']}").status_code == 204


def test_join_leave_and_transfer(owner, member):
    topic = make_topic(owner)
    joined = member.post(f"/api/topics/{topic['id']}/join").get_json()
    assert joined["member_count"] == 2 and joined["my_role"] == "member"
    assert member.post(f"/api/topics/{topic['id']}/join").get_json()["member_count"] == 2
    refused = owner.post(f"/api/topics/{topic['id']}/leave")
    assert refused.status_code == 409
    assert member.post(f"/api/topics/{topic['id']}/transfer",
                       {"user_id": owner.id}).status_code == 403
    moved = owner.post(f"/api/topics/{topic['id']}/transfer", {"user_id": member.id})
    assert moved.status_code == 200 and moved.get_json()["owner"]["id"] == member.id
    assert moved.get_json()["my_role"] == "moderator"
    left = owner.post(f"/api/topics/{topic['id']}/leave")
    assert left.status_code == 200 and left.get_json()["member_count"] == 1
    members = member.get(f"/api/topics/{topic['id']}/members").get_json()["items"]
    assert [(m["user"]["username"], m["role"]) for m in members] == [("mike", "owner")]


def test_private_topic_invisible_until_invitation_accepted(owner, member, outsider):
    topic = make_topic(owner, "Hidden place", visibility="private")
    tid = topic["id"]
    for path in (f"/api/topics/{tid}", f"/api/topics/{tid}/members",
                 f"/api/posts/?topic_id={tid}"):
        assert outsider.get(path).status_code == 404
    assert outsider.post(f"/api/topics/{tid}/join").status_code == 404
    assert outsider.get("/api/topics/").get_json()["items"] == []
    assert member.post(f"/api/topics/{tid}/invitations/accept").status_code == 404

    assert outsider.post(f"/api/topics/{tid}/invitations",
                         {"user_id": member.id}).status_code == 404
    assert owner.post(f"/api/topics/{tid}/invitations", {"user_id": member.id}).status_code \
        == 204
    (invitation,) = member.get("/api/notifications").get_json()["items"]
    assert invitation["kind"] == "topic_invitation"
    assert invitation["data"]["topic_id"] == tid
    accepted = member.post(f"/api/topics/{tid}/invitations/accept")
    assert accepted.status_code == 200 and accepted.get_json()["my_role"] == "member"
    assert member.get(f"/api/topics/{tid}").status_code == 200
    assert owner.post(f"/api/topics/{tid}/invitations", {"user_id": outsider.id}).status_code \
        == 204
    assert outsider.post(f"/api/topics/{tid}/invitations/decline").status_code == 204
    assert outsider.post(f"/api/topics/{tid}/invitations/accept").status_code == 404


def test_bans(owner, member, outsider):
    topic = make_topic(owner)
    tid = topic["id"]
    other = make_topic(outsider, "Other place")
    for person in (member, outsider):
        join(person, tid)
    post = make_post(member, tid)
    # A moderator of another topic, and a plain member, cannot ban here.
    assert outsider.post(f"/api/topics/{tid}/bans", {"user_id": member.id}).status_code == 403
    assert outsider.get(f"/api/topics/{tid}/bans").status_code == 403
    assert outsider.get(f"/api/topics/{other['id']}/bans").status_code == 200
    assert owner.post(f"/api/topics/{tid}/bans", {"user_id": owner.id}).status_code == 400
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    assert owner.post(f"/api/topics/{tid}/bans",
                      {"user_id": member.id, "expires_at": past}).status_code == 400

    expires = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    banned = owner.post(f"/api/topics/{tid}/bans",
                        {"user_id": member.id, "reason": "spam", "expires_at": expires})
    assert banned.status_code == 201 and banned.get_json()["reason"] == "spam"
    assert member.post(f"/api/topics/{tid}/join").status_code == 403
    assert member.post("/api/posts/", {"topic_id": tid, "title": "again",
                                       "body": ""}).status_code == 403
    assert member.post(f"/api/posts/{post['id']}/comments", {"body": "hi"}).status_code == 403
    assert member.post(f"/api/posts/{post['id']}/vote", {"value": 1}).status_code == 403
    bans = owner.get(f"/api/topics/{tid}/bans").get_json()["items"]
    assert [b["user"]["id"] for b in bans] == [member.id]

    assert owner.delete(f"/api/topics/{tid}/bans/{member.id}").status_code == 204
    assert member.post(f"/api/topics/{tid}/join").status_code == 200
    log = owner.get(f"/api/topics/{tid}/moderation-log").get_json()["items"]
    assert [entry["action"] for entry in log] == ["unban_user", "ban_user"]
    assert log[1]["reason"] == "spam" and log[1]["actor"]["id"] == owner.id
    assert log[1]["target_id"] == member.id and log[1]["created_at"]
    assert member.get(f"/api/topics/{tid}/moderation-log").status_code == 403


def test_moderator_cannot_ban_a_fellow_moderator(owner, member, outsider):
    topic = make_topic(owner)
    tid = topic["id"]
    for person in (member, outsider):
        join(person, tid)
        owner.post(f"/api/topics/{tid}/moderators", {"user_id": person.id})
    assert member.post(f"/api/topics/{tid}/bans", {"user_id": outsider.id}).status_code == 403
    assert member.post(f"/api/topics/{tid}/bans", {"user_id": owner.id}).status_code == 403
    assert owner.post(f"/api/topics/{tid}/bans", {"user_id": outsider.id}).status_code == 201


def test_a_topic_invitation_ends_with_its_inviters_power_to_invite(client, owner, member,
                                                                  outsider):
    """Accepting checks that the inviter may still invite into the private topic: a
    moderator made a plain member again, or banned from the site, leaves an invitation
    that answers like a missing one and is gone."""
    topic = make_topic(owner, "Hidden place", visibility="private")
    tid = topic["id"]
    assert owner.post(f"/api/topics/{tid}/invitations", {"user_id": member.id}).status_code \
        == 204
    assert member.post(f"/api/topics/{tid}/invitations/accept").status_code == 200
    assert owner.post(f"/api/topics/{tid}/moderators", {"user_id": member.id}).status_code \
        == 200
    assert member.post(f"/api/topics/{tid}/invitations", {"user_id": outsider.id}
                       ).status_code == 204
    assert owner.delete(f"/api/topics/{tid}/moderators/{member.id}").status_code == 204
    stale = outsider.post(f"/api/topics/{tid}/invitations/accept")
    missing = outsider.post(f"/api/topics/{ObjectId()}/invitations/accept")
    assert stale.status_code == missing.status_code == 404
    assert stale.get_json() == missing.get_json()
    assert outsider.get("/api/users/me/topic-invitations").get_json()["items"] == []
    assert outsider.get(f"/api/topics/{tid}").status_code == 404
    # A moderator again, the member invites and is banned from the site.
    assert owner.post(f"/api/topics/{tid}/moderators", {"user_id": member.id}).status_code \
        == 200
    assert member.post(f"/api/topics/{tid}/invitations", {"user_id": outsider.id}
                       ).status_code == 204
    admin = Person(client, "sitestaff")
    admin.set_role("admin")
    assert admin.post(f"/api/admin/users/{member.id}/ban", {"reason": "spam"}).status_code == 200
    assert outsider.post(f"/api/topics/{tid}/invitations/accept").status_code == 404
    assert outsider.get(f"/api/topics/{tid}").status_code == 404
    # The owner's invitation still lets the outsider in.
    assert owner.post(f"/api/topics/{tid}/invitations", {"user_id": outsider.id}
                      ).status_code == 204
    assert outsider.post(f"/api/topics/{tid}/invitations/accept").status_code == 200
