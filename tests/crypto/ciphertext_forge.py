"""Builds well-formed and malformed object ciphertexts with raw secretstream calls.

Independent of crypto.objects on purpose: the tests use it to make inputs the
implementation must reject, and make_vectors.py to write rejection vectors.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
    crypto_secretstream_xchacha20poly1305_TAG_PUSH,
)

MESSAGE = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
FINAL = crypto_secretstream_xchacha20poly1305_TAG_FINAL
PUSH = crypto_secretstream_xchacha20poly1305_TAG_PUSH
CHUNK = 65536


def metadata_bytes(metadata: object) -> bytes:
    return json.dumps(metadata, separators=(",", ":"), sort_keys=True).encode("utf-8")


def plaintext(
    metadata: bytes, body: bytes = b"", *, padded_to: int | None = None, length: int | None = None
) -> bytes:
    """``u32le(len(M)) || M || B || zeros`` up to the next 4096 (or ``padded_to``)."""
    prefix = (len(metadata) if length is None else length).to_bytes(4, "little")
    unpadded = prefix + metadata + body
    target = padded_to if padded_to is not None else -(-len(unpadded) // 4096) * 4096
    return unpadded + bytes(target - len(unpadded))


def cut(padded: bytes) -> list[bytes]:
    return [padded[i : i + CHUNK] for i in range(0, len(padded), CHUNK)]


def seal_chunks(key: bytes, chunks: Sequence[tuple[bytes, int]]) -> bytes:
    """Header followed by each ``(plaintext, tag)`` pushed in order."""
    state = crypto_secretstream_xchacha20poly1305_state()
    header = crypto_secretstream_xchacha20poly1305_init_push(state, key)
    return header + b"".join(
        crypto_secretstream_xchacha20poly1305_push(state, chunk, None, tag) for chunk, tag in chunks
    )


def seal(key: bytes, padded: bytes, tags: Sequence[int] | None = None) -> bytes:
    """Encrypt a padded plaintext; default tags are MESSAGE…, FINAL."""
    chunks = cut(padded)
    if tags is None:
        tags = [MESSAGE] * (len(chunks) - 1) + [FINAL]
    return seal_chunks(key, list(zip(chunks, tags, strict=True)))


def flip(data: bytes, position: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 0x01
    return bytes(changed)
