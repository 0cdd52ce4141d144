"""The frontend developer's first day, in Debian's headless Chromium: a page on
http://localhost:5173 (a Vite dev server's origin, allowed by the development defaults)
uses the TypeScript client (clients/typescript, compiled, with openapi-fetch and
socket.io-client from npm) against a server started exactly as `make run` starts it:
`python app.py`, development defaults (embedded SecantusDB, no Redis, console mail), with
only a free port and a temporary instance directory. Register, verify from the logged
link, log in (cookie session: page and API both on `localhost`, so the SameSite=Lax cookie
is same-site), create a topic, post, chat, DM, and catch up after the socket reconnects."""
from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.call_servers import BROWSER_DIR, CHROMIUM, CHROMIUM_FLAGS, missing
from tests.node_helpers import CLIENT_DIR, ensure_node_modules
from tests.servers import AppServer
from utils.embedded_db import free_port, port_answers

PASSWORD = "correct horse battery staple"
# The page's origin must be one the development defaults allow (config.DEVELOPMENT_ORIGINS);
# its port must be free on this machine: a Vite dev server's, else a CRA/Next one's.
PAGE_PORTS = (5173, 3000)
# Settings a developer's shell or .env might carry, blanked so the defaults apply
# (an empty value counts as unset, config._env).
UNSET = ("FLASK_ENV", "FLASK_DEBUG", "MONGO_URI", "MONGO_DB_NAME", "REDIS_URL",
         "SOCKETIO_MESSAGE_QUEUE", "CORS_ORIGINS", "REQUIRE_EMAIL_VERIFICATION", "MAIL_BACKEND",
         "FRONTEND_URL", "LOG_LEVEL", "RATELIMIT_ENABLED", "SESSION_COOKIE_SECURE")


