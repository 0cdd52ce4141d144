"""Each process keeps the authenticated user, their topic roles and bans, and topics'
access fields under version stamps in Redis (utils.local_copies, utils.user_versions).
A write made by ANOTHER process must be seen by this one's very next request: here the
shared `app` is the reader's process and `make_app()` the writer's (each app keeps its
own copies, so only the stamp in Redis can tell the reader)."""
from __future__ import annotations

from bson import ObjectId

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


# A direct message reads its partner, the blocks either way and the partner's mutes from
# these copies (services.platform.user_copies): a block, an unblock or a mute made by another
# process must reach the very next send.

def _direct(app):
    alice = Person(app.test_client(), "alice")
    bob = Person(app.test_client(), "bob")
    room_id = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()["id"]
    return alice, bob, room_id


def _send(person: Person, room_id: str, client_id: str):
    return person.post(f"/api/messages/rooms/{room_id}/messages",
                       {"body": "hello", "client_id": client_id})


def test_a_block_elsewhere_stops_the_next_direct_message_and_an_unblock_lets_it_in(
        app, make_app):
    alice, bob, room_id = _direct(app)
    for number in range(3):  # the copies of bob and of alice's blocks are filed
        assert _send(alice, room_id, f"warm{number}").status_code == 201
    elsewhere = make_app().test_client()
    # Bob blocks alice: the check reads ALICE's copy, so her stamp must change too.
    assert elsewhere.post(f"/api/users/{alice.id}/block",
                          headers=bob.headers).status_code == 204
    assert _send(alice, room_id, "blocked").status_code == 403
    assert elsewhere.delete(f"/api/users/{alice.id}/block",
                            headers=bob.headers).status_code == 204
    assert _send(alice, room_id, "unblocked").status_code == 201
    # And alice blocking bob elsewhere stops her own next send.
    assert _send(alice, room_id, "warm again").status_code == 201
    assert elsewhere.post(f"/api/users/{bob.id}/block",
                          headers=alice.headers).status_code == 204
    assert _send(alice, room_id, "mine blocked").status_code == 403


def test_a_partner_who_stops_accepting_messages_elsewhere_refuses_the_next_one(app,
                                                                               make_app):
    alice, bob, room_id = _direct(app)
    for number in range(3):
        assert _send(alice, room_id, f"warm{number}").status_code == 201
    assert make_app().test_client().patch(
        "/api/users/me", json={"settings": {"allow_messages_from": "nobody"}},
        headers=bob.headers).status_code == 200
    assert _send(alice, room_id, "refused").status_code == 403


def test_a_mute_elsewhere_silences_the_next_direct_message_and_an_unmute_does_not(
        app, make_app, db):
    alice, bob, room_id = _direct(app)

    def told() -> int:
        """How many direct messages bob (offline) was notified of."""
        return sum(n["count"] for n in db.notifications.find(
            {"user_id": ObjectId(bob.id), "kind": "direct_message"}))

    for number in range(3):  # bob's copy and his (empty) mutes are filed
        assert _send(alice, room_id, f"warm{number}").status_code == 201
    assert told() == 3
    rooms = bob.get("/api/messages/rooms").get_json()["items"]
    assert [r["muted"] for r in rooms] == [False]
    elsewhere = make_app().test_client()
    mute = f"/api/notifications/mutes/room/{room_id}"
    assert elsewhere.put(mute, headers=bob.headers).status_code == 204
    assert _send(alice, room_id, "muted").status_code == 201
    assert told() == 3
    rooms = bob.get("/api/messages/rooms").get_json()["items"]
    assert [r["muted"] for r in rooms] == [True]
    assert elsewhere.delete(mute, headers=bob.headers).status_code == 204
    assert _send(alice, room_id, "unmuted").status_code == 201
    assert told() == 4


def test_someone_with_more_blocks_and_mutes_than_a_copy_holds_is_checked_in_mongodb(
        app, db, monkeypatch):
    from services.platform import user_copies

    monkeypatch.setattr(user_copies, "COPY_LIMIT", 1)
    alice, bob, room_id = _direct(app)
    carol, dave = Person(app.test_client(), "carol"), Person(app.test_client(), "dave")
    for other in (carol, dave):  # two each: more than the copy may hold
        assert alice.post(f"/api/users/{other.id}/block").status_code == 204
        assert bob.call("PUT", f"/api/notifications/mutes/user/{other.id}").status_code == 204
    assert _send(alice, room_id, "still fine").status_code == 201
    assert bob.call("PUT", f"/api/notifications/mutes/room/{room_id}").status_code == 204


    def told() -> int:
        return sum(n["count"] for n in db.notifications.find({"user_id": ObjectId(bob.id)}))

    before = told()
    assert before == 1
    assert _send(alice, room_id, "muted").status_code == 201
    assert told() == before
    assert [r["muted"] for r in bob.get("/api/messages/rooms").get_json()["items"]] == [True]
    assert bob.post(f"/api/users/{alice.id}/block").status_code == 204
    assert _send(alice, room_id, "blocked").status_code == 403


def test_a_hide_elsewhere_leaves_the_next_post_list_and_an_unhide_brings_it_back(app,
                                                                                  make_app):
    elsewhere = make_app()
    author = Person(elsewhere.test_client(), "author")
    topic = make_topic(author)
    post = make_post(author, topic["id"], "Hidden soon")
    reader = Person(app.test_client(), "reader")
    listed = f"/api/posts?topic_id={topic['id']}"
    _warm(reader, listed)  # reader's (empty) hides are filed under their stamp
    assert [p["id"] for p in reader.get(listed).get_json()["items"]] == [post["id"]]
    hider = elsewhere.test_client()
    hide = f"/api/users/{author.id}/hide"
    assert hider.put(hide, headers=reader.headers).status_code == 204
    assert reader.get(listed).get_json()["items"] == []
    assert hider.delete(hide, headers=reader.headers).status_code == 204
    assert [p["id"] for p in reader.get(listed).get_json()["items"]] == [post["id"]]


def test_a_post_list_asks_mongodb_nothing_about_whom_i_hide_while_nothing_changed(
        make_app, monkeypatch):
    from tests.helpers import CommandLog, listen_to_database

    log = CommandLog()
    listen_to_database(monkeypatch, log)
    # A timeout of its own: a MongoDB client of its own, made with the listener.
    person = Person(make_app(MONGO_TIMEOUT_MS=2998).test_client(), "alice")
    topic = make_topic(person)
    make_post(person, topic["id"], "A post")
    _warm(person, f"/api/posts?topic_id={topic['id']}")
    log.recording = True
    assert person.get(f"/api/posts?topic_id={topic['id']}").status_code == 200
    assert log.commands  # the listener hears this app's client
    assert [c for c in log.commands if c[1] == "user_hides"] == []


def test_a_stale_copy_still_says_whose_stamp_to_read():
    """A request that finds a copy expired or under an older stamp reads MongoDB and
    files a new one; requests arriving meanwhile must still learn whose stamp to read
    (a bearer token's user), or each reads MongoDB twice (utils.local_copies)."""
    from utils.local_copies import Copies

    copies = Copies()
    copies.put("token", "stamp-1", {"user_id": "u1"}, lifetime=60)
    assert copies.get("token", "stamp-2") is None  # the user changed since
    assert copies.peek("token") == {"user_id": "u1"}
    copies.put("token", "stamp-2", {"user_id": "u1", "v": 2}, lifetime=-1)  # expired
    assert copies.get("token", "stamp-2") is None
    assert copies.peek("token") == {"user_id": "u1", "v": 2}
