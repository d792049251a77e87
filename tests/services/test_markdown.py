"""The desks' guidance Markdown: a small subset, and nothing executable gets through."""

from __future__ import annotations

import re

import pytest

from app.services.markdown import render_safe_markdown

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<div onmouseover="alert(1)">hover</div>',
    "<iframe src=https://evil.example></iframe>",
    "<style>body{display:none}</style>",
    "<svg/onload=alert(1)>",
    "[[inner](https://ok.example)](javascript:alert(1))",
    '[a](https://ok.example "title" onclick="alert(1)")',
    '[x]("onmouseover=alert(1))',
    '<https://ok.example/" onclick="alert(1)>',
    "<!-- <script>alert(1)</script> -->",
    "**bold <b onclick=alert(1)>x</b>**",
    "[x](/staff/login)",
]
DANGEROUS = re.compile(
    r"<\s*(script|img|iframe|style|svg|div|b\b)|\son\w+\s*=|javascript:|vbscript:|data:",
    re.IGNORECASE,
)


def tags_and_attributes(html: str) -> list[str]:
    return re.findall(r"<[^>]+>", html)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payloads_come_out_as_inert_text(payload: str) -> None:
    html = render_safe_markdown(payload)
    for tag in tags_and_attributes(html):
        assert not DANGEROUS.search(tag), (payload, html)
        name = re.match(r"</?\s*([a-z0-9]+)", tag)
        assert name and name.group(1) in {
            "p",
            "br",
            "em",
            "strong",
            "ul",
            "ol",
            "li",
            "a",
            "h3",
            "h4",
        }
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.lower().startswith(("https://", "http://", "mailto:")), (payload, html)


def test_the_subset_renders_what_desks_need() -> None:
    html = render_safe_markdown(
        "# Stay safe\n\n**Do not** buy anything.\n\n- one\n- two\n\n[Guide](https://guide.example/a?b=1&c=2)"
    )
    assert "<h3>Stay safe</h3>" in html
    assert "<strong>Do not</strong>" in html
    assert "<li>one</li>" in html
    assert (
        '<a rel="nofollow noopener noreferrer" href="https://guide.example/a?b=1&amp;c=2">Guide</a>'
        in html
    )
