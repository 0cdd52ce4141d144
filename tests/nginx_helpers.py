"""nginx in front of real app processes, for the end-to-end suites that go through it.

`Edge` runs Debian's nginx as this user with the shipped deploy/nginx/roundtable.conf,
changed only where a test must: the upstream lists the test's processes, it listens on a
free loopback port, and answers carry `X-Upstream` (which process served them).

Clients connect from distinct loopback addresses (127.0.N.1; Linux routes all of
127/8 to `lo`), because the shipped config is sticky by client address (ip_hash on the
first three octets): that is what spreads them over the processes, and what the
rate-limit tests key on.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
import socketio
from requests.adapters import HTTPAdapter

from app import create_app
from models import indexes
from services.accounts import auth_signup, token_pairs
from tests.servers import CLUSTER_SETTINGS, ROOT, AppServer, RedisServer
from utils import db as db_module
from utils.embedded_db import free_port, port_answers

SHIPPED_CONFIG = ROOT / "deploy" / "nginx" / "roundtable.conf"
NGINX_HINT = "nginx not found: install it with `apt-get install -y nginx` (.ci/run does)."
METRICS_TOKEN = "metrics-" + "t" * 32
PASSWORD = "correct horse battery staple"


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(path)),
        None)


def site_config(upstream_ports: list[int], port: int) -> str:
    """The shipped server config with this test's upstreams and port."""
    text = SHIPPED_CONFIG.read_text()
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n"
                      for p in upstream_ports)
    text, count = re.subn(r"^\s*server app:8000[^\n]*\n", servers, text, flags=re.M)
    assert count == 1, "the shipped upstream block changed shape"
    text, count = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", text)
    assert count == 1, "the shipped listen directive changed shape"
    return text.replace("    server_name _;\n",
                        "    server_name _;\n    add_header X-Upstream $upstream_addr always;\n")


class Edge:
    """nginx in the foreground, everything it writes under `workdir`."""

    def __init__(self, upstream_ports: list[int], workdir: Path) -> None:
        binary = find_nginx()
        if binary is None:
            pytest.fail(NGINX_HINT)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = workdir
        self.access_log = workdir / "access.log"
        (workdir / "site.conf").write_text(site_config(upstream_ports, self.port))
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "".join(f"{kind}_temp_path {workdir}/{kind};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (workdir / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {workdir}/nginx.pid;\n"
            f"error_log {workdir}/error.log info;\nevents {{ worker_connections 1024; }}\n"
            f"http {{\n{temp}"
            f"log_format edge '$remote_addr $status $upstream_addr \"$request\"';\n"
            f"access_log {self.access_log} edge;\ninclude {workdir}/site.conf;\n}}\n")
        self.process = subprocess.Popen(
            [binary, "-p", str(workdir), "-c", str(workdir / "nginx.conf"),
             "-e", str(workdir / "error.log")],
            stdout=subprocess.DEVNULL, stderr=open(workdir / "stderr.log", "wb"))  # noqa: SIM115
        deadline = time.monotonic() + 10
        while not port_answers(self.port):
            assert self.process.poll() is None, (workdir / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.05)

    def statuses(self) -> list[tuple[int, str, str]]:
        """(status, upstream, request line) of every request nginx answered so far."""
        rows = []
        for line in self.access_log.read_text().splitlines():
            found = re.match(r'\S+ (\d{3}) (\S+) "(.*)"$', line)
            if found:
                rows.append((int(found.group(1)), found.group(2), found.group(3)))
        return rows

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class _SourceAddress(HTTPAdapter):
    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    """A requests session whose connections leave from `address`."""
    session = requests.Session()
    session.mount("http://", _SourceAddress(address))
    return session


def address(n: int) -> str:
    return f"127.0.{n}.1"


