"""`make bench-broadcast`: one chat room heard by 10,000 sockets, measured end to end
(issue 29 point 6).

Two production processes (gunicorn, our gunicorn.conf.py, one gevent worker each, on their
own ports) share MongoDB and the Redis Socket.IO message queue. 10,000 users are seeded in
bulk as the services write them: members of one public topic and of its chat room, each
with an app login (an access token, stored as its SHA-256 like token_pairs stores it).
The receivers live in several client processes (multiprocessing; the lean client of
bench/realtime.py, the cheapest socket we have: raw Engine.IO over aiohttp); each process
connects its share, alternating between the two servers, and enters the room with the
real `join_room`. Then one sender socket on the first server sends N messages through the
real path (`send_message`: stored with its seq, published through Redis), one every
`--spacing` seconds. Every receiver notes, per message id (`client_id`), when it arrived
(`time.time()`: every process of this machine reads the same clock).

Reported: delivery latency p50/p99 over every delivery, from the send to the arrival, and
of the last arrival per message (the whole room has it); lost and duplicated per socket
per message (both must be 0), messages seen out of seq order; connect time; the RSS of
each worker per socket; CPU of servers and clients; the load average before and after.

    python -m bench.broadcast [--sockets 10000] [--processes 4] [--messages 20]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import queue
import random
import resource
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import MongoClient

from bench import realtime, seed
from bench.connections import raise_fd_limit
from bench.servers import Backends, Gunicorn, make_workdir, our_env, remove_workdir, rss_bytes

RESULTS = Path(__file__).resolve().parent / "results"
DB_NAME = "roundtable_broadcast"


# The room and its people

def seed_room(base_url: str, db, receivers: int) -> dict[str, Any]:
    """One public topic and its chat room; `receivers` users plus a sender, all members,
    each with an access token. The sender is registered through the API (so the cloned
    documents have the exact shape), the rest are inserted in bulk."""
    started = time.monotonic()
    sender = seed.register_users(base_url, db, [f"bcast{uuid.uuid4().hex[:8]}"])
    sender = next(iter(sender.values()))
    user_ids = seed.bulk_users(db, db.users.find_one({"_id": sender["_id"]})["username"],
                               receivers)
    topic = seed.topic_document(random.Random(29), 0, sender["_id"], receivers + 1)
    db.topics.insert_one(topic)
    everyone = [sender["_id"], *user_ids]
    seed.insert_in_chunks(db.topic_members, [
        {"topic_id": topic["_id"], "user_id": uid,
         "role": "owner" if uid == sender["_id"] else "member",
         "joined_at": topic["created_at"]} for uid in everyone])
    room = seed.topic_room("broadcast", topic, sender["_id"])
    db.rooms.insert_one(room)
    seed.insert_in_chunks(db.room_members, [seed.room_member(room, uid) for uid in everyone])
    tokens = seed.bulk_tokens(db, user_ids)
    return {"room_id": str(room["_id"]), "sender_token": sender["token"], "tokens": tokens,
            "seed_seconds": round(time.monotonic() - started, 1)}


# Counting (pure, so a test can check it on arrivals it made up)

def summarize(sent: dict[str, float], order: list[str], sockets: list[dict[str, list[float]]]
              ) -> dict[str, Any]:
    """`sent`: message id -> send time of every acknowledged message, `order` their seq
    order; `sockets`: per joined socket, message id -> its arrival times (one each, more
    is a duplicate). Lost: a (socket, message) pair with no arrival."""
    latencies: list[float] = []
    last: dict[str, float] = {}
    lost = duplicated = out_of_order = 0
    rank = {mid: number for number, mid in enumerate(order)}
    for arrivals in sockets:
        got = [mid for mid in arrivals if mid in sent]
        ranks = [rank[mid] for mid in sorted(got, key=lambda m: arrivals[m][0])]
        out_of_order += ranks != sorted(ranks)
        for mid, at in sent.items():
            times = arrivals.get(mid)
            if not times:
                lost += 1
                continue
            duplicated += len(times) - 1
            latencies.append((times[0] - at) * 1000)
            last[mid] = max(last.get(mid, 0.0), times[0])
    whole = [(last[mid] - at) * 1000 for mid, at in sent.items() if mid in last]
    return {"deliveries": len(latencies), "lost": lost, "duplicated": duplicated,
            "sockets_out_of_order": out_of_order, "delivery_ms": _spread(latencies),
            "last_arrival_ms": _spread(whole)}


def _spread(values: list[float]) -> dict[str, float | None]:
    found = {"p50": realtime.percentile(values, 50), "p99": realtime.percentile(values, 99),
             "max": max(values, default=None)}
    return {key: None if value is None else round(value, 1) for key, value in found.items()}


# A client process

def client_process(number: int, targets: list[tuple[str, str]], room_id: str,
                   parallel: int, commands, results) -> None:
    """Connect every (url, token) in `targets`, enter the room, say "ready", then on
    ("collect", ids, timeout) wait until every socket has every id (or the timeout) and
    answer the arrivals. Runs in its own process."""
    raise_fd_limit()
    try:
        asyncio.run(_client(number, targets, room_id, parallel, commands, results))
    except Exception as exc:  # the parent must hear, not wait for a silent child
        results.put(("failed", number, f"{type(exc).__name__}: {exc}"))


async def _client(number: int, targets: list[tuple[str, str]], room_id: str, parallel: int,
                  commands, results) -> None:
    arrivals: dict[realtime.LeanSocket, dict[str, list[float]]] = {}

    def on_event(sock: realtime.LeanSocket, name: str, payload: Any) -> None:
        if name == "message" and isinstance(payload, dict) and sock in arrivals:
            arrivals[sock].setdefault(payload.get("client_id"), []).append(time.time())

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    gate, failures, retries = asyncio.Semaphore(parallel), {}, 0
    started = time.monotonic()

    async def one(url: str, token: str) -> realtime.LeanSocket | None:
        nonlocal retries
        for attempt in range(3):  # as a real client would, after a refusal or a timeout
            sock = realtime.LeanSocket(session, url, {"token": token}, on_event)
            try:
                async with gate:
                    await sock.connect()
                    arrivals[sock] = {}
                    ack = await asyncio.wait_for(
                        await sock.call("join_room", {"room_id": room_id}), 30)
                if isinstance(ack, dict) and ack.get("ok"):
                    return sock
                raise realtime.Refused(f"join_room: {str(ack)[:80]}")
            except (TimeoutError, OSError, aiohttp.ClientError, realtime.Refused) as exc:
                arrivals.pop(sock, None)
                await sock.close()
                key = type(exc).__name__ + ": " + str(exc)[:80]
                failures[key] = failures.get(key, 0) + 1
                retries += attempt < 2
                await asyncio.sleep(1 + attempt)
        return None

    opened = await asyncio.gather(*(one(url, token) for url, token in targets))
    socks = [s for s in opened if s is not None]
    results.put(("ready", number, {"connected": len(socks), "wanted": len(targets),
                                   "seconds": round(time.monotonic() - started, 1),
                                   "failures": failures, "retries": retries}))
    loop = asyncio.get_running_loop()
    command, ids, timeout = await loop.run_in_executor(None, commands.get)
    deadline = time.monotonic() + timeout
    while command == "collect" and time.monotonic() < deadline and not all(
            all(mid in arrivals[s] for mid in ids) for s in socks):
        await asyncio.sleep(0.2)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    results.put(("arrivals", number, {
        "sockets": [arrivals[s] for s in socks],
        "open": sum(1 for s in socks if s.ws is not None and not s.ws.closed),
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "rss_mib": round(usage.ru_maxrss / 1024, 1)}))
    await asyncio.gather(*(s.close() for s in socks), return_exceptions=True)
    await session.close()


# The run

async def send_all(url: str, token: str, room_id: str, messages: int, spacing: float
                   ) -> tuple[dict[str, float], list[str], dict[str, Any]]:
    """N acknowledged send_message, spaced; (send time per id, ids in seq order, stats)."""
    session = aiohttp.ClientSession()
    sender = await realtime.LeanSocket(session, url, {"token": token}, lambda *_: None).connect()
    sent, seqs, acks, refused = {}, {}, [], []
    run = uuid.uuid4().hex[:8]
    try:
        for number in range(messages):
            mid = f"bcast-{run}-{number}"
            at = time.time()
            ack = await asyncio.wait_for(await sender.call("send_message", {
                "room_id": room_id, "body": realtime.BODY, "client_id": mid}), 30)
            if isinstance(ack, dict) and ack.get("ok"):
                sent[mid], seqs[mid] = at, ack["data"]["seq"]
                acks.append((time.time() - at) * 1000)
            else:
                refused.append(str(ack)[:120])
            await asyncio.sleep(spacing)
    finally:
        await sender.close()
        await session.close()
    return sent, sorted(sent, key=seqs.get), {
        "acknowledged": len(sent), "refused": refused,
        "ack_ms": _spread(acks)}


def measure(urls: list[str], room: dict[str, Any], processes: int, messages: int,
            spacing: float, parallel: int = 50, worker_pids: list[int] | None = None,
            server_cpu: Callable[[], float] | None = None, settle: float = 2.0,
            collect_timeout: float = 60) -> dict[str, Any]:
    """Connect len(room["tokens"]) receivers from `processes` client processes, send,
    count. `worker_pids`: the servers' workers, for RSS per socket."""
    tokens = room["tokens"]
    # Socket i goes to server i % 2; process p takes every processes-th socket.
    targets = [(urls[i % len(urls)], token) for i, token in enumerate(tokens)]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    commands = [context.Queue() for _ in range(processes)]
    rss0 = [rss_bytes(pid) for pid in worker_pids or []]
    report: dict[str, Any] = {"sockets_wanted": len(tokens), "client_processes": processes,
                              "servers": len(urls), "load_before": os.getloadavg()}
    started = time.monotonic()
    children = [context.Process(target=client_process, daemon=True,
                                args=(p, targets[p::processes], room["room_id"], parallel,
                                      commands[p], results))
                for p in range(processes)]
    for child in children:
        child.start()
    try:
        ready = _gather(results, "ready", processes, timeout=1800)
        report["connect"] = {
            "connected": sum(r["connected"] for r in ready.values()),
            "seconds": round(time.monotonic() - started, 1),
            "per_process_seconds": [ready[p]["seconds"] for p in sorted(ready)],
            "retries": sum(r["retries"] for r in ready.values()),
            "failures": _merge([r["failures"] for r in ready.values()])}
        report["connect"]["per_s"] = round(report["connect"]["connected"]
                                           / report["connect"]["seconds"], 1)
        print(f"  connected {report['connect']['connected']} of {len(tokens)} in "
              f"{report['connect']['seconds']} s", flush=True)
        time.sleep(settle)
        if worker_pids:
            rss1 = [rss_bytes(pid) for pid in worker_pids]
            per_server = report["connect"]["connected"] / len(worker_pids)
            report["server_memory"] = [
                {"rss_before_mib": round(a / 2**20, 1), "rss_after_mib": round(b / 2**20, 1),
                 "kb_per_socket": round((b - a) / max(per_server, 1) / 1024, 1)}
                for a, b in zip(rss0, rss1, strict=True)]
        cpu0 = server_cpu() if server_cpu else None
        load_sending = os.getloadavg()
        sent, order, report["send"] = asyncio.run(send_all(
            urls[0], room["sender_token"], room["room_id"], messages, spacing))
        for each in commands:
            each.put(("collect", list(sent), collect_timeout))
        got = _gather(results, "arrivals", processes, timeout=collect_timeout + 120)
        sockets = [s for p in sorted(got) for s in got[p]["sockets"]]
        report["result"] = summarize(sent, order, sockets)
        if server_cpu and report["result"]["deliveries"]:
            report["server_cpu_us_per_delivery"] = round(
                (server_cpu() - cpu0) / report["result"]["deliveries"] * 1e6, 1)
        report["clients"] = {
            "open_at_end": sum(g["open"] for g in got.values()),
            "cpu_seconds": [round(g["cpu_seconds"], 1) for g in got.values()],
            "rss_mib": [g["rss_mib"] for g in got.values()]}
        report["load_sending"], report["load_after"] = load_sending, os.getloadavg()
    finally:
        for each in commands:
            with contextlib.suppress(Exception):
                each.put(("stop", [], 0))
        for child in children:
            child.join(timeout=30)
            if child.is_alive():
                child.terminate()
    return report


