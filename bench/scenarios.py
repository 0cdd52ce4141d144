"""What is measured, against which server, with which data: the glue between the seed,
the load tools and the report."""
from __future__ import annotations

import itertools
import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench import realtime, rest, seed
from bench.servers import Backends, Gunicorn, cpu_seconds

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


@dataclass
class RestScenario:
    name: str
    server: Gunicorn
    script: str
    missing: str | None = None


def _route_exists(base_url: str, path: str, token: str) -> bool:
    answer = requests.get(base_url + path, timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
    return answer.status_code not in (404, 405)


def rest_plan(bare: Gunicorn, ours: Gunicorn, data: dict[str, Any]) -> list[RestScenario]:
    token = data["users"]["bench_reader"]["token"]
    plan = [RestScenario("bare_json", bare, rest.lua_script(["/json"])),
            RestScenario("users_me", ours, rest.lua_script(["/api/users/me"], token)),
            RestScenario("users_search", ours,
                         rest.lua_script(["/api/users/?q=member0", "/api/users/?q=member1"],
                                         token))]
    topics, posts, rooms = data.get("topic_ids"), data.get("post_ids"), data.get("room_ids")

    def needs(ids, path, what):
        if not ids:
            return f"no {what} seeded (branch not merged)"
        if not _route_exists(ours.url, path, token):
            return f"{path.split('?')[0]} not served yet"
        return None

    plan.append(RestScenario("topics_list", ours, rest.lua_script(["/api/topics"], token),
                             needs(topics, "/api/topics", "topics")))
    plan.append(RestScenario(
        "posts_hot", ours,
        rest.lua_script([f"/api/posts?topic_id={t}&sort=hot" for t in topics or ["x"]], token),
        needs(topics, f"/api/posts?topic_id={(topics or ['x'])[0]}&sort=hot", "topics")))
    sample = (posts or ["x"])[:200]
    plan.append(RestScenario(
        "post_with_comments", ours,
        # A post page is two requests: the post, then its comment tree.
        rest.lua_script([p for pid in sample
                         for p in (f"/api/posts/{pid}", f"/api/posts/{pid}/comments")], token),
        needs(posts, f"/api/posts/{sample[0]}/comments", "posts")))
    body = json.dumps({"body": "Benchmark message " + "x" * 60, "client_id": "%s"})
    plan.append(RestScenario(
        "post_message", ours,
        rest.lua_script([f"/api/messages/rooms/{r}/messages" for r in rooms or ["x"]],
                        data["users"]["bench_sender"]["token"], "POST", body),
        needs(rooms, f"/api/messages/rooms/{(rooms or ['x'])[0]}/messages", "rooms")))
    return plan


def realtime_targets(bare: Gunicorn, ours: Gunicorn, ours_queue: Gunicorn, backends: Backends,
                     data: dict[str, Any]) -> list[realtime.Target]:
    run = uuid.uuid4().hex[:8]
    # Real send_message once the messaging socket handlers exist; else the stand-in.
    real = bool(data.get("socket_messaging"))
    # Client ids must never repeat within a run (warm-up, rounds), or they count as dups.
    serial = itertools.count()
    users = data["users"]
    receivers = [users[f"bench_recv{i}"]["token"] for i in range(RECEIVER_USERS)]

    def auth(i):
        # Receivers spread over ten users; emitter and senders (-1) are someone else.
        token = receivers[i % RECEIVER_USERS] if i >= 0 else users["bench_emitter"]["token"]
        return {"token": token}

    def bare_send(number):
        return "send_message", {"room_id": "r10", "body": realtime.BODY,
                                "client_id": f"{run}-bare-{next(serial)}"}

    def make_send(label):
        def send(number):
            payload = {"body": realtime.BODY, "client_id": f"{run}-{label}-{next(serial)}"}
            if real:
                return "send_message", {**payload, "room_id": data["send_room_id"]}
            return "bench_send", {**payload, "room_id": "r10"}
        return send

    send_label = ("send_message (real: stored, seq, broadcast)" if real
                  else "bench_send stand-in (seq + insert + broadcast; messaging not merged)")
    mongo_cpu = lambda: cpu_seconds(backends.mongo_pid)  # noqa: E731
    redis_cpu = lambda: cpu_seconds(backends.redis_pid)  # noqa: E731
    join = real_join(data["send_room_id"]) if real else None
    targets = [
        realtime.Target("bare_socketio", bare.url, lambda i: None, {"server": bare.cpu},
                        bare.rss, bare_send, "bare: broadcast + ack, nothing stored"),
        realtime.Target("ours", ours.url, auth,
                        {"server": ours.cpu, "database": mongo_cpu},
                        ours.rss, make_send("ours"), send_label, join),
        realtime.Target("ours_redis_queue", ours_queue.url, auth,
                        {"server": ours_queue.cpu, "database": mongo_cpu, "redis": redis_cpu},
                        ours_queue.rss, make_send("queue"), send_label, join),
    ]
    for target, server in zip(targets, (bare, ours, ours_queue), strict=False):
        target.worker_pid = lambda server=server: server.worker_pid
    return targets


def real_join(room_id: str):
    async def join(sock: realtime.LeanSocket, index: int) -> None:
        await realtime.bench_join(sock, index)
        if index < 10:  # the send_message receivers join the real chat room
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
    """py-spy the gevent worker during one more run of a scenario; writes a collapsed-stack
    file and returns the functions most often on top of the stack (own time)."""
    out.parent.mkdir(exist_ok=True)
    raw = str(out) + ".txt"
    if name == "fanout":
        server = next(t for t in targets if t.name == "ours")
        pid = server.worker_pid()
    else:
        scenario = next(s for s in rest_plan if s.name == name)
        server = scenario.server
        pid = server.worker_pid
    spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record",
                            "--pid", str(pid), "--rate", "200", "--format", "raw",
                            "--output", raw, "--duration", "8", "--nonblocking"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if name == "fanout":
        realtime.run(server, receivers=args.receivers, paced=50, burst_messages=100,
                     send_total=500, memory=False)
    else:
        rest.run_wrk(server.url, scenario.script, workdir, 7, args.connections)
    spy.wait(timeout=60)
    return {"file": raw, "top_self": top_frames(raw)}


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
             "", "REST (wrk, fixed concurrency; median [min-max])",
             f"{'scenario':<20}{'req/s':>22}{'x bare':>18}{'p50 ms':>10}{'p99 ms':>10}"
             f"{'p99.9 ms':>10}{'errors':>8}{'CPU us/req':>20}"]
    for name, e in report.get("rest", {}).items():
        lines.append(f"{name:<20}{_fmt(e['rps']):>22}{_fmt(e.get('ratio_to_bare'), 2):>18}"
                     f"{_fmt(e['p50_ms'], 1).split(' ')[0]:>10}"
                     f"{_fmt(e['p99_ms'], 1).split(' ')[0]:>10}"
                     f"{_fmt(e['p999_ms'], 1).split(' ')[0]:>10}{e['errors']:>8}"
                     f"{_fmt(e['server_cpu_us_per_req']):>20}")
    for name, why in report.get("rest_skipped", {}).items():
        lines.append(f"{name:<20}  not measured: {why}")
    realtime_summary = report.get("realtime", {})
    if realtime_summary:
        lines += ["", "Realtime (lean aiohttp client; fan-out = emit until the last receiver "
                  "has it)",
                  f"{'server':<18}{'fan-out 100 p50/p99 ms':>24}{'fan-out 1000 p50/p99 ms':>25}"
                  f"{'x bare':>8}{'burst deliv/s':>15}{'us/deliv':>9}{'client CPU':>11}"
                  f"{'KB/conn':>9}{'lost':>6}{'dup':>5}"]
        for name, e in realtime_summary.items():
            def pair(group, e=e):
                p50, p99 = e[f"{group}_p50_ms"], e[f"{group}_p99_ms"]
                return f"{p50['median']:.1f}/{p99['median']:.1f}" if p50 and p99 else "-"
            ratio = e.get("fanout_1000_p50_ratio_to_bare")
            ratio_text = f"{ratio['median']:.2f}" if ratio else "-"
            lines.append(f"{name:<18}{pair('fanout_100'):>24}{pair('fanout_1000'):>25}"
                         f"{ratio_text:>8}"
                         f"{_fmt(e['burst_deliveries_per_s']).split(' ')[0]:>15}"
                         f"{_fmt(e['burst_cpu_us_per_delivery'], 1).split(' ')[0]:>9}"
                         f"{_fmt(e['burst_client_cpu_share'], 0, 100).split(' ')[0] + '%':>11}"
                         f"{_fmt(e['memory_kb_per_connection'], 1).split(' ')[0]:>9}"
                         f"{e['lost']:>6}{e['duplicates']:>5}")
        lines += ["", f"{'send_message':<18}{'handled/s':>22}{'server ms/msg':>15}"
                  f"{'db ms/msg':>11}{'redis ms/msg':>14}{'fail':>6}  what"]
        for name, e in realtime_summary.items():
            lines.append(f"{name:<18}{_fmt(e['send_per_s']):>22}"
                         f"{_fmt(e['send_server_cpu_ms_per_msg'], 2).split(' ')[0]:>15}"
                         f"{_fmt(e['send_database_cpu_ms_per_msg'], 2).split(' ')[0]:>11}"
                         f"{_fmt(e['send_redis_cpu_ms_per_msg'], 2).split(' ')[0]:>14}"
                         f"{e['send_failures']:>6}  {e['send_what']}")
    return "\n".join(lines)