class EdgeClient:
    """A python-socketio client connected through nginx from one loopback address, over
    `websocket` or `polling` only, recording every event it receives."""

    def __init__(self, edge: Edge, token: str, source: str, transport: str = "websocket",
                 connect: bool = True) -> None:
        self.edge, self.token, self.source, self.transport = edge, token, source, transport
        self.events: list[tuple[str, object]] = []
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False, http_session=session_from(source))
        self.sio.on("*", self._record)
        self.disconnect_reasons: list[str] = []
        self.sio.on("disconnect", lambda reason=None: self.disconnect_reasons.append(reason))
        if connect:
            self.connect()

    def _record(self, event, data=None):
        with self.lock:
            self.events.append((event, data))

    def connect(self) -> None:
        if self.transport == "websocket":
            # websocket-client cannot bind a source address; hand it a connected socket.
            raw = socket.create_connection(("127.0.0.1", self.edge.port), timeout=10,
                                           source_address=(self.source, 0))
            self.sio.eio.websocket_extra_options = {"socket": raw}
        self.sio.connect(self.edge.url, auth={"token": self.token},
                         transports=[self.transport], wait_timeout=10)

    def call(self, event: str, data: dict, timeout: float = 20) -> dict:
        return self.sio.call(event, data, timeout=timeout)

    def named(self, name: str) -> list:
        with self.lock:
            return [data for event, data in self.events if event == name]

    def wait_for(self, name: str, count: int = 1, timeout: float = 15,
                 where=lambda data: True) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [data for data in self.named(name) if where(data)]
            if len(found) >= count:
                return found
            time.sleep(0.02)
        return [data for data in self.named(name) if where(data)]

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


class Cluster:
    """Redis, a fresh database on the session's SecantusDB, N gunicorn processes and
    nginx in front; `app` is an in-process app on the same database for setting up."""

    def __init__(self, mongo_uri: str, workdir: Path, processes: int,
                 settings: dict[str, str]) -> None:
        self.workdir = workdir
        self.redis = RedisServer().start()
        self.database = f"edge_{uuid.uuid4().hex[:12]}"
        self.app = create_app("testing", MONGO_URI=mongo_uri, MONGO_DB_NAME=self.database,
                              REDIS_URL=self.redis.url, SOCKETIO_MESSAGE_QUEUE=None)
        with self.app.app_context():
            indexes.init_indexes()
        self.env = {**CLUSTER_SETTINGS, "MONGO_URI": mongo_uri, "MONGO_DB_NAME": self.database,
                    "REDIS_URL": self.redis.url, "TRUSTED_PROXIES": "1", "LOG_LEVEL": "INFO",
                    "METRICS_TOKEN": METRICS_TOKEN, **settings}
        self.servers = [AppServer(self.env, workdir) for _ in range(processes)]
        for server in self.servers:
            server.wait_ready()
        edge_dir = workdir / "nginx"
        edge_dir.mkdir()
        self.edge = Edge([s.port for s in self.servers], edge_dir)
        self.routes = self._probe_routes()

    def _probe_routes(self) -> dict[int, list[str]]:
        """Which loopback source addresses nginx sends to which process (by port)."""
        routes: dict[int, list[str]] = {s.port: [] for s in self.servers}
        for n in range(1, 41):
            source = address(n)
            answer = session_from(source).get(self.edge.url + "/health", timeout=10)
            routes[int(answer.headers["X-Upstream"].rsplit(":", 1)[1])].append(source)
        return routes

    def source_for(self, server: AppServer, index: int = 0) -> str:
        return self.routes[server.port][index]

    def in_rotation(self, index: int) -> bool:
        """Whether nginx sends process `index`'s clients to it (after a refused connection
        it skips a process for fail_timeout, then tries it again)."""
        port = self.servers[index].port
        answer = session_from(self.routes[port][-1]).get(self.edge.url + "/health", timeout=10)
        return answer.headers.get("X-Upstream", "").endswith(f":{port}")

    def user(self, name: str, role: str | None = None) -> tuple[dict, str]:
        """(user, bearer token) made in the shared database."""
        with self.app.app_context():
            user = auth_signup.register(name, f"{name}@example.com", PASSWORD,
                                         role=role or "user", email_verified=True)
            return user, token_pairs.issue_pair(user, "edge")["access_token"]

    def restart(self, index: int) -> tuple[float, int]:
        """SIGTERM process `index` and start a new one on its port; returns the seconds
        the old one took to exit and its exit code."""
        old = self.servers[index]
        started = time.monotonic()
        old.process.terminate()
        code = old.process.wait(timeout=60)
        took = time.monotonic() - started
        old.log.close()
        replacement = AppServer(self.env, self.workdir, port=old.port)
        replacement.wait_ready()
        self.servers[index] = replacement
        return took, code

    def stop(self) -> None:
        self.edge.stop()
        for server in self.servers:  # all drain at once, then each is waited for
            if server.process.poll() is None:
                server.process.terminate()
        for server in self.servers:
            server.stop()
        self.redis.stop()
        with self.app.app_context():
            db_module.get_client(self.app).drop_database(self.database)
