"""Web Push (docs/NOTIFICATIONS.md "Push") against a push service written here from the
RFCs (tests/push_service.py): it checks the VAPID signature and decrypts each push with
the subscription's own keys, so what arrives there is what a browser would show.

Subscriptions (idempotent per endpoint, only known push services, removed by logout),
delivery of a direct message to an offline user (urgency, TTL, topic, payload), what
holds a push back (a switched-off kind, a room the recipient left, an open socket), and
what the push service's answers do (410 removes, 429 waits for Retry-After, failing for
days drops the subscription)."""
from __future__ import annotations

import pytest
from bson import ObjectId

from services.notify import push_send
from services.notify.push_delivery import push_retry_sweep
from tests.chat_helpers import open_direct
from tests.helpers import DEFAULT_PASSWORD, Person, bearer, csrf, login, run_jobs
from tests.helpers import subscribe_push as subscribe
from tests.topic_helpers import join, make_post, make_topic
from utils.extensions import socketio

SUBSCRIPTIONS = "/api/push/subscriptions"


@pytest.fixture
def people(client):
    return {name: Person(client, name) for name in ("alice", "bob", "carol")}


def stored(db, subscription_id: str) -> dict | None:
    return db.push_subscriptions.find_one({"_id": ObjectId(subscription_id)})


def dm(alice: Person, room_id: str, body: str, client_id: str) -> None:
    assert alice.send(room_id, body, client_id).status_code == 201


def test_the_vapid_key_is_a_p256_point_a_browser_takes(client, push_service):
    key = client.get("/api/push/vapid-public-key").get_json()["public_key"]
    raw = push_send.push_keys.b64url_decode(key)
    assert len(raw) == 65 and raw[0] == 4 and "=" not in key
    assert client.get("/api/push/vapid-public-key").get_json()["public_key"] == key


def test_a_direct_message_reaches_an_offline_user_encrypted_and_signed(app, people, push_service):
    alice, bob = people["alice"], people["bob"]
    subscribe(bob, push_service.subscribe())
    room_id = open_direct(alice, bob)
    dm(alice, room_id, "are you there?", "p1")
    run_jobs(app)
    (seen,) = push_service.received
    assert seen.status == 201, seen.refused
    assert seen.headers["urgency"] == "high"
    assert int(seen.headers["ttl"]) == app.config["PUSH_TTL_SECONDS"]
    assert 0 < len(seen.headers["topic"]) <= 32
    assert seen.claims["aud"] == push_service.origin
    assert seen.claims["k"] == alice.get("/api/push/vapid-public-key").get_json()["public_key"]
    note = bob.get("/api/notifications/").get_json()["items"][0]
    assert seen.payload == {
        "kind": "direct_message", "title": "Roundtable", "body": "alice sent you a message",
        "url": app.config["FRONTEND_URL"].rstrip("/") + "/notifications",
        "tag": seen.headers["topic"], "notification_id": note["id"], "unread_count": 1}
    # The next message of the same conversation carries the same Topic (it replaces the
    # older push on the push service).
    dm(alice, room_id, "hello?", "p2")
    run_jobs(app)
    assert [r.headers["topic"] for r in push_service.received] == [seen.headers["topic"]] * 2
    assert push_service.received[1].payload["body"] == "2 new messages from alice"


def test_nothing_is_pushed_to_a_connected_user_or_for_a_switched_off_kind(app, people,
                                                                           push_service):
    alice, bob = people["alice"], people["bob"]
    subscribe(bob, push_service.subscribe())
    room_id = open_direct(alice, bob)
    sc = socketio.test_client(app, auth={"token": bob.token})
    dm(alice, room_id, "live", "o1")
    run_jobs(app)
    assert push_service.received == []
    sc.disconnect()
    settings = bob.patch("/api/notifications/settings",
                         {"kinds": {"direct_message": {"push": False}}})
    assert settings.get_json()["kinds"]["direct_message"] == {"in_app": True, "email": True,
                                                              "push": False}
    dm(alice, room_id, "muted kind", "o2")
    run_jobs(app)
    assert push_service.received == []
    assert bob.get("/api/notifications/unread-count").get_json()["count"] == 1  # in-app still
    bob.patch("/api/notifications/settings", {"kinds": {"direct_message": {"push": True}}})
    dm(alice, room_id, "on again", "o3")
    run_jobs(app)
    assert [r.payload["kind"] for r in push_service.delivered()] == ["direct_message"]


