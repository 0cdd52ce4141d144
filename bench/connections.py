"""`make bench-connections`: 10,000 idle authenticated Socket.IO connections on ONE
production process (gunicorn, our gunicorn.conf.py, one gevent worker), held open past a
heartbeat, then broadcasts to all of them (issue 20).

The lean client (bench/realtime.py: raw Engine.IO/Socket.IO over aiohttp, every socket
in this one asyncio process) answers the server's pings; after the idle wait every socket
must still be open. Reported: the worker's RSS per connection, the connect rate, sockets
lost over the idle wait, and a broadcast to all N: p50/p99 from the emit to the last
receiver's arrival (paced), and deliveries per second (a burst). Both sides raise their
open-file limit to the hard limit (the harness here, the server in gunicorn.conf.py).

    python -m bench.connections [--connections 10000] [--idle 35] [--messages 10]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import MongoClient

from bench import realtime, seed
from bench.servers import Backends, Gunicorn, make_workdir, our_env, remove_workdir, rss_bytes

RESULTS = Path(__file__).resolve().parent / "results"
USERS = 50  # sockets spread over this many users (SOCKET_MAX_PER_USER is raised too)


def raise_fd_limit() -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


async def run(base_url: str, tokens: list[str], worker_pid: int, server_cpu, args
              ) -> dict[str, Any]:
    swarm_tally = realtime.Tally()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    socks: list[realtime.LeanSocket] = []
    result: dict[str, Any] = {"connections_wanted": args.connections}
    try:
        await asyncio.sleep(0.5)
        rss0 = rss_bytes(worker_pid)
        started = time.monotonic()
        gate = asyncio.Semaphore(args.parallel)
        failures: dict[str, int] = {}

        async def one(i: int) -> realtime.LeanSocket | None:
            async with gate:
                try:
                    sock = await realtime.LeanSocket(
                        session, base_url, {"token": tokens[i % len(tokens)]},
                        swarm_tally).connect()
                    ack = await asyncio.wait_for(await sock.call("bench_join",
                                                                 {"rooms": ["all"]}), 30)
                    if not (ack is None or (isinstance(ack, dict) and ack.get("ok"))):
                        raise realtime.Refused(f"bench_join: {ack!r}")
                    return sock
                except (TimeoutError, OSError, aiohttp.ClientError, realtime.Refused) as exc:
                    key = type(exc).__name__ + ": " + str(exc)[:80]
                    failures[key] = failures.get(key, 0) + 1
                    return None

        opened = await asyncio.gather(*(one(i) for i in range(args.connections)))
        socks = [s for s in opened if s is not None]
        connect_seconds = time.monotonic() - started
        await asyncio.sleep(2)
        rss1 = rss_bytes(worker_pid)
        result.update(connected=len(socks), connect_failures=failures,
                      connect_seconds=round(connect_seconds, 1),
                      connects_per_s=round(len(socks) / connect_seconds, 1),
                      rss_before_mib=round(rss0 / 2**20, 1), rss_after_mib=round(rss1 / 2**20, 1),
                      kb_per_connection=round((rss1 - rss0) / max(len(socks), 1) / 1024, 1))
        print(f"  {len(socks)} connected in {connect_seconds:.0f} s, "
              f"{result['kb_per_connection']} KB each (RSS {result['rss_after_mib']} MiB)",
              flush=True)
        # Idle past the server's ping interval (25 s): every socket must answer its ping.
        cpu0 = server_cpu()
        await asyncio.sleep(args.idle)
        result["idle_seconds"] = args.idle
        result["idle_server_cpu_share"] = round((server_cpu() - cpu0) / args.idle, 3)
        alive = [s for s in socks if s.ws is not None and not s.ws.closed]
        result["alive_after_idle"] = len(alive)
        print(f"  after {args.idle} s idle: {len(alive)} alive", flush=True)
        emitter = await realtime.LeanSocket(session, base_url, {"token": tokens[0]},
                                            swarm_tally).connect()
        n = len(alive)
        await realtime.fanout(emitter, swarm_tally, realtime.broadcast_event("all"), n, 2,
                              timeout=30)  # warm-up
        result["fanout"] = await realtime.fanout(emitter, swarm_tally,
                                                 realtime.broadcast_event("all"), n,
                                                 args.messages, timeout=30)
        print(f"  fan-out to {n}: {json.dumps(result['fanout'])}", flush=True)
        result["burst"] = await realtime.burst(emitter, swarm_tally, "all", n, args.messages,
                                               server_cpu, timeout=120)
        print(f"  burst: {json.dumps(result['burst'])}", flush=True)
        result["duplicates"] = swarm_tally.duplicates
        result["client_rss_mib"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        await emitter.close()
    finally:
        await asyncio.gather(*(s.close() for s in socks), return_exceptions=True)
        await session.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--idle", type=float, default=35)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=100)
    args = parser.parse_args()
    limits = raise_fd_limit()
    stamp = datetime.now(timezone.utc)
    workdir = make_workdir()
    backends = Backends(workdir).start()
    server = None
    report: dict[str, Any] = {"date": stamp.isoformat(timespec="seconds"),
                              "client_fd_limit": limits, "settings": vars(args)}
    try:
        db = MongoClient(backends.mongo.uri, tz_aware=True)["roundtable_conns"]
        from models import registry
        for model in registry.ALL_MODELS:
            model.ensure_indexes(db)
        env = {**our_env(backends, "roundtable_conns", queue=False),
               # gunicorn's gevent worker accepts at most this many connections at once.
               "WORKER_CONNECTIONS": str(args.connections + 1000),
               "SOCKET_MAX_PER_USER": str(args.connections)}
        server = Gunicorn("ours", "bench.ours:app", env, workdir).start()
        users = seed.register_users(server.url, db, [f"conn{i}" for i in range(USERS)])
        tokens = [u["token"] for u in users.values()]
        with open(f"/proc/{server.worker_pid}/limits") as handle:
            report["server_fd_limit"] = next(ln.split()[3:5] for ln in handle
                                             if ln.startswith("Max open files"))
        print(f"fd limits: client {limits}, server {report['server_fd_limit']}", flush=True)
        report.update(asyncio.run(run(server.url, tokens, server.worker_pid, server.cpu, args)))
    finally:
        if server:
            server.stop()
        backends.stop()
        remove_workdir(workdir)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"connections-{stamp.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str))
    print(f"figures: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
