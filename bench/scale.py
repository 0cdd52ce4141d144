"""`make bench-scale`: how the cost of the main reads grows with the data.

Starts its own SecantusDB and redis-server, seeds with `insert_many` (bench/scale_seed.py)
10^4 messages, measures, grows the same database to 10^5, measures, then to 10^6. Each
operation runs through the whole app in process, the Flask test client with a bearer
token: WSGI, the request hooks, authentication, schemas, services, models and JSON, the
path a gunicorn worker runs minus the socket (no network noise on a shared machine).
Cached pages (topic list, post lists) are measured cold: the cache is emptied before
every run, so the figure is the database's and ours, not Redis's.

Writes bench/results/scale-<UTC>.json ({"sizes", "ops": {op: {size: {p50_ms, p99_ms}}}}
plus "meta") and docs/scale.png (p50 against size, log-log, one line per op).

    python -m bench.scale                       # 10^4, 10^5, 10^6 (~25 min)
    BENCH_SCALE_SIZES=200,2000 python -m bench.scale --out /tmp/x.json --png /tmp/x.png
    python -m bench.scale --plot bench/results/scale-....json   # redraw only
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import redis
from flask import Flask
from flask.testing import FlaskClient
from pymongo.errors import PyMongoError

from bench import scale_seed
from bench.scale_seed import BIG_POST_COMMENTS, ScaleData
from bench.seed import bulk_users
from bench.servers import ROOT, repo_relative
from tests.helpers import bearer
from tests.servers import RedisServer
from utils import cache as cache_module
from utils import user_versions
from utils.db import get_db
from utils.embedded_db import EmbeddedDatabase, free_port

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
# Each op runs `repeat` times, or fewer once it has used its time budget (never under 3:
# at 10^6 a scan-bound op takes minutes a run on SecantusDB).
REPEAT, BUDGET_SECONDS, MIN_RUNS = 30, 20.0, 3


def _sizes() -> list[int]:
    given = os.environ.get("BENCH_SCALE_SIZES", "")
    return [int(s) for s in given.split(",") if s.strip()] or list(DEFAULT_SIZES)


def _get(client: FlaskClient, headers: dict, path: str) -> dict:
    answer = client.get(path, headers=headers)
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path}: {answer.status_code} {answer.get_data(as_text=True)}")
    return answer.get_json()


def operations(client: FlaskClient, headers: dict, data: ScaleData,
               app: Flask) -> dict[str, Callable[[], object]]:
    """Each measured operation: the requests a client makes for it."""
    room, post = data.big_room, data.big_post_id
    messages = f"/api/messages/rooms/{room['_id']}/messages"

    def get(path: str) -> Callable[[], dict]:
        return lambda: _get(client, headers, path)

    def catch_up() -> None:
        # 1,000 missed messages in the pages of 500 (CHAT_CATCHUP_LIMIT) a client asks for.
        last = room["last_seq"]
        for after in (last - 1000, last - 500):
            page = _get(client, headers, f"{messages}?after_seq={max(after, 0)}&limit=500")
            assert page["items"], "catch-up found nothing"

    def my_rooms() -> None:
        path, seen = "/api/messages/rooms?limit=100", 0
        while path:
            page = _get(client, headers, path)
            seen += len(page["items"])
            path = (f"/api/messages/rooms?limit=100&cursor={page['next_cursor']}"
                    if page["next_cursor"] else "")
        assert seen == scale_seed.MY_ROOMS, seen

    def post_page() -> None:
        _get(client, headers, f"/api/posts/{post}")
        _get(client, headers, f"/api/posts/{post}/comments")

    topic = data.topics[0]["_id"]
    return {
        "history_latest": get(f"{messages}?limit=50"),
        "history_half_back": lambda: _get(
            client, headers, f"{messages}?before_seq={room['last_seq'] // 2}&limit=50"),
        "catch_up_1000": catch_up,
        "unread_500_rooms": my_rooms,
        "topic_list": get("/api/topics"),
        "posts_hot": get(f"/api/posts?topic_id={topic}&sort=hot"),
        "posts_new": get(f"/api/posts?topic_id={topic}&sort=new"),
        "posts_top": get(f"/api/posts?topic_id={topic}&sort=top"),
        f"post_page_{BIG_POST_COMMENTS}_comments": post_page,
        "message_search": get("/api/messages/search?q=zephyr"),
        "post_search": get("/api/search?q=zephyr&type=posts"),
        "notifications": get("/api/notifications/"),
    }


def _cold(app: Flask) -> None:
    """Empty the shared cache (values, not generations) so cached lists are recomputed."""
    store = redis.Redis.from_url(app.config["REDIS_URL"])
    for key in store.scan_iter(f"{cache_module.PREFIX}*"):
        if b":gen:" not in key:
            store.delete(key)


def measure(run: Callable[[], object], app: Flask, repeat: int = REPEAT,
            min_runs: int = MIN_RUNS) -> dict[str, float]:
    _cold(app)
    run()  # warm: imports, schema instances, the database's first touch
    timings: list[float] = []
    budget_end = time.monotonic() + BUDGET_SECONDS
    while len(timings) < repeat and (len(timings) < min_runs or time.monotonic() < budget_end):
        _cold(app)
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p99 = timings[min(len(timings) - 1, round(0.99 * (len(timings) - 1)))]
    return {"p50_ms": round(statistics.median(timings), 2), "p99_ms": round(p99, 2),
            "runs": len(timings)}


def _loadavg() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def plot(results: dict, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(9, 6))
    sizes = results["sizes"]
    for op, by_size in results["ops"].items():
        axes.plot(sizes, [by_size[str(s)]["p50_ms"] for s in sizes], marker="o", label=op)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("messages stored (posts = messages / 10)")
    axes.set_ylabel("p50 per operation, ms (Flask test client, SecantusDB)")
    axes.set_title("Cost against size (make bench-scale)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    figure.savefig(png, dpi=110)


def run(sizes: list[int], storage: str, out: Path, png: Path | None,
        repeat: int = REPEAT) -> dict:
    from app import create_app
    from models import indexes

    workdir = tempfile.mkdtemp(prefix="rt-scale-")
    path = ":memory:" if storage == "memory" else os.path.join(workdir, "db")
    mongo = EmbeddedDatabase(free_port(), path, os.path.join(workdir, "secantus.log"))
    redis_server = RedisServer()
    results: dict = {"sizes": sizes, "ops": {}, "meta": {
        "storage": storage, "client": "flask test client, bearer token, cache cold",
        "seed_seconds": {}, "load_average": {}, "runs": {}}}
    try:
        mongo.start(timeout=60)
        redis_server.start()
        app = create_app("testing", MONGO_URI=mongo.uri, MONGO_DB_NAME="roundtable_scale",
                         REDIS_URL=redis_server.url, SOCKETIO_MESSAGE_QUEUE=None,
                         RATELIMIT_ENABLED=False, LOG_LEVEL="WARNING",
                         # A slow query at 10^6 is a figure to report, not an error.
                         MONGO_TIMEOUT_MS=300_000)
        with app.app_context():
            indexes.init_indexes()
            client = app.test_client()
            headers = bearer(client, "scale_reader")
            db = get_db()
            reader = db.users.find_one({"username_lower": "scale_reader"})
            data = ScaleData(db, reader["_id"], bulk_users(db, "scale_reader", 200))
            for size in sizes:
                started = time.monotonic()
                try:
                    data.grow(size)
                except PyMongoError as exc:
                    # Kept: the sizes measured so far, and why this one is missing.
                    results["meta"]["failed"] = {"size": size, "while": "seeding",
                                                 "error": str(exc)[:200]}
                    print(f"{size:>9} seeding failed: {exc}", flush=True)
                    break
                user_versions.changed(reader["_id"])  # memberships written behind its back
                results["meta"]["seed_seconds"][str(size)] = round(time.monotonic() - started, 1)
                results["meta"]["load_average"][str(size)] = _loadavg()
                for op, call in operations(client, headers, data, app).items():
                    figures = measure(call, app, repeat, min(repeat, MIN_RUNS))
                    results["meta"]["runs"].setdefault(op, {})[str(size)] = figures.pop("runs")
                    results["ops"].setdefault(op, {})[str(size)] = figures
                    print(f"{size:>9} {op:<28} p50 {figures['p50_ms']:>9.2f} ms"
                          f"  p99 {figures['p99_ms']:>9.2f} ms", flush=True)
                _write(results, out, None)  # each size kept as soon as it is measured
    finally:
        redis_server.stop()
        mongo.stop()
    _write(results, out, png)
    return results


def _write(results: dict, out: Path, png: Path | None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    if png is not None:
        plot(results, png)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / f"scale-{stamp}.json")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "scale.png")
    parser.add_argument("--storage", choices=("memory", "disk"), default="memory")
    parser.add_argument("--plot", type=Path, help="only redraw the PNG from this results file")
    args = parser.parse_args()
    if args.plot:
        plot(json.loads(args.plot.read_text()), args.png)
        return 0
    run(_sizes(), args.storage, args.out, args.png)
    print(f"wrote {repo_relative(args.out)} and {repo_relative(args.png)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
