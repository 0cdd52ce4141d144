"""Text helpers shared by topics, posts and search: accent folding, search terms, slugs,
and markdown rendered to sanitised HTML.

SecantusDB has no text indexes, so searchable documents store `search_terms`: the distinct
normalised words of their text (case folded, accents removed), under a multikey index.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markupsafe import escape

WORD = re.compile(r"\w+")
# Bounds on what a document stores, so a 40,000-character body stays a small index entry.
MAX_TERM_LENGTH = 40
MAX_TERMS = 400
MAX_QUERY_TERMS = 8

# `html=False`: raw HTML in the markdown is shown as text, never passed through.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("strikethrough")
ALLOWED_TAGS = {"p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
                "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6", "img"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"},
                      "ol": {"start"}}


def fold(text: str) -> str:
    """Lower case without accents: "Crème Brûlée" -> "creme brulee"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The folded words of `text` in order, duplicates kept."""
    return [w for w in WORD.findall(fold(text)) if len(w) <= MAX_TERM_LENGTH]


def search_terms(*texts: str) -> list[str]:
    """The distinct words of all `texts`, first occurrences first, at most MAX_TERMS."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text or ""):
            seen.setdefault(word, None)
            if len(seen) >= MAX_TERMS:
                return list(seen)
    return list(seen)


def query_terms(query: str) -> tuple[list[str], str | None]:
    """(whole words, prefix): the last word of a query is matched as a prefix, so results
    appear while someone is still typing it; a query ending in a space has no prefix."""
    terms = words(query)[:MAX_QUERY_TERMS]
    if not terms:
        return [], None
    if query.rstrip() != query:
        return list(dict.fromkeys(terms)), None
    return list(dict.fromkeys(terms[:-1])), terms[-1]


def slugify(text: str, max_length: int = 60) -> str:
    """URL-safe ASCII: "Café Society!" -> "cafe-society"; empty titles give "topic"."""
    ascii_text = fold(text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:max_length].strip("-")
    return slug or "topic"


def render_markdown(text: str) -> str:
    """Markdown to HTML that is safe to insert into a page: rendered without raw HTML, then
    cleaned with nh3 (an allow-list; links get rel="noopener noreferrer nofollow")."""
    return nh3.clean(_markdown.render(text or ""), tags=ALLOWED_TAGS,
                     attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow")


def stored_html(document: dict[str, Any]) -> str:
    """A post's or comment's `body_html`, rendered when its body was written. Documents
    written before `body_html` was stored are rendered on read (no migration rewrites
    them); the next edit stores it."""
    html = document.get("body_html")
    return render_markdown(document["body"]) if html is None else html


# Controls that could hide or reorder text: C0/C1 controls (bar newline and tab) and the
# bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain_text(text: str) -> str:
    """Text that is shown as text: line ends made `\n`, hidden controls dropped, trimmed."""
    return _HIDDEN.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def plain_text_html(text: str) -> str:
    """`text` as HTML that shows exactly those characters: escaped, never markup or
    markdown; line breaks become `<br>`."""
    return str(escape(text)).replace("\n", "<br>\n")
