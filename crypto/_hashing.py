"""Keyed and unkeyed BLAKE2b as libsodium's ``crypto_generichash`` computes it.

All domain-separation labels of protocol v1 live here, as ASCII bytes.
"""

from __future__ import annotations

from nacl.encoding import RawEncoder
from nacl.hash import blake2b

COMMIT_LABEL = b"tipline/v1/commit"
OBJECT_LABEL = b"tipline/v1/object"
LOOKUP_LABEL = b"tipline/v1/lookup"
TIPSTER_BOX_LABEL = b"tipline/v1/tipster-box"


def keyed_blake2b_256(key: bytes, message: bytes) -> bytes:
    """Return BLAKE2b-256 of ``message`` keyed with ``key`` (no salt, no personalisation).

    :raises ValueError: if ``key`` is not 16 to 64 bytes long.
    """
    if not 16 <= len(key) <= 64:
        raise ValueError("A BLAKE2b key must be 16 to 64 bytes long.")
    return blake2b(message, digest_size=32, key=key, encoder=RawEncoder)


def blake2b_128(message: bytes) -> bytes:
    """Return unkeyed BLAKE2b with a 16-byte digest."""
    return blake2b(message, digest_size=16, encoder=RawEncoder)
