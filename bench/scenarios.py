"""What is measured, against which server, with which data: the glue between the seed,
the load tools and the report."""
from __future__ import annotations

import asyncio
import itertools
import json
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench import realtime, rest, seed
from bench.servers import Backends, Gunicorn, cpu_seconds, repo_relative

RECEIVER_USERS = 10


def seed_all(base_url: str, db, quick: bool) -> dict[str, Any]:
    timings: dict[str, float] = {}
    names = ["bench_reader", "bench_emitter", "bench_sender",
             *(f"bench_recv{i}" for i in range(RECEIVER_USERS))]
    with seed.timed("register_users", timings):
        users = seed.register_users(base_url, db, names)
    with seed.timed("bulk_users", timings):
        filler = seed.bulk_users(db, "bench_reader", 200 if quick else 2000)
    data: dict[str, Any] = {"users": users, "timings": timings,
                            "counts": {"users": len(users) + len(filler)}}
    seed.seed_content(db, users, filler, data, quick)
    return data


def _route_answers(base_url: str, path: str, token: str) -> str | None:
    """None when GET path answers 2xx (redirects not followed), else why not."""
    answer = requests.get(base_url + path, timeout=30, allow_redirects=False,
                          headers={"Authorization": f"Bearer {token}"})
    return None if 200 <= answer.status_code < 300 else f"GET {path} answers {answer.status_code}"


@dataclass
class RestScenario:
    name: str
    server: Gunicorn
    script: str
    missing: str | None = None
    # The floor scenario of the round trips this endpoint needs (FLOORS), if any.
    floor: str | None = None
    # Read GET /bench/commands around the run (our server counts MongoDB commands).
    count_commands: bool = False


# The floors: the bare endpoint plus exactly the round trips each endpoint needs, run on
# bench/baselines/floor.py against the same SecantusDB and Redis. (finds by _id, Redis GETs)
FLOORS = {
    "floor_g1": (0, 1),  # a Redis GET: the bearer user behind its version stamp
    "floor_g2": (0, 2),  # the user with the list cache's generation (one MGET), the page
    "floor_f1": (1, 0),  # one find_one by _id
    "floor_f1g1": (1, 1),
    "floor_f1g3": (1, 3),
    "floor_f2g1": (2, 1),
    "floor_f4g1": (4, 1),  # a write path's budget: 4 MongoDB commands
}
# What each scenario needs, at least, per request:
NEEDS = {
    "users_me": "floor_g1",  # who is asking (1 Redis), nothing else
    "me": "floor_g1",
    "users_search": "floor_f1g1",  # + the search itself
    "topics_list": "floor_g2",  # the stamps and the cache generation, the cached page
    "posts_hot": "floor_f1g3",  # + topic access stamp, cached page, my votes (1 find)
    "posts_new": "floor_f1g3",
    "posts_top": "floor_f1g3",
    "post_with_comments": "floor_f2g1",  # the post or the comments, and my votes on them
    "create_post": "floor_f4g1",  # at most 4 MongoDB commands (issue 20)
    "post_message": "floor_f4g1",
    "send_2_members": "floor_f4g1",
    "send_50_members": "floor_f4g1",
}


def seed_extra(base_url: str, db, data: dict[str, Any]) -> None:
    """A direct room (2 members) through the API and a 50-member topic room."""
    users = data["users"]
    answer = requests.post(f"{base_url}/api/messages/direct", timeout=30,
                           json={"user_id": users["bench_reader"]["id"]},
                           headers={"Authorization": f"Bearer {users['bench_sender']['token']}"})
    data["direct_room_id"] = answer.json()["id"] if answer.status_code in (200, 201) else None
    if data.get("room_ids"):
        from bson import ObjectId
        room = db.rooms.find_one({"_id": ObjectId(data["room_ids"][0])})
        present = {m["user_id"] for m in db.room_members.find({"room_id": room["_id"]})}
        fillers = [m["user_id"] for m in db.topic_members.find({"topic_id": room["topic_id"]})
                   if m["user_id"] not in present][:50 - len(present)]
        db.room_members.insert_many([{"room_id": room["_id"], "user_id": uid,
                                      "joined_at": room["created_at"], "last_read_seq": 0,
                                      "own_after_read": 0} for uid in fillers])
        data["big_room_id"] = str(room["_id"])


