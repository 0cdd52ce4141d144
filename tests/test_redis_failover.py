"""Redis behind Sentinel survives the loss of its master: a real master, a replica and
three redis-sentinel processes (quorum 2), two gunicorn/gevent app processes and a job
consumer, all configured with REDIS_SENTINELS only. Clients logged in through REST (session
cookies) keep sending messages on both processes; the master is killed with SIGKILL.

Checked: every acknowledged message reaches every member exactly once (the client keeps
the documented gap-free protocol: dedupe by seq, re-join with `after_seq` after a
reconnect), and is stored once; the clients were told to reconnect and caught up; the
logged-in users are still logged in (their sessions had reached the replica before the
kill: the test waits for it); no request started after the failover completed (every
sentinel names the new master) answers a 5xx; the mails queued before the kill (their
enqueues replicated, the consumer running all along) are each sent exactly once.

Printed with `-s`: kill -> every sentinel names the new master, and kill -> first write
accepted through Sentinel (the time without service quoted in docs/OPERATIONS.md).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis
import requests
import socketio
from redis.sentinel import Sentinel

from services.chat import chat_rooms
from tests.cluster_helpers import make_user
from tests.helpers import read_mails, wait_for
from tests.servers import CLUSTER_SETTINGS, ROOT, AppServer, RedisServer
from utils.embedded_db import free_port

MASTER = "rt"
# A process that queues mails (one job each) when told: the app is built while the
# servers start, and the mails are queued at the moment the test chooses.
ENQUEUER = """
import sys
from app import create_app
from services.platform import email_service
app = create_app()
print("ready", flush=True)
for line in sys.stdin:
    with app.app_context():
        for to in line.split():
            email_service.send_template(to, "verify_email", username="someone",
                                        link="http://localhost/verify-email?token=x", hours=48)
    print("queued", flush=True)
"""
SENTINEL = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"
PASSWORD = "correct horse battery staple"


class SentinelProcess:
    def __init__(self, master_port: int, directory: Path) -> None:
        self.port = free_port()
        config = directory / f"sentinel-{self.port}.conf"
        # Written by the sentinel as it learns (replicas, other sentinels, failovers).
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\nprotected-mode no\ndir {directory}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 2\n"
            f"sentinel down-after-milliseconds {MASTER} 1000\n"
            f"sentinel failover-timeout {MASTER} 5000\n"
            f"sentinel parallel-syncs {MASTER} 1\n")
        self.process = subprocess.Popen([SENTINEL, str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        self.client = redis.Redis(port=self.port, socket_timeout=0.5, decode_responses=True)

    def master_port(self) -> int | None:
        try:
            return int(self.client.sentinel_get_master_addr_by_name(MASTER)[1])
        except (redis.RedisError, TypeError):
            return None

    def knows_everyone(self) -> bool:
        try:
            state = self.client.sentinel_master(MASTER)
        except redis.RedisError:
            return False
        return state["num-other-sentinels"] == 2 and state["num-slaves"] == 1

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


def replicated(master: redis.Redis, replica: redis.Redis) -> bool:
    """Every write the master accepted so far has reached the replica."""
    offset = master.info("replication")["master_repl_offset"]
    return replica.info("replication").get("slave_repl_offset", -1) >= offset


class Member:
    """A logged-in user (REST session cookie) with a python-socketio client that follows
    docs/MESSAGING.md "Gap-free delivery": seqs seen are kept; after `server_restarting`
    and the disconnect it reconnects and re-joins with `after_seq` = the last seq before
    its first gap (which fetches the gap too)."""

    def __init__(self, server: AppServer, name: str, room_id: str) -> None:
        self.server, self.room_id = server, room_id
        self.http = requests.Session()
        answer = self.http.post(f"{server.url}/api/auth/login",
                                json={"login": name, "password": PASSWORD}, timeout=10)
        assert answer.status_code == 200, answer.text
        self.seen: dict[int, str] = {}          # seq -> message id, live and caught up
        self.live: Counter[str] = Counter()     # message id -> live deliveries, per socket
        self.acked: list[dict] = []
        self.restarts = 0
        self.reconnects = 0
        self.history: list[tuple] = []  # what happened to this member, for a failure
        self.lock = threading.Lock()
        self.sio: socketio.Client | None = None
        self._connect()

    def caught_up_to(self) -> int:
        """The highest seq with every seq below it seen: the `after_seq` to re-join with.
        (Not the highest seen: group events also reach the user's own room, which a new
        socket is in from its connect, so a live event can arrive before the re-join and
        its seq jump over the ones missed.)"""
        with self.lock:
            seq = 0
            while seq + 1 in self.seen:
                seq += 1
            return seq

    def _record(self, messages: list[dict]) -> None:
        with self.lock:
            for message in messages:
                assert self.seen.setdefault(message["seq"], message["id"]) == message["id"]

    def _on_message(self, message: dict) -> None:
        with self.lock:
            self.live[message["id"]] += 1
            self.history.append((round(time.time(), 2), "live", message["seq"]))
        self._record([message])

    def _on_restarting(self, _data: dict) -> None:
        with self.lock:
            self.restarts += 1
            self.history.append((round(time.time(), 2), "server_restarting"))

    def _connect(self) -> None:
        """Connect (refused while Redis has no master: try again) and join the room."""
        def attempt() -> bool:
            sio = socketio.Client(reconnection=False)
            sio.on("message", self._on_message)
            sio.on("server_restarting", self._on_restarting)
            try:
                cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
                sio.connect(self.server.url, headers={"Cookie": cookie},
                            transports=["websocket"], wait_timeout=5)
                last = self.caught_up_to()
                joined = sio.call("join_room", {"room_id": self.room_id,
                                                **({"after_seq": last} if last else {})},
                                  timeout=5)
            except (socketio.exceptions.SocketIOError, OSError):
                sio.disconnect()
                return False
            if not joined.get("ok"):
                sio.disconnect()
                return False
            assert not joined["data"]["has_more"]
            self.history.append((round(time.time(), 2), "joined", last, sio.sid,
                                 [m["seq"] for m in joined["data"]["messages"]]))
            self._record(joined["data"]["messages"])
            with self.lock:
                self.live.clear()  # a new socket: its own live deliveries
            self.sio = sio
            return True

        wait_for(attempt, timeout=30, what="socket connected and room joined")

    def send_until_stopped(self, stop: threading.Event) -> None:
        while not stop.is_set():
            client_id = uuid.uuid4().hex
            while not stop.is_set():  # a real client retries with the same client_id
                if not self.sio.connected:
                    self.reconnects += 1
                    self._connect()
                try:
                    answer = self.sio.call("send_message", {
                        "room_id": self.room_id, "body": f"m {client_id}",
                        "client_id": client_id}, timeout=5)
                except (socketio.exceptions.SocketIOError, OSError):
                    continue
                if answer["ok"]:
                    self.acked.append(answer["data"])
                    break
                assert answer["error"]["code"] in ("service_unavailable", "rate_limited"), answer
                stop.wait(0.05)
            stop.wait(0.1)

    def logged_in(self) -> int:
        return self.http.get(f"{self.server.url}/api/auth/me", timeout=10).status_code

    def close(self) -> None:
        if self.sio is not None and self.sio.connected:
            self.sio.disconnect()


def probe(members: list[Member], stop: threading.Event, seen: list) -> None:
    """REST requests with the members' sessions all along: (started at, status)."""
    while not stop.is_set():
        for member in members:
            started = time.monotonic()
            try:
                status = member.logged_in()
            except requests.RequestException:
                status = 599
            seen.append((started, status))
        stop.wait(0.05)


