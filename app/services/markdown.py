"""A small, safe subset of Markdown for what desks tell tipsters (their guidance text).

Paragraphs, line breaks, emphasis, lists, headings and links to http(s) or mailto addresses;
nothing else. markdown-it renders with raw HTML off and refuses ``javascript:``/``data:``
links; bleach then cleans the output against the same allow-list, so a parser bug alone cannot
let markup through. Headings are shifted down to h3–h4 so a desk cannot outrank the page.
"""

from __future__ import annotations

import re

import bleach
from markdown_it import MarkdownIt

MAX_MARKDOWN_CHARS = 10_000
ALLOWED_TAGS = frozenset({"p", "br", "em", "strong", "ul", "ol", "li", "a", "h3", "h4"})
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
ABSOLUTE_LINK = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
_HEADING = re.compile(r"<(/?)h[1-6]>")

_renderer = MarkdownIt("zero", {"html": False, "linkify": False, "typographer": False}).enable(
    ["emphasis", "link", "list", "heading", "newline", "autolink"]
)


def _heading_level(match: re.Match[str]) -> str:
    return f"<{match.group(1)}h3>"


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    # Only absolute links: a relative one would point into the tip line itself.
    return tag == "a" and name == "href" and bool(ABSOLUTE_LINK.match(value))


def render_safe_markdown(text: str) -> str:
    """HTML for the subset above; safe to mark as safe in a template."""
    html = _HEADING.sub(_heading_level, _renderer.render(text[:MAX_MARKDOWN_CHARS]))
    cleaned = bleach.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=_allowed_attribute,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
    )
    # After cleaning, href is the only attribute a link can have.
    return cleaned.replace("<a href=", '<a rel="nofollow noopener noreferrer" href=')
