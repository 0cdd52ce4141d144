"""`make bench`: start every server on 127.0.0.1, seed, warm up, run interleaved rounds of
the REST and realtime scenarios against Roundtable and the bare baselines, and print medians
with their min-max spread. Figures go to bench/results/<timestamp>.json.

    python -m bench.run [--rounds 3] [--rest-seconds 3] [--quick] [--profile SCENARIO]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from bench import login_timing, realtime, rest, scenarios
from bench.servers import (
    Backends,
    Gunicorn,
    cpu_seconds,
    floor_env,
    make_workdir,
    our_env,
    remove_workdir,
)

RESULTS = Path(__file__).resolve().parent / "results"
DB_NAME = "roundtable_bench"


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "kernel": platform.release()}
    for package in ("flask", "flask-socketio", "python-socketio", "python-engineio",
                    "simple-websocket", "gevent", "gunicorn", "pymongo", "redis", "secantusdb",
                    "aiohttp"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "missing"
    for tool, flag in (("redis-server", "--version"), ("wrk", "--version")):
        result = subprocess.run([tool, flag], capture_output=True, text=True)
        found[tool] = (result.stdout or result.stderr).split("\n")[0].strip()
    with open("/proc/cpuinfo") as handle:
        models = [ln.split(":", 1)[1].strip() for ln in handle if ln.startswith("model name")]
    found["cpu"] = f"{len(models)} x {models[0] if models else platform.machine()}"
    with open("/proc/meminfo") as handle:
        found["memory_gb"] = str(round(int(handle.readline().split()[1]) / 1024 ** 2))
    return found


def spread(values: list[float | None]) -> dict[str, Any] | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rest-seconds", type=float, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--send-seconds", type=float, default=2)
    parser.add_argument("--receivers", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="small data, 1 round: a smoke run")
    parser.add_argument("--skip-rest", action="store_true")
    parser.add_argument("--rest", metavar="NAMES", help="only these REST scenarios (a,b,...)")
    parser.add_argument("--skip-realtime", action="store_true")
    parser.add_argument("--profile", metavar="SCENARIO",
                        help="py-spy the server during these REST scenarios (a,b,...), "
                             "'fanout' or 'send'")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.rest_seconds = 1, 2
    started = time.monotonic()
    stamp = datetime.now(timezone.utc)
    workdir = make_workdir()
    backends = Backends(workdir).start()
    servers: list[Gunicorn] = []
    report: dict[str, Any] = {"date": stamp.isoformat(timespec="seconds"),
                              "versions": versions(), "rounds": args.rounds,
                              "settings": vars(args)}
    try:
        db = MongoClient(backends.mongo.uri, tz_aware=True)[DB_NAME]
        from models import registry
        # The big collections get their indexes after the bulk insert: a third faster on
        # SecantusDB than maintaining eight post indexes through 20,000 inserts.
        bulk = {"posts", "comments", "messages"}
        for model in registry.ALL_MODELS:
            if model.collection_name not in bulk:
                model.ensure_indexes(db)

        def start(name, spec, env):
            server = Gunicorn(name, spec, env, workdir).start()
            servers.append(server)
            return server

        ours = start("ours", "bench.ours:app", our_env(backends, DB_NAME, queue=False))
        print(f"seeding ({'quick' if args.quick else 'full'}) ...", flush=True)
        data = scenarios.seed_all(ours.url, db, quick=args.quick)
        scenarios.seed_extra(ours.url, db, data)
        for model in registry.ALL_MODELS:
            if model.collection_name in bulk:
                model.ensure_indexes(db)
        report["data_set"] = data["counts"]
        # In this process, before the load runs: a refused login for an unknown name
        # must cost what a wrong password costs (the suite asserts the bcrypt cost).
        report["login_timing"] = login_timing.measure(backends.mongo.uri, backends.redis.url,
                                                      rounds=5 if args.quick else 15)
        print("login timing (refused, median):", report["login_timing"], flush=True)
        report["seed_seconds"] = data["timings"]
        ours_queue = start("ours_queue", "bench.ours:app", our_env(backends, DB_NAME, True))
        bare_flask = start("bare_flask", "bench.baselines.bare_flask:app", {})
        bare_sio = start("bare_socketio", "bench.baselines.bare_socketio:app", {})
        floor = start("floor", "bench.baselines.floor:app", floor_env(backends, DB_NAME))

        data["socket_messaging"] = scenarios.socket_messaging(
            ours.url, data["users"]["bench_sender"]["token"], data.get("fanout_room_id"))
        report["socket_messaging"] = data["socket_messaging"]
        report["correctness"] = realtime.correctness_check(
            ours.url, data["users"]["bench_emitter"]["token"],
            data["send_room_ids"][0] if data["socket_messaging"] is True else None)
        print("correctness (python-socketio):", report["correctness"], flush=True)

        rest_plan = [] if args.skip_rest else scenarios.rest_plan(bare_flask, ours, data,
                                                                     floor)
        report["rest_skipped"] = {s.name: s.missing for s in rest_plan if s.missing}
        chosen = [s for s in rest_plan if not s.missing and
                  (not args.rest or s.name in args.rest.split(","))]
        # The bare endpoint always runs, and the floors the chosen scenarios need.
        floors = {"bare_json"} | {s.floor for s in chosen if s.floor}
        rest_plan = [s for s in rest_plan if s.name in floors or s in chosen]
        targets = [] if args.skip_realtime else scenarios.realtime_targets(
            bare_sio, ours, ours_queue, backends, data)

        print("warm-up ...", flush=True)
        for scenario in rest_plan:
            rest.run_wrk(scenario.server.url, scenario.script, workdir, 1, args.connections)

        rest_rounds, rt_rounds, opened = asyncio.run(
            run_rounds(args, rest_plan, targets, workdir,
                       lambda: cpu_seconds(backends.mongo_pid)))
        report["realtime_setup"] = opened

        if args.profile:
            # One or several (a,b,...), one after the other.
            report["profile"] = {name: scenarios.profile(name, rest_plan, targets, workdir,
                                                         args, RESULTS / f"profile-{name}")
                                 for name in args.profile.split(",")}
        report["rest"] = summarize_rest(rest_rounds, {s.name: s.floor for s in rest_plan})
        report["realtime"] = summarize_realtime(rt_rounds, opened)
        report["rest_raw"], report["realtime_raw"] = rest_rounds, rt_rounds
        report["server_cpu_seconds"] = {s.name: s.cpu() for s in servers}
        report["database_cpu_seconds"] = cpu_seconds(backends.mongo_pid)
    finally:
        for server in servers:
            server.stop()
        backends.stop()
        remove_workdir(workdir)
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stamp.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(scenarios.table(report))
    print(f"\nfigures: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
          f"  ({report['wall_seconds']} s)")
    return 0


async def settle(db_cpu, limit: float = 20.0) -> float:
    """Wait until the database is idle again. Requests that wrk abandoned at its timeout
    keep SecantusDB busy after the run (it finishes every queued query), which would be
    billed to whatever scenario runs next."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = db_cpu()
        await asyncio.sleep(0.5)
        if db_cpu() - before < 0.05:  # under 10 % of a core
            break
    return time.monotonic() - started


