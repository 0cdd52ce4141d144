"""services.platform.live_rooms: one way into a live room, decided before the join; evictions on
visibility changes and bans; presence hidden by blocks; per-user socket event limits and
the socket cap. Absence is proven by a later event on the same socket, never a sleep."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from bson import ObjectId

from services.chat import chat_access
from services.live import room_entry
from services.platform import live_rooms
from tests.chat_helpers import open_direct, send
from tests.helpers import Person, events, queued, received
from tests.topic_helpers import make_post, make_topic
from utils.errors import NotFound
from utils.extensions import socketio

ROOT = Path(__file__).resolve().parent.parent


def _refused(ack, code="not_found"):
    return ack["ok"] is False and ack["error"]["code"] == code


def _message_rooms(sc):
    """Room ids of the `message` events received, in order."""
    return [data["room_id"] for name, data in received(sc) if name == "message"]


# Point 3: outsiders never enter

def test_an_outsider_looping_join_room_receives_no_message(make_app, monkeypatch):
    app = make_app(CHAT_RATE_LIMIT="1000 per second")  # alice sends 60 in a row
    alice, bob, carol, eve = (Person(app, n) for n in ("alice", "bob", "carol", "eve"))
    group = alice.post("/api/messages/groups", {"title": "plans",
                                                "member_ids": [bob.id]}).get_json()["id"]
    direct = open_direct(alice, carol)
    alice_sc, eve_sc = alice.socket(), eve.socket()

    # Members chat while the outsider's access is being decided: each time eve's join
    # is checked, alice sends to that room. Had eve's socket entered the room before
    # (or without) the check, it would receive that message.
    original = chat_access.readable_room
    sent = []

    def chatting(user, room_id):
        if str(user["_id"]) == eve.id:
            sent.append(send(alice_sc, str(room_id), f"secret {len(sent)}", f"c{len(sent)}"))
        return original(user, room_id)

    monkeypatch.setattr(chat_access, "readable_room", chatting)
    for _ in range(15):
        for room_id in (group, direct):
            assert _refused(eve_sc.emit("join_room", {"room_id": room_id}, callback=True))
            assert _refused(eve_sc.emit("join_room", {"room_id": room_id, "after_seq": 0},
                                        callback=True))
    monkeypatch.setattr(chat_access, "readable_room", original)
    assert len(sent) == 60 and all(ack["ok"] for ack in sent)

    # A later event on eve's own socket: everything sent before it has been delivered.
    mine = open_direct(bob, eve)
    assert send(bob.socket(), mine, "hi eve", "hi")["ok"]
    assert _message_rooms(eve_sc) == [mine]


def test_only_room_entry_puts_a_socket_into_a_room():
    """The structural guarantee: Socket.IO's join_room is imported, and enter_room
    called, by services/live/room_entry.py alone."""
    offenders = []
    for path in [ROOT / "app.py", ROOT / "socketio_handlers.py", ROOT / "socketio_calls.py",
                 *(p for d in ("services", "routes", "utils", "models")
                   for p in (ROOT / d).rglob("*.py"))]:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            imported = (isinstance(node, ast.ImportFrom)
                        and (node.module or "").startswith(("flask_socketio", "socketio"))
                        and any(alias.name in ("join_room", "enter_room")
                                for alias in node.names))
            called = isinstance(node, ast.Attribute) and node.attr in ("enter_room",
                                                                        "join_room")
            if imported or called:
                offenders.append(str(path.relative_to(ROOT)))
    assert sorted(set(offenders)) == ["services/live/room_entry.py"]


# Point 6: visibility changes and bans

def test_a_topic_turned_private_stops_streaming_to_non_members(app, client):
    owner = Person(client, "olivia")
    topic = make_topic(owner)
    post = make_post(owner, topic["id"])
    chat = owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "lobby"}).get_json()["id"]
    outsider, member = Person(app, "nosy"), Person(app, "mike")
    assert member.post(f"/api/topics/{topic['id']}/join").status_code == 200
    outsider_sc, member_sc = outsider.socket(), member.socket()
    for sc in (outsider_sc, member_sc):
        assert sc.emit("join_topic", {"topic_id": topic["id"]}, callback=True)["ok"]
        assert sc.emit("join_post", {"post_id": post["id"]}, callback=True)["ok"]
        assert sc.emit("join_room", {"room_id": chat}, callback=True)["ok"]
        sc.get_received()

    changed = owner.patch(f"/api/topics/{topic['id']}", {"visibility": "private"})
    assert changed.status_code == 200, changed.get_json()
    assert sorted(events(outsider_sc, "removed_from_room"), key=str) == [{"room_id": chat}]
    make_post(owner, topic["id"], "Members only")
    owner.post(f"/api/posts/{post['id']}/comments", {"body": "members only"})
    owner_sc = socketio.test_client(app, auth={"token": owner.headers["Authorization"][7:]})
    assert send(owner_sc, chat, "members only", "m1")["ok"]

    # The member still gets all three; the outsider none, up to a later event of its own.
    assert [name for name, _ in received(member_sc)
            if name in ("new_post", "new_comment", "message")] == [
        "new_post", "new_comment", "message"]
    mine = open_direct(member, outsider)
    assert send(member_sc, mine, "still there?", "m2")["ok"]
    assert [(name, data.get("room_id")) for name, data in received(outsider_sc)] == [
        ("message", mine), ("unread", mine)]


def test_a_user_banned_from_a_public_topic_cannot_join_its_chat(app, client):
    owner = Person(client, "olivia")
    topic = make_topic(owner)
    chat = owner.post(f"/api/topics/{topic['id']}/rooms", {"name": "lobby"}).get_json()["id"]
    owner_sc = socketio.test_client(app, auth={"token": owner.headers["Authorization"][7:]})
    assert send(owner_sc, chat, "before the ban", "b1")["ok"]
    troll = Person(app, "troll")
    troll_sc = troll.socket()
    assert troll_sc.emit("join_room", {"room_id": chat}, callback=True)["ok"]

    banned = owner.post(f"/api/topics/{topic['id']}/bans", {"user_id": troll.id})
    assert banned.status_code == 201
    assert {"room_id": chat} in events(troll_sc, "removed_from_room")
    again = troll_sc.emit("join_room", {"room_id": chat, "after_seq": 0}, callback=True)
    assert _refused(again, "forbidden") and "data" not in again
    # Nor through REST history: the same messages as the catch-up.
    history = troll.client.get(f"/api/messages/rooms/{chat}/messages")
    assert history.status_code == 403
    assert history.get_json()["error"]["code"] == "forbidden"
    assert send(owner_sc, chat, "after the ban", "b2")["ok"]
    friend = Person(app, "friend")
    mine = open_direct(friend, troll)
    assert send(friend.socket(), mine, "hello", "f1")["ok"]
    assert _message_rooms(troll_sc) == [mine]


def test_a_ban_stored_while_the_socket_joins_takes_it_out_again(app, client, monkeypatch):
    # The race room_entry.enter closes with its second check: the ban lands after the
    # first check said yes but before the socket is in the topic's room, so the ban's
    # eviction finds nothing to evict. The second check refuses and takes the socket out.
    owner = Person(client, "olivia")
    topic = make_topic(owner)
    troll = Person(app, "troll")
    troll_sc = troll.socket()
    original = room_entry.join_room

    def banned_meanwhile(room, **kwargs):
        banned = owner.post(f"/api/topics/{topic['id']}/bans", {"user_id": troll.id})
        assert banned.status_code == 201
        return original(room, **kwargs)

    monkeypatch.setattr(room_entry, "join_room", banned_meanwhile)
    ack = troll_sc.emit("join_topic", {"topic_id": topic["id"]}, callback=True)
    monkeypatch.setattr(room_entry, "join_room", original)
    assert _refused(ack, "forbidden")
    make_post(owner, topic["id"], "after the ban")
    friend = Person(app, "friend")
    mine = open_direct(friend, troll)
    assert send(friend.socket(), mine, "hello", "f1")["ok"]
    got = received(troll_sc)
    assert [name for name, _ in got if name == "new_post"] == []
    assert [data["room_id"] for name, data in got if name == "message"] == [mine]

def test_no_socket_enters_another_users_room_or_a_room_of_no_known_kind(app, db):
    # user_<id> carries a user's private events (notifications, unread counts, calls):
    # room_entry lets a socket into its own user's room only, and knows no other kinds.
    alice, bob = Person(app, "alice"), Person(app, "bob")
    with app.test_request_context():
        user = db.users.find_one({"_id": ObjectId(alice.id)})
        for kind, target in ((live_rooms.USER, bob.id), ("lounge", alice.id)):
            with pytest.raises(NotFound):
                room_entry.enter(user, kind, target, "sid-of-alice")

# Point 5: a session or token that ends closes its sockets

def _token_socket(app, headers):
    sc = socketio.test_client(app, auth={"token": headers["Authorization"].split()[1]})
    assert sc.is_connected()
    return sc


def _logged_out(sc, reason):
    return not sc.is_connected() and queued(sc, "force_logout") == [{"reason": reason}]


_senders = iter(range(1000))


def _dm_reaches(app, target, sockets):
    """A new user sends `target` a direct message: which of `sockets` receive it."""
    sender = Person(app, f"sender{next(_senders)}")
    room = open_direct(sender, target)
    assert send(sender.socket(), room, "ping", "p")["ok"]
    return [any(d["room_id"] == room for d in queued(sc, "message")) for sc in sockets]


def test_logout_closes_the_sockets_of_that_session_only(app):
    alice = Person(app, "alice")
    laptop = alice.socket()
    phone_client = app.test_client()
    from tests.helpers import login

    login(phone_client, "alice")
    phone = socketio.test_client(app, flask_test_client=phone_client)
    assert phone.is_connected()

    assert alice.post("/api/auth/logout").status_code == 204
    assert _logged_out(laptop, "logged_out")
    assert phone.is_connected()
    assert _dm_reaches(app, alice, [laptop, phone]) == [False, True]


def test_revoking_a_token_closes_its_sockets_only(app, client):
    from tests.helpers import bearer

    first = bearer(client, "bot")
    second = bearer(client, "bot", register_first=False)
    first_sc, second_sc = _token_socket(app, first), _token_socket(app, second)
    assert client.delete("/api/auth/token", headers=first).status_code == 204
    assert _logged_out(first_sc, "token_revoked")
    assert second_sc.is_connected()
    bot = Person.__new__(Person)
    bot.id = client.get("/api/auth/me", headers=second).get_json()["user"]["id"]
    assert _dm_reaches(app, bot, [first_sc, second_sc]) == [False, True]


def _other_sessions(app, person):
    """A second browser session and a bearer token of `person`, each with a socket."""
    from tests.helpers import bearer, login

    browser = app.test_client()
    login(browser, person.user["username"])
    browser_sc = socketio.test_client(app, flask_test_client=browser)
    assert browser_sc.is_connected()
    token_sc = _token_socket(app, bearer(app.test_client(), person.user["username"],
                                         register_first=False))
    return browser_sc, token_sc


def _still_works(sc):
    """The socket is connected and its events are accepted (not `unauthorized`)."""
    return sc.is_connected() and sc.emit("leave_room", {"room_id": "0" * 24},
                                         callback=True)["ok"]


def test_password_change_closes_every_other_session_and_keeps_its_own(app):
    from tests.helpers import DEFAULT_PASSWORD

    alice = Person(app, "alice")
    own = alice.socket()
    browser_sc, token_sc = _other_sessions(app, alice)
    changed = alice.post("/api/auth/password/change", {
        "current_password": DEFAULT_PASSWORD, "new_password": "a brand new passphrase 7"})
    assert changed.status_code == 200, changed.get_json()
    assert _logged_out(browser_sc, "password_changed")
    assert _logged_out(token_sc, "password_changed")
    assert _still_works(own)
    assert _dm_reaches(app, alice, [own, browser_sc, token_sc]) == [True, False, False]


def test_two_factor_changes_close_every_other_session(app):
    from tests.auth_helpers import code
    from tests.helpers import DEFAULT_PASSWORD

    alice = Person(app, "alice")
    own = alice.socket()
    browser_sc, token_sc = _other_sessions(app, alice)
    setup = alice.post("/api/auth/2fa/setup").get_json()
    enabled = alice.post("/api/auth/2fa/enable", {"otp": code(setup["secret"], -1),
                                                   "password": DEFAULT_PASSWORD})
    assert enabled.status_code == 200, enabled.get_json()
    assert _logged_out(browser_sc, "2fa_enabled") and _logged_out(token_sc, "2fa_enabled")
    assert _still_works(own)

    browser_sc, _ = _other_sessions_with_otp(app, alice, setup["secret"])
    disabled = alice.post("/api/auth/2fa/disable", {"password": DEFAULT_PASSWORD,
                                                    "otp": code(setup["secret"], 1)})
    assert disabled.status_code == 200, disabled.get_json()
    assert _logged_out(browser_sc, "2fa_disabled")
    assert _still_works(own)
    assert _dm_reaches(app, alice, [own, browser_sc]) == [True, False]


def _other_sessions_with_otp(app, person, secret):
    from tests.auth_helpers import code
    from tests.helpers import login

    browser = app.test_client()
    login(browser, person.user["username"], otp=code(secret))
    browser_sc = socketio.test_client(app, flask_test_client=browser)
    assert browser_sc.is_connected()
    return browser_sc, browser


# Point 10: blocks hide presence

def test_a_blocked_user_does_not_see_the_blockers_presence(app):
    alice, bob, carol = Person(app, "alice"), Person(app, "bob"), Person(app, "carol")
    with_alice, with_carol = open_direct(alice, bob), open_direct(carol, bob)
    assert alice.post(f"/api/users/{bob.id}/block").status_code in (200, 201, 204)
    bob_sc = bob.socket()
    bob_sc.get_received()

    alice_sc = alice.socket()
    carol.socket()  # a later presence event to bob: everything before it arrived
    assert events(bob_sc, "presence") == [{"user_id": carol.id, "online": True}]
    online = bob_sc.emit("get_online_users", {"room_id": with_alice}, callback=True)
    assert online["ok"] and online["data"]["user_ids"] == [bob.id]
    online = bob_sc.emit("get_online_users", {"room_id": with_carol}, callback=True)
    assert sorted(online["data"]["user_ids"]) == sorted([bob.id, carol.id])
    # Nor the other way round: alice hears nothing of bob, who is online.
    assert alice_sc.emit("get_online_users", {"room_id": with_alice},
                         callback=True)["data"]["user_ids"] == [alice.id]


# Point 13: per-user limits on socket events and on sockets

def test_rapid_socket_events_are_answered_rate_limited_past_the_limit(app):
    alice, bob = Person(app, "alice"), Person(app, "bob")
    room = open_direct(alice, bob)
    sc = alice.socket()
    limit = 120  # SOCKET_READ_RATE_LIMIT's default: 120 per minute
    acks = [sc.emit("get_online_users", {"room_id": room}, callback=True) for _ in range(300)]
    assert all(ack["ok"] for ack in acks[:limit])
    limited = acks[limit:]
    assert all(ack["ok"] is False and ack["error"]["code"] == "rate_limited"
               and ack["error"]["details"]["retry_after"] >= 1 for ack in limited)
    # Classes count apart: writes are still accepted.
    assert sc.emit("mark_read", {"room_id": room, "seq": 0}, callback=True)["ok"]
    writes = [sc.emit("mark_read", {"room_id": room, "seq": 0}, callback=True)
              for _ in range(299)]
    assert [a["ok"] for a in writes].count(True) == limit - 1
    assert writes[-1]["error"]["code"] == "rate_limited"


def test_one_socket_more_than_the_cap_is_refused_at_connect(make_app, client):
    from tests.helpers import bearer

    app = make_app(SOCKET_MAX_PER_USER=5)
    headers = bearer(app.test_client(), "many")
    sockets = [_token_socket(app, headers) for _ in range(5)]
    extra = socketio.test_client(app, auth={"token": headers["Authorization"].split()[1]})
    assert not extra.is_connected()
    sockets[0].disconnect()
    assert _token_socket(app, headers).is_connected()  # a freed place is taken again


def test_revoking_a_token_closes_its_socket_on_another_process(client, cluster):
    """Two real processes: the origins of sockets live in Redis (`rt:origins:`), so a
    revocation on the first closes exactly that token's socket on the second."""
    import threading

    import requests
    import socketio as socketio_client

    from tests.helpers import bearer

    _, (first, second) = cluster
    revoked, kept = bearer(client, "bot"), bearer(client, "bot", register_first=False)
    friend = bearer(client, "friend")
    bot_id = client.get("/api/auth/me", headers=kept).get_json()["user"]["id"]
    logout, closed, message = threading.Event(), threading.Event(), threading.Event()
    doomed = socketio_client.Client(reconnection=False)
    doomed.on("force_logout", lambda data: logout.set() if data == {
        "reason": "token_revoked"} else None)
    doomed.on("disconnect", lambda *args: closed.set())
    alive = socketio_client.Client(reconnection=False)
    alive.on("message", lambda data: message.set())
    for sock, headers in ((doomed, revoked), (alive, kept)):
        sock.connect(second.url, auth={"token": headers["Authorization"].split()[1]},
                     transports=["websocket"], wait_timeout=10)
    try:
        gone = requests.delete(f"{first.url}/api/auth/token", headers=revoked, timeout=10)
        assert gone.status_code == 204, gone.text
        assert logout.wait(10) and closed.wait(10)
        room = requests.post(f"{first.url}/api/messages/direct", json={"user_id": bot_id},
                             headers=friend, timeout=10).json()["id"]
        sent = requests.post(f"{first.url}/api/messages/rooms/{room}/messages",
                             json={"body": "hi", "client_id": "x1"}, headers=friend,
                             timeout=10)
        assert sent.status_code == 201, sent.text
        assert message.wait(10) and alive.connected
    finally:
        for sock in (doomed, alive):
            if sock.connected:
                sock.disconnect()


