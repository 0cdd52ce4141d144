"""GIF providers behind one interface: a provider serves fixed pages of PAGE_SIZE results
(page 0, 1, ...) of a search or of its featured list, normalised to
`{id, title, provider, preview: {url, width, height}, full: {url, width, height}}`
(services/platform/shapes/gifs.py). services/media/gifs.py slices pages into the API's own pages.

- GIPHY: `GET {GIPHY_BASE_URL}/v1/gifs/search` and `/v1/gifs/trending`, `api_key`,
  `limit`/`offset` (offset at most 4999), `rating`; `{data: [...], pagination:
  {total_count, count, offset}, meta}`; renditions in `images` (sizes as strings).
- KLIPY: `GET {KLIPY_BASE_URL}/api/v1/{KLIPY_API_KEY}/gifs/search` and `/gifs/trending`,
  `page` (from 1)/`per_page` (8-50), `rating`, `customer_id`; `{result: true, data:
  {data: [...], current_page, per_page, has_next}}`; renditions in `file.{hd,md,sm,xs}.gif`
  ({url, width, height, size}); ad slots (`type: "ad"`) are skipped.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import urllib3

from utils.process_clients import shared_client

PAGE_SIZE = 50
GIPHY_MAX_OFFSET = 4999


class ProviderFailed(Exception):
    """The provider did not answer usefully (network, timeout, status, shape)."""


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    has_more: bool


def _http() -> urllib3.PoolManager:
    return shared_client("gif-http", (), lambda: urllib3.PoolManager(num_pools=4, maxsize=8,
                                                                     retries=False))


def _get_json(url: str, timeout: float) -> Any:
    try:
        response = _http().request("GET", url, timeout=urllib3.Timeout(total=timeout),
                                   retries=False, redirect=False,
                                   headers={"Accept": "application/json"})
    except urllib3.exceptions.HTTPError as exc:
        raise ProviderFailed(f"unreachable: {type(exc).__name__}") from exc
    if response.status != 200:
        raise ProviderFailed(f"answered {response.status}")
    try:
        return json.loads(response.data)
    except ValueError as exc:
        raise ProviderFailed("answered something that is not JSON") from exc


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _media(rendition: Any) -> dict[str, Any] | None:
    if not isinstance(rendition, dict) or not isinstance(rendition.get("url"), str):
        return None
    return {"url": rendition["url"], "width": _int(rendition.get("width")),
            "height": _int(rendition.get("height"))}


def _first(*renditions: Any) -> dict[str, Any] | None:
    return next((m for m in map(_media, renditions) if m is not None), None)


@dataclass(frozen=True)
class Giphy:
    api_key: str
    base_url: str
    timeout: float
    name: str = "giphy"
    media_hosts: tuple[str, ...] = ("media.giphy.com", "i.giphy.com",
                                    *(f"media{n}.giphy.com" for n in range(5)))

    def page(self, query: str | None, number: int, rating: str, customer: str) -> Page:
        offset = number * PAGE_SIZE
        if offset > GIPHY_MAX_OFFSET:
            return Page([], False)
        # No `random_id`: GIPHY accepts only ids made by its own /v1/randomid endpoint.
        params = {"api_key": self.api_key, "limit": PAGE_SIZE, "offset": offset,
                  "rating": rating}
        endpoint = "trending" if query is None else "search"
        if query is not None:
            params.update(q=query, lang="en")
        body = _get_json(f"{self.base_url.rstrip('/')}/v1/gifs/{endpoint}?{urlencode(params)}",
                         self.timeout)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ProviderFailed("answered an unexpected shape")
        pagination = body.get("pagination") or {}
        count, total = _int(pagination.get("count")), _int(pagination.get("total_count"))
        items = [item for item in map(self._item, body["data"]) if item is not None]
        seen = offset + (count if count is not None else len(body["data"]))
        has_more = bool(body["data"]) and total is not None and seen < total \
            and offset + PAGE_SIZE <= GIPHY_MAX_OFFSET
        return Page(items, has_more)

    def _item(self, data: Any) -> dict[str, Any] | None:
        images = data.get("images") if isinstance(data, dict) else None
        if not isinstance(images, dict) or not isinstance(data.get("id"), str):
            return None
        full = _first(images.get("original"), images.get("downsized"))
        preview = _first(images.get("fixed_width"), images.get("fixed_height"),
                         images.get("preview_gif"), images.get("original"))
        if full is None or preview is None:
            return None
        return {"id": data["id"], "title": str(data.get("title") or ""), "provider": self.name,
                "preview": preview, "full": full}


@dataclass(frozen=True)
class Klipy:
    api_key: str
    base_url: str
    timeout: float
    name: str = "klipy"
    media_hosts: tuple[str, ...] = ("static.klipy.com",)

    def page(self, query: str | None, number: int, rating: str, customer: str) -> Page:
        params: dict[str, Any] = {"page": number + 1, "per_page": PAGE_SIZE, "rating": rating,
                                  "customer_id": customer}
        endpoint = "trending" if query is None else "search"
        if query is not None:
            params["q"] = query
        url = (f"{self.base_url.rstrip('/')}/api/v1/{quote(self.api_key, safe='')}"
               f"/gifs/{endpoint}?{urlencode(params)}")
        body = _get_json(url, self.timeout)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or body.get("result") is not True \
                or not isinstance(data.get("data"), list):
            raise ProviderFailed("answered an unexpected shape")
        items = [item for item in map(self._item, data["data"]) if item is not None]
        return Page(items, bool(data.get("has_next")) and bool(data["data"]))

    def _item(self, data: Any) -> dict[str, Any] | None:
        if not isinstance(data, dict) or data.get("type", "gif") != "gif":
            return None
        files = data.get("file")
        if not isinstance(files, dict) or data.get("id") is None:
            return None

        def gif(size: str) -> Any:
            rendition = files.get(size)
            return rendition.get("gif") if isinstance(rendition, dict) else None

        full = _first(gif("hd"), gif("md"), gif("sm"))
        preview = _first(gif("sm"), gif("xs"), gif("md"), gif("hd"))
        if full is None or preview is None:
            return None
        return {"id": str(data.get("slug") or data["id"]), "title": str(data.get("title") or ""),
                "provider": self.name, "preview": preview, "full": full}


PROVIDERS = {"giphy": Giphy, "klipy": Klipy}
KEYS = {"giphy": ("GIPHY_API_KEY", "GIPHY_BASE_URL"), "klipy": ("KLIPY_API_KEY",
                                                                "KLIPY_BASE_URL")}


def configured(config: Any) -> Giphy | Klipy | None:
    """The provider GIF_PROVIDER names, when its key is set; None otherwise."""
    name = config["GIF_PROVIDER"]
    if name not in PROVIDERS:
        return None
    key_setting, url_setting = KEYS[name]
    if not config[key_setting]:
        return None
    return PROVIDERS[name](config[key_setting], config[url_setting],
                           config["GIF_TIMEOUT_SECONDS"])