async def run_rounds(args, rest_plan: list, targets: list, workdir: str, db_cpu):
    """Interleaved rounds: every REST scenario, then every realtime target, in an order
    that rotates so nothing always runs first. The socket swarms stay connected between
    rounds (idle sockets only answer a ping every 25 s)."""
    rest_rounds: dict[str, list] = {s.name: [] for s in rest_plan}
    rt_rounds: dict[str, list] = {t.name: [] for t in targets}
    swarms, opened = {}, {}
    paced, burst = 50, (20 if args.quick else 30)
    send_seconds = 2 if args.quick else args.send_seconds
    try:
        for target in targets:
            swarms[target.name] = realtime.Swarm(target)
            opened[target.name] = await swarms[target.name].open(args.receivers)
            print(f"  {target.name}: {args.receivers} sockets connected and joined "
                  f"{opened[target.name]['seconds']}, "
                  f"{opened[target.name]['memory']['kb_per_connection']:.1f} KB each",
                  flush=True)
        for number in range(args.rounds):
            shift = number % max(len(rest_plan), 1)
            for scenario in rest_plan[shift:] + rest_plan[:shift]:
                await settle(db_cpu)
                commands0 = (scenarios.commands_sent(scenario.server)
                             if scenario.count_commands else None)
                cpu0, db0 = scenario.server.cpu(), db_cpu()
                figures = await asyncio.to_thread(rest.run_wrk, scenario.server.url,
                                                  scenario.script, workdir,
                                                  args.rest_seconds, args.connections)
                done = max(figures["requests"], 1)
                figures["server_cpu_us_per_req"] = (scenario.server.cpu() - cpu0) / done * 1e6
                figures["db_cpu_us_per_req"] = (db_cpu() - db0) / done * 1e6
                if commands0 is not None:
                    # Requests wrk abandoned at its end may still send a few: a slight
                    # overestimate, never an underestimate.
                    commands1 = scenarios.commands_sent(scenario.server)
                    figures["db_commands_per_req"] = ((commands1 - commands0) / done
                                                      if commands1 is not None else None)
                rest_rounds[scenario.name].append(figures)
                print(f"  round {number + 1} rest {scenario.name}: {figures['rps']:.0f} req/s "
                      f"p99 {figures['p99_ms']:.1f} ms errors {figures['errors']}", flush=True)
            shift = number % max(len(targets), 1)
            for target in targets[shift:] + targets[:shift]:
                try:
                    figures = await swarms[target.name].round(paced, burst, send_seconds)
                except Exception as exc:  # one bad round must not lose the others
                    figures = {"error": repr(exc)}
                    print(f"  round {number + 1} realtime {target.name} failed: {exc!r}")
                    rt_rounds[target.name].append(figures)
                    continue
                rt_rounds[target.name].append(figures)
                sends = figures.get("send_message", {}).get("per_s")
                print(f"  round {number + 1} realtime {target.name}: fan-out 1000 p50 "
                      f"{figures['fanout_1000']['p50_ms']:.1f} ms, send_message "
                      f"{f'{sends:.0f}/s' if sends else 'not measured'} "
                      f"({figures['seconds']} s)", flush=True)
    finally:
        for swarm in swarms.values():
            await swarm.close()
    return rest_rounds, rt_rounds, opened


