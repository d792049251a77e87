"""Tipline: the Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Flask is imported lazily: the offline CLI must run without it
    from flask import Flask

    from app.config import Config

REPO_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Config | None = None) -> Flask:
    """Build the app from a frozen config (read from ``TIPLINE_*`` variables when not given).

    :raises ConfigError: the environment's config is unusable (only when ``config`` is None).
    """
    from flask import Flask

    from app import context, i18n, security
    from app.config import Config
    from app.web import params, register_blueprints
    from app.web.errors import register_error_handlers
    from app.web.upload.no_spool_request import NoSpoolRequest

    config = config or Config.from_env()
    flask_app = Flask(
        __name__,
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(REPO_ROOT / "static"),
        static_url_path="/static",
    )
    flask_app.request_class = NoSpoolRequest
    flask_app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=None,  # the streaming intake enforces its own limit
        SESSION_COOKIE_NAME="tipline_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=config.tipster_session_idle_minutes * 60,
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead; forms can stay open long
        TESTING=config.env == "testing",
    )
    flask_app.extensions["tipline.config"] = config
    context.init_app(flask_app, config)
    security.init_app(flask_app, config)
    i18n.init_app(flask_app)
    params.init_app(flask_app)  # URL converters first: the blueprints' rules use them
    register_blueprints(flask_app)
    register_error_handlers(flask_app)
    _add_tipline_commands(flask_app)
    # Templates get what they need explicitly; never the whole config (secrets live there).
    flask_app.jinja_env.globals.pop("config", None)
    return flask_app


def _add_tipline_commands(flask_app: Flask) -> None:
    """`flask --app app COMMAND` reaches the same commands as `tipline COMMAND`."""
    import click

    from app.cli import cli as tipline_cli

    context = click.Context(tipline_cli)
    for name in tipline_cli.list_commands(context):
        command = tipline_cli.get_command(context, name)
        if command is not None:
            flask_app.cli.add_command(command, name)