def rest_plan(bare: Gunicorn, ours: Gunicorn, data: dict[str, Any],
              floor: Gunicorn | None = None) -> list[RestScenario]:
    token = data["users"]["bench_reader"]["token"]
    sender = data["users"]["bench_sender"]["token"]
    plan = [RestScenario("bare_json", bare, rest.lua_script(["/json"]))]
    if floor is not None:
        plan += [RestScenario(name, floor, rest.lua_script([f"/floor?finds={f}&gets={g}"]))
                 for name, (f, g) in FLOORS.items()]
    topics, posts, rooms = data.get("topic_ids"), data.get("post_ids"), data.get("room_ids")

    def needs(ids, path, what):
        if not ids:
            return f"no {what} seeded (branch not merged)"
        return _route_answers(ours.url, path, token)

    def add(name, script, missing=None):
        plan.append(RestScenario(name, ours, script, missing, NEEDS.get(name), True))

    add("users_me", rest.lua_script(["/api/users/me"], token))
    add("me", rest.lua_script(["/api/auth/me"], token),
        _route_answers(ours.url, "/api/auth/me", token))
    add("users_search", rest.lua_script(["/api/users/?q=member0", "/api/users/?q=member1"],
                                        token))
    add("topics_list", rest.lua_script(["/api/topics"], token),
        needs(topics, "/api/topics", "topics"))
    for sort in ("hot", "new", "top"):
        add(f"posts_{sort}",
            rest.lua_script([f"/api/posts?topic_id={t}&sort={sort}" for t in topics or ["x"]],
                            token),
            needs(topics, f"/api/posts?topic_id={(topics or ['x'])[0]}&sort={sort}", "topics"))
    sample = (posts or ["x"])[:200]
    # A post page is two requests: the post, then its comment tree.
    add("post_with_comments",
        rest.lua_script([p for pid in sample
                         for p in (f"/api/posts/{pid}", f"/api/posts/{pid}/comments")], token),
        needs(posts, f"/api/posts/{sample[0]}/comments", "posts"))
    post_body = json.dumps({"topic_id": (topics or ["x"])[-1], "title": "Bench post %s",
                            "body": "A benchmark post " + "x" * 200})
    add("create_post", rest.lua_script(["/api/posts"], token, "POST", post_body),
        needs(topics, "/api/topics", "topics"))
    # Each text unique, as people write: the write gate refuses the same text in more
    # than REPEAT_CONTENT_MAX places (429 duplicate_content), and a run of refusals is not
    # a run of sends.
    body = json.dumps({"body": "Benchmark message %s " + "x" * 60, "client_id": "%s"})

    def send(name, room_ids):
        add(name, rest.lua_script([f"/api/messages/rooms/{r}/messages" for r in room_ids],
                                  sender, "POST", body),
            needs(room_ids, f"/api/messages/rooms/{room_ids[0]}/messages?limit=1", "rooms"))

    send("post_message", rooms or ["x"])
    send("send_2_members", [data.get("direct_room_id") or "x"])
    send("send_50_members", [data.get("big_room_id") or "x"])
    return plan


def commands_sent(server: Gunicorn) -> int | None:
    try:
        return requests.get(server.url + "/bench/commands", timeout=5).json()["total"]
    except (requests.RequestException, ValueError, KeyError):
        return None


def realtime_targets(bare: Gunicorn, ours: Gunicorn, ours_queue: Gunicorn, backends: Backends,
                     data: dict[str, Any]) -> list[realtime.Target]:
    run = uuid.uuid4().hex[:8]
    # Client ids must never repeat within a run (warm-up, rounds), or they count as dups.
    serial = itertools.count()
    real = data.get("socket_messaging") is True
    users = data["users"]
    receivers = [users[f"bench_recv{i}"]["token"] for i in range(RECEIVER_USERS)]

    def auth(i):
        # Receivers spread over ten users; emitter and senders (-1) are someone else.
        token = receivers[i % RECEIVER_USERS] if i >= 0 else users["bench_emitter"]["token"]
        return {"token": token}

    def bare_send(number, rooms):
        return "send_message", {"room_id": "r10", "body": realtime.BODY,
                                "client_id": f"{run}-bare-{next(serial)}"}

    def our_send(number, rooms):
        room_id = data["send_room_ids"][number % rooms]
        return "send_message", {"room_id": room_id, "body": realtime.BODY,
                                "client_id": f"{run}-{next(serial)}"}

    def chat_fanout(mid):
        return "send_message", {"room_id": data["fanout_room_id"], "body": realtime.BODY,
                                "client_id": mid}

    mongo_cpu = lambda: cpu_seconds(backends.mongo_pid)  # noqa: E731
    redis_cpu = lambda: cpu_seconds(backends.redis_pid)  # noqa: E731
    label = "stored (seq, membership, ordering lock) and broadcast"
    targets = [realtime.Target("bare_socketio", bare.url, lambda i: None, {"server": bare.cpu},
                               bare.rss, bare_send, "broadcast + ack, nothing stored")]
    for name, server, cpus in (
            ("ours", ours, {"server": ours.cpu, "database": mongo_cpu, "redis": redis_cpu}),
            ("ours_redis_queue", ours_queue,
             {"server": ours_queue.cpu, "database": mongo_cpu, "redis": redis_cpu})):
        targets.append(realtime.Target(
            name, server.url, auth, cpus, server.rss, our_send if real else None, label,
            real_join(data) if real else None, chat_fanout if real else None))
    for target, server in zip(targets, (bare, ours, ours_queue), strict=True):
        target.worker_pid = lambda server=server: server.worker_pid
    return targets


