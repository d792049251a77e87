"""Sizes of v1 objects: padding, chunking and ciphertext lengths. No keys needed.

The server uses these to check uploads: a valid object ciphertext is
``24 + (n - 1) * (65536 + 17) + (last + 17)`` bytes where the padded plaintext length
``(n - 1) * 65536 + last`` (``0 < last <= 65536``) is a possible output of
:func:`padded_length`.
"""

from __future__ import annotations

from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_ABYTES,
    crypto_secretstream_xchacha20poly1305_HEADERBYTES,
)

CHUNK_SIZE = 65536
HEADER_BYTES: int = crypto_secretstream_xchacha20poly1305_HEADERBYTES  # 24
CHUNK_OVERHEAD: int = crypto_secretstream_xchacha20poly1305_ABYTES  # 17
CIPHERTEXT_CHUNK_SIZE = CHUNK_SIZE + CHUNK_OVERHEAD
LENGTH_PREFIX_BYTES = 4  # u32le(len(M))
SMALL_PADDING_UNIT = 4096
LARGE_PADDING_UNIT = 1024 * 1024
SMALL_OBJECT_LIMIT = 1024 * 1024  # unpadded lengths up to this pad to 4 KiB
MAX_METADATA_BYTES = 1024 * 1024
MAX_BODY_SIZE = 2**53 - 1  # the largest integer JSON readers in JavaScript hold exactly


def padded_length(unpadded_len: int) -> int:
    """Return ``len(P)`` for an unpadded ``u32le(len(M)) || M || B`` of ``unpadded_len`` bytes.

    Up to 1 MiB rounds up to a multiple of 4096, beyond that to a multiple of 1 MiB.

    :raises ValueError: if ``unpadded_len`` is not positive.
    """
    if unpadded_len <= 0:
        raise ValueError("An unpadded plaintext is at least one byte long.")
    unit = SMALL_PADDING_UNIT if unpadded_len <= SMALL_OBJECT_LIMIT else LARGE_PADDING_UNIT
    return -(-unpadded_len // unit) * unit


def is_padded_length(length: int) -> bool:
    """True if ``length`` is a possible output of :func:`padded_length`."""
    if length <= 0:
        return False
    if length <= SMALL_OBJECT_LIMIT:
        return length % SMALL_PADDING_UNIT == 0
    return length % LARGE_PADDING_UNIT == 0


def chunk_count(padded_len: int) -> int:
    """Number of secretstream chunks for a padded plaintext (the last may be shorter)."""
    if padded_len <= 0:
        raise ValueError("A padded plaintext is at least one byte long.")
    return -(-padded_len // CHUNK_SIZE)


def last_chunk_length(padded_len: int) -> int:
    """Plaintext length of the FINAL chunk (1 to 65536 bytes)."""
    return padded_len - (chunk_count(padded_len) - 1) * CHUNK_SIZE


def ciphertext_length(plaintext_padded_len: int) -> int:
    """Return ``len(C)``: the 24-byte header plus 17 bytes per chunk plus the plaintext.

    :raises ValueError: if the length is not positive.
    """
    return HEADER_BYTES + plaintext_padded_len + chunk_count(plaintext_padded_len) * CHUNK_OVERHEAD


def expected_ciphertext_length(padded_len: int) -> int:
    """Alias of :func:`ciphertext_length`, named for the upload check it serves."""
    return ciphertext_length(padded_len)


def padded_length_of_ciphertext(ciphertext_len: int) -> int | None:
    """Return the padded plaintext length a ciphertext of this length carries.

    Returns None if no valid v1 object has a ciphertext of exactly ``ciphertext_len`` bytes.
    """
    framed = ciphertext_len - HEADER_BYTES
    if framed <= CHUNK_OVERHEAD:
        return None
    full_chunks, rest = divmod(framed, CIPHERTEXT_CHUNK_SIZE)
    if rest == 0:
        padded = full_chunks * CHUNK_SIZE
    elif rest <= CHUNK_OVERHEAD:
        return None
    else:
        padded = full_chunks * CHUNK_SIZE + rest - CHUNK_OVERHEAD
    return padded if is_padded_length(padded) else None


def is_valid_ciphertext_length(ciphertext_len: int) -> bool:
    """True if some valid v1 object has a ciphertext of exactly this many bytes."""
    return padded_length_of_ciphertext(ciphertext_len) is not None
