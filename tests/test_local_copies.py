"""Each process keeps the authenticated user, their topic roles and bans, and topics'
access fields under version stamps in Redis (utils.local_copies, utils.user_versions).
A write made by ANOTHER process must be seen by this one's very next request: here the
shared `app` is the reader's process and `make_app()` the writer's (each app keeps its
own copies, so only the stamp in Redis can tell the reader)."""
from __future__ import annotations

from tests.topic_helpers import Person, join, make_post, make_topic
from utils import db as db_module


def _warm(person: Person, path: str, times: int = 3) -> None:
    """A token's first request only learns whose it is; later ones use the copy."""
    for _ in range(times):
        assert person.get(path).status_code == 200


def test_a_role_change_elsewhere_is_seen_by_the_next_request(app, make_app):
    writer = make_app()
    owner = Person(writer.test_client(), "owner")
    topic = make_topic(owner)
    member = Person(app.test_client(), "member")
    join(member, topic["id"])
    _warm(member, f"/api/topics/{topic['id']}")
    assert member.get(f"/api/topics/{topic['id']}").get_json()["my_role"] == "member"
    assert owner.post(f"/api/topics/{topic['id']}/moderators",
                      {"user_id": member.id}).status_code in (200, 201, 204)
    assert member.get(f"/api/topics/{topic['id']}").get_json()["my_role"] == "moderator"


def test_a_topic_ban_elsewhere_is_seen_by_the_next_request(app, make_app):
    writer = make_app()
    owner = Person(writer.test_client(), "owner")
    topic = make_topic(owner)
    member = Person(app.test_client(), "member")
    join(member, topic["id"])
    make_post(member, topic["id"], "Before the ban")  # the copy knows: not banned
    make_post(member, topic["id"], "Still before")
    assert owner.post(f"/api/topics/{topic['id']}/bans",
                      {"user_id": member.id, "reason": "spam"}).status_code in (200, 201)
    refused = member.post("/api/posts/", {"topic_id": topic["id"], "title": "After the ban"})
    assert refused.status_code == 403


def test_a_topic_turned_private_elsewhere_is_hidden_at_the_next_request(app, make_app):
    writer = make_app()
    owner = Person(writer.test_client(), "owner")
    topic = make_topic(owner)
    outsider = Person(app.test_client(), "outsider")
    _warm(outsider, f"/api/posts?topic_id={topic['id']}")
    assert owner.patch(f"/api/topics/{topic['id']}",
                       {"visibility": "private"}).status_code == 200
    assert outsider.get(f"/api/posts?topic_id={topic['id']}").status_code == 404
    ids = [t["id"] for t in outsider.get("/api/topics").get_json()["items"]]
    assert topic["id"] not in ids


def test_a_profile_edit_elsewhere_is_seen_by_the_next_request(app, make_app):
    reader = Person(app.test_client(), "alice")
    _warm(reader, "/api/auth/me")
    writer_client = make_app().test_client()  # the same user and token, another process
    assert writer_client.patch("/api/users/me", json={"display_name": "Alice B"},
                               headers=reader.headers).status_code == 200
    assert reader.get("/api/auth/me").get_json()["user"]["display_name"] == "Alice B"


def test_a_revoked_token_is_refused_by_the_next_request_elsewhere(app, make_app):
    reader = Person(app.test_client(), "alice")
    _warm(reader, "/api/auth/me")
    revoker = make_app().test_client()
    assert revoker.delete("/api/auth/token", headers=reader.headers).status_code == 204
    assert reader.get("/api/auth/me").status_code == 401


def test_bearer_requests_read_no_mongodb_while_nothing_changed(make_app):
    counting = make_app(MONGO_COUNT_COMMANDS=True)
    person = Person(counting.test_client(), "alice")
    topic = make_topic(person)
    _warm(person, "/api/auth/me")
    _warm(person, f"/api/topics/{topic['id']}", 1)
    before = db_module.COMMANDS.total()
    assert person.get("/api/auth/me").status_code == 200
    assert db_module.COMMANDS.total() == before  # the user: one Redis GET, no MongoDB


def test_the_topic_lists_generation_comes_in_the_same_round_trip_as_the_stamps(app,
                                                                                 redis_url):
    from tests.helpers import RedisCommands

    person = Person(app.test_client(), "alice")
    _warm(person, "/api/topics", 2)
    with RedisCommands(redis_url) as seen:
        assert person.get("/api/topics").status_code == 200
    generation = "rt:cache:gen:topic_lists"
    assert [c for c in seen.commands if c.startswith("GET") and generation in c] == []
    assert [c for c in seen.commands if c.startswith("MGET") and generation in c]


def test_a_topic_created_elsewhere_is_listed_at_the_next_request(app, make_app):
    reader = Person(app.test_client(), "reader")
    _warm(reader, "/api/topics")
    owner = Person(make_app().test_client(), "owner")
    topic = make_topic(owner, "Fresh topic")
    assert topic["id"] in [t["id"] for t in reader.get("/api/topics").get_json()["items"]]