@pytest.fixture
def redis_set():
    if not Path(SENTINEL).exists():  # scripts/install-system-deps installs it
        raise RuntimeError("redis-sentinel not found: apt-get install -y redis-sentinel")
    master = RedisServer().start()
    replica = RedisServer("--replicaof", "127.0.0.1", str(master.port)).start()
    directory = Path(tempfile.mkdtemp(prefix="rt-sentinel-"))
    sentinels = [SentinelProcess(master.port, directory) for _ in range(3)]
    try:
        yield master, replica, sentinels
    finally:
        for sentinel in sentinels:
            sentinel.stop()
        replica.stop()
        master.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_messages_sessions_and_jobs_survive_a_master_failover(app, mongo_server,
                                                              _database_name, redis_set,
                                                              tmp_path):
    master, replica, sentinels = redis_set
    master_client = redis.Redis(port=master.port, socket_timeout=1)
    replica_client = redis.Redis(port=replica.port, socket_timeout=1)
    wait_for(lambda: replica_client.info("replication")["master_link_status"] == "up",
             timeout=15, what="the replica in sync")
    wait_for(lambda: all(s.knows_everyone() for s in sentinels), timeout=20,
             what="every sentinel knowing the replica and the other sentinels")

    mail_dir = tmp_path / "mail"
    env = {**CLUSTER_SETTINGS, "MONGO_URI": mongo_server.uri, "MONGO_DB_NAME": _database_name,
           "REDIS_URL": "", "REDIS_SENTINELS": ",".join(f"127.0.0.1:{s.port}" for s in sentinels),
           "REDIS_SENTINEL_MASTER": MASTER, "MAIL_BACKEND": "file",
           "MAIL_FILE_DIR": str(mail_dir), "JOBS_QUEUE_NAME": f"failover-{os.getpid()}",
           "JOBS_POLL_MAX_SECONDS": "0.2", "FLASK_APP": "app:create_app",
           "RATELIMIT_LOGIN": "1000 per minute", "RATELIMIT_DEFAULT": "100000 per minute",
           # The users are made by this process's app: its pepper checks their passwords.
           "PASSWORD_PEPPER": app.config["PASSWORD_PEPPER"]}
    servers = [AppServer(env, tmp_path) for _ in range(2)]
    consumer = subprocess.Popen([sys.executable, "-m", "flask", "jobs", "worker"], cwd=ROOT,
                                env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                stderr=open(tmp_path / "consumer.log", "ab"))  # noqa: SIM115
    enqueuer = subprocess.Popen([sys.executable, "-c", ENQUEUER], cwd=ROOT, text=True,
                                env={**os.environ, **env}, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    members: list[Member] = []
    stop = threading.Event()
    try:
        for server in servers:
            server.wait_ready(timeout=90)  # three processes booting on a shared machine
        users = [make_user(app, f"member{i}")[0] for i in range(4)]
        with app.app_context():
            room = chat_rooms.create_group(users[0], "failover",
                                           [str(u["_id"]) for u in users[1:]])
        room_id = str(room["_id"])
        members = [Member(servers[i % 2], user["username"], room_id)
                   for i, user in enumerate(users)]

        statuses: list[tuple[float, int]] = []
        threads = [threading.Thread(target=m.send_until_stopped, args=(stop,)) for m in members]
        threads.append(threading.Thread(target=probe, args=(members, stop, statuses)))
        for thread in threads:
            thread.start()
        wait_for(lambda: all(len(m.acked) >= 5 for m in members), timeout=20,
                 what="messages flowing from every member")

        # Mails queued just before the kill: the consumer takes them before, during or
        # after the failover.
        assert enqueuer.stdout.readline().strip() == "ready"
        mailed = [f"mailed{i}@example.com" for i in range(20)]
        enqueuer.stdin.write(" ".join(mailed) + "\n")
        enqueuer.stdin.flush()
        assert enqueuer.stdout.readline().strip() == "queued"
        # The queued mails and the sessions (logins above) are on the replica before
        # the kill; later writes (rate-limit counters, presence) may be lost.
        wait_for(lambda: replicated(master_client, replica_client), timeout=10,
                 what="the replica caught up")

        killed = time.monotonic()
        master.process.kill()
        discovery = Sentinel([("127.0.0.1", s.port) for s in sentinels],
                             sentinel_kwargs={"socket_timeout": 0.2}, socket_timeout=0.2)

        def first_write() -> bool:
            try:
                return bool(discovery.master_for(MASTER).set("rt:failover-probe", "1"))
            except redis.RedisError:
                return False

        wait_for(first_write, timeout=30, what="a write accepted by the new master")
        writable = time.monotonic()
        wait_for(lambda: all(s.master_port() == replica.port for s in sentinels), timeout=30,
                 what="every sentinel naming the new master")
        completed = time.monotonic()
        print(f"\nfailover: kill -> first write {writable - killed:.2f} s, "
              f"kill -> every sentinel names the new master {completed - killed:.2f} s")

        # Traffic goes on after the failover, then every member has seen every message.
        counts = [len(m.acked) for m in members]
        wait_for(lambda: all(len(m.acked) >= c + 10 for m, c in zip(members, counts, strict=True)),
                 timeout=30, what="messages acknowledged after the failover")
        stop.set()
        for thread in threads:
            thread.join(30)
        acked = {message["seq"]: message["id"] for m in members for message in m.acked}
        assert len(acked) == len({message["id"] for m in members for message in m.acked})
        for member in members:
            try:
                wait_for(lambda member=member: set(acked.items()) <= set(member.seen.items()),
                         timeout=20, what="every acknowledged message at every member")
            except AssertionError:
                missing = sorted(set(acked.items()) - set(member.seen.items()))
                raise AssertionError(
                    f"{member.server.port}: missing {missing[:20]} of {len(acked)}; "
                    f"restarts {[(m.server.port, m.restarts, m.reconnects) for m in members]}; "
                    f"history {[h for h in member.history if h[1] != 'live' or h[2] > 15]}"
                ) from None
            assert max(member.live.values(), default=0) == 1  # never twice on one socket
        # Stored once each: seqs 1..n without a gap, one per acknowledged message.
        stored: list[int] = []
        while True:  # the room's history, a page at a time
            page = members[0].http.get(
                f"{servers[1].url}/api/messages/rooms/{room_id}/messages",
                params={"after_seq": stored[-1] if stored else 0, "limit": 100},
                timeout=10).json()["items"]
            if not page:
                break
            stored += [item["seq"] for item in page]
        assert stored == sorted(acked) == list(range(1, len(acked) + 1))

        # Every process lost its subscription: its sockets were told and caught up.
        assert all(m.restarts >= 1 and m.reconnects >= 1 for m in members), \
            [(m.restarts, m.reconnects) for m in members]
        # Sessions written before the kill survived it.
        assert [m.logged_in() for m in members] == [200] * len(members)
        during = Counter(status for started, status in statuses if killed <= started < completed)
        print(f"requests started during the failover: {dict(during)}")
        after = [status for started, status in statuses if started >= completed]
        assert after and all(status < 500 for status in after), Counter(after)
        assert 401 not in {status for _, status in statuses}

        # The mails queued before the failover: each sent once.
        wait_for(lambda: len(read_mails(mail_dir)) >= len(mailed), timeout=30,
                 what="the queued mails sent")
        recipients = Counter(str(mail["To"]) for mail in read_mails(mail_dir))
        assert recipients == Counter(mailed)
    finally:
        stop.set()
        for member in members:
            member.close()
        enqueuer.kill()
        enqueuer.wait(10)
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait(10)
        for server in servers:
            server.discard()
