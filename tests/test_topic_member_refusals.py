"""What the owner's and moderators' member actions refuse, and how (docs/TOPICS.md): a
transfer of ownership, a moderator change and an invitation that names the wrong person
answer the contract's error shape with a status a client can act on, and change nothing."""
from __future__ import annotations

import pytest

from tests.topic_helpers import Person, join, make_topic

MISSING_USER = "0" * 24


@pytest.fixture
def topics(client):
    """The owner's public and private topics; `member` and `banned` joined the public one
    (and `banned` was banned there), `outsider` joined neither; in the private one
    `member` is a member and `banned` was invited, then banned."""
    people = {name: Person(client, name) for name in ("owner", "member", "banned", "outsider")}
    owner = people["owner"]
    public = make_topic(owner, "Open garden")
    private = make_topic(owner, "Back room", visibility="private")
    for name in ("member", "banned"):
        join(people[name], public["id"])
    for name in ("member", "banned"):
        assert owner.post(f"/api/topics/{private['id']}/invitations",
                          {"user_id": people[name].id}).status_code == 204
    assert people["member"].post(
        f"/api/topics/{private['id']}/invitations/accept").status_code == 200
    for topic in (public, private):
        assert owner.post(f"/api/topics/{topic['id']}/bans",
                          {"user_id": people["banned"].id, "reason": "spam"}).status_code == 201
    return people, public["id"], private["id"]


def test_member_actions_that_name_the_wrong_person_are_refused(topics):
    people, public, private = topics
    owner = people["owner"]
    refused = [
        # (who, path, user, status, code)
        (owner, f"/api/topics/{public}/transfer", owner.id, 400, "bad_request"),
        (owner, f"/api/topics/{public}/transfer", people["outsider"].id, 404, "not_found"),
        (owner, f"/api/topics/{public}/transfer", people["banned"].id, 404, "not_found"),
        (owner, f"/api/topics/{public}/moderators", people["outsider"].id, 404, "not_found"),
        (owner, f"/api/topics/{public}/moderators", owner.id, 400, "bad_request"),
        (owner, f"/api/topics/{public}/invitations", people["outsider"].id, 400, "bad_request"),
        (owner, f"/api/topics/{private}/invitations", MISSING_USER, 404, "not_found"),
        (owner, f"/api/topics/{private}/invitations", people["member"].id, 409, "conflict"),
        (owner, f"/api/topics/{private}/invitations", people["banned"].id, 403, "forbidden"),
    ]
    for who, path, user_id, status, code in refused:
        answer = who.post(path, {"user_id": user_id})
        assert (answer.status_code, answer.get_json()["error"]["code"]) == (status, code), (
            path, user_id, answer.get_json())
    plain = owner.call("DELETE", f"/api/topics/{public}/moderators/{people['member'].id}")
    assert plain.status_code == 404 and plain.get_json()["error"]["code"] == "not_found"

    # Nothing changed: the owner still owns it, nobody was made a moderator.
    members = {m["user"]["id"]: m["role"] for m in owner.get(
        f"/api/topics/{public}/members").get_json()["items"]}
    assert members[owner.id] == "owner"
    assert "moderator" not in members.values()


def test_an_invitation_cannot_be_accepted_once_banned(topics):
    people, _public, private = topics
    answer = people["banned"].post(f"/api/topics/{private}/invitations/accept")
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"
    assert people["banned"].get(f"/api/topics/{private}").status_code == 404
