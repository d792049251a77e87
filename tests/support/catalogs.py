"""A message catalog written for one test, to show that a page's words go through gettext."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask import Flask


def use_catalog(flask_app: Flask, directory: Path, locale: str, messages: dict[str, str]) -> None:
    """Compile ``messages`` (English -> ``locale``) under ``directory`` and make it the app's
    only translation directory. Call before the app first translates into ``locale``: each
    app keeps its own catalog cache."""
    catalog = Catalog(locale=locale)
    for english, translated in messages.items():
        catalog.add(english, translated)
    target = directory / locale / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with (target / "messages.mo").open("wb") as mo_file:
        write_mo(mo_file, catalog)
    flask_app.extensions["babel"].translation_directories = [str(directory)]
