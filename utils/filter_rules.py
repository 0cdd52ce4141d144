"""The content filter's rules engine: banned words and patterns, each with an action, and
a link limit for new accounts, compiled into a `CompiledFilter` that checks and masks text.
The site's configuration (stored, versioned, cached per app) and `apply` are in
services.platform.content_filter, which services call before they store text.

Matching happens on a normalized copy of the text, so that evasions still match:
case (casefold), accents and look-alike forms (NFKD without combining marks), zero-width
and other invisible characters (dropped), common digit/symbol substitutions (`h4te`),
one repeated separator between letters (`h.a.t.e`) and repeated letters (`haaate`). Each
normalized character remembers the span of the original text it came from, so `mask`
stars exactly the original characters, invisible ones included.

A banned word `ass` becomes the pattern `a+s{2,}` or, with one separator character `.`
between the letters, `a+[.]s([.]s)*`: repeats may grow, never shrink, so `as` is not a match
(collapsing repeats on both sides would have made it one). Words only match whole (not
inside `class`).

No text may stall a worker. Our own patterns (banned words, links) never let two
quantifiers compete for the same characters, so they match in linear time. An admin's
`pattern` rule runs with the `regex` package's timeout, all rules of one text sharing
CONTENT_FILTER_TIMEOUT_SECONDS (a text that cannot be checked in time is refused), and is
tried on long probe texts when it is saved (refused there if it is slow).
"""
from __future__ import annotations

import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import regex

from utils import clock
from utils.errors import ContentRejected

log = logging.getLogger(__name__)

ACTIONS = ("reject", "mask")
KINDS = ("word", "pattern")
FIELDS = ("username", "display_name", "bio", "topic_title", "topic_description", "post_title",
          "post_body", "comment", "message", "room_title", "room_description")
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
SEPARATOR = "[^a-z0-9]"
GAP = "[^a-z0-9]*"  # what a space in a banned phrase matches
# A bare domain may start only where a dotted name starts: without the two lookbehinds
# every label of `a.a.a.a...` began an attempt that scanned to the end (quadratic: 20,000
# labels took 23 seconds).
LINK = re.compile(
    r"(?i)\b(?:https?://|www\.)\S+"
    r"|(?<![a-z0-9-])(?<![a-z0-9-]\.)\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\."
    r"(?:com|net|org|io|co|ru|xyz|info|biz|me|ly|gg|app|dev|link|click)\b(?:/\S*)?")
# An admin's pattern is tried on these (and on runs of its own letters) when it is saved.
PROBE_LENGTH = 4000


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
    """The regex a banned word compiles to (see the module docstring): its letters written
    together, or apart with one separator character, the same one each time."""
    normalized, _ = normalize(word.strip())
    runs: list[tuple[str, int]] = []
    for char in normalized:
        if runs and runs[-1][0] == char:
            runs[-1] = (char, runs[-1][1] + 1)
        else:
            runs.append((char, 1))
    together = "".join(GAP if char.isspace() else f"{re.escape(char)}{{{count},}}"
                       for char, count in runs)
    return rf"(?<![a-z0-9])(?:{together}|{_apart(runs)})(?![a-z0-9])"


def _apart(runs: list[tuple[str, int]]) -> str:
    """`h.a.t.e`, `a.s.s`, `a.ss.s`: after the first separator only the same one, so the
    pattern stays deterministic (no two ways to match the same characters)."""
    parts: list[str] = []

    def separator() -> str:
        defined = any("(?P<sep>" in part for part in parts)
        return "(?P=sep)" if defined else f"(?P<sep>{SEPARATOR})"

    for char, count in runs:
        if char.isspace():
            parts.append(GAP)
            continue
        escaped = re.escape(char)
        if parts and parts[-1] != GAP:
            parts.append(separator())
        parts.append(escaped + "+")
        if count > 1:
            # Each extra letter of a run comes after the separator (`a.s.s`).
            parts.append(f"{separator()}{escaped}(?:(?P=sep){escaped}){{{count - 2},}}")
    return "".join(parts)


