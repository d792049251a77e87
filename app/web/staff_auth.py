"""Who is signed in on a staff page, and which roles may see it.

``@staff_required(StaffRole.PROSECUTOR)`` resumes the session from its cookie (the cookie also
carries the key that opens the prosecutor's key custody blob), refuses other roles with 403,
and makes the member available to the view through :func:`current_staff`. The unwrapped key
lives in ``g`` for one request and is gone with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

from flask import g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as BaseResponse

from app.context import get_config, get_db
from app.errors import DomainError
from app.models import StaffRole
from app.services import staff_auth as auth
from app.services.staff_auth import StaffContext

P = ParamSpec("P")
R = TypeVar("R", bound=ResponseReturnValue)

SESSION_COOKIE = "tipline_staff"


class StaffForbidden(DomainError):
    status_code = 403
    code = "forbidden"

    def __init__(self) -> None:
        super().__init__("Your role does not give access to this page.")


def now() -> datetime:
    return datetime.now(UTC)


def session_limits() -> tuple[timedelta, timedelta]:
    """(idle timeout, absolute lifetime) of a staff session."""
    config = get_config()
    return (
        timedelta(minutes=config.staff_session_idle_minutes),
        timedelta(hours=config.staff_session_max_hours),
    )


def set_session_cookie(response: BaseResponse, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        httponly=True,
        samesite="Strict",
        secure=get_config().secure_cookies,
        path="/",
    )


def clear_session_cookie(response: BaseResponse) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", samesite="Strict", secure=get_config().secure_cookies
    )


def _resume() -> StaffContext:
    idle, max_lifetime = session_limits()
    return auth.resume_session(
        get_db(),
        request.cookies.get(SESSION_COOKIE),
        now=now(),
        idle=idle,
        max_lifetime=max_lifetime,
    )


def current_staff() -> StaffContext:
    """The signed-in member of this request (only inside a ``staff_required`` view)."""
    context: StaffContext = g.staff
    return context


def _login_redirect() -> BaseResponse:
    target = request.full_path if request.method == "GET" else request.path
    response = redirect(url_for("staff.login", next=target.rstrip("?")), code=303)
    clear_session_cookie(response)
    return response


def staff_required(*roles: StaffRole) -> Callable[[Callable[P, R]], Callable[P, R | BaseResponse]]:
    """Let signed-in members with one of ``roles`` through; others go to sign-in or get 403."""
    allowed = frozenset(roles)

    def decorate(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
            try:
                context = _resume()
            except auth.StaffSessionExpired:
                return _login_redirect()
            if context.user.role not in allowed:
                raise StaffForbidden()
            g.staff = context
            return view(*args, **kwargs)

        return wrapper

    return decorate


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site (never ``//host`` or a scheme) may follow sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
