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
    if mimetype != "multipart/form-data" or not boundary or len(boundary) > 200:
        raise MalformedUpload()
    return boundary.encode("latin-1")


def iter_parts(stream: IO[bytes], content_type: str | None, *, max_bytes: int) -> Iterator[Part]:
    """Yield the body's parts in order, reading at most ``max_bytes`` from ``stream``.

    :raises MalformedUpload: the body is not well-formed multipart data.
    :raises UploadTooLarge: more than ``max_bytes`` arrive.
    :raises werkzeug.exceptions.ClientDisconnected: the connection drops mid-body.
    """
    decoder = MultipartDecoder(boundary_of(content_type), max_parts=MAX_PARTS)
    received = 0
    finished = False

    def feed() -> None:
        nonlocal received, finished
        data = stream.read(READ_SIZE)
        if not data:
            decoder.receive_data(None)
            finished = True
            return
        received += len(data)
        if received > max_bytes:
            raise UploadTooLarge(max_bytes)
        decoder.receive_data(data)

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
