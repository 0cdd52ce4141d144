"""The servers a benchmark run starts for itself, all on 127.0.0.1, and what /proc says
about them (CPU time and memory), which is steadier than throughput on a noisy machine."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.servers import RedisServer
from utils.embedded_db import EmbeddedDatabase, free_port

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def repo_relative(path: str | Path) -> str:
    """A path as the committed results store it: relative to the repository root, so a
    results file names no machine's checkout."""
    return Path(os.path.relpath(Path(path).resolve(), ROOT)).as_posix()


def _children(pid: int) -> list[int]:
    """Every descendant of pid (gunicorn's workers, or anything a server forks)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of pid and its live descendants, in seconds."""
    total = 0
    for each in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{each}/stat") as handle:
                # The command name may hold spaces; fields after ")" are fixed.
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Backends:
    """SecantusDB and redis-server, shared by every server of the run."""

    def __init__(self, workdir: str) -> None:
        # On disk, like a deployment; ":memory:" would flatter the write paths.
        self.mongo = EmbeddedDatabase(free_port(), os.path.join(workdir, "db"),
                                      os.path.join(workdir, "secantus.log"))
        self.redis = RedisServer()

    def start(self) -> Backends:
        self.mongo.start(timeout=60)
        self.redis.start()
        return self

    @property
    def mongo_pid(self) -> int:
        return self.mongo.process.pid

    @property
    def redis_pid(self) -> int:
        return self.redis.process.pid

    def stop(self) -> None:
        self.redis.stop()
        self.mongo.stop()


class Gunicorn:
    """One gunicorn master with the production config (one gevent worker)."""

    def __init__(self, name: str, app_spec: str, env: dict[str, str], logdir: str) -> None:
        self.name = name
        self.app_spec = app_spec
        self.port = free_port()
        self.env = {**os.environ, **env, "BIND": f"127.0.0.1:{self.port}",
                    "PYTHONPATH": str(ROOT)}
        self.log_path = os.path.join(logdir, f"{name}.log")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, probe: str = "/health", timeout: float = 60) -> Gunicorn:
        with open(self.log_path, "ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                 self.app_spec], cwd=ROOT, env=self.env, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(self.url + probe, timeout=1).status_code < 500:
                    return self
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start; see {self.log_path}")
            time.sleep(0.2)

    @property
    def worker_pid(self) -> int:
        """The single gevent worker (gunicorn's master only supervises it)."""
        workers = _children(self.process.pid)
        if not workers:
            raise RuntimeError(f"{self.name} has no worker")
        return workers[0]

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def rss(self) -> int:
        return rss_bytes(self.worker_pid)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def our_env(backends: Backends, db_name: str, queue: bool) -> dict[str, str]:
    """The documented production settings, with rate limits off for load runs."""
    return {
        "FLASK_ENV": "production",
        "SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnop",
        "MONGO_URI": backends.mongo.uri,
        "MONGO_DB_NAME": db_name,
        "REDIS_URL": backends.redis.url,
        # One process needs no queue; the queued variant measures what Redis costs.
        "SOCKETIO_MESSAGE_QUEUE": backends.redis.url if queue else "none",
        "SESSION_COOKIE_SECURE": "false",
        "RATELIMIT_ENABLED": "false",
        "PUSH_ENABLED": "false",
        # The per-user chat flood limit would cap the send_message run at 2 a second.
        "CHAT_RATE_LIMIT": "1000000 per 1 second",
        # Every REST write of one user counts here too (the write runs use few users).
        "WRITE_LIMIT_ANY": "1000000 per 1 second",
        "MAIL_BACKEND": "file",
        "MAIL_FILE_DIR": os.path.join(tempfile.gettempdir(), "rt-bench-mail"),
        # Only registration and token issue hash passwords; no scenario measures them.
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "WARNING",
        # A thousand receivers over ten users (the default allows 20 sockets per user),
        # each joining rooms and sending far past the per-user socket event limits.
        "SOCKET_MAX_PER_USER": "100000",
        "SOCKET_READ_RATE_LIMIT": "1000000 per 1 second",
        "SOCKET_WRITE_RATE_LIMIT": "1000000 per 1 second",
        # The commands-per-request column (GET /bench/commands, bench/ours.py).
        "MONGO_COUNT_COMMANDS": "true",
    }


def floor_env(backends: Backends, db_name: str) -> dict[str, str]:
    return {"MONGO_URI": backends.mongo.uri, "MONGO_DB_NAME": db_name,
            "REDIS_URL": backends.redis.url}


def make_workdir() -> str:
    return tempfile.mkdtemp(prefix="rt-bench-")


def remove_workdir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
