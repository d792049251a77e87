"""Which tipster is behind a request: ``@tipster_required`` for the pages after the code.

The decorator resumes the tipster's session from its cookie (which also carries the key that
opens the session's key custody blob) and makes the tip and the code-derived key available to
the view through :func:`current_tipster`; without a valid session it shows the code page
with the reason (401). The key lives in ``g`` for one request and is gone with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ParamSpec

from flask import g, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as BaseResponse

from app.context import get_config, get_db
from app.services import tipster as tipster_service
from app.web.cookies import clear_cookie, set_cookie
from app.web.errors import status_of
from app.web.forms import CodeLoginForm
from app.web.rate_limits import issue_client_token

P = ParamSpec("P")

SESSION_COOKIE = "tipline_tipster"
COOKIE_PATH = "/status"


def now() -> datetime:
    return datetime.now(UTC)


def idle_timeout() -> timedelta:
    return timedelta(minutes=get_config().tipster_session_idle_minutes)


def set_session_cookie(response: BaseResponse, value: str) -> None:
    set_cookie(response, SESSION_COOKIE, value, path=COOKIE_PATH)


def clear_session_cookie(response: BaseResponse) -> None:
    clear_cookie(response, SESSION_COOKIE, path=COOKIE_PATH)


def login_page(notice: str | None = None, status: int = 200) -> tuple[str, int]:
    """The code page, with a notice above the form when there is one."""
    issue_client_token()  # the attempts from this page count for this browser session alone
    return render_template("tipster/login.html", form=CodeLoginForm(), notice=notice), status


def current_tipster() -> tipster_service.TipsterAccess:
    """The tipster of this request (only inside a ``tipster_required`` view)."""
    access: tipster_service.TipsterAccess = g.tipster
    return access


def tipster_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Let a tipster with a live session through; anyone else gets the code page (401)."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        try:
            g.tipster = tipster_service.resume_session(
                get_db(), request.cookies.get(SESSION_COOKIE), now=now(), idle=idle_timeout()
            )
        except tipster_service.TipsterSessionExpired as error:
            return login_page(error.message, status_of(error))
        return view(*args, **kwargs)

    return wrapper
