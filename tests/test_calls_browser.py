"""One real call between two headless Chromium pages (Debian's chromium through
Playwright, fake camera and microphone), each on a different server process. The page
(tests/browser/call.html) uses the official socket.io-client bundle and RTCPeerConnection;
offer, answer and ICE candidates travel only through Roundtable's call events."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from services.chat import chat_rooms
from tests.call_servers import (
    BROWSER_DIR,
    CHROMIUM,
    CHROMIUM_FLAGS,
    ensure_socketio_bundle,
    missing,
)
from tests.cluster_helpers import make_user


@pytest.fixture(scope="module")
def browser():
    problem = missing(CHROMIUM, "chromium")
    if problem:
        pytest.fail(problem)
    from playwright.sync_api import sync_playwright

    bundle = ensure_socketio_bundle()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        chromium.bundle = bundle
        yield chromium
        chromium.close()


def open_page(browser, server, token: str, party: str):
    """The test page in a document of the server's own origin, connected with a bearer
    token. The app serves no test files: the page opens one of its real URLs and the
    test page (with the socket.io-client bundle inlined) is written into it. A page
    Playwright made up would count as public to Chromium's local network access checks,
    which then block its WebSocket to the loopback server; this one is loopback. (The
    API's own CSP, `default-src 'none'`, is bypassed for this test document.)"""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.log = []  # what the page said, shown when a wait fails
    page.on("console", lambda message: page.log.append(f"console: {message.text}"))
    page.on("requestfailed", lambda r: page.log.append(f"failed: {r.url} {r.failure}"))
    bundle = Path(browser.bundle).read_text()
    html = (BROWSER_DIR / "call.html").read_text().replace(
        '<script src="socket.io.min.js"></script>', f"<script>{bundle}</script>")
    page.goto(f"{server.url}/health?token={token}&party={party}")
    page.set_content(html)
    wait_until(page, "window.report && window.report.connected", timeout=15000)
    return context, page


def wait_until(page, expression: str, timeout: float = 30000):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        return page.wait_for_function(expression, timeout=timeout)
    except PlaywrightTimeout:
        report = page.evaluate("JSON.stringify(window.report || null)")
        raise AssertionError(f"{expression} never held; report {report}; "
                             f"page log {page.log}") from None


def test_two_browsers_call_media_flows_and_closing_a_page_ends_the_call(cluster, browser):
    app, (a, b) = cluster
    alice, alice_token = make_user(app, "alice")
    bob, bob_token = make_user(app, "bob")
    with app.app_context():
        room, _ = chat_rooms.open_direct(alice, str(bob["_id"]))
    caller_ctx, caller = open_page(browser, a, alice_token, "alice-browser")
    callee_ctx, callee = open_page(browser, b, bob_token, "bob-browser")
    try:
        call_id = caller.evaluate("([room]) => window.startCall(room, 'video')", [str(room["_id"])])
        # The callee's page answers the invite and offers; both connections come up.
        for page, other in ((caller, "bob-browser"), (callee, "alice-browser")):
            wait_until(page, f"window.report.pcStates['{other}'] === 'connected'")
        assert callee.evaluate("window.report.callId") == call_id

        # Media frames arrive on both sides: inbound RTP bytes keep growing.
        for page in (caller, callee):
            first = page.evaluate("window.inboundBytes()")
            deadline = time.monotonic() + 15
            while page.evaluate("window.inboundBytes()") <= first + 1000:
                assert time.monotonic() < deadline, "no media arriving"
                page.wait_for_timeout(200)
        assert caller.evaluate("window.report.errors") == []
        assert callee.evaluate("window.report.errors") == []

        # The callee's tab goes away without hanging up: after the reconnect grace the
        # caller sees the call end because the connection was lost.
        callee_ctx.close()
        wait_until(caller, "window.report.ended !== null", timeout=20000)
        ended = caller.evaluate("window.report.ended")
        assert ended == {"state": "ended", "reason": "connection_lost", "by": None}
    finally:
        caller_ctx.close()
        if callee_ctx.pages:
            callee_ctx.close()