def real_join(data: dict[str, Any]):
    """bench_join, then the real chat rooms: everyone the fan-out room, the first ten the
    send rooms (the bare baseline's "r10" plays that part there)."""
    async def join(sock: realtime.LeanSocket, index: int) -> None:
        await realtime.bench_join(sock, index)
        rooms = [data["fanout_room_id"]]
        if index < realtime.SEND_RECEIVERS:
            rooms += data["send_room_ids"]
        for room_id in rooms:
            ack = await (await sock.call("join_room", {"room_id": room_id}))
            if not (isinstance(ack, dict) and ack.get("ok")):
                raise RuntimeError(f"join_room refused: {ack!r}")
    return join


def socket_messaging(base_url: str, token: str, room_id: str | None) -> bool | str:
    """Does our server answer `join_room` yet (the messaging socket handlers)?"""
    if not room_id:
        return False
    import socketio

    client = socketio.Client()
    try:
        client.connect(base_url, auth={"token": token}, transports=["websocket"])
        ack = client.call("join_room", {"room_id": room_id}, timeout=3)
        return bool(isinstance(ack, dict) and ack.get("ok")) or f"join_room answered {ack!r}"
    except socketio.exceptions.TimeoutError:
        return False
    finally:
        client.disconnect()


def profile(name: str, rest_plan: list[RestScenario], targets, workdir: str, args,
            out: Path) -> dict[str, Any]:
    """py-spy our gevent worker during one more run of a REST scenario, of the fan-out
    ("fanout": broadcasts and a long burst to all receivers) or of send_message ("send");
    writes the collapsed stacks and returns the frames with the most own time. Sockets
    are connected before py-spy starts, so connecting does not drown the figures."""
    out.parent.mkdir(exist_ok=True)
    raw = str(out) + ".txt"
    target = next(t for t in targets if t.name == "ours") if targets else None
    scenario = next((s for s in rest_plan if s.name == name), None)
    pid = scenario.server.worker_pid if scenario else target.worker_pid()
    command = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid),
               "--rate", "250", "--format", "raw", "--output", raw, "--nonblocking"]

    def start_spy():
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        return spy

    if scenario:
        spy = start_spy()
        rest.run_wrk(scenario.server.url, scenario.script, workdir, 8, args.connections)
    else:
        async def realtime_run():
            swarm = realtime.Swarm(target)
            await swarm.open(args.receivers if name == "fanout" else 10)
            try:
                spy = start_spy()
                if name == "fanout":
                    await swarm.round(paced=50, burst_messages=200, send_seconds=0)
                else:
                    target.chat_fanout = None
                    await swarm.round(paced=5, burst_messages=5, send_seconds=8)
                return spy
            finally:
                await swarm.close()
        spy = asyncio.run(realtime_run())
    spy.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
    spy.wait(timeout=60)
    return {"file": repo_relative(raw), "top_self": top_frames(raw)}


def top_frames(raw_path: str, count: int = 15) -> list[tuple[str, float]]:
    """Self time per frame from py-spy's collapsed stacks ("a;b;c N" lines)."""
    totals: dict[str, int] = {}
    grand = 0
    try:
        lines = Path(raw_path).read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        leaf = stack.split(";")[-1]
        totals[leaf] = totals.get(leaf, 0) + int(samples)
        grand += int(samples)
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:count]
    return [(frame, round(100 * n / max(grand, 1), 1)) for frame, n in ranked]


def _fmt(entry: dict | None, digits: int = 0, scale: float = 1) -> str:
    if not entry:
        return "-"
    return (f"{entry['median'] * scale:.{digits}f} "
            f"[{entry['min'] * scale:.{digits}f}-{entry['max'] * scale:.{digits}f}]")


