"""The security baseline every response gets: headers, CSP, CSRF, rate limits, access log policy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect

from app.config import Config
from app.services.kdf_slots import KdfSlots

P = ParamSpec("P")
R = TypeVar("R")

csrf = CSRFProtect()
# Tipsters reach us through Tor: their address is the onion proxy's, and we never want to keep
# it anyway. Limits are therefore keyed per route, and per client (Tor circuit or browser
# session, app/web/rate_limits.py) or per account where a view says.
limiter = Limiter(key_func=lambda: "instance")
REDIS_TIMEOUT_SECONDS = 1.0

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
STAFF_BLUEPRINTS = frozenset({"staff", "admin", "board", "approvals"})
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
    if config.redis_url:
        # A Redis that hangs must not hang requests: fail fast, then fall back (below).
        flask_app.config["RATELIMIT_STORAGE_OPTIONS"] = {
            "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            "socket_timeout": REDIS_TIMEOUT_SECONDS,
        }
    # Redis down: each worker counts the same limits in memory until Redis answers again
    # (docs/THREAT_MODEL.md "Rate limits"); the Argon2id slots bound the CPU meanwhile.
    flask_app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    limiter.init_app(flask_app)
    # One Limiter serves this process's app; a new app (tests build many) gets a new storage,
    # which starts out assumed alive rather than inheriting a predecessor's fallback.
    limiter._storage_dead = False
    flask_app.extensions["tipline.code_login_slots"] = KdfSlots(
        config.code_login_slots, config.code_login_wait_seconds
    )
    flask_app.after_request(set_security_headers)
    flask_app.after_request(log_staff_request)


def code_login_slots() -> KdfSlots:
    """This process's bound on code-login key derivations (app/services/kdf_slots.py)."""
    slots: KdfSlots = current_app.extensions["tipline.code_login_slots"]
    return slots


def rate_limits_reachable() -> bool:
    """Whether the rate-limit storage answers (always, for the in-memory default)."""
    return bool(limiter.storage.check())


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