def test_ending_a_session_closes_its_socket_on_another_process(cluster):
    """Two real processes: a session ended through the first closes the socket that
    session opened on the second, and only that one."""
    import threading

    import requests
    import socketio as socketio_client

    from tests.helpers import DEFAULT_PASSWORD
    from utils.db import get_db

    app, (first, second) = cluster
    # Registered through a server: its password pepper is not the test app's.
    created = requests.post(f"{first.url}/api/auth/register", timeout=10, json={
        "username": "roamer", "email": "roamer@example.com", "password": DEFAULT_PASSWORD})
    assert created.status_code == 201, created.text
    with app.app_context():
        get_db().users.update_one({"username": "roamer"}, {"$set": {"email_verified": True}})
    browsers = [requests.Session() for _ in range(2)]
    tokens = []
    for browser in browsers:
        answer = browser.post(f"{first.url}/api/auth/login", timeout=10,
                              json={"login": "roamer", "password": DEFAULT_PASSWORD})
        assert answer.status_code == 200, answer.text
        tokens.append(answer.json()["csrf_token"])
    logout, closed = threading.Event(), threading.Event()
    doomed = socketio_client.Client(reconnection=False)
    doomed.on("force_logout", lambda data: logout.set() if data == {
        "reason": "session_revoked"} else None)
    doomed.on("disconnect", lambda *args: closed.set())
    alive = socketio_client.Client(reconnection=False)
    for sock, browser in ((doomed, browsers[1]), (alive, browsers[0])):
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        sock.connect(second.url, headers={"Cookie": cookie}, transports=["websocket"],
                     wait_timeout=10)
    try:
        listed = browsers[0].get(f"{first.url}/api/auth/sessions", timeout=10).json()
        other = next(s["id"] for s in listed["sessions"] if not s["current"])
        gone = browsers[0].delete(f"{first.url}/api/auth/sessions/{other}", timeout=10,
                                  headers={"X-CSRF-Token": tokens[0]})
        assert gone.status_code == 204, gone.text
        assert logout.wait(10) and closed.wait(10)
        # The kept session's socket still answers on the second process.
        answer = alive.call("get_online_users", {"topic_id": "0" * 24}, timeout=10)
        assert answer["error"]["code"] == "not_found" and alive.connected
    finally:
        for sock in (doomed, alive):
            if sock.connected:
                sock.disconnect()
