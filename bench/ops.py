"""Two figures for docs/OPERATIONS.md, measured on 127.0.0.1 with bounded loops:

1. memory per Socket.IO connection: RSS of one production process (gunicorn, one gevent
   worker) before and after N authenticated websocket connections;
2. the cost of one Redis pub/sub channel as processes are added: every process
   subscribes to the one Socket.IO channel and receives every event published on it, so
   each pays for each message whether or not it has a socket in the room. K subscriber
   processes run python-socketio's RedisManager as the app does; a publisher sends M
   events; the CPU time of redis-server and of each subscriber is read from /proc.

    python -m bench.ops [--connections 400] [--messages 20000]   (make bench-ops)
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
from pathlib import Path

import websocket

from bench.servers import _children, cpu_seconds, rss_bytes
from tests.servers import CLUSTER_SETTINGS, AppServer, RedisServer
from utils.embedded_db import EmbeddedDatabase, free_port

CHANNEL = "bench-ops"


def memory_per_connection(connections: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="rt-bench-ops-"))
    mongo = EmbeddedDatabase(free_port(), ":memory:").start()
    redis_server = RedisServer().start()
    env = {**CLUSTER_SETTINGS, "MONGO_URI": mongo.uri, "MONGO_DB_NAME": "bench_ops",
           "REDIS_URL": redis_server.url, "LOG_LEVEL": "WARNING"}
    from app import create_app
    from models.indexes import init_indexes
    from services.accounts import auth_signup, token_pairs

    app = create_app("testing", MONGO_URI=mongo.uri, MONGO_DB_NAME="bench_ops",
                     REDIS_URL=redis_server.url, SOCKETIO_MESSAGE_QUEUE=None)
    with app.app_context():
        init_indexes()
        user = auth_signup.register("benchuser", "bench@example.com",
                                     "correct horse battery staple", email_verified=True)
        token = token_pairs.issue_pair(user, "bench")["access_token"]
    server = AppServer(env, workdir)
    sockets = []
    try:
        server.wait_ready()
        [worker] = _children(server.process.pid)

        def connect() -> websocket.WebSocket:
            ws = websocket.create_connection(
                f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", timeout=30)
            assert ws.recv().startswith("0")
            ws.send("40" + json.dumps({"token": token}))
            assert ws.recv().startswith("40")
            return ws

        # Warm up: the first connections load code and fill caches.
        sockets.extend(connect() for _ in range(20))
        time.sleep(1)
        before = rss_bytes(worker)
        sockets.extend(connect() for _ in range(connections))
        time.sleep(1)
        after = rss_bytes(worker)
        return {"connections": connections, "rss_before_mib": round(before / 2**20, 1),
                "rss_after_mib": round(after / 2**20, 1),
                "kib_per_connection": round((after - before) / connections / 1024, 1)}
    finally:
        for ws in sockets:
            ws.close()
        server.stop()
        redis_server.stop()
        mongo.stop()


def _subscriber(url: str, ready, done, expected: int) -> None:
    import socketio

    manager = socketio.RedisManager(url, channel=CHANNEL)
    server = socketio.Server(client_manager=manager, async_mode="threading")
    received = 0
    original = manager._handle_emit

    def counted(message):
        nonlocal received
        original(message)
        received += 1
        if received == expected:
            done.set()

    manager._handle_emit = counted
    manager.initialize()
    del server
    time.sleep(0.5)  # the listener thread subscribes
    ready.set()
    done.wait(300)


def channel_cost(subscribers: int, messages: int, redis_server: RedisServer) -> dict:
    import socketio

    ctx = multiprocessing.get_context("spawn")
    ready = [ctx.Event() for _ in range(subscribers)]
    done = [ctx.Event() for _ in range(subscribers)]
    procs = [ctx.Process(target=_subscriber, args=(redis_server.url, r, d, messages))
             for r, d in zip(ready, done, strict=True)]
    for proc in procs:
        proc.start()
    for event in ready:
        assert event.wait(60), "a subscriber did not start"
    publisher = socketio.RedisManager(redis_server.url, channel=CHANNEL, write_only=True)
    payload = {"id": "0" * 24, "room_id": "1" * 24, "seq": 1, "body": "x" * 180,
               "author": {"id": "2" * 24, "username": "someone"}, "created_at": "2026"}
    redis_cpu = cpu_seconds(redis_server.process.pid)
    sub_cpu = sum(cpu_seconds(p.pid) for p in procs)
    started = time.monotonic()
    for i in range(messages):
        publisher.emit("message", {**payload, "seq": i}, namespace="/", room=f"chat_room_{i % 50}")
    for event in done:
        assert event.wait(300), "a subscriber missed messages"
    elapsed = time.monotonic() - started
    redis_cpu = cpu_seconds(redis_server.process.pid) - redis_cpu
    sub_cpu = sum(cpu_seconds(p.pid) for p in procs) - sub_cpu
    for proc in procs:
        proc.join(10)
    return {"subscribers": subscribers, "messages": messages,
            "msgs_per_s": round(messages / elapsed),
            "redis_us_per_msg": round(redis_cpu / messages * 1e6, 1),
            "subscriber_us_per_msg": round(sub_cpu / subscribers / messages * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=400)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--subscribers", default="1,2,4,8")
    args = parser.parse_args()
    results = {"memory": memory_per_connection(args.connections), "channel": []}
    print(json.dumps(results["memory"]), flush=True)
    redis_server = RedisServer().start()
    try:
        for k in (int(n) for n in args.subscribers.split(",")):
            row = channel_cost(k, args.messages, redis_server)
            results["channel"].append(row)
            print(json.dumps(row), flush=True)
    finally:
        redis_server.stop()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = Path(__file__).parent / "results" / f"ops-{stamp}.json"
    out.write_text(json.dumps({"cpus": os.cpu_count(), **results}, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
