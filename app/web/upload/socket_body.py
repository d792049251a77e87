"""A request body of known length, read in pieces into one reusable buffer.

gunicorn's body reader (``wsgi.input``) passes every received byte through two ``BytesIO``
buffers on its way to the application, in memory freshly allocated for each piece, and has
no ``readinto``. For a chunk batch that cost more CPU than writing the batch to disk
(docs/PERFORMANCE.md). Under gunicorn, :func:`body_pieces` therefore takes what gunicorn has
already received past the request head and reads the rest with ``socket.recv_into`` into
one buffer: one copy per byte, no allocation per piece. It keeps gunicorn's accounting true
(the body's remaining length, and ``Body.failed`` when reading raised, which closes the
connection instead of parsing the next request from the middle of this body), so a
kept-alive connection goes on as if ``wsgi.input`` had been read.

That relies on parts of gunicorn that are not its documented interface: the
``gunicorn.socket`` environ key, ``Body.reader``, ``LengthReader.length`` and ``.unreader``,
``Unreader.take_buffered`` and ``unread``. gunicorn is pinned (requirements.lock), and
tests/web/upload/test_socket_body.py fails if the installed version no longer takes this path.
Anywhere else (Werkzeug's server, the test client, a chunked body, a body the application
already started reading) the pieces come from the WSGI stream instead.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader

from app.errors import InvalidInput

# A client that sends nothing for this long has gone (its own stall timeout is shorter): the
# request ends, what arrived of it is kept as far as it can be, and the thread is free again.
STALL_SECONDS = 300.0


class IncompleteBody(InvalidInput):
    """The client stopped sending before the declared length."""

    def __init__(self) -> None:
        super().__init__("The request body arrived incomplete.")


def body_pieces(
    environ: dict[str, Any], stream: IO[bytes], length: int, piece_bytes: int
) -> Iterator[bytes | memoryview]:
    """The ``length`` bytes of the request body, as they arrive, in pieces of at most
    ``piece_bytes``; read lazily, so nothing is received until the first piece is asked for.

    A piece may be a view of a buffer that the next piece overwrites: use it (write it,
    copy it) before asking for the next one.
    :raises IncompleteBody: the body ended early; :raises OSError: the connection failed, or
        (under gunicorn) nothing arrived for :data:`STALL_SECONDS`.
    """
    source = _gunicorn_body(environ, length)
    if source is None:
        return _stream_pieces(stream, length, piece_bytes)
    return _socket_pieces(source, length, piece_bytes)


@dataclass(frozen=True)
class _GunicornBody:
    sock: socket.socket
    body: Any  # gunicorn.http.body.Body
    reader: Any  # gunicorn.http.body.LengthReader


def _gunicorn_body(environ: dict[str, Any], length: int) -> _GunicornBody | None:
    """gunicorn's view of this request's body, if it is one we can read past it: a
    ``Content-Length`` body of ``length`` bytes on a plain socket, none of it read yet."""
    sock, body = environ.get("gunicorn.socket"), environ.get("wsgi.input")
    if not isinstance(sock, socket.socket) or not isinstance(body, Body):
        return None
    reader = body.reader
    if not isinstance(reader, LengthReader) or not isinstance(reader.unreader, SocketUnreader):
        return None
    if reader.unreader.sock is not sock or reader.length != length or body.buf.tell():
        return None
    return _GunicornBody(sock, body, reader)


def _socket_pieces(source: _GunicornBody, length: int, piece_bytes: int) -> Iterator[memoryview]:
    reader = source.reader
    # What gunicorn read past the request head; beyond this body it is the next request's.
    held = reader.unreader.take_buffered()
    if len(held) > length:
        reader.unreader.unread(held[length:])
        held = held[:length]
    buffer = memoryview(bytearray(max(min(piece_bytes, length), len(held))))
    buffer[: len(held)] = held
    filled, remaining = len(held), length - len(held)
    reader.length = remaining
    blocking_for = source.sock.gettimeout()
    source.sock.settimeout(STALL_SECONDS)
    try:
        while True:
            wanted = min(filled + remaining, len(buffer))
            broken_off: Exception | None = None
            while filled < wanted and broken_off is None:
                try:
                    received = source.sock.recv_into(buffer[filled:wanted])
                except OSError as error:
                    broken_off = error
                    break
                if not received:
                    broken_off = IncompleteBody()
                filled += received
                remaining -= received
                reader.length = remaining
            if filled:
                yield buffer[:filled]  # even before failing: what arrived can still be kept
            if broken_off is not None:
                raise broken_off
            if not remaining:
                return
            filled = 0
    except (OSError, IncompleteBody):
        source.body.failed = True  # where the next request starts is unknown: close
        raise
    finally:
        source.sock.settimeout(blocking_for)


def _stream_pieces(stream: IO[bytes], length: int, piece_bytes: int) -> Iterator[bytes]:
    remaining = length
    while remaining:
        piece = stream.read(min(remaining, piece_bytes))
        if not piece:
            raise IncompleteBody()
        remaining -= len(piece)
        yield piece
