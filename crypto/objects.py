"""Encrypted objects: ``C = header || secretstream(K_obj, u32le(len(M)) || M || B || Z)``.

Both directions stream: memory stays around two 64 KiB chunks whatever the body size.

**Decrypting is only safe once the body iterator has ended without raising.** The
:class:`DecryptedObject` body yields authenticated bytes as it goes, but a truncation,
non-zero padding or data after FINAL is only detected later in the stream; a consumer
MUST discard everything it received from an object whose body iterator raised (write to
a temporary place and publish only after the iterator is exhausted).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
)

from crypto._framing import ExactReader, Rechunker, as_piece_iterable, byte_view
from crypto._hashing import OBJECT_LABEL, keyed_blake2b_256
from crypto.datakeys import DATA_KEY_BYTES
from crypto.errors import (
    BadMetadata,
    DataAfterFinal,
    EarlyFinal,
    LengthOutOfRange,
    MissingFinal,
    NonZeroPadding,
    SizeMismatch,
    TamperedCiphertext,
    TruncatedStream,
)
from crypto.ids import check_id
from crypto.layout import (
    CHUNK_OVERHEAD,
    CHUNK_SIZE,
    CIPHERTEXT_CHUNK_SIZE,
    HEADER_BYTES,
    LENGTH_PREFIX_BYTES,
    MAX_BODY_SIZE,
    MAX_METADATA_BYTES,
    SMALL_PADDING_UNIT,
    chunk_count,
    ciphertext_length,
    expected_ciphertext_length,
    is_valid_ciphertext_length,
    last_chunk_length,
    padded_length,
    padded_length_of_ciphertext,
)
from crypto.metadata import (
    MIN_METADATA_BYTES,
    body_metadata,
    declared_size,
    encode_metadata,
    parse_metadata,
)

__all__ = [
    "CHUNK_SIZE",
    "DecryptedObject",
    "ciphertext_length",
    "decrypt_object",
    "decrypt_object_bytes",
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
        trailer = _body_trailer(consumed)
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


# --- decryption -----------------------------------------------------------------------


@dataclass
class DecryptedObject:
    """An object whose metadata is authenticated and whose body is still streaming.

    ``body`` yields authenticated body bytes and raises a :class:`~crypto.errors.DecryptionError`
    subclass on any rejection found later in the stream. Consumers MUST read it to the end
    and MUST discard all of it if it raised.
    """

    metadata: dict[str, Any]
    body: Iterator[bytes]

    @property
    def kind(self) -> str:
        """The metadata kind: report, message, file or note."""
        return str(self.metadata["kind"])

    @property
    def size(self) -> int:
        """The body length the metadata declares."""
        return declared_size(self.metadata)


class _ChunkPuller:
    """Pulls secretstream chunks and enforces v1 framing and tags."""

    def __init__(self, key: bytes, header: bytes, reader: ExactReader) -> None:
        self._state = crypto_secretstream_xchacha20poly1305_state()
        crypto_secretstream_xchacha20poly1305_init_pull(self._state, header, key)
        self._reader = reader
        self._total: int | None = None  # expected number of chunks, once metadata is read
        self._last_ciphertext_len = 0
        self.index = 0  # chunks pulled so far
        self.padded_len = 0  # len(P), once metadata is read
        self.last_plain_len = 0
        self.finished = False

    def expect(self, padded_len: int) -> None:
        """Fix the layout the metadata declares; check what was already pulled against it."""
        total = chunk_count(padded_len)
        last_len = last_chunk_length(padded_len)
        if self.finished:
            if total > self.index:
                raise EarlyFinal("The final chunk comes before the end the metadata declares.")
            if total < self.index or self.last_plain_len != last_len:
                raise LengthOutOfRange("The padded length does not match the declared size.")
        elif total <= self.index:
            raise MissingFinal("The stream continues past the end its metadata declares.")
        self._total = total
        self._last_ciphertext_len = last_len + CHUNK_OVERHEAD
        self.padded_len = padded_len

    def _trim_short_chunk(self, ciphertext: bytes) -> bytes:
        """Frame a chunk cut short by the end of input while the layout is still unknown.

        Every chunk of a valid object carries a multiple of 4096 plaintext bytes, so such a
        chunk is ``4096k + 17`` bytes; anything beyond the largest such length is put back
        to be reported as data after FINAL.
        """
        usable = (len(ciphertext) - CHUNK_OVERHEAD) // SMALL_PADDING_UNIT * SMALL_PADDING_UNIT
        if usable <= 0:
            raise TruncatedStream("The ciphertext ends in the middle of a chunk.")
        self._reader.unread(ciphertext[usable + CHUNK_OVERHEAD :])
        return ciphertext[: usable + CHUNK_OVERHEAD]

    def pull(self) -> bytes:
        """Return the next chunk's plaintext.

        :raises DecryptionError: the specific subclass for any framing or tag problem.
        """
        at_declared_end = self._total is not None and self.index == self._total - 1
        want = self._last_ciphertext_len if at_declared_end else CIPHERTEXT_CHUNK_SIZE
        ciphertext = self._reader.read(want)
        if not ciphertext:
            raise TruncatedStream("The ciphertext ends before its final chunk.")
        short = len(ciphertext) < want
        if short and self._total is not None:
            raise TruncatedStream("The ciphertext ends in the middle of a chunk.")
        if short:
            ciphertext = self._trim_short_chunk(ciphertext)
        try:
            plain, tag = crypto_secretstream_xchacha20poly1305_pull(self._state, ciphertext)
        except nacl.exceptions.RuntimeError:
            raise TamperedCiphertext(
                f"Chunk {self.index} of the ciphertext failed authentication."
            ) from None
        if tag == _TAG_FINAL:
            if self._total is not None and not at_declared_end:
                raise EarlyFinal("The final chunk comes before the end the metadata declares.")
            if not self._reader.at_end():
                raise DataAfterFinal("The ciphertext continues after its final chunk.")
            self.finished = True
        elif tag == _TAG_MESSAGE:
            if at_declared_end:
                raise MissingFinal("The chunk at the declared end is not marked final.")
            if short:
                raise TruncatedStream("The ciphertext ends before its final chunk.")
        else:
            raise TamperedCiphertext("A chunk carries a tag other than MESSAGE or FINAL.")
        self.index += 1
        self.last_plain_len = len(plain)
        return plain


def decrypt_object(
    data_key: bytes,
    object_id: bytes,
    ciphertext: Iterable[bytes],
    *,
    body_size: int | None = None,
) -> DecryptedObject:
    """Authenticate and parse an object's metadata; return it with a streaming body.

    Reads only as many chunks as the metadata needs, except for objects without a body
    (reports, messages, notes), which are verified to the end before this returns.
    ``ciphertext`` may be split at any byte boundaries. See the module docstring: discard
    the body if iterating it raises.

    ``body_size``: for a detached ``body`` object, the ``size`` of the file object that
    names it (the body's length is declared there). Without it a body object's metadata is
    returned but its body cannot be read; with it, any other kind is rejected.

    :raises TamperedCiphertext: if a chunk fails authentication (also: wrong key or id).
    :raises TruncatedStream: if the ciphertext ends early.
    :raises EarlyFinal: if FINAL comes before the declared end.
    :raises MissingFinal: if the chunk at the declared end is not FINAL.
    :raises DataAfterFinal: if bytes follow the FINAL chunk.
    :raises LengthOutOfRange: if ``len(M)`` or ``size`` is out of range or the padded
        length is not the canonical one.
    :raises BadMetadata: if the metadata is not valid v1 JSON.
    :raises NonZeroPadding: if a padding byte is not zero (from the body iterator when
        the object has a body).
    :raises ValueError: if ``body_size`` is out of range.
    """
    if body_size is not None and not 0 <= body_size <= MAX_BODY_SIZE:
        raise ValueError("A detached body's size is out of range.")
    key = object_key(data_key, object_id)
    reader = ExactReader(as_piece_iterable(ciphertext))
    header = reader.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES:
        raise TruncatedStream("The ciphertext ends inside its header.")
    puller = _ChunkPuller(key, header, reader)

    buffer = bytearray()
    while len(buffer) < LENGTH_PREFIX_BYTES:
        if puller.finished:
            raise LengthOutOfRange("The object is too short to hold its metadata length.")
        buffer += puller.pull()
    metadata_len = int.from_bytes(buffer[:LENGTH_PREFIX_BYTES], "little")
    if not MIN_METADATA_BYTES <= metadata_len <= MAX_METADATA_BYTES:
        raise LengthOutOfRange("The metadata length is out of range.")
    metadata_end = LENGTH_PREFIX_BYTES + metadata_len
    while len(buffer) < metadata_end:
        if puller.finished:
            raise LengthOutOfRange("The metadata length runs past the end of the object.")
        buffer += puller.pull()
    metadata = parse_metadata(bytes(buffer[LENGTH_PREFIX_BYTES:metadata_end]))
    detached = metadata["kind"] == "body"
    if body_size is not None and not detached:
        raise BadMetadata("The object named as a file's body is not a detached body.")
    if detached and body_size is None:
        return DecryptedObject(metadata, _needs_size())
    if body_size is None:
        body_end, trailer = metadata_end + declared_size(metadata), b""
    else:
        body_end, trailer = metadata_end + body_size, _body_trailer(body_size)
    puller.expect(padded_length(body_end + len(trailer)))
    leftover = bytes(buffer[metadata_end:])
    body = _body(puller, leftover, metadata_end, body_end, trailer)
    if body_end == metadata_end and not detached:
        # No body: verify the padding and FINAL now, so the metadata alone is safe to use.
        for _ in body:
            pass
        body = iter(())
    return DecryptedObject(metadata, body)


def _body_trailer(size: int) -> bytes:
    """The last bytes of a detached body's P: its length, binding it to its file's ``size``."""
    return size.to_bytes(BODY_TRAILER_BYTES, "little")


def _needs_size() -> Iterator[bytes]:
    raise ValueError("A detached body is read with the size its file object declares.")
    yield b""  # pragma: no cover - makes this a generator


def _body(
    puller: _ChunkPuller, leftover: bytes, position: int, body_end: int, trailer: bytes = b""
) -> Iterator[bytes]:
    """The body bytes of P from ``position`` on; padding (and a detached body's trailer,
    the last ``len(trailer)`` bytes of P) checked before the bytes beside it are released."""
    trailer_at = puller.padded_len - len(trailer)
    yield from _body_part(leftover, position, body_end, trailer, trailer_at)
    position += len(leftover)
    pull = puller.pull
    while not puller.finished:
        plain = pull()
        end = position + len(plain)
        if end <= body_end:
            yield plain  # the common case: a chunk of body only
        else:
            yield from _body_part(plain, position, body_end, trailer, trailer_at)
        position = end


def _body_part(
    plain: bytes, start: int, body_end: int, trailer: bytes, trailer_at: int
) -> Iterator[bytes]:
    """Yield the body bytes of a plaintext piece starting at ``start`` in P; check the rest."""
    body_len = min(max(body_end - start, 0), len(plain))
    zeros_end = min(max(trailer_at - start, body_len), len(plain))
    padding_len = zeros_end - body_len
    if padding_len and plain.count(0, body_len, zeros_end) != padding_len:
        raise NonZeroPadding("The object's padding is not all zero bytes.")
    if zeros_end < len(plain):
        offset = start + zeros_end - trailer_at
        if plain[zeros_end:] != trailer[offset : offset + len(plain) - zeros_end]:
            raise LengthOutOfRange("A detached body's length differs from its file's size.")
    if body_len == len(plain):
        if plain:
            yield plain
    elif body_len:
        yield plain[:body_len]


def decrypt_object_bytes(
    data_key: bytes, object_id: bytes, ciphertext: bytes
) -> tuple[dict[str, Any], bytes]:
    """Decrypt a whole object held in memory; return ``(metadata, body)`` or raise.

    Nothing partial is ever returned.

    :raises DecryptionError: the specific subclass, as for :func:`decrypt_object`.
    """
    decrypted = decrypt_object(data_key, object_id, (ciphertext,))
    body = b"".join(decrypted.body)
    return decrypted.metadata, body
