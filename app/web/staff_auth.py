"""Who is signed in on a staff page, and which roles may see it.

``@staff_required(access.READERS)`` resumes the session from its cookie (the cookie also
carries the key that opens the prosecutor's key custody blob), refuses other roles with
:class:`app.services.access.RoleNotAllowed`, and makes the member available to the view through
:func:`current_staff`. The unwrapped key lives in ``g`` for one request and is gone with it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar
from urllib.parse import quote, urlsplit

from flask import g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as BaseResponse

from app.context import get_config, get_db
from app.models import StaffRole
from app.services import access
from app.services import staff_sessions as sessions
from app.services.staff_sessions import SessionLimits, StaffContext
from app.web.cookies import clear_cookie, set_cookie

P = ParamSpec("P")
R = TypeVar("R", bound=ResponseReturnValue)

SESSION_COOKIE = "tipline_staff"
COOKIE_PATH = "/"


def now() -> datetime:
    return datetime.now(UTC)


def session_limits() -> SessionLimits:
    """The idle timeout and absolute lifetime of a staff session."""
    config = get_config()
    return SessionLimits(
        idle=timedelta(minutes=config.staff_session_idle_minutes),
        max_lifetime=timedelta(hours=config.staff_session_max_hours),
    )


def set_session_cookie(response: BaseResponse, value: str) -> None:
    set_cookie(response, SESSION_COOKIE, value, path=COOKIE_PATH)


def clear_session_cookie(response: BaseResponse) -> None:
    clear_cookie(response, SESSION_COOKIE, path=COOKIE_PATH)


def _resume() -> StaffContext:
    limits = session_limits()
    return sessions.resume_session(
        get_db(),
        request.cookies.get(SESSION_COOKIE),
        now=now(),
        idle=limits.idle,
        max_lifetime=limits.max_lifetime,
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


def staff_required(
    roles: Collection[StaffRole],
) -> Callable[[Callable[P, R]], Callable[P, R | BaseResponse]]:
    """Let signed-in members with one of ``roles`` (a set from :mod:`app.services.access`)
    through; others go to sign-in, or are refused (:class:`~app.services.access.RoleNotAllowed`).
    """
    allowed = frozenset(roles)

    def decorate(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
            try:
                context = _resume()
            except sessions.StaffSessionExpired:
                return _login_redirect()
            access.require_role(context.user, allowed)
            g.staff = context
            return view(*args, **kwargs)

        return wrapper

    return decorate


# Characters a redirect target keeps as they are; anything else is percent-encoded.
_LOCATION_SAFE = "/?#&=%+:@!$'()*,;~"
# What browsers strip from a URL before parsing it (WHATWG URL: tab, LF, CR anywhere).
_BROWSER_STRIPPED = re.compile(r"[\t\n\r]")
MAX_NEXT_CHARS = 2_048


def _is_site_path(target: str) -> bool:
    """A path on this site, however a browser reads it: one leading ``/``, no backslash
    (``/\\host`` is ``//host`` to a browser), no control or other Unicode ``C`` character,
    and no scheme or host, before or after what browsers strip."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if any(unicodedata.category(char).startswith("C") for char in target):
        return False
    for seen in (target, _BROWSER_STRIPPED.sub("", target).strip(" ")):
        parts = urlsplit(seen)
        if parts.scheme or parts.netloc or not seen.startswith("/") or seen.startswith("//"):
            return False
    return True


def safe_next(target: str | None, default: str) -> str:
    """Where to go after sign-in: ``target`` if it is a path on this site, else ``default``.

    The path comes back percent-encoded (spaces and non-ASCII characters too), so the
    ``Location`` header holds only characters no browser reinterprets.
    """
    if not target or len(target) > MAX_NEXT_CHARS or not _is_site_path(target):
        return default
    location = quote(target, safe=_LOCATION_SAFE)
    return location if _is_site_path(location) else default
