"""The content filter: banned words and patterns, each with an action, and a link limit
for new accounts. Services call `apply(text, field, author)` before they store text.

Matching happens on a normalized copy of the text, so that evasions still match:
case (casefold), accents and look-alike forms (NFKD without combining marks), zero-width
and other invisible characters (dropped), common digit/symbol substitutions (`h4te`),
one repeated separator between letters (`h.a.t.e`) and repeated letters (`haaate`). Each
normalized character remembers the span of the original text it came from, so `mask`
stars exactly the original characters, invisible ones included.

A banned word `ass` becomes the pattern `a+[sep]?s{2,}`: repeats may grow, never shrink,
so `as` is not a match (collapsing repeats on both sides would have made it one). Words
only match whole (not inside `class`).

The configuration is a versioned document in `settings` (name `content_filter`). Each app
(one per process) keeps the compiled filter with its version and compares that version
with the one published in Redis (`rt:content_filter:version`; the database when Redis is
missing or down) at most every `CONTENT_FILTER_RECHECK_SECONDS`, so a change made on one
process applies on every other without a restart.
"""
from __future__ import annotations

import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import redis.exceptions
from flask import Flask, current_app

from models.setting import Setting
from utils import clock
from utils.errors import ContentRejected, ValidationFailed
from utils.redis_client import get_redis

log = logging.getLogger(__name__)

SETTING_NAME = "content_filter"
VERSION_KEY = "rt:content_filter:version"
ACTIONS = ("reject", "mask")
KINDS = ("word", "pattern")
FIELDS = ("username", "display_name", "topic_title", "topic_description", "post_title",
          "post_body", "comment", "message")
# Usernames cannot carry stars: a `mask` rule rejects them instead.
UNMASKABLE = {"username"}

# Invisible characters people insert between letters to dodge filters.
INVISIBLE = {"\u00ad", "\u034f", "\u061c", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u180e",
             "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\u2061", "\u2062",
             "\u2063", "\u2064", "\ufeff", "\u3164", "\uffa0"}
# Not "!" or "|": they end words too often ("hate!") and would hide the word boundary.
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a",
        "$": "s", "€": "e"}
# Cyrillic and Greek letters that look like Latin ones and survive NFKD unchanged
# (escaped so the source shows which is which).
CONFUSABLES = {"\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c",
               "\u0445": "x", "\u0443": "y", "\u0456": "i", "\u0455": "s", "\u0458": "j",
               "\u0131": "i", "\u03bf": "o", "\u03b1": "a", "\u03b5": "e", "\u03b9": "i",
               "\u03ba": "k", "\u03bd": "v", "\u03c4": "t", "\u03c5": "u"}
# One character of punctuation or space may sit between the letters of a banned word,
# the same one each time (`h.a.t.e`, `h a t e`), so `hat e-mail` stays innocent.
SEPARATOR = r"[^a-z0-9]?"
LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\."
                  r"(?:com|net|org|io|co|ru|xyz|info|biz|me|ly|gg|app|dev|link|click)\b(?:/\S*)?")


class ContentFilterError(ValueError):
    """A rule that cannot be compiled; the admin endpoint answers 400 with it."""