def test_no_push_about_a_room_the_recipient_left_before_it_was_sent(app, people, push_service):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    subscribe(bob, push_service.subscribe())
    group = alice.post("/api/messages/groups", {"title": "Secret plans",
                                                "member_ids": [bob.id, carol.id]}).get_json()
    dm(alice, group["id"], "@bob the plan is ready", "g1")
    assert bob.post(f"/api/messages/rooms/{group['id']}/leave").status_code in (200, 204)
    run_jobs(app)
    assert push_service.received == []
    other = alice.post("/api/messages/groups", {"title": "Open plans",
                                                "member_ids": [bob.id]}).get_json()
    dm(alice, other["id"], "@bob still here", "g2")
    run_jobs(app)
    (seen,) = push_service.delivered()
    assert seen.payload["kind"] == "mention" and "Open plans" in seen.payload["body"]


def test_subscribing_is_idempotent_per_endpoint_and_the_last_account_owns_it(people, push_service,
                                                                             db):
    alice, bob = people["alice"], people["bob"]
    subscription = push_service.subscribe()
    first = subscribe(alice, subscription)
    assert subscribe(alice, subscription)["id"] == first["id"]
    assert subscribe(bob, subscription)["id"] == first["id"]
    assert alice.get(SUBSCRIPTIONS).get_json()["items"] == []
    (listed,) = bob.get(SUBSCRIPTIONS).get_json()["items"]
    assert listed["id"] == first["id"] and listed["endpoint"] == subscription["endpoint"]
    assert alice.delete(f"{SUBSCRIPTIONS}/{first['id']}").status_code == 404
    assert bob.delete(f"{SUBSCRIPTIONS}/{first['id']}").status_code == 204
    assert stored(db, first["id"]) is None


def test_only_known_push_services_and_real_keys_are_accepted(people, push_service):
    bob = people["bob"]
    good = push_service.subscribe()
    refused = [
        {**good, "endpoint": good["endpoint"].replace("127.0.0.1", "localhost")},
        {**good, "endpoint": good["endpoint"].replace("127.0.0.1", "127.0.0.2")},
        {**good, "endpoint": "https://evil.example/push/x"},
        {**good, "endpoint": "https://user:pw@127.0.0.1/push/x"},
        {**good, "keys": {**good["keys"], "p256dh": good["keys"]["auth"]}},
        {**good, "keys": {**good["keys"], "auth": good["keys"]["p256dh"]}},
        {**good, "keys": {"p256dh": "@@@", "auth": "x"}},
        {"endpoint": good["endpoint"]},
    ]
    for body in refused:
        response = bob.post(SUBSCRIPTIONS, body)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] == "validation_error"
    assert bob.get(SUBSCRIPTIONS).get_json()["items"] == []


def test_outside_tests_a_loopback_endpoint_must_be_https_and_is_refused(app, people, push_service,
                                                                        monkeypatch):
    monkeypatch.setitem(app.config, "PUSH_ALLOW_LOOPBACK", False)
    response = people["bob"].post(SUBSCRIPTIONS, push_service.subscribe())
    assert response.status_code == 400
    assert "https" in response.get_json()["error"]["message"]


def test_logout_removes_the_subscriptions_of_that_session(app, push_service, db):
    browser = Person(app, "dora")
    mine = subscribe(browser, push_service.subscribe())
    other_browser = app.test_client()
    kept = other_browser.post(SUBSCRIPTIONS, json=push_service.subscribe(),
                              headers=csrf(login(other_browser, "dora")))
    assert kept.status_code == 201
    assert browser.post("/api/auth/logout").status_code == 204
    assert stored(db, mine["id"]) is None
    assert stored(db, kept.get_json()["id"]) is not None  # another session's device stays


