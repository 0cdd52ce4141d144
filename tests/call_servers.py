"""Real parts for the call tests: a coturn TURN server on a free loopback port, Debian's
Chromium for Playwright, and the official socket.io-client browser bundle from npm."""
from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from utils.embedded_db import free_port, port_answers

BROWSER_DIR = Path(__file__).resolve().parent / "browser"
SOCKETIO_BUNDLE = BROWSER_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--no-sandbox",
    "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
HINT = ("needs Debian's {what}: `apt-get install -y {package}` (.ci/run installs it)")


def missing(binary: str, package: str) -> str | None:
    """A message naming the install step when `binary` is not on this machine."""
    if shutil.which(binary) or Path(binary).is_file():
        return None
    return HINT.format(what=binary, package=package)


def ensure_socketio_bundle() -> Path:
    """The npm package pinned in tests/browser/package.json, installed on first use."""
    if not SOCKETIO_BUNDLE.is_file():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"],
                       cwd=BROWSER_DIR, check=True, timeout=300)
    return SOCKETIO_BUNDLE


class TurnServer:
    """coturn with the REST API shared secret (`use-auth-secret`), UDP/TCP on loopback,
    no TLS, no CLI."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secret = secrets.token_hex(16)
        self.dir = Path(tempfile.mkdtemp(prefix="rt-turn-"))
        self.log_path = self.dir / "turnserver.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def start(self) -> TurnServer:
        relay = free_port()
        self.process = subprocess.Popen(
            ["turnserver", "-n", "--no-cli", "--no-tls", "--no-dtls",
             "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
             f"--listening-port={self.port}",
             # A small relay range near a free port; loopback peers for the test client.
             f"--min-port={relay}", f"--max-port={relay + 50}", "--allow-loopback-peers",
             "--use-auth-secret", f"--static-auth-secret={self.secret}",
             "--realm=roundtable.test", f"--pidfile={self.dir / 'pid'}",
             f"--userdb={self.dir / 'turndb'}", "--log-file=stdout", "--simple-log"],
            stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not port_answers(self.port):  # coturn also listens on TCP
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"turnserver did not start: {self.log()}")
            time.sleep(0.05)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def allocate(self, username: str, password: str) -> subprocess.CompletedProcess:
        """turnutils_uclient: allocate a relay with these credentials and echo a few
        packets between two of its clients through it."""
        return subprocess.run(
            ["turnutils_uclient", "-y", "-n", "3", "-m", "1", "-l", "100", "-e", "127.0.0.1",
             "-p", str(self.port), "-u", username, "-w", password, "127.0.0.1"],
            capture_output=True, text=True, timeout=60)