def normalize(text: str) -> tuple[str, list[tuple[int, int]]]:
    """(normalized text, span in `text` of each normalized character)."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    for index, char in enumerate(text):
        if char in INVISIBLE or unicodedata.category(char) == "Cf":
            continue
        for piece in unicodedata.normalize("NFKD", char):
            if unicodedata.combining(piece):
                continue
            for lowered in piece.casefold():
                mapped = LEET.get(lowered, CONFUSABLES.get(lowered, lowered))
                for mapped_char in mapped:
                    out.append(mapped_char)
                    spans.append((index, index + 1))
    return "".join(out), spans


def word_pattern(word: str) -> str:
    """The regex a banned word compiles to (see the module docstring)."""
    normalized, _ = normalize(word.strip())
    runs: list[tuple[str, int]] = []
    for char in normalized:
        if runs and runs[-1][0] == char:
            runs[-1] = (char, runs[-1][1] + 1)
        else:
            runs.append((char, 1))
    separators = iter([f"(?P<sep>{SEPARATOR})"] + ["(?P=sep)"] * len(normalized))
    parts: list[str] = []
    for char, count in runs:
        if char.isspace():
            parts.append(r"[^a-z0-9]*")
            continue
        escaped = re.escape(char)
        if parts and not parts[-1].endswith("*"):
            parts.append(next(separators))
        parts.append(escaped + "+")
        # Each extra letter of a run may be preceded by the separator too (`a.s.s`).
        for _ in range(count - 1):
            parts.append(f"(?:{next(separators)}{escaped})+")
    body = "".join(parts)
    return rf"(?<![a-z0-9]){body}(?![a-z0-9])"


@dataclass
class Rule:
    kind: str
    value: str
    action: str
    regex: re.Pattern[str] = field(repr=False, default=None)  # type: ignore[assignment]

    @classmethod
    def build(cls, raw: dict[str, Any]) -> Rule:
        source = word_pattern(raw["value"]) if raw["kind"] == "word" else raw["value"]
        try:
            regex = re.compile(source, re.IGNORECASE)
        except re.error as exc:
            raise ContentFilterError(f"{raw['value']!r} is not a valid pattern: {exc}") from None
        return cls(raw["kind"], raw["value"], raw["action"], regex)


@dataclass
class CompiledFilter:
    version: int
    rules: list[Rule]
    new_account_link_limit: int
    new_account_hours: int

    def matches(self, text: str) -> list[tuple[Rule, int, int]]:
        """(rule, start, end) in `text` coordinates for every match."""
        normalized, spans = normalize(text)
        found = []
        for rule in self.rules:
            for match in rule.regex.finditer(normalized):
                if match.end() > match.start():
                    found.append((rule, spans[match.start()][0], spans[match.end() - 1][1]))
        return found

    def apply(self, text: str, field_name: str, author: dict[str, Any] | None) -> str:
        found = self.matches(text)
        if any(rule.action == "reject" or field_name in UNMASKABLE for rule, _, _ in found):
            raise ContentRejected("This text contains words or patterns that are not allowed.",
                                  {field_name: ["contains banned content"]})
        self._check_links(text, field_name, author)
        return mask(text, [(start, end) for _, start, end in found])

    def _check_links(self, text: str, field_name: str, author: dict[str, Any] | None) -> None:
        if author is None or self.new_account_link_limit < 0:
            return
        created = author.get("created_at")
        if created is None or clock.now() - created >= timedelta(hours=self.new_account_hours):
            return
        if len(LINK.findall(text)) > self.new_account_link_limit:
            raise ContentRejected(
                f"New accounts may post at most {self.new_account_link_limit} links for "
                f"their first {self.new_account_hours} hours.",
                {field_name: ["too many links for a new account"]})


def mask(text: str, spans: list[tuple[int, int]]) -> str:
    """Star every visible character of the spans; invisible ones inside go away."""
    if not spans:
        return text
    hidden = [False] * len(text)
    for start, end in spans:
        for index in range(start, end):
            hidden[index] = True
    out = []
    for index, char in enumerate(text):
        if not hidden[index]:
            out.append(char)
        elif not (char in INVISIBLE or unicodedata.category(char) == "Cf"):
            out.append(char if char.isspace() else "*")
    return "".join(out)


# Configuration: stored, compiled, cached per app, refreshed by version

def default_config() -> dict[str, Any]:
    return {"rules": [], "new_account_link_limit":
            current_app.config["CONTENT_FILTER_NEW_ACCOUNT_LINKS"]}


def compile_config(value: dict[str, Any], version: int) -> CompiledFilter:
    return CompiledFilter(version=version, rules=[Rule.build(raw) for raw in value["rules"]],
                          new_account_link_limit=int(value["new_account_link_limit"]),
                          new_account_hours=current_app.config["CONTENT_FILTER_NEW_ACCOUNT_HOURS"])


def validate_config(value: dict[str, Any]) -> None:
    problems = {}
    for index, raw in enumerate(value["rules"]):
        try:
            Rule.build(raw)
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
