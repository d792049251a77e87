"""Stream-parse a multipart/form-data body as it arrives, never spooling it anywhere.

Werkzeug's ``request.form``/``request.files`` write parts over 500 KB to temporary files in
plaintext; tipster uploads must not (DESIGN §5). This reader hands each part's bytes to the
caller in bounded pieces, straight from the socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    NEED_DATA,
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
)

from app.errors import InvalidInput, TooLarge

READ_SIZE = 1024 * 1024
MAX_FIELD_BYTES = 256 * 1024
MAX_PARTS = 500
# Whitespace after a delimiter's boundary (RFC 2046 transport padding), as Werkzeug reads it.
PADDING = b" \t\x0b\x0c"
MAX_PADDING = 64


class MalformedUpload(InvalidInput):
    code = "malformed_upload"

    def __init__(self) -> None:
        super().__init__(
            "Your upload arrived damaged (the form data could not be read), so nothing was "
            "kept. Please try again."
        )


class UploadTooLarge(TooLarge):
    code = "upload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"This upload is larger than the {limit // (1024 * 1024)} MiB this tip line accepts "
            "at once, so nothing was kept. Send fewer or smaller files, and the rest in a "
            "follow-up message with your code."
        )
        self.limit = limit


@dataclass
class Part:
    """One form part; ``chunks`` must be consumed (or is drained) before the next part."""

    name: str
    filename: str | None
    content_type: str
    chunks: Iterator[bytes]

    def read_text(self, limit: int = MAX_FIELD_BYTES) -> str:
        """The whole part as text. :raises MalformedUpload: too long or not UTF-8."""
        collected = bytearray()
        for chunk in self.chunks:
            collected += chunk
            if len(collected) > limit:
                raise MalformedUpload()
        try:
            return collected.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedUpload() from None


def boundary_of(content_type: str | None) -> bytes:
    """:raises MalformedUpload: not multipart/form-data with a boundary."""
    mimetype, options = parse_options_header(content_type or "")
    boundary = options.get("boundary", "")
    # Browsers send printable ASCII; an RFC 2231 parameter (boundary*=UTF-8''…) can decode
    # to any character, a line break too, which no delimiter line can hold.
    if (
        mimetype != "multipart/form-data"
        or not 0 < len(boundary) <= 200
        or not boundary.isprintable()
        or max(boundary) > "\xff"
    ):
        raise MalformedUpload()
    return boundary.encode("latin-1")


def unfinished_delimiter(data: bytes, boundary: bytes) -> int:
    """Where a delimiter that ``data`` may end in the middle of begins; else ``len(data)``.

    Werkzeug's decoder (3.1.9) takes the line break before a delimiter cut short in its
    padding or in its closing ``--`` for part data: a stray byte at the end of the part
    (pallets/werkzeug#3285). So it is only given data that cannot end inside a delimiter.
    """
    dash_boundary = b"--" + boundary
    start = max(0, len(data) - len(dash_boundary) - MAX_PADDING - 6)
    for at in range(start, len(data)):
        if data[at] in b"\r\n" and _begins_delimiter(data[at:], dash_boundary):
            return at
    return len(data)


def _begins_delimiter(text: bytes, dash_boundary: bytes) -> bool:
    """Whether ``text`` is all or the start of a line break, ``--boundary``, an optional
    ``--`` (the last delimiter), padding and a line break."""
    rest = text[2:] if text.startswith(b"\r\n") else text[1:]
    if len(rest) <= len(dash_boundary):
        return dash_boundary.startswith(rest)
    if not rest.startswith(dash_boundary):
        return False
    rest = rest[len(dash_boundary) :]
    if rest == b"-":
        return True
    if rest.startswith(b"--"):
        rest = rest[2:]
    return rest.lstrip(PADDING) in (b"", b"\r", b"\n", b"\r\n")


def iter_parts(stream: IO[bytes], content_type: str | None, *, max_bytes: int) -> Iterator[Part]:
    """Yield the body's parts in order, reading at most ``max_bytes`` from ``stream``.

    :raises MalformedUpload: the body is not well-formed multipart data.
    :raises UploadTooLarge: more than ``max_bytes`` arrive.
    :raises werkzeug.exceptions.ClientDisconnected: the connection drops mid-body.
    """
    boundary = boundary_of(content_type)
    decoder = MultipartDecoder(boundary, max_parts=MAX_PARTS)
    received = 0
    finished = False
    held = b""  # the start of a delimiter, kept back until the rest of it arrives

    def feed() -> None:
        nonlocal received, finished, held
        data = stream.read(READ_SIZE)
        if not data:
            decoder.receive_data(held)
            decoder.receive_data(None)
            finished = True
            return
        received += len(data)
        if received > max_bytes:
            raise UploadTooLarge(max_bytes)
        data = held + data
        cut = unfinished_delimiter(data, boundary)
        decoder.receive_data(data[:cut])
        held = data[cut:]

    def next_event() -> object:
        while True:
            try:
                event = decoder.next_event()
            except (ValueError, RequestEntityTooLarge):
                raise MalformedUpload() from None
            if event is not NEED_DATA:
                return event
            if finished:
                raise MalformedUpload()  # the body ended inside a part
            feed()

    current: list[Part] = []

    def part_data() -> Iterator[bytes]:
        while True:
            event = next_event()
            if not isinstance(event, Data):
                raise MalformedUpload()
            if event.data:
                yield event.data
            if not event.more_data:
                return

    while True:
        if current:
            for _ in current.pop().chunks:  # drain what the caller did not read
                pass
        event = next_event()
        if isinstance(event, Epilogue):
            return
        if isinstance(event, File):
            part = Part(
                name=event.name,
                filename=event.filename,
                content_type=event.headers.get("Content-Type", "application/octet-stream"),
                chunks=part_data(),
            )
        elif isinstance(event, Field):
            part = Part(
                name=event.name, filename=None, content_type="text/plain", chunks=part_data()
            )
        else:  # a preamble: ignore it and go on
            continue
        current.append(part)
        yield part