def _gather(results, kind: str, processes: int, timeout: float) -> dict[int, Any]:
    found: dict[int, Any] = {}
    deadline = time.monotonic() + timeout
    while len(found) < processes:
        try:
            what, number, data = results.get(timeout=max(deadline - time.monotonic(), 0.1))
        except queue.Empty:
            raise RuntimeError(f"{processes - len(found)} client processes never sent "
                               f"{kind!r}") from None
        if what == "failed":
            raise RuntimeError(f"client process {number} failed: {data}")
        if what == kind:
            found[number] = data
    return found


def _merge(counts: list[dict[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for each in counts:
        for key, value in each.items():
            merged[key] = merged.get(key, 0) + value
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=10000)
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--spacing", type=float, default=2.0, help="seconds between sends")
    parser.add_argument("--parallel", type=int, default=50,
                        help="connects in flight per client process")
    args = parser.parse_args()
    limits = raise_fd_limit()
    stamp = datetime.now(timezone.utc)
    workdir = make_workdir()
    backends = Backends(workdir).start()
    servers: list[Gunicorn] = []
    report: dict[str, Any] = {"date": stamp.isoformat(timespec="seconds"),
                              "settings": vars(args), "client_fd_limit": limits,
                              "cpus": os.cpu_count()}
    try:
        db = MongoClient(backends.mongo.uri, tz_aware=True)[DB_NAME]
        from models import registry
        for model in registry.ALL_MODELS:
            model.ensure_indexes(db)
        env = {**our_env(backends, DB_NAME, queue=True),
               "WORKER_CONNECTIONS": str(args.sockets // 2 + 1000)}
        servers = [Gunicorn(name, "app:create_app()", env, workdir).start()
                   for name in ("a", "b")]
        room = seed_room(servers[0].url, db, args.sockets)
        report["seed_seconds"] = room["seed_seconds"]
        print(f"seeded {args.sockets} members with tokens in {room['seed_seconds']} s",
              flush=True)
        report.update(measure([s.url for s in servers], room, args.processes, args.messages,
                              args.spacing, args.parallel,
                              worker_pids=[s.worker_pid for s in servers],
                              server_cpu=lambda: sum(s.cpu() for s in servers)))
    finally:
        for server in servers:
            server.stop()
        backends.stop()
        remove_workdir(workdir)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"broadcast-{stamp.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps({k: v for k, v in report.items() if k != "settings"}, indent=2,
                     default=str))
    print(f"figures: bench/results/{path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
