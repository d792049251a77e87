"""Decrypting an object (``crypto.objects`` writes them): streaming, and strict about every
rejection rule of the format (DESIGN §4, docs/PROTOCOL.md).

**Decrypting is only safe once the body iterator has ended without raising.** The
:class:`DecryptedObject` body yields authenticated bytes as it goes, but a truncation,
non-zero padding or data after FINAL is only detected later in the stream; a consumer
MUST discard everything it received from an object whose body iterator raised (write to
a temporary place and publish only after the iterator is exhausted).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
)

from crypto._framing import ExactReader, as_piece_iterable
from crypto.errors import (
    BadMetadata,
    DataAfterFinal,
    EarlyFinal,
    LengthOutOfRange,
    MissingFinal,
    NonZeroPadding,
    TamperedCiphertext,
    TruncatedStream,
)
from crypto.layout import (
    CHUNK_OVERHEAD,
    CIPHERTEXT_CHUNK_SIZE,
    HEADER_BYTES,
    LENGTH_PREFIX_BYTES,
    MAX_BODY_SIZE,
    MAX_METADATA_BYTES,
    SMALL_PADDING_UNIT,
    chunk_count,
    last_chunk_length,
    padded_length,
)
from crypto.metadata import (
    MIN_METADATA_BYTES,
    declared_size,
    parse_metadata,
)
from crypto.objects import body_trailer, object_key

__all__ = ["DecryptedObject", "decrypt_object", "decrypt_object_bytes"]

_TAG_MESSAGE: int = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL: int = crypto_secretstream_xchacha20poly1305_TAG_FINAL


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
    :raises ValueError: if ``body_size`` is out of range; and from the body iterator, if the
        object is a detached body and no ``body_size`` was given (an authentic object can be
        of any kind: check ``kind`` before reading a body).
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
        body_end, trailer = metadata_end + body_size, body_trailer(body_size)
    puller.expect(padded_length(body_end + len(trailer)))
    leftover = bytes(buffer[metadata_end:])
    body = _body(puller, leftover, metadata_end, body_end, trailer)
    if body_end == metadata_end and not detached:
        # No body: verify the padding and FINAL now, so the metadata alone is safe to use.
        for _ in body:
            pass
        body = iter(())
    return DecryptedObject(metadata, body)


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