def table(report: dict[str, Any]) -> str:
    """The console table: medians with [min-max] over the rounds."""
    lines = [f"\nRoundtable bench {report['date']}  rounds={report['rounds']}  "
             f"{report['versions']['cpu']}",
             "", "REST (wrk, fixed concurrency; median [min-max]; x floor = our CPU per "
             "request over the floor's: the bare endpoint plus the round trips it needs)",
             f"{'scenario':<20}{'req/s':>20}{'x bare':>8}{'floor':>12}{'x floor CPU':>18}"
             f"{'p50 ms':>8}{'p99 ms':>9}{'err':>5}{'CPU us/req':>18}{'db us/req':>10}"
             f"{'db cmd/req':>11}"]
    for name, e in report.get("rest", {}).items():
        cmds = e.get("db_commands_per_req")
        lines.append(f"{name:<20}{_fmt(e['rps']):>20}"
                     f"{_fmt(e.get('ratio_to_bare'), 2).split(' ')[0]:>8}"
                     f"{(e.get('floor') or '-').replace('floor_', ''):>12}"
                     f"{_fmt(e.get('cpu_ratio_to_floor'), 2):>18}"
                     f"{_fmt(e['p50_ms'], 1).split(' ')[0]:>8}"
                     f"{_fmt(e['p99_ms'], 1).split(' ')[0]:>9}{e['errors']:>5}"
                     f"{_fmt(e['server_cpu_us_per_req']):>18}"
                     f"{_fmt(e.get('db_cpu_us_per_req')).split(' ')[0]:>10}"
                     f"{_fmt(cmds, 2).split(' ')[0]:>11}")
    for name, why in report.get("rest_skipped", {}).items():
        lines.append(f"{name:<20}  not measured: {why}")
    realtime_summary = report.get("realtime", {})
    if realtime_summary:
        lines += ["", "Realtime (lean aiohttp client, one process; fan-out = emit until the last "
                  "receiver has it; medians)",
                  f"{'server':<18}{'fan-out 100':>13}{'fan-out 1000':>14}{'client':>8}{'x bare':>7}"
                  f"{'send_message->1000':>20}{'burst deliv/s':>15}{'x bare':>7}{'us/deliv':>9}"
                  f"{'client CPU':>11}{'KB/conn':>9}{'lost':>6}{'dup':>5}",
                  f"{'':<18}{'p50/p99 ms':>13}{'p50/p99 ms':>14}{'us/dlv':>8}{'p50':>7}"
                  f"{'p50/p99 ms':>20}"]
        for name, e in realtime_summary.items():
            def pair(group, e=e):
                p50, p99 = e[f"{group}_p50_ms"], e[f"{group}_p99_ms"]
                return f"{p50['median']:.0f}/{p99['median']:.0f}" if p50 and p99 else "-"

            def med(entry, digits=0, scale=1.0):
                return f"{entry['median'] * scale:.{digits}f}" if entry else "-"
            lines.append(
                f"{name:<18}{pair('fanout_100'):>13}{pair('fanout_1000'):>14}"
                f"{med(e.get('fanout_1000_client_cpu_us_per_delivery'), 0):>8}"
                f"{med(e.get('fanout_1000_p50_ratio_to_bare'), 2):>7}"
                f"{pair('chat_fanout_1000'):>20}{med(e['burst_deliveries_per_s']):>15}"
                f"{med(e.get('burst_ratio_to_bare'), 2):>7}"
                f"{med(e['burst_server_cpu_us_per_delivery'], 1):>9}"
                f"{med(e['burst_client_cpu_share'], 0, 100) + '%':>11}"
                f"{med(e['memory_kb_per_connection'], 1):>9}{e['lost']:>6}{e['duplicates']:>5}")
        lines += ["", f"{'send_message':<28}{'handled/s [min-max]':>22}{'server ms/msg':>15}"
                  f"{'db ms/msg':>11}{'redis ms/msg':>14}{'fail':>6}"]
        for name, e in realtime_summary.items():
            for group, label in (("send_message", "1 room"), ("send_message_10_rooms",
                                                              "10 rooms")):
                if not e[f"{group}_per_s"]:
                    continue
                lines.append(
                    f"{name + ' ' + label:<28}{_fmt(e[f'{group}_per_s']):>22}"
                    f"{_fmt(e[f'{group}_server_cpu_ms'], 2).split(' ')[0]:>15}"
                    f"{_fmt(e[f'{group}_database_cpu_ms'], 2).split(' ')[0]:>11}"
                    f"{_fmt(e[f'{group}_redis_cpu_ms'], 2).split(' ')[0]:>14}"
                    f"{e[f'{group}_failures']:>6}")
        whats = {n: e["send_what"] for n, e in realtime_summary.items() if e["send_what"]}
        lines += [f"  {n}: {w}" for n, w in whats.items()]
    return "\n".join(lines)
