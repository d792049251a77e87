"""The security baseline every response gets: headers, CSP, CSRF, rate limits, access log policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask, Response, g, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect

from app.config import Config

P = ParamSpec("P")
R = TypeVar("R")

csrf = CSRFProtect()
# Tipsters reach us through Tor: their address is the onion proxy's, and we never want to keep
# it anyway. Limits are therefore keyed per route (and per account or code where a view says).
limiter = Limiter(key_func=lambda: "instance")

BASE_CSP = {
    "default-src": "'none'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}
SCRIPT_CSP = {
    "script-src": "'self' 'wasm-unsafe-eval'",
    "connect-src": "'self'",
    "worker-src": "'self'",
}
STAFF_BLUEPRINTS = frozenset({"staff", "admin", "board"})
access_log = logging.getLogger("tipline.access")


def allows_scripts(view: Callable[P, R]) -> Callable[P, R]:
    """Let this page run same-origin scripts (and WebAssembly); every other page runs none."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        g.csp_allows_scripts = True
        return view(*args, **kwargs)

    return wrapper


def content_security_policy(with_scripts: bool) -> str:
    """The policy; with scripts, same-origin script files only: nothing inline, ever."""
    directives = dict(BASE_CSP)
    if with_scripts:
        directives.update(SCRIPT_CSP)
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def init_app(flask_app: Flask, config: Config) -> None:
    csrf.init_app(flask_app)
    flask_app.config["RATELIMIT_STORAGE_URI"] = config.rate_limit_storage_uri
    flask_app.config["RATELIMIT_HEADERS_ENABLED"] = False
    limiter.init_app(flask_app)
    flask_app.after_request(set_security_headers)
    flask_app.after_request(log_staff_request)


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(bool(g.get("csp_allows_scripts")))
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Cross-Origin-Embedder-Policy"] = "require-corp"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    headers["X-Robots-Tag"] = "noindex, nofollow"
    if request.endpoint == "static":
        # Public, identical for everyone: caching it leaks nothing and spares slow Tor circuits.
        headers["Cache-Control"] = "public, max-age=3600"
    else:
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=63072000"
    return response


def log_staff_request(response: Response) -> Response:
    """Staff requests are logged; tipster and public routes never are (DESIGN §2.3)."""
    if request.blueprint in STAFF_BLUEPRINTS:
        access_log.info("%s %s %s", request.method, request.path, response.status_code)
    return response
