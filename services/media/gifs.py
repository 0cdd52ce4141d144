"""GIF search and featured GIFs through the configured provider (services/gif_providers),
and the GIF attachment a message may carry (docs/MEDIA.md "GIF search").

The API's pages are slices of the provider's fixed pages: the cursor is the signed
offset of the next result (utils.pagination's signer), so any `limit` works with either
provider. Provider pages are cached in Redis by provider, query, rating and page for
GIF_CACHE_SECONDS (no cache while Redis is down). No provider configured, or a provider
that fails or times out, is a 503 `service_unavailable`, never a 500.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import current_app

from services.media.gif_providers import PAGE_SIZE, ProviderFailed, configured
from services.platform.shapes.gifs import GIF_PAGE
from utils.cache import get_cache
from utils.errors import ServiceUnavailable, ValidationFailed
from utils.pagination import cursor_serializer, decode_cursor

log = logging.getLogger(__name__)

CACHE_NAMESPACE = "gifs"
MAX_OFFSET = 5000
MAX_GIF_URL = 2048
MAX_GIF_SIDE = 10000  # pixels; a larger stated width or height is dropped


def _provider():
    provider = configured(current_app.config)
    if provider is None:
        raise ServiceUnavailable("GIF search is not configured on this server "
                                 "(GIF_PROVIDER and its API key).")
    return provider


def _customer(user: dict[str, Any]) -> str:
    """A stable id per user for the provider, that is not our user id."""
    secret = current_app.config["SECRET_KEY"]
    return hashlib.sha256(f"gif-customer:{secret}:{user['_id']}".encode()).hexdigest()[:32]


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    kind, offset = decode_cursor(cursor, [str, int])
    if kind != "gif" or not 0 <= offset < MAX_OFFSET:
        raise ValidationFailed(details={"cursor": ["Invalid cursor."]})
    return offset


def _page(provider, query: str | None, number: int, rating: str, user: dict[str, Any]):
    cache = get_cache()
    key = hashlib.sha256(f"{provider.name}|{rating}|{number}|{query}".encode()).hexdigest()
    cached = cache.get(CACHE_NAMESPACE, key)
    if cached is not None:
        return _on_media_hosts(cached["items"]), cached["has_more"]
    try:
        page = provider.page(query, number, rating, _customer(user))
    except ProviderFailed as exc:
        log.warning("GIF provider %s failed: %s", provider.name, exc)
        raise ServiceUnavailable(f"The GIF provider ({provider.name}) is not answering; "
                                 "try again later.") from exc
    items = _on_media_hosts(page.items)
    cache.set(CACHE_NAMESPACE, key, {"items": items, "has_more": page.has_more},
              ttl=current_app.config["GIF_CACHE_SECONDS"])
    return items, page.has_more


def _on_media_hosts(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only results whose both URLs are https on the provider's media hosts reach a
    client (the same check a GIF attachment passes); a provider answering `javascript:`
    or an internal address has those results dropped."""
    hosts = media_hosts()
    return [item for item in items
            if _media_url(item["preview"]["url"], hosts) and _media_url(item["full"]["url"], hosts)]


def _list(user: dict[str, Any], query: str | None, limit: int,
          cursor: str | None) -> dict[str, Any]:
    provider, offset = _provider(), _offset(cursor)
    rating = current_app.config["GIF_RATING"]
    items: list[dict[str, Any]] = []
    position = offset
    while True:
        number, skip = divmod(position, PAGE_SIZE)
        page, has_more = _page(provider, query, number, rating, user)
        taken = page[skip:skip + limit - len(items)]
        items += taken
        if skip + len(taken) < len(page):  # full, and this page has more
            position, more = position + len(taken), True
            break
        # A provider page may hold fewer than PAGE_SIZE usable results (ads, broken
        # items): the next position is the start of the next page either way.
        position, more = (number + 1) * PAGE_SIZE, has_more
        if not more or len(items) >= limit:
            break
    rest = more and position < MAX_OFFSET
    return GIF_PAGE.dump({"provider": provider.name, "items": items,
                          "next_cursor": cursor_serializer().dumps(["gif", position])
                          if rest else None})


def search(user: dict[str, Any], query: str, limit: int, cursor: str | None
           ) -> dict[str, Any]:
    return _list(user, query.strip(), limit, cursor)


def featured(user: dict[str, Any], limit: int, cursor: str | None) -> dict[str, Any]:
    return _list(user, None, limit, cursor)


def media_hosts() -> set[str]:
    hosts = current_app.config["GIF_MEDIA_HOSTS"]
    if hosts:
        return {host.lower() for host in hosts}
    provider = configured(current_app.config)
    return set(provider.media_hosts) if provider else set()


def _media_url(url: Any, hosts: set[str]) -> bool:
    """Whether `url` is https on exactly one of `hosts` (no userinfo, no port, no
    trailing dot or lookalike host)."""
    if not isinstance(url, str) or len(url) > MAX_GIF_URL \
            or any(c in url for c in "\\\0\t\r\n "):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and "@" not in parts.netloc and port is None \
        and parts.netloc.lower() == host and host in hosts


def _checked_url(url: Any, field: str) -> str:
    """`url` when it is on the provider's media hosts; ValidationFailed otherwise."""
    if not _media_url(url, media_hosts()):
        raise ValidationFailed(details={field: ["Not a GIF URL of the configured provider."]})
    return url


def gif_attachment(url: str, width: int | None = None, height: int | None = None,
                   thumbnail_url: str | None = None) -> dict[str, Any]:
    """The attachment a message carries for a GIF picked from the provider
    (`{"type": "gif", "url": ...}` in a send); ValidationFailed on a URL that is not
    the provider's."""
    url = _checked_url(url, "url")
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "gif"
    attachment: dict[str, Any] = {"type": "gif", "name": name[:200], "content_type": "image/gif",
                                  "url": url, "provider": _provider_name()}
    for key, value in (("width", width), ("height", height)):
        if isinstance(value, int) and 0 < value <= MAX_GIF_SIDE:
            attachment[key] = value
    if thumbnail_url is not None:
        attachment["thumbnail_url"] = _checked_url(thumbnail_url, "thumbnail_url")
    return attachment


def _provider_name() -> str:
    provider = configured(current_app.config)
    return provider.name if provider else current_app.config["GIF_PROVIDER"] or "gif"
