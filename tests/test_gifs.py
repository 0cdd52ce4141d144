"""GIF search against GIPHY and KLIPY stand-ins that answer in each provider's documented
shape (tests/gif_stub.py), through the real HTTP client: one normalised result shape,
pages across provider pages, the Redis cache (and working without it), the per-user
limit, the configured rating, 503s for no provider and for a failing one, and the URL
check of GIF attachments."""
from __future__ import annotations

import json
import time

import pytest

from services.media import gifs
from tests import gif_stub
from tests.http_stub import Answer
from tests.topic_helpers import Person
from utils import cache as cache_module
from utils.embedded_db import free_port
from utils.errors import ValidationFailed
from utils.redis_client import make_redis


@pytest.fixture
def alice(client, stub_http):
    return Person(client, "alice")


def _upstream(stub_http, endpoint="search"):
    return [seen for seen in stub_http.requests if seen.path.endswith(f"/gifs/{endpoint}")]


def test_no_provider_configured_is_503_with_a_clear_message(app, alice):
    for settings in ({"GIF_PROVIDER": ""}, {"GIF_PROVIDER": "giphy", "GIPHY_API_KEY": None},
                     {"GIF_PROVIDER": "tenor"}):
        app.config.update(settings)
        for path in ("/api/gifs/search?q=cat", "/api/gifs/featured"):
            response = alice.get(path)
            assert response.status_code == 503
            error = response.get_json()["error"]
            assert error["code"] == "service_unavailable"
            assert "GIF search is not configured" in error["message"]


def test_giphy_results_are_normalised_and_the_request_is_the_documented_one(
        app, alice, stub_http):
    app.config["GIF_RATING"] = "pg-13"
    body = alice.get("/api/gifs/search", query_string={"q": "dance", "limit": 2}).get_json()
    assert body["provider"] == "giphy"
    assert body["items"][0] == {
        "id": "giphy0000", "title": "Cat dance 0", "provider": "giphy",
        "preview": {"url": "https://media0.giphy.com/media/giphy0000/200w.gif",
                    "width": 200, "height": 267},
        "full": {"url": "https://media0.giphy.com/media/giphy0000/giphy.gif",
                 "width": 360, "height": 480}}
    assert [item["id"] for item in body["items"]] == ["giphy0000", "giphy0001"]
    sent, = _upstream(stub_http)
    assert sent.path == "/v1/gifs/search"
    assert {k: v[0] for k, v in sent.query.items()} == {
        "api_key": gif_stub.GIPHY_KEY, "q": "dance", "limit": "50", "offset": "0",
        "rating": "pg-13", "lang": "en"}
    featured = alice.get("/api/gifs/featured").get_json()
    assert len(featured["items"]) == 5 and featured["next_cursor"] is None
    assert _upstream(stub_http, "trending")[0].path == "/v1/gifs/trending"


@pytest.mark.parametrize("provider", ["giphy", "klipy"])
def test_pages_walk_across_provider_pages_and_come_from_the_cache(app, alice, stub_http,
                                                                  provider):
    app.config["GIF_PROVIDER"] = provider
    gif_stub.DATA.reset(count=70)
    seen, cursor = [], None
    while True:
        query = {"q": "cat", "limit": 30, **({"cursor": cursor} if cursor else {})}
        page = alice.get("/api/gifs/search", query_string=query).get_json()
        seen += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Cat dance {n}" for n in range(70)]
    assert len(_upstream(stub_http)) == 2  # two provider pages of 50, each fetched once
    again = alice.get("/api/gifs/search", query_string={"q": "cat", "limit": 30}).get_json()
    assert len(again["items"]) == 30 and len(_upstream(stub_http)) == 2