def summarize_rest(rounds: dict[str, list], floors: dict[str, str]) -> dict[str, Any]:
    summary = {}
    bare = rounds.get("bare_json", [])
    for name, runs in rounds.items():
        entry = {key: spread([r.get(key) for r in runs]) for key in
                 ("rps", "p50_ms", "p99_ms", "p999_ms", "server_cpu_us_per_req",
                  "db_cpu_us_per_req", "db_commands_per_req")}
        floor_runs = rounds.get(floors.get(name) or "", [])
        if floor_runs:
            # Our CPU per request over the floor's, both in the same round.
            entry["floor"] = floors[name]
            entry["cpu_ratio_to_floor"] = spread(
                [r["server_cpu_us_per_req"] / f["server_cpu_us_per_req"]
                 for r, f in zip(runs, floor_runs, strict=False)])
            entry["rps_ratio_to_floor"] = spread([r["rps"] / f["rps"] for r, f in
                                                  zip(runs, floor_runs, strict=False)])
        entry["errors"] = sum(r["errors"] for r in runs)
        entry["requests"] = sum(r["requests"] for r in runs)
        if bare and name != "bare_json":
            # Same round, same machine state: the ratio is steadier than either figure.
            entry["ratio_to_bare"] = spread([r["rps"] / b["rps"]
                                             for r, b in zip(runs, bare, strict=False)])
            entry["cpu_ratio_to_bare"] = spread([r["server_cpu_us_per_req"]
                                                 / b["server_cpu_us_per_req"]
                                                 for r, b in zip(runs, bare, strict=False)])
        summary[name] = entry
    return summary


def summarize_realtime(all_rounds: dict[str, list], opened: dict[str, Any]) -> dict[str, Any]:
    def pick(runs, group, key):
        return [run.get(group, {}).get(key) for run in runs]

    summary = {}
    rounds = {name: [r for r in runs if "error" not in r] for name, runs in all_rounds.items()}
    bare = rounds.get("bare_socketio", [])
    for name, runs in rounds.items():
        entry: dict[str, Any] = {"failed_rounds": len(all_rounds[name]) - len(runs)}
        for group in ("fanout_100", "fanout_1000", "chat_fanout_1000"):
            for key in ("p50_ms", "p99_ms", "client_cpu_us_per_delivery"):
                entry[f"{group}_{key}"] = spread(pick(runs, group, key))
        for key in ("deliveries_per_s", "server_cpu_us_per_delivery", "client_cpu_share"):
            entry[f"burst_{key}"] = spread(pick(runs, "burst_1000", key))
        for group in ("send_message", "send_message_10_rooms"):
            entry[f"{group}_per_s"] = spread(pick(runs, group, "per_s"))
            for key in ("server", "database", "redis"):
                entry[f"{group}_{key}_cpu_ms"] = spread(pick(runs, group, f"{key}_cpu_ms_per_msg"))
            entry[f"{group}_failures"] = sum(r.get(group, {}).get("failures", 0) for r in runs)
        entry["send_what"] = next((r["send_message"]["what"] for r in runs
                                   if "send_message" in r), None)
        memory = opened.get(name, {}).get("memory", {}).get("kb_per_connection")
        entry["memory_kb_per_connection"] = spread([memory])
        entry["lost"] = sum(part.get("lost", 0) for r in runs for part in r.values()
                            if isinstance(part, dict))
        entry["duplicates"] = sum(r["duplicates"] for r in runs)
        if bare and name != "bare_socketio":
            # Same round, same machine state: per-round ratios, then their median.
            pairs = list(zip(runs, bare, strict=False))
            entry["fanout_1000_p50_ratio_to_bare"] = spread(
                [r["fanout_1000"]["p50_ms"] / b["fanout_1000"]["p50_ms"] for r, b in pairs
                 if r["fanout_1000"]["p50_ms"] and b["fanout_1000"]["p50_ms"]])
            entry["fanout_1000_p99_ratio_to_bare"] = spread(
                [r["fanout_1000"]["p99_ms"] / b["fanout_1000"]["p99_ms"] for r, b in pairs
                 if r["fanout_1000"]["p99_ms"] and b["fanout_1000"]["p99_ms"]])
            entry["burst_ratio_to_bare"] = spread(
                [r["burst_1000"]["deliveries_per_s"] / b["burst_1000"]["deliveries_per_s"]
                 for r, b in pairs])
        summary[name] = entry
    return summary


if __name__ == "__main__":
    sys.exit(main())
