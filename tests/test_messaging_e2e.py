"""End to end: two real gunicorn/gevent server processes sharing one SecantusDB and one
redis-server, driven by real python-socketio clients over websockets."""
from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid

import redis
import requests
import websocket

from services.accounts import auth_passwords
from services.chat import chat_rooms
from services.forum import topic_members, topics_service
from tests.chat_helpers import dump_room, restore_room
from tests.cluster_helpers import Client, make_user
from tests.helpers import run_jobs
from tests.servers import CLUSTER_SETTINGS, AppServer


class WireClient:
    """A bare Engine.IO v4 / Socket.IO websocket client that records events in the order
    the server wrote them. python-socketio's client hands every incoming event to a new
    thread, so the order in which its handlers run says nothing about the wire order; this
    one reads frames on one thread and records them as they come."""

    def __init__(self, server: AppServer, token: str) -> None:
        self.server = server
        self.events: list[tuple[str, object]] = []
        self.acks: dict[int, object] = {}
        self.cond = threading.Condition()
        self.next_id = 0
        url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(url, timeout=30)
        assert self.ws.recv().startswith("0")  # Engine.IO open
        self.ws.send("40" + json.dumps({"token": token}))
        assert self.ws.recv().startswith("40"), "socket connect refused"
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                frame = self.ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            if frame == "2":  # ping
                self.ws.send("3")
            elif frame.startswith("42"):
                name, *args = json.loads(frame[2:])
                with self.cond:
                    self.events.append((name, args[0] if args else None))
                    self.cond.notify_all()
            elif frame.startswith("43"):
                digits = len(frame[2:]) - len(frame[2:].lstrip("0123456789"))
                with self.cond:
                    self.acks[int(frame[2:2 + digits])] = json.loads(frame[2 + digits:])[0]
                    self.cond.notify_all()

    def call(self, event: str, data: dict) -> object:
        return self.answer(self.emit(event, data))

    def emit(self, event: str, data: dict) -> int:
        """Send an event asking for an ack; its id, for `answer`."""
        with self.cond:
            self.next_id += 1
            ack_id = self.next_id
        self.ws.send(f"42{ack_id}" + json.dumps([event, data]))
        return ack_id

    def answer(self, ack_id: int, timeout: float = 30) -> object:
        with self.cond:
            assert self.cond.wait_for(lambda: ack_id in self.acks, timeout=timeout)
            return self.acks.pop(ack_id)

    def wait_for(self, name: str, count: int, timeout: float = 60) -> list:
        with self.cond:
            self.cond.wait_for(lambda: len(self.named(name)) >= count, timeout=timeout)
            return self.named(name)

    def wait_until(self, name: str, predicate, timeout: float = 60) -> list:
        """The `name` events once `predicate(events)` holds (or the timeout passed)."""
        with self.cond:
            self.cond.wait_for(lambda: predicate(self.named(name)), timeout=timeout)
            return self.named(name)

    def named(self, name: str) -> list:
        return [data for event, data in self.events if event == name]

    def close(self) -> None:
        self.ws.close()


def seqs(messages: list[dict]) -> list[int]:
    return [m["seq"] for m in messages]


def send(client: Client, room_id: str, body: str, client_id: str | None = None) -> dict:
    answer = client.call("send_message", {"room_id": room_id, "body": body,
                                          "client_id": client_id or uuid.uuid4().hex})
    assert answer["ok"], answer
    return answer["data"]


def test_order_reconnect_catch_up_and_idempotent_retry(cluster):
    app, (a, b) = cluster
    alice, alice_token = make_user(app, "alice")
    bob, bob_token = make_user(app, "bob")
    with app.app_context():
        room, _ = chat_rooms.open_direct(alice, str(bob["_id"]))
    room_id = str(room["_id"])
    # The reader is a wire-level client: the order asserted is the order B wrote.
    sender, reader = Client(a, alice_token), WireClient(b, bob_token)
    try:
        assert reader.call("join_room", {"room_id": room_id})["ok"]
        for i in range(5):
            send(sender, room_id, f"first {i}")
        assert seqs(reader.wait_for("message", 5)) == [1, 2, 3, 4, 5]
        assert reader.wait_for("unread", 5)[-1] == {"room_id": room_id, "unread_count": 5,
                                                    "muted": False}

        reader.close()
        for i in range(3):
            send(sender, room_id, f"while away {i}")
        # Messages keep coming while bob re-joins: none may fall between catch-up and live.
        racing = threading.Thread(target=lambda: [send(sender, room_id, f"race {i}")
                                                  for i in range(10)])
        reader = WireClient(b, bob_token)
        racing.start()
        caught = reader.call("join_room", {"room_id": room_id, "after_seq": 5})["data"]
        racing.join()
        assert seqs(caught["messages"])[:3] == [6, 7, 8]
        assert seqs(caught["messages"]) == list(range(6, 6 + len(caught["messages"])))
        # A later message is the signal that every earlier one has arrived: B writes a
        # room's messages in seq order (asserted here), so once seq 19 is on the wire,
        # nothing before it can still come.
        first = send(sender, room_id, "once", "retry-1")
        assert first["seq"] == 19
        live = seqs(reader.wait_until("message", lambda got: 19 in seqs(got)))
        assert live[-1] == 19, live
        live = live[:-1]
        assert live == sorted(live) and len(live) == len(set(live))
        merged = sorted(set(seqs(caught["messages"])) | set(live))
        assert merged == list(range(6, 19))

        # A retry through the other process stores nothing new.
        again = Client(b, alice_token)
        try:
            assert send(again, room_id, "once", "retry-1")["id"] == first["id"]
        finally:
            again.close()
        history = requests.get(f"{b.url}/api/messages/rooms/{room_id}/messages?after_seq=0"
                               "&limit=100", headers={"Authorization": f"Bearer {bob_token}"})
        assert seqs(history.json()["items"]) == list(range(1, 20))
    finally:
        sender.close()
        reader.close()


