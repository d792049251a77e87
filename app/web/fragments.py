"""Parts of pages that are the same for every visitor reading a language, rendered once.

The code page is rendered after every submission; most of it is advice that depends only on
the language. :func:`rendered_once` renders such a fragment the first time a process needs it
in a language and reuses the HTML after that (templates change only with a restart).
"""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import get_locale
from markupsafe import Markup

_rendered: dict[tuple[str, str], Markup] = {}


def rendered_once(template: str) -> Markup:
    """``template`` rendered in the page's language, from memory after the first time.

    The template may use nothing but the language and static URLs: no form, token, request
    argument or anything about the visitor, or one visitor's page would show it to the next.
    """
    key = (template, str(get_locale()))
    fragment = _rendered.get(key)
    if fragment is None:  # two threads may both render it: the same HTML either way
        fragment = _rendered[key] = Markup(render_template(template))  # noqa: S704 - our template's output
    return fragment


def register_fragment_helpers(flask_app: Flask) -> None:
    flask_app.add_template_global(rendered_once)
