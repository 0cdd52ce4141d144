"""A login from a page on another site than the API (localhost:5173 calling
127.0.0.1:5000) sets a SameSite=Lax cookie the browser never sends back; development
says so in `X-Roundtable-Warning` (readable by the page) and one log line. A same-site
page, a dev-server proxy (the browser's `Sec-Fetch-Site: same-origin`), a bearer token,
and the testing and production settings get no warning (docs/CLIENTS.md)."""
from __future__ import annotations

import logging

import pytest

from config import load_config
from tests.helpers import DEFAULT_PASSWORD, fresh_address, register
from utils.http import site_of

WARNING = "X-Roundtable-Warning"
PAGE = "http://localhost:5173"


@pytest.fixture
def warning_on(app):
    app.config["CROSS_SITE_COOKIE_WARNING"] = True  # put back by the next test's reset
    return app


def _login(client, api_host: str, **headers):
    register(client, "crosser")
    return client.post("/api/auth/login", base_url=f"http://{api_host}",
                       environ_base=fresh_address(), headers=headers,
                       json={"login": "crosser", "password": DEFAULT_PASSWORD})


def test_cross_site_login_is_explained(warning_on, client, caplog):
    with caplog.at_level(logging.WARNING, logger="roundtable"):
        answer = _login(client, "127.0.0.1:5000", Origin=PAGE)
    assert answer.status_code == 200 and answer.get_json()["csrf_token"]
    warning = answer.headers[WARNING]
    assert "http://localhost:5173" in warning and "http://127.0.0.1:5000" in warning
    assert "SameSite=Lax" in warning and "docs/CLIENTS.md" in warning
    lines = [r.getMessage() for r in caplog.records if "cross-site login" in r.getMessage()]
    assert lines == [f"cross-site login: {warning}"]


def test_the_browsers_verdict_wins(warning_on, client):
    # Behind a dev-server proxy the browser talks to its own origin: no warning, though
    # the proxy forwards the page's Origin to another host name.
    behind_proxy = _login(client, "127.0.0.1:5000", Origin=PAGE, **{
        "Sec-Fetch-Site": "same-origin"})
    assert behind_proxy.status_code == 200 and WARNING not in behind_proxy.headers
    told = client.post("/api/auth/login", base_url="http://localhost:5000",
                       environ_base=fresh_address(),
                       headers={"Origin": PAGE, "Sec-Fetch-Site": "cross-site"},
                       json={"login": "crosser", "password": DEFAULT_PASSWORD})
    assert told.status_code == 200 and WARNING in told.headers


def test_same_site_login_and_bearer_tokens_get_no_warning(warning_on, client, caplog):
    with caplog.at_level(logging.WARNING, logger="roundtable"):
        same_site = _login(client, "localhost:5000", Origin=PAGE)
        token = client.post("/api/auth/token", base_url="http://127.0.0.1:5000",
                            environ_base=fresh_address(), headers={"Origin": PAGE},
                            json={"login": "crosser", "password": DEFAULT_PASSWORD})
        no_origin = client.post("/api/auth/login", base_url="http://127.0.0.1:5000",
                                environ_base=fresh_address(),
                                json={"login": "crosser", "password": DEFAULT_PASSWORD})
    assert same_site.status_code == 200 and WARNING not in same_site.headers
    assert token.status_code == 201 and WARNING not in token.headers
    assert no_origin.status_code == 200 and WARNING not in no_origin.headers
    assert not [r for r in caplog.records if "cross-site login" in r.getMessage()]


def test_only_development_warns(client, monkeypatch):
    monkeypatch.delenv("CROSS_SITE_COOKIE_WARNING", raising=False)
    for name, value in {"SECRET_KEY": "x" * 40, "MONGO_URI": "mongodb://db:27017",
                        "REDIS_URL": "redis://cache:6379/0", "PUSH_ENABLED": "false"}.items():
        monkeypatch.setenv(name, value)
    assert load_config("development").CROSS_SITE_COOKIE_WARNING is True
    assert load_config("production").CROSS_SITE_COOKIE_WARNING is False
    assert load_config("testing").CROSS_SITE_COOKIE_WARNING is False
    answer = _login(client, "127.0.0.1:5000", Origin=PAGE)  # the testing settings
    assert answer.status_code == 200 and WARNING not in answer.headers


def test_the_warning_is_readable_by_the_page(make_app):
    client = make_app(CORS_ORIGINS=[PAGE], CROSS_SITE_COOKIE_WARNING=True).test_client()
    answer = _login(client, "127.0.0.1:5000", Origin=PAGE)
    assert answer.headers["Access-Control-Allow-Origin"] == PAGE
    exposed = {name.strip() for name in
               answer.headers["Access-Control-Expose-Headers"].split(",")}
    assert WARNING in exposed and WARNING in answer.headers


def test_sites_as_browsers_compare_them():
    assert site_of("http", "localhost") != site_of("http", "127.0.0.1")
    assert site_of("http", "app.example.co.uk") == site_of("http", "api.example.co.uk")
    assert site_of("http", "a.example.co.uk") != site_of("http", "b.other.co.uk")
    assert site_of("http", "example.com") != site_of("https", "example.com")
    assert site_of("http", "127.0.0.1") != site_of("http", "127.0.0.2")
    assert site_of("http", "[::1]") == ("http", "::1")