def test_a_410_removes_the_subscription(app, people, push_service, db):
    alice, bob = people["alice"], people["bob"]
    gone = subscribe(bob, push_service.subscribe())
    kept = subscribe(bob, push_service.subscribe())
    push_service.answer_next(410)
    dm(alice, open_direct(alice, bob), "anyone?", "x1")
    run_jobs(app)
    assert sorted(r.status for r in push_service.received) == [201, 410]
    remaining = [s["id"] for s in bob.get(SUBSCRIPTIONS).get_json()["items"]]
    assert len(remaining) == 1 and remaining[0] in (gone["id"], kept["id"])


def test_429_waits_for_retry_after_then_delivers(app, people, push_service, db, clock):
    alice, bob = people["alice"], people["bob"]
    mine = subscribe(bob, push_service.subscribe())
    push_service.answer_next(429, **{"Retry-After": "600"})
    dm(alice, open_direct(alice, bob), "slow down", "r1")
    run_jobs(app)
    assert [r.status for r in push_service.received] == [429]
    assert stored(db, mine["id"])["failing_since"] is not None
    with app.app_context():
        clock.advance(500)
        assert push_retry_sweep() == 0  # before Retry-After: nothing sent
        assert len(push_service.received) == 1
        clock.advance(120)
        assert push_retry_sweep() == 1
    assert [r.status for r in push_service.received] == [429, 201]
    assert push_service.received[1].payload["body"] == "alice sent you a message"
    row = stored(db, mine["id"])
    assert row["failing_since"] is None and row["retry"] is None


