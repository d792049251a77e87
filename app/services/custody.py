"""Key custody for a session: a secret held server-side only under a key the cookie carries.

``cookie = base64url(session_ref || session_key)``; the server keeps ``sha256(session_ref)``
and ``SecretBox(session_key).encrypt(secret)``. A database dump without the cookie, or a
stolen cookie without the database row, reveals nothing (DESIGN §5 "Staff").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

import nacl.exceptions
import nacl.secret
import nacl.utils

SESSION_REF_BYTES = 32
SESSION_KEY_BYTES = nacl.secret.SecretBox.KEY_SIZE


class CustodyBroken(Exception):
    """The cookie is malformed or does not open the server-side blob."""


@dataclass(frozen=True)
class NewCustody:
    cookie: str = ""
    session_digest: bytes = b""
    sealed_secret: bytes | None = None


def new_custody(secret: bytes | None) -> NewCustody:
    """Fresh session reference and key; ``secret`` (if any) sealed under the key."""
    session_ref = nacl.utils.random(SESSION_REF_BYTES)
    session_key = nacl.utils.random(SESSION_KEY_BYTES)
    sealed = None
    if secret is not None:
        sealed = bytes(nacl.secret.SecretBox(session_key).encrypt(secret))
    cookie = base64.urlsafe_b64encode(session_ref + session_key).decode("ascii")
    return NewCustody(cookie, session_digest(session_ref), sealed)


def session_digest(session_ref: bytes) -> bytes:
    return hashlib.sha256(session_ref).digest()


def split_cookie(cookie: str) -> tuple[bytes, bytes]:
    """(session digest, session key). :raises CustodyBroken:"""
    try:
        raw = base64.urlsafe_b64decode(cookie.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise CustodyBroken() from None
    if len(raw) != SESSION_REF_BYTES + SESSION_KEY_BYTES:
        raise CustodyBroken()
    return session_digest(raw[:SESSION_REF_BYTES]), raw[SESSION_REF_BYTES:]


def open_custody(session_key: bytes, sealed_secret: bytes) -> bytes:
    """:raises CustodyBroken: the blob does not open with this key."""
    try:
        return nacl.secret.SecretBox(session_key).decrypt(sealed_secret)
    except nacl.exceptions.CryptoError:
        raise CustodyBroken() from None
