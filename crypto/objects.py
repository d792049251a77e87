"""Encrypted objects: ``C = header || secretstream(K_obj, u32le(len(M)) || M || B || Z)``.

This module derives an object's key and encrypts; :mod:`crypto.object_reader` decrypts.
Both directions stream: memory stays around two 64 KiB chunks whatever the body size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
)

from crypto._framing import Rechunker, as_piece_iterable, byte_view
from crypto._hashing import OBJECT_LABEL, keyed_blake2b_256
from crypto.datakeys import DATA_KEY_BYTES
from crypto.errors import (
    SizeMismatch,
)
from crypto.ids import check_id
from crypto.layout import (
    CHUNK_SIZE,
    LENGTH_PREFIX_BYTES,
    MAX_BODY_SIZE,
    ciphertext_length,
    expected_ciphertext_length,
    is_valid_ciphertext_length,
    padded_length,
    padded_length_of_ciphertext,
)
from crypto.metadata import (
    body_metadata,
    declared_size,
    encode_metadata,
)

__all__ = [
    "CHUNK_SIZE",
    "ciphertext_length",
    "encrypt_detached_body",
    "encrypt_object",
    "expected_ciphertext_length",
    "is_valid_ciphertext_length",
    "object_key",
    "padded_length",
    "padded_length_of_ciphertext",
]

_TAG_MESSAGE: int = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL: int = crypto_secretstream_xchacha20poly1305_TAG_FINAL
_ZEROS = memoryview(bytes(CHUNK_SIZE))
BODY_TRAILER_BYTES = 8  # u64le(size) ends a detached body's plaintext


def object_key(data_key: bytes, object_id: bytes) -> bytes:
    """Return ``K_obj = BLAKE2b-256(key=DK_s, msg="tipline/v1/object" || object_id)``.

    :raises ValueError: on a wrong-length data key or object id.
    """
    if len(data_key) != DATA_KEY_BYTES:
        raise ValueError("A data key must be 32 bytes long.")
    return keyed_blake2b_256(bytes(data_key), OBJECT_LABEL + check_id(object_id, "object id"))


# --- encryption -----------------------------------------------------------------------


def encrypt_object(
    data_key: bytes,
    object_id: bytes,
    metadata: Mapping[str, Any],
    body: Iterable[bytes] = (),
) -> Iterator[bytes]:
    """Encrypt one object; yield the 24-byte header, then each encrypted chunk.

    ``body`` pieces may have any sizes; together they must be exactly ``metadata["size"]``
    bytes (no bytes at all when there is no ``size``). Metadata is validated and serialised
    before anything is yielded.

    :raises InvalidMetadata: at call time, if ``metadata`` is not a valid v1 object.
    :raises SizeMismatch: while iterating, if the body is longer or shorter than declared;
        what was yielded so far never ends with a FINAL chunk and must be discarded.
    :raises ValueError: at call time, on a wrong-length data key or object id.
    """
    key = object_key(data_key, object_id)
    prefix = _metadata_prefix(metadata)
    size = declared_size(metadata)
    padded = padded_length(len(prefix) + size)
    return _encrypt_stream(key, prefix, as_piece_iterable(body), size, padded)


def encrypt_detached_body(
    data_key: bytes, object_id: bytes, body: Iterable[bytes]
) -> Iterator[bytes]:
    """Encrypt a file's body whose length is known only at its end; yield header, chunks.

    The object's metadata is ``{"v":1,"kind":"body"}``; the padding is fixed once the body
    has ended. The caller counts and hashes the body itself and then writes the ``file``
    object that names this one (``file_metadata(..., body=<this object id>)``): a reader
    takes the body's length from there.

    :raises SizeMismatch: while iterating, if the body exceeds the largest size JSON holds.
    :raises ValueError: at call time, on a wrong-length data key or object id.
    """
    key = object_key(data_key, object_id)
    prefix = _metadata_prefix(body_metadata())
    return _encrypt_stream(key, prefix, as_piece_iterable(body), None, None)


def _metadata_prefix(metadata: Mapping[str, Any]) -> bytes:
    """``u32le(len(M)) || M``, the start of every object's plaintext."""
    encoded = encode_metadata(metadata)
    return len(encoded).to_bytes(LENGTH_PREFIX_BYTES, "little") + encoded


def _encrypt_stream(
    key: bytes, prefix: bytes, body: Iterable[bytes], size: int | None, padded: int | None
) -> Iterator[bytes]:
    state = crypto_secretstream_xchacha20poly1305_state()
    yield crypto_secretstream_xchacha20poly1305_init_push(state, key)
    push = crypto_secretstream_xchacha20poly1305_push
    held: bytes | None = None
    # One chunk is held back so that FINAL is pushed only after the body was checked.
    for chunk in _padded_plaintext_chunks(prefix, body, size, padded):
        if held is not None:
            yield push(state, held, None, _TAG_MESSAGE)
        held = chunk
    assert held is not None  # P is at least 4096 bytes, so there is always a chunk
    yield push(state, held, None, _TAG_FINAL)


def _padded_plaintext_chunks(
    prefix: bytes, body: Iterable[bytes], size: int | None, padded: int | None
) -> Iterator[bytes]:
    """``P`` in 64 KiB chunks; ``size`` and ``padded`` None: as long as the body turns out."""
    rechunker = Rechunker(CHUNK_SIZE)
    yield from rechunker.feed(memoryview(prefix), immutable=True)
    consumed = 0
    limit = MAX_BODY_SIZE if size is None else size
    for piece in body:
        view = byte_view(piece)
        consumed += len(view)
        if consumed > limit:
            raise SizeMismatch("The body is longer than the size its metadata declares.")
        yield from rechunker.feed(view, immutable=isinstance(piece, bytes))
    trailer = b""
    if size is None or padded is None:  # a detached body: its length ends P
        trailer = body_trailer(consumed)
        size, padded = consumed, padded_length(len(prefix) + consumed + len(trailer))
    if consumed != size:
        raise SizeMismatch("The body is shorter than the size its metadata declares.")
    padding = padded - len(prefix) - size - len(trailer)
    while padding:
        zeros = _ZEROS[: min(padding, CHUNK_SIZE)]
        yield from rechunker.feed(zeros, immutable=True)
        padding -= len(zeros)
    if trailer:
        yield from rechunker.feed(memoryview(trailer), immutable=True)
    tail = rechunker.rest()
    if tail:
        yield tail


def body_trailer(size: int) -> bytes:
    """The last bytes of a detached body's P: its length, binding it to its file's ``size``."""
    return size.to_bytes(BODY_TRAILER_BYTES, "little")
