"""GIPHY and KLIPY as the test server answers them: the documented request parameters
and response shapes (GIPHY API v1 `gifs/search` / `gifs/trending`; KLIPY API v1
`/api/v1/{app_key}/gifs/search` / `trending`), over a small data set whose titles the
tests choose. Installed as default routes of tests/http_stub.py's server."""
from __future__ import annotations

from typing import Any

from tests.http_stub import Answer, Seen, StubServer

GIPHY_KEY = "test-giphy-key"
KLIPY_KEY = "test-klipy-key"


class GifData:
    def __init__(self) -> None:
        self.reset()

    def reset(self, count: int = 5) -> None:
        self.titles = [f"Cat dance {n}" for n in range(count)]

    def matching(self, query: str | None) -> list[tuple[int, str]]:
        return [(n, title) for n, title in enumerate(self.titles)
                if query is None or query.lower() in title.lower()]


DATA = GifData()


def _one(seen: Seen, name: str, default: str | None = None) -> str | None:
    values = seen.query.get(name)
    return values[0] if values else default


def _json(value: Any, status: int = 200) -> Answer:
    import json

    return Answer(status, json.dumps(value).encode(), {"Content-Type": "application/json"})


def _giphy_item(n: int, title: str) -> dict[str, Any]:
    gif_id = f"giphy{n:04d}"
    media = f"https://media{n % 5}.giphy.com/media/{gif_id}"
    return {
        "type": "gif", "id": gif_id, "url": f"https://giphy.com/gifs/cat-{gif_id}",
        "slug": f"cat-{gif_id}", "bitly_gif_url": f"https://gph.is/{gif_id}",
        "embed_url": f"https://giphy.com/embed/{gif_id}", "username": "", "source": "",
        "title": title, "rating": "g", "import_datetime": "2024-01-01 00:00:00",
        "images": {
            "original": {"height": "480", "width": "360", "size": "150000", "frames": "23",
                         "url": f"{media}/giphy.gif", "mp4": f"{media}/giphy.mp4",
                         "webp": f"{media}/giphy.webp"},
            "fixed_width": {"height": "267", "width": "200", "size": "32381",
                            "url": f"{media}/200w.gif", "mp4": f"{media}/200w.mp4",
                            "webp": f"{media}/200w.webp"},
            "preview_gif": {"height": "100", "width": "75", "size": "9000",
                            "url": f"{media}/giphy-preview.gif"},
        },
        "analytics_response_payload": f"e={gif_id}",
    }


def giphy(seen: Seen) -> Answer:
    if _one(seen, "api_key") != GIPHY_KEY:
        return _json({"data": [], "meta": {"status": 401, "msg": "Unauthorized",
                                           "response_id": ""}}, 401)
    query = _one(seen, "q") if seen.path.endswith("/search") else None
    limit, offset = int(_one(seen, "limit", "25")), int(_one(seen, "offset", "0"))
    found = DATA.matching(query)
    data = [_giphy_item(n, title) for n, title in found[offset:offset + limit]]
    return _json({"data": data,
                  "pagination": {"total_count": len(found), "count": len(data),
                                 "offset": offset},
                  "meta": {"status": 200, "msg": "OK", "response_id": "stub"}})


def _klipy_file(n: int, size: str, width: int, height: int) -> dict[str, Any]:
    base = f"https://static.klipy.com/ii/stub/{n}/{size}"
    return {kind: {"url": f"{base}.{kind}", "width": width, "height": height, "size": 1000}
            for kind in ("gif", "webp", "jpg", "mp4", "webm")}


def _klipy_item(n: int, title: str) -> dict[str, Any]:
    return {"id": 1000 + n, "slug": f"cat-dance-{n}", "title": title, "type": "gif",
            "tags": ["cat", "dance"], "blur_preview": "data:image/jpeg;base64,AAAA",
            "file": {"hd": _klipy_file(n, "hd", 498, 280), "md": _klipy_file(n, "md", 320, 180),
                     "sm": _klipy_file(n, "sm", 220, 124), "xs": _klipy_file(n, "xs", 90, 51)}}


def klipy(seen: Seen) -> Answer:
    query = _one(seen, "q") if seen.path.endswith("/search") else None
    per_page, page = int(_one(seen, "per_page", "24")), int(_one(seen, "page", "1"))
    found = DATA.matching(query)
    start = (page - 1) * per_page
    data: list[dict[str, Any]] = [_klipy_item(n, t) for n, t in found[start:start + per_page]]
    if data:  # KLIPY places ad slots among the results
        data.insert(1, {"type": "ad", "content": "<div>ad</div>", "width": 300, "height": 250})
    return _json({"result": True, "data": {"data": data, "current_page": page,
                                           "per_page": per_page,
                                           "has_next": start + per_page < len(found)}})


def install(server: StubServer) -> None:
    for path in ("/v1/gifs/search", "/v1/gifs/trending"):
        server.defaults[path] = giphy
    for path in (f"/api/v1/{KLIPY_KEY}/gifs/search", f"/api/v1/{KLIPY_KEY}/gifs/trending"):
        server.defaults[path] = klipy
    server.routes.update(server.defaults)


def settings(server: StubServer) -> dict[str, Any]:
    """The app settings that make GIPHY (the stub) the configured provider."""
    return {"GIF_PROVIDER": "giphy", "GIPHY_API_KEY": GIPHY_KEY, "GIPHY_BASE_URL": server.url,
            "KLIPY_API_KEY": KLIPY_KEY, "KLIPY_BASE_URL": server.url}