class MakeRun:
    """`python app.py` with the development defaults; its instance directory is a temporary
    one, kept across a restart (the database and the session files live there)."""

    def __init__(self, instance: Path) -> None:
        self.instance = instance
        self.db_port = free_port()
        self.env = {name: "" for name in UNSET}
        self.env.update({
            "EMBEDDED_DB_PORT": str(self.db_port), "EMBEDDED_DB_PATH": str(instance / "db"),
            "SESSION_DIR": str(instance / "sessions"), "MAIL_FILE_DIR": str(instance / "mail"),
            "JOBS_SQLITE_PATH": str(instance / "jobs.sqlite3"),
            "UPLOAD_DIR": str(instance / "uploads")})
        self.server = self._start(None)

    def _start(self, port: int | None) -> AppServer:
        server = AppServer(self.env, self.instance, port=port, command=[sys.executable, "app.py"])
        server.wait_ready(timeout=60)
        return server

    def stop(self) -> None:
        self.server.stop()  # SIGTERM: the app stops its embedded database on the way out
        deadline = time.monotonic() + 10
        while port_answers(self.db_port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def restart(self) -> None:
        """Stop it and start it again on the same port (as after `make run` is restarted)."""
        self.stop()
        self.server = self._start(self.server.port)


@pytest.fixture(scope="module")
def make_run_server(tmp_path_factory):
    started = MakeRun(tmp_path_factory.mktemp("instance"))
    try:
        yield started
    finally:
        started.stop()


class _Quiet(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".mjs": "text/javascript"}

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def page_site(tmp_path_factory):
    """A static site, as a frontend dev server would serve it: the page, the compiled
    client and its two npm dependencies, on the first free allowed port."""
    ensure_node_modules()
    site = tmp_path_factory.mktemp("site")
    subprocess.run([str(CLIENT_DIR / "node_modules" / ".bin" / "tsc"), "-p", "tsconfig.lib.json",
                    "--outDir", str(site / "client"), "--incremental", "false"],
                   cwd=CLIENT_DIR, check=True, timeout=300)
    modules = CLIENT_DIR / "node_modules"
    (site / "vendor").mkdir()
    shutil.copy(modules / "openapi-fetch" / "dist" / "index.mjs",
                site / "vendor" / "openapi-fetch.mjs")
    shutil.copy(modules / "socket.io-client" / "dist" / "socket.io.esm.min.js", site / "vendor")
    shutil.copy(BROWSER_DIR / "client.html", site / "index.html")
    handler = functools.partial(_Quiet, directory=str(site))
    httpd = None
    for port in PAGE_PORTS:
        try:
            httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
            break
        except OSError:
            continue
    if httpd is None:
        pytest.fail(f"ports {PAGE_PORTS} are both taken: the page must be on an origin the "
                    "development defaults allow (http://localhost:5173 or :3000); stop the dev "
                    "server using them and run again")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    problem = missing(CHROMIUM, "chromium")
    if problem:
        pytest.fail(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def open_page(browser, site: str, api: str):
    context = browser.new_context()
    page = context.new_page()
    page.log = []
    page.on("console", lambda message: page.log.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: page.log.append(f"error: {error}"))
    page.on("requestfailed", lambda r: page.log.append(f"failed: {r.url} {r.failure}"))
    page.goto(f"{site}/?api={api}")
    wait_until(page, "window.report && window.report.ready && window.client", timeout=15000)
    return context, page


def wait_until(page, expression: str, arg=None, timeout: float = 15000):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        return page.wait_for_function(expression, arg=arg, timeout=timeout)
    except PlaywrightTimeout:
        report = page.evaluate("JSON.stringify(window.report || null)")
        raise AssertionError(f"{expression} never held; report {report}; "
                             f"page log {page.log}") from None


def run(page, method: str, *args):
    """`window.client[method](...args)` in the page, awaited."""
    return page.evaluate("([method, args]) => window.client[method](...args)", [method, list(args)])


def verification_token(started: MakeRun, email: str) -> str:
    """The link the in-process job consumer logged (console mail: decoded, one line)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log = started.server.log_path.read_text(errors="replace")
        at = log.rfind(f"To: {email}")
        found = re.search(r"/verify-email\?token=([A-Za-z0-9._\-]+)", log[at:]) if at >= 0 else None
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no verification mail to {email} in the server's log")


def test_first_day_in_chromium_against_make_run_defaults(make_run_server, page_site, browser):
    api = f"http://localhost:{make_run_server.server.port}"
    alice_ctx, alice = open_page(browser, page_site, api)
    bob_ctx, bob = open_page(browser, page_site, api)
    try:
        users = {}
        for name, page in (("alice", alice), ("bob", bob)):
            users[name] = run(page, "register", name, f"{name}@example.com", PASSWORD)
        for name, page in (("alice", alice), ("bob", bob)):
            run(page, "verify", verification_token(make_run_server, f"{name}@example.com"))
            assert run(page, "login", name, PASSWORD)["email_verified"] is True
            # The session cookie was kept (page and API are same-site): /me answers.
            assert run(page, "me")["id"] == users[name]["id"]

        topic = run(alice, "createTopic", "First day")
        post = run(alice, "createPost", topic["id"], "Hello", "A post from the browser.")
        assert (post["topic_id"], post["author"]["username"]) == (topic["id"], "alice")

        # Sockets: polling then websocket, the session cookie as credentials.
        assert run(alice, "connect") in ("polling", "websocket")
        assert run(bob, "connect") in ("polling", "websocket")

        chat = run(alice, "createTopicRoom", topic["id"], "general")
        run(alice, "joinRoom", chat["id"])
        said = run(alice, "send", chat["id"], "hello chat")
        assert said["seq"] == 1 and said["client_id"]
        wait_until(alice, "(id) => window.report.messages.some((m) => m.id === id)", said["id"])

        # A DM reaches bob through his user room, without a join.
        direct = run(alice, "openDirect", users["bob"]["id"])
        dm = run(alice, "send", direct["id"], "hello bob")
        wait_until(bob, "(id) => window.report.messages.some((m) => m.id === id)", dm["id"])

        # Bob's connection drops; alice writes twice; bob reconnects and catches up once each.
        run(bob, "joinRoom", direct["id"])
        run(bob, "dropConnection")
        missed = [run(alice, "postMessage", direct["id"], f"while you were away {n}")
                  for n in (1, 2)]
        run(bob, "reconnect")
        wait_until(bob, "([room, seq]) => window.client.lastSeq(room) === seq",
                   [direct["id"], missed[-1]["seq"]])
        delivered = bob.evaluate(
            "(room) => window.report.messages.filter((m) => m.room_id === room).map((m) => m.id)",
            direct["id"])
        assert delivered == [dm["id"]] + [m["id"] for m in missed]

        # The server restarts (sessions and data are in its instance directory): the
        # sockets reconnect by themselves and are back in their rooms, so a message written
        # after the restart reaches bob in the topic's chat room, once.
        run(bob, "joinRoom", chat["id"])
        make_run_server.restart()
        for page in (alice, bob):
            wait_until(page, "window.client.connected()", timeout=30000)
        after = run(alice, "postMessage", chat["id"], "after the restart")
        wait_until(bob, "(id) => window.report.messages.some((m) => m.id === id)", after["id"])
        in_chat = bob.evaluate(
            "(room) => window.report.messages.filter((m) => m.room_id === room).map((m) => m.seq)",
            chat["id"])
        assert in_chat == [1, 2], in_chat  # caught up on joining, then live after the restart
        assert alice.evaluate("window.report.errors") == []
        assert bob.evaluate("window.report.errors") == []
    finally:
        alice_ctx.close()
        bob_ctx.close()