def _probes(source: str) -> list[str]:
    """Long texts a slow pattern chokes on: runs of its own letters, with and without a
    separator, and an ending that makes a match fail late."""
    letters = sorted({char for char in source.casefold() if char.isalnum()})[:6] or ["a"]
    probes = ["".join(letters) * (PROBE_LENGTH // len(letters)) + "!"]
    for char in [*letters, "1"]:
        probes += [char * PROBE_LENGTH + "!", (char + ".") * (PROBE_LENGTH // 2),
                   (char + " ") * (PROBE_LENGTH // 2) + "!"]
    return probes


class _Budget:
    """The time admins' patterns may still spend on one text. Our own patterns are `re`
    patterns, linear by construction, and run outside it (the `regex` package was
    quadratic on the link pattern, `re` is not)."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def find(self, pattern: Any, text: str) -> list[Any]:
        """Every match; TimeoutError once the budget is spent."""
        if isinstance(pattern, re.Pattern):
            return list(pattern.finditer(text))
        if self.left <= 0:
            raise TimeoutError("content filter time budget spent")
        started = time.monotonic()
        try:
            return list(pattern.finditer(text, timeout=self.left))
        finally:
            self.left -= time.monotonic() - started


@dataclass
class Rule:
    kind: str
    value: str
    action: str
    pattern: Any = field(repr=False, default=None)  # re.Pattern (words) or regex.Pattern

    @classmethod
    def build(cls, raw: dict[str, Any]) -> Rule:
        try:
            if raw["kind"] == "word":
                pattern: Any = re.compile(word_pattern(raw["value"]), re.IGNORECASE)
            else:
                pattern = regex.compile(raw["value"], regex.IGNORECASE | regex.VERSION0)
        except (re.error, regex.error, OverflowError, RecursionError) as exc:
            raise ContentFilterError(f"{raw['value']!r} is not a valid pattern: {exc}") from None
        return cls(raw["kind"], raw["value"], raw["action"], pattern)

    # A message's budget is wall-clock time (the `regex` timeout). Judged that way alone,
    # a pattern that takes microseconds was refused three times in a row at load average
    # 12-16 on two cores: the scheduler held the thread past the budget. So the probes
    # run under a few times the budget of wall time (a backtracking pattern misses that
    # too: it takes seconds to hours on them), and what they spent is judged in this
    # thread's CPU time, which waiting for a core does not add to.
    SPEED_ATTEMPTS = 2
    SPEED_MARGIN = 5

    def check_speed(self, seconds: float) -> None:
        """ContentFilterError when the pattern cannot get through the probe texts."""
        # Normalized once, outside the timed part: that is our Python, several times
        # slower under a tracer (coverage) or a profiler than the pattern.
        probes = [normalize(probe)[0] for probe in _probes(self.value)]
        for _attempt in range(self.SPEED_ATTEMPTS):
            if self._fits(probes, seconds):
                return
        raise ContentFilterError(
                f"{self.value!r} is too slow on long text (it backtracks); simplify it, "
                "for example without nested or adjacent repeats like (a+)+ or a+a+.")

    def _fits(self, probes: list[str], seconds: float) -> bool:
        """Only the pattern's own runs are timed."""
        budget = _Budget(seconds * self.SPEED_MARGIN)
        spent_before = time.thread_time()
        try:
            for probe in probes:
                budget.find(self.pattern, probe)
        except TimeoutError:
            return False
        return time.thread_time() - spent_before <= seconds


@dataclass
class CompiledFilter:
    version: int
    rules: list[Rule]
    new_account_link_limit: int
    new_account_hours: int
    timeout_seconds: float = 0.1

    def matches(self, text: str) -> list[tuple[Rule, int, int]]:
        """(rule, start, end) in `text` coordinates for every match; TimeoutError when
        the admins' patterns need more than `timeout_seconds`."""
        normalized, spans = normalize(text)
        budget = _Budget(self.timeout_seconds)
        found = []
        for rule in self.rules:
            for match in budget.find(rule.pattern, normalized):
                if match.end() > match.start():
                    found.append((rule, spans[match.start()][0], spans[match.end() - 1][1]))
        return found

    def apply(self, text: str, field_name: str, author: dict[str, Any] | None) -> str:
        try:
            found = self.matches(text)
        except TimeoutError:
            # Refused, not let through: a text built to outrun the filter must not pass it.
            log.warning("content filter (version %s) ran out of time on a %s of %d characters",
                        self.version, field_name, len(text))
            raise ContentRejected("This text could not be checked; shorten or simplify it.",
                                  {field_name: ["could not be checked in time"]}) from None
        if any(rule.action == "reject" or field_name in UNMASKABLE for rule, _, _ in found):
            raise ContentRejected("This text contains words or patterns that are not allowed.",
                                  {field_name: ["contains banned content"]})
        self._check_links(text, field_name, author)
        return mask(text, [(start, end) for _, start, end in found])

    def _check_links(self, text: str, field_name: str, author: dict[str, Any] | None) -> None:
        if author is None or self.new_account_link_limit < 0:
            return
        # A trust level set by staff (services/accounts/trust.py) wins over the account's age; an
        # account someone answered is no longer new (services.accounts.trust.level).
        chosen, created = author.get("trust_level"), author.get("created_at")
        if chosen is not None:
            if chosen > 0:
                return
        elif (created is None or author.get("replied_to_at")
              or clock.now() - created >= timedelta(hours=self.new_account_hours)):
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