def test_klipy_results_skip_ads_and_use_slugs(app, alice, stub_http):
    app.config.update(GIF_PROVIDER="klipy", GIF_RATING="pg")
    body = alice.get("/api/gifs/featured", query_string={"limit": 3}).get_json()
    assert body["provider"] == "klipy"
    assert body["items"][0] == {
        "id": "cat-dance-0", "title": "Cat dance 0", "provider": "klipy",
        "preview": {"url": "https://static.klipy.com/ii/stub/0/sm.gif", "width": 220,
                    "height": 124},
        "full": {"url": "https://static.klipy.com/ii/stub/0/hd.gif", "width": 498,
                 "height": 280}}
    assert [item["id"] for item in body["items"]] == ["cat-dance-0", "cat-dance-1",
                                                      "cat-dance-2"]
    sent, = _upstream(stub_http, "trending")
    assert sent.path == f"/api/v1/{gif_stub.KLIPY_KEY}/gifs/trending"
    query = {k: v[0] for k, v in sent.query.items()}
    assert query["page"] == "1" and query["per_page"] == "50" and query["rating"] == "pg"
    assert len(query["customer_id"]) == 32 and alice.id not in query["customer_id"]


def test_without_redis_the_search_still_answers_uncached(app, alice, stub_http, monkeypatch):
    # Built like the app's own client (no retries), so the refusal is immediate.
    dead = make_redis(f"redis://127.0.0.1:{free_port()}/0", 0.2)
    monkeypatch.setattr(cache_module.Cache, "redis", property(lambda self: dead))
    for _ in range(2):
        response = alice.get("/api/gifs/search", query_string={"q": "cat"})
        assert response.status_code == 200 and len(response.get_json()["items"]) == 5
    assert len(_upstream(stub_http)) == 2


def _slow(seen):
    time.sleep(1.5)
    return Answer(200, b"{}", {"Content-Type": "application/json"})


@pytest.mark.parametrize("answer", [
    Answer(500, b"oops"), Answer(429, b'{"meta": {"status": 429}}'),
    Answer(200, b"<html>not json</html>", {"Content-Type": "text/html"}),
    Answer(200, b'{"data": "nope"}', {"Content-Type": "application/json"}), _slow])
def test_a_failing_provider_is_a_503_never_a_500(app, alice, stub_http, answer):
    app.config["GIF_TIMEOUT_SECONDS"] = 0.5
    stub_http.routes["/v1/gifs/search"] = answer
    response = alice.get("/api/gifs/search", query_string={"q": "cat"})
    assert response.status_code == 503
    assert response.get_json()["error"] == {
        "code": "service_unavailable",
        "message": "The GIF provider (giphy) is not answering; try again later."}


def test_an_unreachable_provider_is_a_503(app, alice):
    app.config["GIPHY_BASE_URL"] = f"http://127.0.0.1:{free_port()}"
    response = alice.get("/api/gifs/featured")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "service_unavailable"


def test_the_limit_is_per_user_whatever_the_headers(app, client, alice):
    app.config["RATELIMIT_GIFS"] = "3 per minute"
    bob = Person(client, "bob")
    for _ in range(3):  # refused requests spend nothing
        assert alice.get("/api/gifs/search?q=").status_code == 400
    for n in range(3):
        headers = {**alice.headers, "X-Forwarded-For": f"10.9.9.{n}"}
        path = "/api/gifs/search?q=cat" if n % 2 else "/api/gifs/featured"
        assert client.get(path, headers=headers).status_code == 200
    limited = client.get("/api/gifs/featured",
                         headers={**alice.headers, "X-Forwarded-For": "10.9.9.200"})
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert bob.get("/api/gifs/featured").status_code == 200


def test_bad_input_is_a_400(alice):
    for query in ({"q": ""}, {"q": "   "}, {"q": "x" * 51}, {"q": "cat", "cursor": "nope"},
                  {"q": "cat", "limit": 0}):
        response = alice.get("/api/gifs/search", query_string=query)
        assert response.status_code == 400, query
        assert response.get_json()["error"]["code"] == "validation_error"


