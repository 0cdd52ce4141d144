"""Security baseline: headers, CORS allowlist, cookies, trusted proxies."""
from __future__ import annotations

import runpy

from flask import request, session

from tests.servers import ROOT


def test_security_headers(client):
    response = client.get("/health")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_in_production(make_app):
    application = make_app(HSTS_ENABLED=True)
    assert "max-age=" in application.test_client().get("/health").headers[
        "Strict-Transport-Security"]


def test_cors_allows_only_listed_origins_with_credentials(make_app):
    client = make_app(CORS_ORIGINS=["https://app.example"]).test_client()
    allowed = client.get("/version", headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    refused = client.get("/api/openapi.json", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in refused.headers
    preflight = client.options("/api/openapi.json", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-CSRF-Token"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "x-csrf-token" in preflight.headers["Access-Control-Allow-Headers"].lower()


def test_cors_never_wildcard_when_unset(client):
    response = client.get("/api/openapi.json", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_socketio_origins_follow_cors_list(make_app):
    """The same list guards Socket.IO's handshake, and the API's own origin is always
    allowed (python-engineio's default without a list; a list alone refused it)."""
    handshake = "/socket.io/?EIO=4&transport=polling"

    def status(client, origin):
        return client.get(handshake, headers={"Origin": origin}).status_code

    listed = make_app(CORS_ORIGINS=["https://app.example"]).test_client()
    assert status(listed, "https://app.example") == 200
    assert status(listed, "http://localhost") == 200  # the test client's own host
    assert status(listed, "https://evil.example") == 400
    unlisted = make_app(CORS_ORIGINS=[]).test_client()
    # An empty list must not switch the check off, as python-engineio's [] would.
    assert status(unlisted, "https://evil.example") == 400
    assert status(unlisted, "http://localhost") == 200


def test_session_cookie_flags(make_app):
    application = make_app(reuse=False)  # adds routes

    @application.route("/api/probe/touch-session", methods=["POST"])
    def touch():
        session["seen"] = True
        return {"ok": True}

    response = application.test_client().post("/api/probe/touch-session")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = make_app(reuse=False, SESSION_COOKIE_SECURE=True)
    secure.add_url_rule("/api/probe/touch-session", view_func=touch, methods=["POST"])
    assert "Secure" in secure.test_client().post("/api/probe/touch-session").headers["Set-Cookie"]


def _limited_statuses(application, forwarded_for):
    client = application.test_client()
    return [client.get("/version", headers={"X-Forwarded-For": address}).status_code
            for address in forwarded_for]


def test_forwarded_for_ignored_without_trusted_proxies(make_app):
    application = make_app(RATELIMIT_DEFAULT="3 per minute", TRUSTED_PROXIES=0)
    statuses = _limited_statuses(application, [f"10.0.0.{i}" for i in range(5)])
    # Spoofing a new address per request does not escape the limit.
    assert statuses == [200, 200, 200, 429, 429]


def test_forwarded_for_used_with_one_trusted_proxy(make_app):
    application = make_app(RATELIMIT_DEFAULT="3 per minute", TRUSTED_PROXIES=1)
    # The proxy appends the real client last; what the client wrote before it is ignored.
    spoofed = [f"1.2.3.4, 10.0.0.{i}" for i in range(4)]
    assert _limited_statuses(application, spoofed) == [200, 200, 200, 200]
    same_client = ["9.9.9.9, 10.0.0.7"] * 4
    assert _limited_statuses(application, same_client) == [200, 200, 200, 429]


def test_a_direct_client_cannot_forward_its_own_address(make_app):
    # TRUSTED_PROXIES=1, but this client reached the app itself (not from a proxy
    # address): a new X-Forwarded-For each time changes nothing, the limit still bites.
    application = make_app(RATELIMIT_DEFAULT="3 per minute", TRUSTED_PROXIES=1)
    client = application.test_client()
    statuses = [client.get("/version", headers={"X-Forwarded-For": f"10.0.0.{i}"},
                           environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code
                for i in range(24)]
    assert statuses[:3] == [200, 200, 200] and set(statuses[3:]) == {429}


def test_forwarded_address_only_from_a_configured_proxy(make_app):
    application = make_app(reuse=False, TRUSTED_PROXIES=1,
                           TRUSTED_PROXY_ADDRESSES=["10.0.0.0/8", "2001:db8::1"])
    application.add_url_rule("/api/probe/address", "probe_address",
                             lambda: {"address": request.remote_addr,
                                      "scheme": request.scheme})
    client = application.test_client()

    def seen(remote: str) -> dict:
        return client.get("/api/probe/address", environ_base={"REMOTE_ADDR": remote},
                          headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.9",
                                   "X-Forwarded-Proto": "https"}).get_json()

    assert seen("10.1.2.3") == {"address": "203.0.113.9", "scheme": "https"}
    assert seen("2001:db8::1") == {"address": "203.0.113.9", "scheme": "https"}
    assert seen("198.51.100.7") == {"address": "198.51.100.7", "scheme": "http"}
    assert seen("127.0.0.1") == {"address": "127.0.0.1", "scheme": "http"}


def test_gunicorn_binds_to_loopback_unless_told(monkeypatch, tmp_path):
    monkeypatch.delenv("BIND", raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["bind"] == "127.0.0.1:8000"
    monkeypatch.setenv("BIND", "10.0.0.5:8000")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["bind"] == "10.0.0.5:8000"


def test_rate_limit_answer_has_retry_after(make_app):
    client = make_app(RATELIMIT_DEFAULT="1 per minute").test_client()
    client.get("/version")
    response = client.get("/version")
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_preflight_is_cached_and_scripts_may_read_the_limit_headers(make_app):
    client = make_app(CORS_ORIGINS=["https://app.example"], CORS_MAX_AGE=120).test_client()
    preflight = client.options("/api/topics", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type, X-CSRF-Token"})
    assert preflight.headers["Access-Control-Max-Age"] == "120"
    response = client.get("/api/topics", headers={"Origin": "https://app.example"})
    exposed = {name.strip().lower()
               for name in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after",
            "x-request-id"} <= exposed


def test_retry_after_only_on_429_and_503(make_app):
    client = make_app(RATELIMIT_DEFAULT="2 per minute").test_client()
    address = {"REMOTE_ADDR": "198.51.100.9"}
    first = client.get("/api/topics", environ_base=address)
    assert first.status_code == 200 and first.headers["X-RateLimit-Limit"] == "2"
    assert "Retry-After" not in first.headers
    missing = client.get("/api/topics/000000000000000000000000", environ_base=address)
    assert missing.status_code == 404 and "X-RateLimit-Limit" in missing.headers
    assert "Retry-After" not in missing.headers
    assert "Retry-After" not in client.get("/api/topics", environ_base=address).headers
    limited = client.get("/api/topics", environ_base=address)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


def test_retry_after_on_503(make_app):
    import pymongo.errors

    application = make_app(reuse=False)  # adds routes

    @application.route("/api/probe/database-down")
    def database_down():
        raise pymongo.errors.ServerSelectionTimeoutError("no server")

    response = application.test_client().get("/api/probe/database-down")
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
