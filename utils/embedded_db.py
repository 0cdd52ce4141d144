"""Run SecantusDB, a MongoDB-compatible wire server, as a child process.

Used for the development default (no MONGO_URI) and by the test session. SecantusDB is
GPL-licensed, so it is only ever started as a separate program, never imported, and it
lives in requirements-dev.txt, not in the production requirements.
"""
from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

SERVER_BINARY = "secantusd-py"


class EmbeddedDatabaseError(RuntimeError):
    pass


def find_binary() -> str:
    beside_python = Path(sys.executable).with_name(SERVER_BINARY)
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(SERVER_BINARY)
    if not found:
        raise EmbeddedDatabaseError(
            "SecantusDB is not installed: run `make install` "
            "(pip install -r requirements-dev.txt) or set MONGO_URI")
    return found


def port_answers(port: int, host: str = "127.0.0.1", timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def uri_for(port: int) -> str:
    # Started standalone (EmbeddedDatabase.start); a direct connection skips discovery
    # either way, so a database started by hand as a replica set is reached too.
    # No retryable writes: SecantusDB records each one and scans all it holds (up to
    # 10,000) on every write: 13 % of its samples in a 2,000-message burst, and the scan
    # grows with the writes it holds (sorted too, past the cap). They guard
    # against a replica-set failover, which a one-process database never has.
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


class EmbeddedDatabase:
    """A SecantusDB process on 127.0.0.1:port, storing under `storage_path`."""

    def __init__(self, port: int, storage_path: str, log_path: str | None = None) -> None:
        self.port = port
        self.storage_path = storage_path
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return uri_for(self.port)

    def start(self, timeout: float = 30.0) -> EmbeddedDatabase:
        """Start the server, or reuse one that already answers on the port."""
        if port_answers(self.port):
            log.info("reusing the database already listening on port %s", self.port)
            return self
        if self.storage_path != ":memory:":
            Path(self.storage_path).mkdir(parents=True, exist_ok=True)
        # Standalone: a one-process database has no replica set to fail over to, and as
        # one SecantusDB records every write a second time in its oplog (about a third
        # of its CPU on a write-heavy run). Nothing here uses what needs a replica set
        # (transactions, change streams); production's MongoDB is its own choice.
        command = [find_binary(), "--host", "127.0.0.1", "--port", str(self.port),
                   "--storage-path", self.storage_path, "--log-level", "WARNING",
                   "--standalone"]
        if self.log_path:
            # The child keeps its own copy of the descriptor; ours can close at once.
            with open(self.log_path, "ab") as output:
                self.process = subprocess.Popen(command, stdout=output,
                                                stderr=subprocess.STDOUT,
                                                start_new_session=True)
        else:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not port_answers(self.port):
            if self.process.poll() is not None:
                raise EmbeddedDatabaseError(
                    f"SecantusDB exited with code {self.process.returncode} on port {self.port}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedDatabaseError(f"SecantusDB did not answer on port {self.port}")
            time.sleep(0.1)
        atexit.register(self.stop)
        _started.append(self)
        _exit_cleanly_on_sigterm()
        log.info("started SecantusDB on port %s (data in %s)", self.port, self.storage_path)
        return self

    def stop(self) -> None:
        """Stop the server if this object started it; a reused one is left running."""
        process, self.process = self.process, None
        if self in _started:
            _started.remove(self)
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM normally kills Python without running atexit; turn it into an exit so the
    child database is stopped too (make run under a supervisor, `timeout`, `kill`). A
    handler installed before (coverage's, which saves its data and then lets the signal
    end the process) still runs, once the databases are stopped.

    Installed once per process: a handler installed after ours owns SIGTERM from then on
    (ours runs if it chains to us). Installing ours again over it would make ours call
    it, and a handler that chains back would call ours again, without end."""
    global _previous_sigterm, _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGTERM)
    if current is signal.SIG_IGN:
        return
    _previous_sigterm = current
    signal.signal(signal.SIGTERM, _stop_databases_and_exit)
    _sigterm_installed = True


def _stop_databases_and_exit(signum: int, frame: object) -> None:
    for database in list(_started):
        database.stop()
    if callable(_previous_sigterm):
        _previous_sigterm(signum, frame)
    sys.exit(128 + signum)


_previous_sigterm: object = None
_sigterm_installed = False

# Databases this process started and has not stopped (stopped on SIGTERM as at exit).
_started: list[EmbeddedDatabase] = []


_embedded: EmbeddedDatabase | None = None


def ensure_embedded_database(port: int, storage_path: str) -> str:
    """Start (once per process) the development database and return its URI."""
    global _embedded
    if _embedded is None:
        log_path = os.path.join(os.path.dirname(storage_path) or ".", "secantus.log")
        _embedded = EmbeddedDatabase(port, storage_path, log_path).start()
    return _embedded.uri
