"""Link previews: the first LINK_PREVIEW_MAX_URLS http(s) URLs of a text, fetched side by
side (one deadline for them all) through utils.safe_fetch (the SSRF rules) and read by
services.media.link_meta, cached per URL.

The jobs that attach previews to a message or a post live beside their areas
(services/chat/chat_previews.py, services/forum/posts_service.py); they call `refresh` after the
write that may have added links, and emit `message_updated` / `post_updated` when the
stored previews changed. Images are linked, never fetched or proxied by the server.
"""
from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from flask import current_app
from redis.exceptions import RedisError

from models.mixins import LinkPreviewed
from services.media import link_meta
from utils import safe_fetch
from utils.cache import get_cache

log = logging.getLogger(__name__)

CACHE_NAMESPACE = "link_preview"
# Plain text (markdown included): a URL runs to the next space or bracket-like delimiter.
URL_PATTERN = re.compile(r"(?i)\bhttps?://[^\s<>\"'`]+")
TRAILING = ".,;:!?'\"*_~"
# Failures are remembered for a shorter time than previews: a page may come back.
FAILURE_CACHE_SECONDS = 300


def urls_in(text: str, limit: int) -> list[str]:
    """The first `limit` distinct URLs of `text`, in order, without trailing punctuation
    (and without a closing bracket the URL did not open)."""
    found: list[str] = []
    for match in URL_PATTERN.finditer(text or ""):
        url = match.group(0)
        while url and (url[-1] in TRAILING
                       or (url[-1] in ")]}" and url.count(url[-1]) > url.count(
                           {")": "(", "]": "[", "}": "{"}[url[-1]]))):
            url = url[:-1]
        if len(url) <= safe_fetch.MAX_URL_LENGTH and url not in found:
            found.append(url)
        if len(found) >= limit:
            break
    return found


def policy() -> safe_fetch.Policy:
    config = current_app.config
    return safe_fetch.Policy(max_bytes=config["LINK_PREVIEW_MAX_BYTES"],
                             timeout=config["LINK_PREVIEW_TIMEOUT_SECONDS"],
                             max_redirects=config["LINK_PREVIEW_MAX_REDIRECTS"],
                             allow_loopback=config["LINK_PREVIEW_ALLOW_LOOPBACK"])


def fetch_preview(url: str, rules: safe_fetch.Policy) -> dict[str, Any] | None:
    """The preview of one URL, fetched now (no cache, no app context); None when refused
    or unusable."""
    try:
        page = safe_fetch.fetch(url, rules)
    except safe_fetch.UnsafeURL as exc:
        log.info("link preview refused for %s: %s", url, exc)
        return None
    except safe_fetch.FetchFailed as exc:
        log.info("link preview failed for %s: %s", url, exc)
        return None
    parsed = link_meta.parse_page(page.body, page.content_type, page.url)
    return None if parsed is None else {**parsed, "url": url}


def fetch_all(urls: list[str], rules: safe_fetch.Policy, seconds: float
              ) -> dict[str, dict[str, Any] | None]:
    """The previews of `urls`, fetched side by side and all given up `seconds` from now
    (a page that never answers costs one deadline per job, not one timeout per link;
    a name that takes long to resolve is left behind on its thread, which ends alone)."""
    if not urls:
        return {}
    rules = replace(rules, timeout=min(rules.timeout, seconds))
    pool = ThreadPoolExecutor(max_workers=len(urls), thread_name_prefix="link-preview")
    futures = {pool.submit(fetch_preview, url, rules): url for url in urls}
    done, late = wait(futures, timeout=seconds)
    pool.shutdown(wait=False, cancel_futures=True)
    for future in late:
        log.info("link preview given up at the job's deadline: %s", futures[future])
    return {url: future.result() if future in done else None
            for future, url in futures.items()}


def previews_for(text: str) -> list[dict[str, Any]]:
    """The previews of the text's first URLs, in order: each from the cache (Redis;
    skipped while Redis is down) or fetched now, the fetches side by side within one
    LINK_PREVIEW_JOB_DEADLINE_SECONDS. A failure is cached too, for a shorter time."""
    config = current_app.config
    cache = get_cache()
    keys = {url: hashlib.sha256(url.encode()).hexdigest()
            for url in urls_in(text, config["LINK_PREVIEW_MAX_URLS"])}
    found: dict[str, dict[str, Any] | None] = {}
    for url, key in keys.items():
        cached = cache.get(CACHE_NAMESPACE, key)
        if cached is not None:
            found[url] = cached.get("preview")
    fetched = fetch_all([url for url in keys if url not in found], policy(),
                        config["LINK_PREVIEW_JOB_DEADLINE_SECONDS"])
    for url, preview in fetched.items():
        ttl = config["LINK_PREVIEW_CACHE_SECONDS"] if preview else FAILURE_CACHE_SECONDS
        cache.set(CACHE_NAMESPACE, keys[url], {"preview": preview}, ttl=ttl)
    found.update(fetched)
    return [found[url] for url in keys if found[url] is not None]


def wanted(body: str, before: dict[str, Any] | None = None) -> bool:
    """Whether a write of `body` needs the preview job: it names a URL, or an edit took
    away links whose previews are stored."""
    if not current_app.config["LINK_PREVIEWS_ENABLED"]:
        return False
    return bool(urls_in(body, 1)) or bool(before and before.get("previews"))


def queue(job: Any, document_id: Any) -> None:
    """Queue the preview job of a document just written. The write succeeded and was
    announced; a queue outage costs the previews, never the write's answer."""
    try:
        job.enqueue(str(document_id))
    except (RedisError, sqlite3.Error) as exc:
        log.warning("link previews of %s not queued: %s", document_id, exc)


def refresh(model: LinkPreviewed, document_id: str) -> dict[str, Any] | None:
    """Store the previews of the document's current body (`model`: Post() or Message());
    the updated document when they changed, else None. An edit or a deletion meanwhile
    wins: the update applies only to the body the previews were made from, on a
    document not deleted."""
    document = model.find_by_id(document_id)
    if document is None or document.get("deleted"):
        return None
    found = previews_for(document["body"])
    if found == (document.get("previews") or []):
        return None
    return model.set_previews(document["_id"], document["body"], found)
