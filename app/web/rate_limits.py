"""Whom a tipster-facing rate limit counts, without learning who anybody is.

One client's flood must not lock out everyone else, so limits count per client, told apart
by the best thing available (never an address; none reaches the app):

1. **The Tor circuit**, when the config trusts it (``TIPLINE_TRUST_CIRCUIT_HEADER``, set only
   behind our nginx): tor exports each onion-service circuit's id as the source address of a
   PROXY protocol header (``HiddenServiceExportCircuitID haproxy``) and nginx passes it on as
   ``X-Tor-Circuit``, overwriting whatever a client sent (deploy/). Another circuit costs the
   client a new rendezvous, and proof of work when the service is under load.
2. **The browser session**: a random token put in the signed session cookie when the code page
   is shown (:func:`issue_client_token`).
3. **One small shared pool** for a request with neither.

A client that throws its cookie away gets a fresh budget: per-session limits keep honest
clients apart, they stop nobody determined. What bounds the work is the circuit limit, the
onion service's proof of work and the process's Argon2id slots (app/services/kdf_slots.py).

Keys are keyed BLAKE2b digests: the limiter's storage (Redis) and its log line hold no circuit
id and no token.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import request
from flask import session as browser_session

from app.context import get_config

CIRCUIT_HEADER = "X-Tor-Circuit"
CLIENT_TOKEN = "client_token"  # noqa: S105 - the session key's name, not a secret
MAX_CIRCUIT_ID_CHARS = 64  # nginx sends an IPv6 address (tor: fc00:dead:beef:4dad::/96 + id)

PER_CLIENT_CODE_LOGINS = "30 per minute"
ANONYMOUS_CODE_LOGINS = "10 per minute"


def issue_client_token() -> None:
    """Give this browser session a random token (once), so its attempts count for it alone."""
    if CLIENT_TOKEN not in browser_session:
        browser_session[CLIENT_TOKEN] = secrets.token_urlsafe(16)


def client_key() -> str | None:
    """A digest naming this request's circuit or browser session, or None if neither is known."""
    if get_config().trust_circuit_header:
        circuit = request.headers.get(CIRCUIT_HEADER, "").strip()[:MAX_CIRCUIT_ID_CHARS]
        if circuit:
            return "circuit:" + _digest(circuit)
    token = browser_session.get(CLIENT_TOKEN)
    if isinstance(token, str) and token:
        return "session:" + _digest(token)
    return None


def code_login_key() -> str:
    # The shared pool is keyed too: instances sharing one Redis keep their pools apart.
    return "code-login:" + (client_key() or "anonymous:" + _digest("anonymous"))


def code_login_budget() -> str:
    """Each client's own budget; clients that cannot be told apart share a smaller one."""
    return PER_CLIENT_CODE_LOGINS if client_key() is not None else ANONYMOUS_CODE_LOGINS


def _digest(value: str) -> str:
    key = get_config().secret_key[:64]  # BLAKE2b takes at most 64 key bytes
    return hashlib.blake2b(
        value.encode(), key=key, digest_size=16, person=b"tipline-ratekey"
    ).hexdigest()
