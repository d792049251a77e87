"""The one way this app sets and clears a cookie: HttpOnly, SameSite=Strict, Secure over HTTPS.

Two cookies exist, each holding half of a session's key custody (the other half is the
server-side blob): the staff session's on ``/`` and the tipster session's on ``/status``.
"""

from __future__ import annotations

from werkzeug.wrappers import Response as BaseResponse

from app.context import get_config


def set_cookie(response: BaseResponse, name: str, value: str, *, path: str) -> None:
    """Set ``name`` for this session only (no expiry: the browser forgets it when it closes)."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="Strict",
        secure=get_config().secure_cookies,
        path=path,
    )


def clear_cookie(response: BaseResponse, name: str, *, path: str) -> None:
    response.delete_cookie(name, path=path, samesite="Strict", secure=get_config().secure_cookies)
