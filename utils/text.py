"""Text helpers shared by topics, posts and search: accent folding, search terms, slugs,
and markdown rendered to sanitised HTML.

SecantusDB has no text indexes, so searchable documents store `search_terms`: the distinct
normalised words of their text (case folded, accents removed), under a multikey index.
"""
from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options
from markupsafe import escape

WORD = re.compile(r"\w+")
# Bounds on what a document stores, so a 40,000-character body stays a small index entry.
MAX_TERM_LENGTH = 40
MAX_TERMS = 400
MAX_QUERY_TERMS = 8

# cmark-gfm (C, linear in the input and tested against pathological nesting) rather than
# a pure-Python parser, which spent up to 2.5 s on a 40,000-character body of `![`.
# Without CMARK_OPT_UNSAFE raw HTML is left out, never passed through; `~~` strikes.
_MARKDOWN_OPTIONS = Options.CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE
# Deeper markdown (quotes in quotes in quotes...) is shown as plain text.
MAX_NESTING = 32
TAG = re.compile(r"<(/?)[a-z][a-z0-9]*[^>]*?(/?)>")
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


def nesting_depth(rendered: str) -> int:
    """How deep the elements of cmark's output nest (its tags are balanced; text and
    attribute values have `<` and `>` escaped)."""
    depth = deepest = 0
    for match in TAG.finditer(rendered):
        if match.group(1):
            depth -= 1
        elif not match.group(2):
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def render_markdown(text: str) -> str:
    """Markdown (CommonMark and `~~strikethrough~~`) to HTML that is safe to insert into a
    page: rendered without raw HTML, then cleaned with nh3 (an allow-list; links get
    rel="noopener noreferrer nofollow")."""
    rendered = cmarkgfm.markdown_to_html_with_extensions(text or "", options=_MARKDOWN_OPTIONS,
                                                         extensions=["strikethrough"])
    if nesting_depth(rendered) > MAX_NESTING:
        # nh3's HTML parser is quadratic in the depth (40,000 nested quotes: a minute).
        rendered = f"<p>{html.escape(text)}</p>\n"
    return nh3.clean(rendered, tags=ALLOWED_TAGS,
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