def test_a_subscription_failing_for_seven_days_is_dropped(app, people, push_service, db, clock):
    alice, bob = people["alice"], people["bob"]
    mine = subscribe(bob, push_service.subscribe())
    push_service.answers.extend([(500, {})] * 50)
    dm(alice, open_direct(alice, bob), "ping", "f1")
    run_jobs(app)
    with app.app_context():
        for _hour in range(7 * 24 // 6 + 2):
            clock.advance(hours=6)
            push_retry_sweep()
            if stored(db, mine["id"]) is None:
                break
    assert stored(db, mine["id"]) is None
    assert all(r.status == 500 for r in push_service.received) and len(push_service.received) > 3



def test_a_reply_to_my_post_reaches_my_subscription_while_i_am_offline(app, people,
                                                                      push_service):
    alice, bob = people["alice"], people["bob"]
    subscribe(alice, push_service.subscribe())
    topic = make_topic(alice, "Gardening")
    join(bob, topic["id"])
    post = make_post(alice, topic["id"], "Tomatoes")
    reply = bob.post(f"/api/posts/{post['id']}/comments", {"body": "Try basil beside them"})
    assert reply.status_code == 201, reply.get_json()
    run_jobs(app)
    (seen,) = push_service.delivered()
    assert seen.headers["urgency"] == "normal"
    assert seen.payload["kind"] == "post_reply"
    assert seen.payload["body"] == "bob replied to your post \u201cTomatoes\u201d"


def test_no_push_about_a_topic_the_recipient_was_banned_from_before_it_was_sent(
        app, people, push_service):
    """The push job asks again at send time: a reply to my post, stored while I could read
    the topic, is not pushed once I am banned from it (a push carries its title)."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    topic = make_topic(alice, "Quiet corner")
    for person in (bob, carol):
        join(person, topic["id"])
    subscribe(bob, push_service.subscribe())
    post = make_post(bob, topic["id"], "My question")
    reply = carol.post(f"/api/posts/{post['id']}/comments", {"body": "An answer"})
    assert reply.status_code == 201, reply.get_json()
    banned = alice.post(f"/api/topics/{topic['id']}/bans",
                        {"user_id": bob.id, "reason": "off topic"})
    assert banned.status_code == 201, banned.get_json()
    run_jobs(app)
    assert push_service.received == []
    kinds = [n["kind"] for n in bob.get("/api/notifications/").get_json()["items"]]
    assert "post_reply" in kinds  # stored all the same: only the push is held back


def test_no_push_about_a_private_topic_the_recipient_left_before_it_was_sent(
        app, people, push_service):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    topic = make_topic(alice, "Back room", visibility="private")
    for person in (bob, carol):
        assert alice.post(f"/api/topics/{topic['id']}/invitations",
                          {"user_id": person.id}).status_code == 204
        assert person.post(f"/api/topics/{topic['id']}/invitations/accept").status_code == 200
    subscribe(bob, push_service.subscribe())
    post = make_post(bob, topic["id"], "Plans")
    assert carol.post(f"/api/posts/{post['id']}/comments", {"body": "Count me in"}
                      ).status_code == 201
    assert bob.post(f"/api/topics/{topic['id']}/leave").status_code == 200
    run_jobs(app)
    assert push_service.received == []  # the topic is no longer his to read


def test_a_password_change_removes_the_subscriptions_of_the_sessions_it_ends(app, push_service,
                                                                             db):
    browser = Person(app, "dora")
    kept = subscribe(browser, push_service.subscribe())
    other_browser = app.test_client()
    ended = other_browser.post(SUBSCRIPTIONS, json=push_service.subscribe(),
                               headers=csrf(login(other_browser, "dora")))
    script = bearer(app.test_client(), "dora", register_first=False)
    by_token = app.test_client().post(SUBSCRIPTIONS, json=push_service.subscribe(),
                                      headers=script)
    assert ended.status_code == by_token.status_code == 201
    changed = browser.post("/api/auth/password/change", {
        "current_password": DEFAULT_PASSWORD, "new_password": "a new horse battery staple"})
    assert changed.status_code == 200, changed.get_json()
    assert stored(db, ended.get_json()["id"]) is None
    assert stored(db, by_token.get_json()["id"]) is None
    assert stored(db, kept["id"]) is not None  # the browser that changed it stays subscribed


def test_quiet_hours_hold_a_push_until_they_end_in_the_users_zone(app, people, push_service,
                                                                  db, clock):
    alice, bob = people["alice"], people["bob"]
    clock.advance_to(13, 30)  # 22:30 in Tokyo
    mine = subscribe(bob, push_service.subscribe())
    night = {"start": "22:00", "end": "07:00"}  # 13:00-22:00 UTC
    assert bob.patch("/api/users/me", {"time_zone": "Asia/Tokyo",
                                       "quiet_hours": night}).status_code == 200
    dm(alice, open_direct(alice, bob), "late news", "q1")
    run_jobs(app)
    assert push_service.received == []  # held, not failed
    row = stored(db, mine["id"])
    assert row["failing_since"] is None
    assert row["retry"]["next_at"].isoformat().endswith("T22:00:00+00:00")
    # In-app arrives at once.
    assert bob.get("/api/notifications/unread-count").get_json() == {"count": 1}
    with app.app_context():
        clock.advance_to(21, 59)  # 06:59 in Tokyo: still quiet
        assert push_retry_sweep() == 0
        clock.advance_to(22, 0)  # 07:00 in Tokyo
        assert push_retry_sweep() == 1
    (seen,) = push_service.received
    assert seen.payload["body"] == "alice sent you a message"
    assert stored(db, mine["id"])["retry"] is None


def test_a_moderation_notice_is_pushed_during_quiet_hours(app, people, push_service, clock):
    bob = people["bob"]
    clock.advance_to(3, 0)
    subscribe(bob, push_service.subscribe())
    assert bob.patch("/api/users/me", {"quiet_hours": {"start": "01:00",
                                                       "end": "05:00"}}).status_code == 200
    assert bob.patch("/api/notifications/settings",
                     {"kinds": {"warning": {"push": True}}}).status_code == 200
    admin = people["carol"]
    admin.set_role("admin")
    assert admin.post(f"/api/admin/users/{bob.id}/warn",
                      {"reason": "be kind"}).status_code in (200, 201)
    run_jobs(app)
    assert [r.payload["kind"] for r in push_service.received] == ["warning"]