def test_gif_attachments_accept_only_the_providers_media_hosts(app):
    with app.test_request_context():
        url = "https://media2.giphy.com/media/abc/giphy.gif"
        assert gifs.gif_attachment(url, 360, 480) == {
            "type": "gif", "name": "giphy.gif", "content_type": "image/gif", "url": url,
            "provider": "giphy", "width": 360, "height": 480}
        for bad in ("http://media2.giphy.com/media/abc/giphy.gif",
                    "https://media.giphy.com.evil.example/x.gif",
                    "https://evil.example/media.giphy.com/x.gif",
                    "https://media.giphy.com@evil.example/x.gif",
                    "https://user@media.giphy.com/x.gif",
                    "https://media.giphy.com:8443/x.gif",
                    "https://evil.example\\@media.giphy.com/x.gif",
                    "https://static.klipy.com/ii/x.gif", "javascript:alert(1)", "",
                    "https://media.giphy.com./x.gif", "https://media.giphy.com:/x.gif"):
            with pytest.raises(ValidationFailed):
                gifs.gif_attachment(bad)
        thumb = "https://media2.giphy.com/media/abc/200w.gif"
        assert gifs.gif_attachment(url, thumbnail_url=thumb)["thumbnail_url"] == thumb
        with pytest.raises(ValidationFailed) as refused:
            gifs.gif_attachment(url, thumbnail_url="https://evil.example/200w.gif")
        assert refused.value.details == {
            "thumbnail_url": ["Not a GIF URL of the configured provider."]}
        app.config["GIF_PROVIDER"] = "klipy"
        assert gifs.gif_attachment("https://static.klipy.com/ii/1/hd.gif")["provider"] == "klipy"
        app.config["GIF_PROVIDER"] = ""
        with pytest.raises(ValidationFailed):
            gifs.gif_attachment("https://static.klipy.com/ii/1/hd.gif")


@pytest.mark.parametrize("provider", ["giphy", "klipy"])
def test_results_off_the_providers_media_hosts_never_reach_clients(app, alice, stub_http,
                                                                   provider):
    """A provider (or whatever answers in its place) that returns `javascript:`, plain
    http, loopback or a lookalike host in a result's URLs has those results dropped."""
    app.config["GIF_PROVIDER"] = provider
    bad = ["javascript:alert(1)", "http://media1.giphy.com/x.gif", "https://127.0.0.1/x.gif",
           "https://static.klipy.com.evil.example/x.gif", "https://[::1]/x.gif"]
    path = "/v1/gifs/search" if provider == "giphy" else \
        f"/api/v1/{gif_stub.KLIPY_KEY}/gifs/search"
    real = stub_http.routes[path]

    def tampered(seen):
        answer = real(seen)
        body = json.loads(answer.body)
        found = body["data"] if provider == "giphy" else body["data"]["data"]
        results = [item for item in found if item.get("type") == "gif"]
        for item, url in zip(results[:5], bad, strict=True):  # one bad URL each
            rendition = (item["images"]["fixed_width"] if provider == "giphy"
                         else item["file"]["sm"]["gif"])
            rendition["url"] = url
        results[5]["images" if provider == "giphy" else "file"] = (
            {"original": {"url": "javascript:alert(2)"}} if provider == "giphy"
            else {"hd": {"gif": {"url": "https://localhost/x.gif"}}})
        return Answer(answer.status, json.dumps(body).encode(), answer.headers)

    gif_stub.DATA.reset(count=8)
    stub_http.routes[path] = tampered
    items = alice.get("/api/gifs/search", query_string={"q": "cat"}).get_json()["items"]
    assert [item["title"] for item in items] == ["Cat dance 6", "Cat dance 7"]
    hosts = set(app.config["GIF_MEDIA_HOSTS"]) or set(
        {"giphy": ("media0.giphy.com", "media1.giphy.com", "media2.giphy.com",
                   "media3.giphy.com", "media4.giphy.com"),
         "klipy": ("static.klipy.com",)}[provider])
    for item in items:
        for rendition in (item["preview"], item["full"]):
            assert rendition["url"].startswith("https://")
            assert rendition["url"].split("/")[2] in hosts
