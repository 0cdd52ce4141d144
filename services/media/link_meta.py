"""What a page says about itself: OpenGraph, Twitter card and plain meta tags, and its
<title>, read with the standard library's HTML parser (never a regex over HTML)."""
from __future__ import annotations

import codecs
from email.message import Message as HeaderParser
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

HTML_TYPES = {"text/html", "application/xhtml+xml"}
LIMITS = {"title": 300, "description": 1000, "site_name": 200}
MAX_IMAGE_URL = 2048


class _MetaParser(HTMLParser):
    """Collects <meta> name/property -> content and the first <title> text; stops at
    <body> (everything a preview needs is in the head)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title_parts: list[str] = []
        self.charset: str | None = None
        self._in_title = False
        self._title_done = False
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "body":
            self.done = True
        elif tag == "meta":
            self._meta(dict(attrs))
        elif tag == "title" and not self._title_done:
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title, self._title_done = False, True
        elif tag == "head":
            self.done = True

    def handle_data(self, data: str) -> None:
        if self._in_title and not self.done:
            self.title_parts.append(data)

    def _meta(self, attrs: dict[str, str | None]) -> None:
        if attrs.get("charset"):
            self.charset = attrs["charset"]
        key = (attrs.get("property") or attrs.get("name") or "").strip().lower()
        content = attrs.get("content")
        if key and content is not None and key not in self.meta:
            self.meta[key] = content


def _clean(text: str | None, limit: int) -> str | None:
    if not text:
        return None
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def _image(meta: dict[str, str], base_url: str) -> str | None:
    for key in ("og:image:secure_url", "og:image", "og:image:url", "twitter:image",
                "twitter:image:src"):
        raw = (meta.get(key) or "").strip()
        if not raw:
            continue
        url = urljoin(base_url, raw)
        if urlsplit(url).scheme in ("http", "https") and len(url) <= MAX_IMAGE_URL:
            return url
    return None


def _media_type(content_type: str) -> tuple[str, str | None]:
    header = HeaderParser()
    header["Content-Type"] = content_type or "application/octet-stream"
    return header.get_content_type(), header.get_param("charset")


def parse_page(body: bytes, content_type: str, url: str) -> dict[str, Any] | None:
    """{url, title, description, image, site_name}, or None when the page is not HTML or
    names neither a title nor a description."""
    media_type, charset = _media_type(content_type)
    if media_type not in HTML_TYPES:
        return None
    text = body.decode(charset if _known(charset) else "utf-8", errors="replace")
    parser = _MetaParser()
    parser.feed(text)
    declared = parser.charset
    if not _known(charset) and _known(declared) and codecs.lookup(declared).name != "utf-8":
        # No charset from the server: the page's own <meta charset> decides.
        parser = _MetaParser()
        parser.feed(body.decode(declared, errors="replace"))
    meta = parser.meta
    title = _clean(meta.get("og:title") or meta.get("twitter:title")
                   or "".join(parser.title_parts), LIMITS["title"])
    description = _clean(meta.get("og:description") or meta.get("twitter:description")
                         or meta.get("description"), LIMITS["description"])
    if not title and not description:
        return None
    return {"url": url, "title": title, "description": description,
            "image": _image(meta, url),
            "site_name": _clean(meta.get("og:site_name"), LIMITS["site_name"])}


def _known(charset: str | None) -> bool:
    if not charset:
        return False
    try:
        codecs.lookup(charset)
    except LookupError:
        return False
    return True