# Answers a real client retries with the same client_id: the server shed load or the flood
# limit said "later". The idempotent send makes the retry safe.
RETRYABLE = {"service_unavailable", "rate_limited"}


def test_burst_from_both_processes_arrives_complete_and_in_order(cluster):
    app, servers = cluster
    users = [make_user(app, f"burst{i}") for i in range(20)]
    with app.app_context():
        owner = users[0][0]
        topic = topics_service.create_topic(owner, "Burst")
        for user, _ in users[1:]:
            topic_members.join_topic(user, topic["_id"])
        room_id = str(chat_rooms.create_topic_room(owner, str(topic["_id"]), "r", "")["_id"])
    # Wire-level clients, half on each process: each reads frames on one thread in the
    # order its server wrote them, so every receiver judges the order (python-socketio's
    # client costs several times the CPU per received event).
    clients = [WireClient(servers[i % 2], token) for i, (_, token) in enumerate(users)]
    # The figure: 20 senders x 200 = 4000 messages, run by CI; `make test` sends
    # 20 x 50 (E2E_BURST_PER_SENDER, Makefile).
    per_sender = int(os.environ.get("E2E_BURST_PER_SENDER", "200"))
    total = per_sender * len(clients)
    failures: list[dict] = []
    try:
        for client in clients:
            assert client.call("join_room", {"room_id": room_id})["ok"]

        def burst(client: WireClient, index: int) -> None:
            for start in range(0, per_sender, 20):  # bursts of 20 without waiting
                pending = list(range(start, min(start + 20, per_sender)))
                for _attempt in range(30):
                    sent = {n: client.emit("send_message", {"room_id": room_id,
                                                            "body": f"{index}:{n}",
                                                            "client_id": f"{index}-{n}"})
                            for n in pending}
                    answers = {n: client.answer(ack, timeout=120) for n, ack in sent.items()}
                    refused = [n for n in pending if not answers[n]["ok"]]
                    failures.extend(answers[n] for n in refused
                                    if answers[n]["error"]["code"] not in RETRYABLE)
                    pending = [n for n in refused
                               if answers[n]["error"]["code"] in RETRYABLE]
                    if not pending:
                        break
                    time.sleep(0.2)
                assert not pending, f"sender {index} still refused after retries"

        threads = [threading.Thread(target=burst, args=(c, i)) for i, c in enumerate(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        assert failures == []
        with app.app_context():
            from utils.db import get_db
            stored = sorted(m["seq"] for m in get_db().messages.find({}, {"seq": 1}))
        assert stored == list(range(1, total + 1))
        # Every receiver, on either process, got each message exactly once, in seq order.
        for client in clients:
            got = seqs(client.wait_for("message", total, timeout=60))
            assert got == list(range(1, total + 1)), (len(got), client.server.port)
    finally:
        for client in clients:
            client.close()


def test_presence_unread_across_processes_and_a_killed_process(own_cluster):
    app, (a, b) = own_cluster  # its own pair: it kills one
    alice, alice_token = make_user(app, "alice")
    carol, carol_token = make_user(app, "carol")
    with app.app_context():
        room, _ = chat_rooms.open_direct(alice, str(carol["_id"]))
    room_id = str(room["_id"])
    # A wire-level watcher: the order it records is the order A wrote.
    watcher = WireClient(a, alice_token)
    phone, laptop = Client(b, carol_token), Client(a, carol_token)
    try:
        assert watcher.wait_for("presence", 1) == [{"user_id": str(carol["_id"]),
                                                    "online": True}]
        online = watcher.call("get_online_users", {"room_id": room_id})["data"]["user_ids"]
        assert sorted(online) == sorted([str(alice["_id"]), str(carol["_id"])])
        for i in range(3):
            send(watcher, room_id, f"hey {i}")
        assert phone.wait_for("unread", 3)[-1]["unread_count"] == 3
        assert laptop.wait_for("unread", 3)[-1]["unread_count"] == 3
        assert laptop.call("mark_read", {"room_id": room_id, "seq": 2})["data"][
            "unread_count"] == 1
        assert phone.wait_for("unread", 4)[-1] == {"room_id": room_id, "unread_count": 1,
                                                   "muted": False}
        laptop.close()
        # A later event on the watcher's socket is the signal: once A has taken the
        # laptop's socket out of the registry, a message from the watcher (published by
        # A after that) is written after any presence event that disconnect could send.
        store = redis.Redis.from_url(app.config["REDIS_URL"])
        deadline = time.monotonic() + 10
        while store.zcard(f"rt:conns:{carol['_id']}") > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.zcard(f"rt:conns:{carol['_id']}") == 1
        sent = send(watcher, room_id, "still there?")
        assert sent["id"] in [m["id"] for m in watcher.wait_for("message", 4)]
        # The phone is still on B: no `offline` went out.
        assert watcher.named("presence") == [{"user_id": str(carol["_id"]), "online": True}]
        b.stop(signal.SIGKILL)  # no disconnect handler runs: only expiry can notice
        started = time.monotonic()
        offline = watcher.wait_for("presence", 2, timeout=10)
        assert offline[-1] == {"user_id": str(carol["_id"]), "online": False}
        assert time.monotonic() - started < 2 + 2  # TTL plus a sweep or two
        assert watcher.call("get_online_users", {"room_id": room_id})["data"]["user_ids"] == [
            str(alice["_id"])]
    finally:
        for client in (watcher, phone, laptop):
            client.close()


def test_oversized_frames_are_refused_and_force_logout_reaches_other_process(cluster):
    app, (a, b) = cluster
    alice, alice_token = make_user(app, "alice")
    bob, _ = make_user(app, "bob")
    with app.app_context():
        room, _ = chat_rooms.open_direct(alice, str(bob["_id"]))
    client = Client(a, alice_token)
    client.sio.emit("send_message", {"room_id": str(room["_id"]), "body": "x" * 200_000,
                                     "client_id": "big"})
    assert client.disconnected.wait(10)
    assert not client.sio.connected
    other = Client(b, alice_token)
    # The link must be signed with the servers' key, not the test app's.
    app.config["SECRET_KEY"] = CLUSTER_SETTINGS["SECRET_KEY"]
    with app.app_context():
        from datetime import timedelta

        from services.platform import tokens
        from utils.db import get_db
        auth_passwords.forgot_password("alice@example.com")
        run_jobs(app)  # the reset link is made on the mail worker
        nonce = get_db().users.find_one({"_id": alice["_id"]})["reset_nonce"]
        link = tokens.make("reset", str(alice["_id"]), nonce, timedelta(minutes=5))
    # The reset is served by process A; the socket lives on process B.
    reset = requests.post(f"{a.url}/api/auth/password/reset",
                          json={"token": link, "password": "a brand new passphrase 7"})
    assert reset.status_code == 200, reset.text
    assert other.wait_for("force_logout", 1) == [{"reason": "password_reset"}]
    assert other.disconnected.wait(10)
    assert not other.sio.connected


def test_a_restore_under_two_running_processes_leaves_no_gap(cluster, db):
    """tests/test_messages_seq_proof.py with two gunicorn processes sharing the Redis
    message queue: the seq a process left in Redis, and the one each remembers, are from
    after the dump; the sends after the restore continue from the restored room."""
    app, (a, b) = cluster
    alice, alice_token = make_user(app, "alice")
    bob, _ = make_user(app, "bob")
    with app.app_context():
        room, _ = chat_rooms.open_direct(alice, str(bob["_id"]))
    room_id = str(room["_id"])

    def send(server, client_id: str) -> int:
        answer = requests.post(f"{server.url}/api/messages/rooms/{room_id}/messages",
                               json={"body": "hi", "client_id": client_id},
                               headers={"Authorization": f"Bearer {alice_token}"}, timeout=30)
        assert answer.status_code == 201, answer.text
        return answer.json()["seq"]

    assert [send(a, "a1"), send(b, "b1")] == [1, 2]
    saved = dump_room(db, room["_id"])
    assert [send(a, "a2"), send(b, "b2"), send(a, "a3")] == [3, 4, 5]
    restore_room(db, saved, room["_id"])
    assert [send(b, "b3"), send(a, "a4"), send(b, "b4")] == [3, 4, 5]
    stored = db.messages.find({"room_id": room["_id"]}, {"seq": 1, "client_id": 1})
    assert sorted((m["seq"], m["client_id"]) for m in stored) == [
        (1, "a1"), (2, "b1"), (3, "b3"), (4, "a4"), (5, "b4")]
