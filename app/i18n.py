"""Languages of the tipster-facing pages (docs/DOMAIN.md "Languages")."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel

from app import REPO_ROOT

SUPPORTED_LOCALES = ("en", "zh_Hans", "vi", "fr", "es", "pt", "ar", "id", "th", "sw")
RIGHT_TO_LEFT = frozenset({"ar"})


def select_locale() -> str:
    chosen = request.args.get("lang")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or "en"


def init_app(flask_app: Flask) -> None:
    flask_app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(REPO_ROOT / "translations")
    Babel(flask_app, locale_selector=select_locale)

    @flask_app.context_processor
    def language_context() -> dict[str, object]:
        locale = select_locale()
        return {
            "page_lang": locale.replace("_", "-"),
            "page_dir": "rtl" if locale in RIGHT_TO_LEFT else "ltr",
        }
