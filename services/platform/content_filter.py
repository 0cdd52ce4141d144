"""The site's content filter: services call `apply(text, field, author)` before they store
text. The rules engine (normalization, matching, masking) is utils.filter_rules.

The configuration is a versioned document in `settings` (name `content_filter`). Each app
(one per process) keeps the compiled filter with its version and compares that version
with the one published in Redis (`rt:content_filter:version`; the database when Redis is
missing or down) at most every `CONTENT_FILTER_RECHECK_SECONDS`, so a change made on one
process applies on every other without a restart.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis.exceptions
from flask import Flask, current_app

from models.setting import Setting
from utils.errors import ValidationFailed
from utils.filter_rules import CompiledFilter, ContentFilterError, Rule
from utils.redis_client import get_redis

log = logging.getLogger(__name__)

SETTING_NAME = "content_filter"
VERSION_KEY = "rt:content_filter:version"


# Configuration: stored, compiled, cached per app, refreshed by version

def default_config() -> dict[str, Any]:
    return {"rules": [], "new_account_link_limit":
            current_app.config["CONTENT_FILTER_NEW_ACCOUNT_LINKS"]}


def compile_config(value: dict[str, Any], version: int) -> CompiledFilter:
    return CompiledFilter(version=version, rules=[Rule.build(raw) for raw in value["rules"]],
                          new_account_link_limit=int(value["new_account_link_limit"]),
                          new_account_hours=current_app.config["TRUST_NEW_ACCOUNT_HOURS"],
                          timeout_seconds=current_app.config["CONTENT_FILTER_TIMEOUT_SECONDS"])


def validate_config(value: dict[str, Any]) -> None:
    problems = {}
    for index, raw in enumerate(value["rules"]):
        try:
            rule = Rule.build(raw)
            if rule.kind == "pattern":
                rule.check_speed(current_app.config["CONTENT_FILTER_TIMEOUT_SECONDS"])
        except ContentFilterError as exc:
            problems[str(index)] = [str(exc)]
    if problems:
        raise ValidationFailed("A rule cannot be compiled.", {"rules": problems})


def load_config() -> dict[str, Any]:
    """{version, value, updated_at, updated_by} as stored (version 0: never set)."""
    stored = Setting().get_named(SETTING_NAME)
    if stored is None:
        return {"version": 0, "value": default_config(), "updated_at": None, "updated_by": None}
    return stored


def save_config(value: dict[str, Any], actor_id: Any, expected_version: int | None
                ) -> dict[str, Any]:
    validate_config(value)
    stored = Setting().put(SETTING_NAME, value, actor_id, expected_version)
    publish_version(stored["version"])
    return stored


# Set only upwards, so a slow writer cannot publish an older version over a newer one.
_PUBLISH = """
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""


def publish_version(version: int) -> None:
    client = get_redis()
    if client is None:
        return
    try:
        client.eval(_PUBLISH, 1, VERSION_KEY, version)
    except redis.exceptions.RedisError as exc:
        # Readers fall back to the database's version while Redis is unhappy.
        log.warning("content filter version not published: %s", exc)


def _current_version() -> int:
    client = get_redis()
    if client is not None:
        try:
            raw = client.get(VERSION_KEY)
            if raw is not None:
                return int(raw)
        except redis.exceptions.RedisError as exc:
            log.warning("content filter version read from the database: %s", exc)
    version = Setting().version_of(SETTING_NAME)
    if client is not None:
        # Redis was flushed or restarted: put the version back. Version 0 (never
        # configured) too, or every use would read the database; publishing only ever
        # raises the version, so a save racing with this is not undone.
        publish_version(version)
    return version


@dataclass
class _State:
    compiled: CompiledFilter | None = None
    checked_at: float = 0.0


def get_filter() -> CompiledFilter:
    state: _State = current_app.extensions["roundtable_content_filter"]
    recheck = current_app.config["CONTENT_FILTER_RECHECK_SECONDS"]
    now = time.monotonic()
    if state.compiled is not None and now - state.checked_at < recheck:
        return state.compiled
    version = _current_version()
    if state.compiled is None or state.compiled.version != version:
        stored = load_config()
        state.compiled = compile_config(stored["value"], int(stored["version"]))
    state.checked_at = now
    return state.compiled


def apply(text: str, field_name: str, author: dict[str, Any] | None) -> str:
    """`text` as it may be stored (masked where a `mask` rule matched), or raises
    ContentRejected (422 `content_rejected`) for a `reject` rule or too many links."""
    if not text:
        return text
    return get_filter().apply(text, field_name, author)


def init_app(app: Flask) -> None:
    app.extensions["roundtable_content_filter"] = _State()
