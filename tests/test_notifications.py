"""Notifications through the public API and sockets (docs/NOTIFICATIONS.md): each kind
made once by its action, live `notification` and `notification_count` on another user's
sockets, settings, mutes and blocks that silence, coalescing of bursts (also under
concurrency), follows, read / read-all / delete, and mention scanning that stays linear."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone

import pytest
from bson import ObjectId

from services.notify import notify_core
from services.notify.notify_mentions import mentioned_names
from tests.helpers import DEFAULT_PASSWORD, run_jobs
from tests.topic_helpers import Person, join, make_post, make_topic
from utils.extensions import socketio


@pytest.fixture
def app(make_app):
    return make_app(RATELIMIT_ENABLED=False, CHAT_RATE_LIMIT="1000 per 5 seconds",
                    NOTIFY_MAX_MENTIONS=2, NOTIFY_COALESCE_SECONDS=600)


@pytest.fixture
def people(client):
    return {name: Person(client, name) for name in ("alice", "bob", "carol", "dave")}


def live(app, person: Person):
    token = person.headers["Authorization"].split()[1]
    sc = socketio.test_client(app, auth={"token": token})
    assert sc.is_connected()
    return sc


def named(sc, name: str) -> list[dict]:
    return [e["args"][0] for e in sc.get_received() if e["name"] == name]


def mine(person: Person, **query) -> list[dict]:
    response = person.get("/api/notifications/", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def comment(person: Person, post_id: str, body: str = "nice", parent: str | None = None):
    payload = {"body": body, **({"parent_id": parent} if parent else {})}
    response = person.post(f"/api/posts/{post_id}/comments", payload)
    assert response.status_code == 201, response.get_json()
    run_jobs(person.client.application)  # followers are told by a job (the fan-out)
    return response.get_json()


@pytest.fixture
def forum(people):
    alice = people["alice"]
    topic = make_topic(alice, "Gardening")
    for name in ("bob", "carol", "dave"):
        join(people[name], topic["id"])
    post = make_post(alice, topic["id"], "Tomatoes")
    return topic, post


def test_a_reply_to_my_post_reaches_my_socket_with_the_count(app, people, forum):
    _topic, post = forum
    alice, bob = people["alice"], people["bob"]
    sc = live(app, alice)
    comment(bob, post["id"])
    got = [(e["name"], e["args"][0]) for e in sc.get_received()
           if e["name"] in ("notification", "notification_count")]
    assert [name for name, _ in got] == ["notification", "notification_count"]
    data, count = got[0][1], got[1][1]
    assert count == {"count": 1}
    assert data["kind"] == "post_reply" and data["count"] == 1
    assert data["actors"] == [alice.get("/api/users/bob").get_json()]
    assert data["summary"] == "bob replied to your post \u201cTomatoes\u201d"
    assert data["data"]["post_id"] == post["id"]
    listed = mine(alice)
    assert [n["id"] for n in listed] == [data["id"]]
    assert alice.get("/api/notifications/unread-count").get_json() == {"count": 1}
    assert mine(bob) == []  # the actor hears nothing of their own comment
    sc.disconnect()


def test_actors_are_public_users_as_they_are_now(app, people, forum):
    """An actor is shown like every other user reference (display name, avatar), over
    REST and the socket, and as the user is now: a later rename shows in the list."""
    _topic, post = forum
    alice, bob = people["alice"], people["bob"]
    assert bob.patch("/api/users/me", {"display_name": "Bob Builder"}).status_code == 200
    sc = live(app, alice)
    comment(bob, post["id"])
    [pushed] = named(sc, "notification")
    profile = alice.get("/api/users/bob").get_json()
    assert profile["display_name"] == "Bob Builder" and profile["avatar_url"]
    assert pushed["actors"] == [profile]
    assert pushed["summary"] == "Bob Builder replied to your post \u201cTomatoes\u201d"
    assert bob.patch("/api/users/me", {"display_name": "Robert"}).status_code == 200
    [listed] = mine(alice)
    assert listed["actors"] == [alice.get("/api/users/bob").get_json()]
    assert listed["actors"][0]["display_name"] == "Robert"
    sc.disconnect()


def test_a_reply_to_my_comment_and_follow_activity_are_each_told_once(people, forum):
    _topic, post = forum
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    parent = comment(carol, post["id"], "first")
    assert [n["kind"] for n in mine(alice)] == ["post_reply"]
    # bob replies to carol and mentions her: she hears of it once, as the reply.
    comment(bob, post["id"], "agreed @carol", parent=parent["id"])
    assert [n["kind"] for n in mine(carol)] == ["comment_reply"]
    assert mine(carol)[0]["data"]["comment_id"]
    # alice follows her own post by default: the nested reply is activity for her.
    assert [n["kind"] for n in mine(alice)] == ["post_activity", "post_reply"]
    assert mine(bob) == []
    # carol commented, so she follows: a later top-level comment is activity for her.
    comment(people["dave"], post["id"], "late")
    assert [n["kind"] for n in mine(carol)] == ["post_activity", "comment_reply"]


def test_followers_are_told_by_a_job_after_the_request(app, people, forum):
    _topic, post = forum
    alice, bob, carol, dave = (people[n] for n in ("alice", "bob", "carol", "dave"))
    for follower in (carol, dave):
        assert follower.call("PUT", f"/api/posts/{post['id']}/follow").status_code == 200
    sc = live(app, carol)
    response = bob.post(f"/api/posts/{post['id']}/comments", {"body": "news"})
    assert response.status_code == 201
    # The request told the author (the reply) but queued the followers' fan-out.
    assert [n["kind"] for n in mine(alice)] == ["post_reply"]
    assert mine(carol) == [] and mine(dave) == []
    assert named(sc, "notification") == []
    run_jobs(app)
    for follower in (carol, dave):
        (note,) = mine(follower)
        assert note["kind"] == "post_activity"
        assert note["data"]["comment_id"] == response.get_json()["id"]
    got = [(e["name"], e["args"][0]) for e in sc.get_received()]
    assert [data["kind"] for name, data in got if name == "notification"] == ["post_activity"]
    assert [data for name, data in got if name == "notification_count"] == [{"count": 1}]
    assert [n["kind"] for n in mine(alice)] == ["post_reply"]  # the author once
    sc.disconnect()


def test_ten_replies_are_one_notification_re_surfaced(app, people, forum, clock):
    _topic, post = forum
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    comment(bob, post["id"])
    alice.post("/api/notifications/read-all")
    # Something newer on top, then the burst moves the replies back up, unread.
    carol.post(f"/api/users/{alice.id}/friend-request")
    assert [n["kind"] for n in mine(alice)] == ["friend_request", "post_reply"]
    sc = live(app, alice)
    for n in range(9):
        comment(carol if n % 2 else people["dave"], post["id"], f"reply {n}")
    listed = mine(alice)
    assert [n["kind"] for n in listed] == ["post_reply", "friend_request"]
    replies = listed[0]
    assert replies["count"] == 10 and replies["read"] is False
    assert replies["summary"] == "10 new replies on \u201cTomatoes\u201d"
    # The actors of the last 5 events, each once, most recent last.
    assert [a["username"] for a in replies["actors"]] == ["carol", "dave"]
    received = sc.get_received()
    updates = [e["args"][0] for e in received if e["name"] == "notification"]
    assert [u["count"] for u in updates] == list(range(2, 11))
    assert {u["id"] for u in updates} == {replies["id"]}
    counts = [e["args"][0]["count"] for e in received if e["name"] == "notification_count"]
    assert counts == [2] * 9  # the friend request and the one coalesced reply
    # A new window starts a new notification.
    clock.advance(601)
    comment(bob, post["id"], "much later")
    assert [(n["kind"], n["count"]) for n in mine(alice)] == [
        ("post_reply", 1), ("post_reply", 10), ("friend_request", 1)]
    sc.disconnect()


def test_concurrent_events_coalesce_into_one_row(app, people, db):
    alice, bob = people["alice"], people["bob"]
    with app.app_context():
        actor = db.users.find_one({"_id": ObjectId(bob.id)})
    errors: list[BaseException] = []

    def burst():
        try:
            with app.app_context():
                for _ in range(5):
                    notify_core.deliver(ObjectId(alice.id), "post_reply",
                                        {"title": "Race"}, actor=actor, subject="post:race")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=burst) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    rows = list(db.notifications.find({"user_id": ObjectId(alice.id)}))
    assert [(r["kind"], r["count"]) for r in rows] == [("post_reply", 40)]


def test_ten_concurrent_replies_through_the_api_are_one_notification(app, client, people,
                                                                    forum):
    _topic, post = forum
    repliers = [Person(client, f"replier{n}") for n in range(10)]
    for person in repliers:
        join(person, _topic["id"])
    statuses: list[int] = []

    def reply(person: Person) -> None:
        own = app.test_client()  # one client per thread
        response = own.post(f"/api/posts/{post['id']}/comments", json={"body": "me too"},
                            headers=person.headers)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=reply, args=(p,)) for p in repliers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 10
    (note,) = mine(people["alice"])
    assert (note["kind"], note["count"]) == ("post_reply", 10)
    assert len(note["actors"]) == 5  # the last five, each once


def test_mentions_reach_readers_only_at_most_n_and_never_the_author(client, people):
    alice, bob, carol, dave = (people[n] for n in ("alice", "bob", "carol", "dave"))
    secret = make_topic(alice, "Secret", visibility="private")
    outsider = Person(client, "erin")
    response = alice.post("/api/topics/" + secret["id"] + "/invitations",
                          {"user_id": bob.id})
    assert response.status_code in (200, 201, 204), response.get_json()
    assert bob.post(f"/api/topics/{secret['id']}/invitations/accept").status_code == 200
    # erin may not read the private topic; alice is the author; the limit is 2 names.
    make_post(alice, secret["id"], "Plans", "hi @alice @erin @bob @carol")
    assert [n["kind"] for n in mine(bob)] == ["mention", "topic_invitation"]
    assert mine(outsider) == []
    assert [n["kind"] for n in mine(alice) if n["kind"] == "mention"] == []
    assert mine(carol) == []  # third name: over NOTIFY_MAX_MENTIONS (erin counted)
    assert mine(dave) == []


def test_mentions_in_a_group_chat_reach_members_only(people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    room = alice.post("/api/messages/groups", {"title": "Crew", "member_ids": [bob.id]})
    assert room.status_code == 201, room.get_json()
    sent = alice.post(f"/api/messages/rooms/{room.get_json()['id']}/messages",
                      {"body": "@carol @bob look", "client_id": "m1"})
    assert sent.status_code == 201, sent.get_json()
    assert mine(carol) == []
    (note,) = mine(bob)
    assert note["kind"] == "mention" and note["data"]["room_id"] == room.get_json()["id"]


def test_a_direct_message_notifies_only_while_offline(app, people):
    alice, bob = people["alice"], people["bob"]
    room = alice.post("/api/messages/direct", {"user_id": bob.id}).get_json()
    path = f"/api/messages/rooms/{room['id']}/messages"
    sc = live(app, bob)
    assert alice.post(path, {"body": "hi @bob", "client_id": "d1"}).status_code == 201
    assert [e["name"] for e in sc.get_received()][:1] == ["message"]
    assert mine(bob) == []  # online: the message itself was the news
    sc.disconnect()
    for n in range(3):
        assert alice.post(path, {"body": f"hey {n}", "client_id": f"d{n + 2}"}).status_code == 201
    # A resend (same client_id) stores nothing new and notifies nobody again.
    assert alice.post(path, {"body": "hey 2", "client_id": "d4"}).status_code == 200
    (note,) = mine(bob)
    assert (note["kind"], note["count"]) == ("direct_message", 3)
    assert note["summary"] == "3 new messages from alice"


def test_friend_request_and_acceptance(people):
    alice, bob = people["alice"], people["bob"]
    request = alice.post(f"/api/users/{bob.id}/friend-request").get_json()
    (note,) = mine(bob)
    assert note["kind"] == "friend_request" and note["data"]["request_id"] == request["id"]
    assert bob.post(f"/api/users/me/friend-requests/{request['id']}/accept").status_code == 200
    assert [n["kind"] for n in mine(alice)] == ["friend_accepted"]
    assert [n["kind"] for n in mine(bob)] == ["friend_request"]


def test_moderators_removing_content_or_banning_tell_the_user(people, forum):
    topic, post = forum
    alice, bob = people["alice"], people["bob"]
    # Moderation is always told in-app: not silenced by settings, mutes or blocks.
    bob.patch("/api/notifications/settings", {"kinds": {
        "content_removed": {"in_app": False}, "topic_ban": {"in_app": False}}})
    assert bob.call("PUT", f"/api/notifications/mutes/topic/{topic['id']}").status_code == 204
    assert bob.post(f"/api/users/{alice.id}/block").status_code == 204
    mine_post = make_post(bob, topic["id"], "Spam")
    own = comment(bob, post["id"], "spam too")
    assert alice.delete(f"/api/comments/{own['id']}").status_code == 204
    assert alice.delete(f"/api/posts/{mine_post['id']}").status_code == 204
    room = alice.post(f"/api/topics/{topic['id']}/rooms", {"name": "chat"}).get_json()
    message = bob.post(f"/api/messages/rooms/{room['id']}/messages",
                       {"body": "buy now", "client_id": "s1"}).get_json()
    assert alice.delete(f"/api/messages/{message['id']}").status_code == 200
    # Removing your own content tells nobody.
    mine_too = comment(bob, post["id"], "oops")
    assert bob.delete(f"/api/comments/{mine_too['id']}").status_code == 204
    assert alice.post(f"/api/topics/{topic['id']}/bans",
                      {"user_id": bob.id, "reason": "spam"}).status_code == 201
    listed = mine(bob)
    assert [(n["kind"], n["data"].get("what")) for n in listed] == [
        ("topic_ban", None), ("content_removed", "message"), ("content_removed", "post"),
        ("content_removed", "comment")]
    assert listed[0]["data"]["reason"] == "spam" and listed[0]["actors"] == []


def test_muted_and_blocked_sources_produce_nothing(people, forum):
    topic, post = forum
    alice, bob, carol, dave = (people[n] for n in ("alice", "bob", "carol", "dave"))
    for path in (f"post/{post['id']}",):
        assert alice.call("PUT", f"/api/notifications/mutes/{path}").status_code == 204
    comment(bob, post["id"])
    assert alice.call("DELETE", f"/api/notifications/mutes/post/{post['id']}").status_code == 204
    assert alice.call("PUT", f"/api/notifications/mutes/topic/{topic['id']}").status_code == 204
    comment(bob, post["id"])
    assert alice.call("DELETE", f"/api/notifications/mutes/topic/{topic['id']}").status_code == 204
    assert alice.call("PUT", f"/api/notifications/mutes/user/{carol.id}").status_code == 204
    comment(carol, post["id"])
    assert alice.post(f"/api/users/{dave.id}/block").status_code == 204
    comment(dave, post["id"])
    assert mine(alice) == []
    listed = alice.get("/api/notifications/mutes").get_json()["items"]
    assert [(m["target_type"], m["target_id"]) for m in listed] == [("user", carol.id)]
    # The unmuted source notifies again.
    comment(bob, post["id"])
    assert [n["actors"][-1]["username"] for n in mine(alice)] == ["bob"]


def test_settings_per_kind_and_the_account_switches_are_honoured(people, forum, db):
    _topic, post = forum
    alice, bob = people["alice"], people["bob"]
    settings = alice.get("/api/notifications/settings").get_json()["kinds"]
    assert settings["post_reply"] == {"in_app": True, "email": True, "push": True}
    assert settings["post_activity"]["push"] is False  # pushed by default: replies, not this
    patched = alice.patch("/api/notifications/settings",
                          {"kinds": {"post_reply": {"in_app": False}, "mention": {"email": False}}})
    assert patched.status_code == 200
    assert patched.get_json()["kinds"]["post_reply"] == {"in_app": False, "email": True,
                                                         "push": True}
    assert alice.patch("/api/notifications/settings",
                       {"kinds": {"nonsense": {"email": False}}}).status_code == 400
    comment(bob, post["id"])
    assert mine(alice) == []
    alice.patch("/api/notifications/settings", {"kinds": {"post_reply": {"in_app": True}}})
    assert alice.patch("/api/users/me", {"settings": {"notifications": {"replies": False}}}
                       ).status_code == 200
    comment(bob, post["id"])
    assert mine(alice) == []
    alice.patch("/api/users/me", {"settings": {"notifications": {"replies": True,
                                                                 "email": False}}})
    comment(bob, post["id"])
    # The account switches and the per-kind settings live side by side.
    assert alice.get("/api/users/me").get_json()["settings"]["notifications"]["email"] is False
    kinds = alice.get("/api/notifications/settings").get_json()["kinds"]
    assert kinds["mention"] == {"in_app": True, "email": False, "push": True}
    (note,) = mine(alice)
    # The email channel is decided and kept for the mail step.
    stored = db.notifications.find_one({"_id": ObjectId(note["id"])})
    assert stored["email"] is False and stored["emailed_at"] is None


def test_follow_and_unfollow_a_post(people, forum, client):
    _topic, post = forum
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    path = f"/api/posts/{post['id']}/follow"
    assert carol.get(path).get_json() == {"post_id": post["id"], "following": False}
    assert carol.call("PUT", path).get_json()["following"] is True
    comment(bob, post["id"])
    assert [n["kind"] for n in mine(carol)] == ["post_activity"]
    assert carol.delete(path).get_json()["following"] is False
    comment(carol, post["id"])  # commenting does not follow again after an unfollow
    assert carol.get(path).get_json()["following"] is False
    comment(bob, post["id"])
    assert [n["count"] for n in mine(carol)] == [1]
    secret = make_topic(alice, "Hidden", visibility="private")
    hidden = make_post(alice, secret["id"], "Hidden post")
    assert carol.call("PUT", f"/api/posts/{hidden['id']}/follow").status_code == 404
    assert carol.call("PUT", f"/api/posts/{ObjectId()}/follow").get_json() == \
        carol.call("PUT", f"/api/posts/{hidden['id']}/follow").get_json()


def test_read_read_all_and_delete_update_every_device(app, people, forum):
    _topic, post = forum
    alice, bob = people["alice"], people["bob"]
    bob.post(f"/api/users/{alice.id}/friend-request")
    comment(bob, post["id"])
    phone, laptop = live(app, alice), live(app, alice)
    first, second = mine(alice)
    assert alice.post(f"/api/notifications/{first['id']}/read").get_json()["read"] is True
    assert named(laptop, "notification_count") == [{"count": 1}]
    assert bob.delete(f"/api/notifications/{second['id']}").status_code == 404
    assert alice.delete(f"/api/notifications/{first['id']}").status_code == 204
    assert named(laptop, "notification_count") == [{"count": 1}]
    assert alice.post("/api/notifications/read-all").get_json() == {"count": 0}
    assert named(laptop, "notification_count") == [{"count": 0}]
    assert [e["args"][0] for e in phone.get_received()
            if e["name"] == "notification_count"] == [{"count": 1}, {"count": 1}, {"count": 0}]
    assert [n["id"] for n in mine(alice)] == [second["id"]]
    assert mine(alice, unread="true") == []
    assert alice.delete(f"/api/notifications/{first['id']}").status_code == 404
    phone.disconnect()
    laptop.disconnect()


@pytest.mark.parametrize("text", [
    "@" * 100_000, "@a" * 50_000, "a@" * 50_000, "@" + "a" * 100_000,
    " @ab" * 25_000, "@" + "_" * 99_999])
def test_mention_scanning_is_linear_and_bounded(text):
    started = time.perf_counter()
    names = mentioned_names(text, 10)
    assert time.perf_counter() - started < 0.5
    assert len(names) <= 10


def test_mention_names_are_distinct_first_n_and_skip_the_author():
    text = "@Bob hi @bob @me @carol_1 x@dave @eve. @ab @abc @" + "z" * 40
    # Too short, too long, inside a word or the author's own name: not a mention.
    assert mentioned_names(text, 10, exclude="me") == ["bob", "carol_1", "eve", "abc"]
    assert mentioned_names(text, 2, exclude="me") == ["bob", "carol_1"]


def test_an_edit_tells_only_the_names_it_added(people, forum):
    topic, post = forum
    alice, bob, carol, dave = (people[n] for n in ("alice", "bob", "carol", "dave"))
    made = make_post(alice, topic["id"], "Plan", "hello @bob")
    assert alice.patch(f"/api/posts/{made['id']}", {"body": "hello @bob and @carol"}
                       ).status_code == 200
    assert alice.patch(f"/api/posts/{made['id']}", {"body": "hello @carol, @bob!"}
                       ).status_code == 200
    assert [(n["kind"], n["count"]) for n in mine(bob)] == [("mention", 1)]
    assert [(n["kind"], n["count"]) for n in mine(carol)] == [("mention", 1)]
    said = comment(bob, post["id"], "plain")
    assert bob.patch(f"/api/comments/{said['id']}", {"body": "cc @dave"}).status_code == 200
    assert [n["kind"] for n in mine(dave)] == ["mention"]
    room = alice.post("/api/messages/groups", {"title": "Crew", "member_ids": [bob.id,
                                                                              dave.id]})
    room_id = room.get_json()["id"]
    sent = alice.post(f"/api/messages/rooms/{room_id}/messages",
                      {"body": "hi", "client_id": "e1"}).get_json()
    assert alice.patch(f"/api/messages/{sent['id']}", {"body": "hi @dave"}).status_code == 200
    kinds = [(n["kind"], n["data"].get("room_id")) for n in mine(dave)]
    assert kinds == [("mention", room_id), ("mention", None)]


def test_a_deleted_account_keeps_no_notifications_mutes_or_follows(people, forum, db):
    topic, post = forum
    alice, bob = people["alice"], people["bob"]
    comment(bob, post["id"])
    assert alice.call("PUT", f"/api/notifications/mutes/topic/{topic['id']}").status_code == 204
    mine_id = ObjectId(alice.id)
    assert db.post_follows.count_documents({"user_id": mine_id}) == 1
    response = alice.call("DELETE", "/api/users/me", json={"password": DEFAULT_PASSWORD})
    assert response.status_code == 204, response.get_json()
    for collection in ("notifications", "notification_mutes", "post_follows"):
        assert db[collection].count_documents({"user_id": mine_id}) == 0, collection


def test_notifications_stored_before_coalescing_still_index_and_list(make_app):
    app = make_app(init_db=False)
    from models import indexes
    from utils.db import get_db

    with app.app_context():
        user_id = ObjectId()
        rows = [{"user_id": user_id, "kind": "warning", "data": {"reason": f"r{n}"},
                 "read": False, "created_at": datetime(2026, 1, 1 + n, tzinfo=timezone.utc),
                 "read_at": None} for n in range(2)]
        get_db().notifications.insert_many(rows)
        indexes.init_indexes(app)
        stored = list(get_db().notifications.find().sort("updated_at", -1))
    assert [r["data"]["reason"] for r in stored] == ["r1", "r0"]
    assert [r["group_key"] for r in stored] == [str(r["_id"]) for r in stored]
    assert [r["count"] for r in stored] == [1, 1]


def test_a_deleted_account_leaves_its_name_in_nobodys_notifications(people, forum):
    """Others' stored notifications name the actor (`actors`, a direct room's title, the
    staff member behind a warning): deleting the account erases the name from them."""
    _, post = forum
    alice, bob, carol, dave = (people[n] for n in ("alice", "bob", "carol", "dave"))
    comment(bob, post["id"])
    room = bob.post("/api/messages/direct", {"user_id": alice.id}).get_json()
    assert bob.post(f"/api/messages/rooms/{room['id']}/messages",
                    {"body": "psst", "client_id": "z1"}).status_code == 201
    dave.set_role("moderator")
    assert dave.post(f"/api/admin/users/{carol.id}/warn", {"reason": "calm down"}
                     ).status_code in (200, 201)
    before = json.dumps(mine(alice)) + json.dumps(mine(carol))
    assert '"bob"' in before and '"dave"' in before
    for person in (bob, dave):
        response = person.call("DELETE", "/api/users/me", json={"password": DEFAULT_PASSWORD})
        assert response.status_code == 204, response.get_json()
    kept = {n["kind"]: n for n in mine(alice) + mine(carol)}
    assert {"post_reply", "direct_message", "warning"} <= kept.keys()
    after = json.dumps(list(kept.values()))
    assert "bob" not in after and "dave" not in after
    assert kept["direct_message"]["summary"] == "deleted user sent you a message"
    [gone] = kept["post_reply"]["actors"]
    assert (gone["id"], gone["username"], gone["display_name"], gone["deleted"]) == (
        bob.id, "deleted user", "deleted user", True)
