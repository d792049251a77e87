"""Fuzzing the streaming multipart parser (app/web/upload/multipart_stream.py): whatever the
body and its Content-Type, ``iter_parts`` yields parts or raises what it documents,
``MalformedUpload`` or ``UploadTooLarge``; never another exception, and never a truncated body
taken for a whole one.

Inputs: well-formed bodies (which must come back part for part, however the socket splits
them), the same cut at every position, with line endings, boundaries and headers mangled, bytes
flipped, inserted and deleted; random bytes; random Content-Type headers. Deterministic
(derandomized, no example database) and bounded for CI.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.web.upload.multipart_stream import (
    MAX_PARTS,
    MalformedUpload,
    Part,
    UploadTooLarge,
    boundary_of,
    iter_parts,
)

fuzz = settings(
    max_examples=80,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
ENOUGH = 10 * 1024 * 1024
Parsed = list[tuple[str, str | None, str, bytes]]


class PieceStream:
    """A request body arriving in pieces of the given sizes, in turn (as a socket would
    deliver it), or cut at the given positions."""

    def __init__(self, body: bytes, sizes: list[int], cuts: tuple[int, ...] = ()) -> None:
        self._body = memoryview(body)
        if cuts:
            sizes = [end - start for start, end in itertools.pairwise((0, *cuts, len(body)))]
        self._sizes = [size for size in sizes if size > 0] or [len(body) or 1]
        self._turn = 0

    def read(self, limit: int = -1) -> bytes:
        size = self._sizes[self._turn % len(self._sizes)]
        self._turn += 1
        if 0 <= limit < size:
            size = limit
        piece, self._body = bytes(self._body[:size]), self._body[size:]
        return piece


def parse(
    body: bytes,
    content_type: str | None = "multipart/form-data; boundary=B",
    *,
    sizes: list[int] | None = None,
    cuts: tuple[int, ...] = (),
    max_bytes: int = ENOUGH,
    skip: frozenset[int] = frozenset(),
) -> Parsed | type[Exception]:
    """The parts (reading every one whose index is not in ``skip``), or the class of the
    documented error raised. Any other exception fails the test."""
    try:
        parsed: Parsed = []
        stream = cast(IO[bytes], PieceStream(body, sizes or [], cuts))
        for index, part in enumerate(iter_parts(stream, content_type, max_bytes=max_bytes)):
            data = b"" if index in skip else b"".join(part.chunks)
            parsed.append((part.name, part.filename, part.content_type, data))
        return parsed
    except (MalformedUpload, UploadTooLarge) as refusal:
        return type(refusal)


# --- well-formed bodies --------------------------------------------------------------------

# RFC 2046 boundary characters (a space may not end it); names without quotes or line breaks.
BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? "
boundaries = st.text(BCHARS, min_size=1, max_size=70).filter(lambda b: not b.endswith(" "))
names = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
filenames = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-. ", min_size=1, max_size=20)
file_types = st.sampled_from(["application/octet-stream", "image/png", "text/plain"])


@dataclass(frozen=True)
class Form:
    boundary: str
    parts: Parsed
    preamble: bytes
    epilogue: bytes

    @property
    def content_type(self) -> str:
        return f'multipart/form-data; boundary="{self.boundary}"'

    @property
    def closing(self) -> bytes:
        """Everything up to the end of the closing delimiter: a body cut before it is cut."""
        body = self.preamble
        for name, filename, content_type, data in self.parts:
            body += f"--{self.boundary}\r\n".encode()
            if filename is None:
                body += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            else:
                disposition = f'form-data; name="{name}"; filename="{filename}"'
                body += f"Content-Disposition: {disposition}\r\n".encode()
                body += f"Content-Type: {content_type}\r\n\r\n".encode()
            body += data + b"\r\n"
        return body + f"--{self.boundary}--".encode()

    @property
    def body(self) -> bytes:
        return self.closing + b"\r\n" + self.epilogue


@st.composite
def part_values(draw: st.DrawFn, boundary: str) -> tuple[str, str | None, str, bytes]:
    data = draw(st.binary(max_size=300) | st.sampled_from([b"", b"\r\n", b"--", b"\r\n--x"]))
    # The data may hold anything but the delimiter itself.
    if f"\r\n--{boundary}".encode() in b"\r\n" + data + b"\r\n":
        data = b"x"
    if draw(st.booleans()):
        return draw(names), None, "text/plain", data
    return draw(names), draw(filenames), draw(file_types), data


@st.composite
def forms(draw: st.DrawFn) -> Form:
    boundary = draw(boundaries)
    parts = draw(st.lists(part_values(boundary), max_size=4))
    # The preamble must not itself hold a line starting the first delimiter.
    preamble = draw(st.sampled_from([b"", b"ignored preamble\r\n"]))
    epilogue = draw(st.sampled_from([b"", b"ignored epilogue", b"\r\n--" + boundary.encode()]))
    return Form(boundary, parts, preamble, epilogue)


read_sizes = st.lists(st.integers(1, 400), max_size=5)


@fuzz
@given(form=forms(), sizes=read_sizes, skip=st.frozensets(st.integers(0, 3)))
def test_well_formed_bodies_come_back_part_for_part_however_they_arrive(
    form: Form, sizes: list[int], skip: frozenset[int]
) -> None:
    expected = [
        (name, filename, kind, b"" if index in skip else data)
        for index, (name, filename, kind, data) in enumerate(form.parts)
    ]
    assert parse(form.body, form.content_type, sizes=sizes, skip=skip) == expected


@settings(fuzz, max_examples=25)
@given(form=forms(), sizes=read_sizes)
def test_a_body_cut_anywhere_before_its_closing_delimiter_is_malformed(
    form: Form, sizes: list[int]
) -> None:
    body, closing = form.body, len(form.closing)
    for cut in range(len(body) + 1):
        result = parse(body[:cut], form.content_type, sizes=sizes)
        if cut < closing:
            assert result is MalformedUpload, (cut, result)
        else:
            assert result == form.parts, cut


# Chrome's, Firefox's, and boundaries that end in the "-" a closing delimiter continues with.
BROWSER_BOUNDARIES = [
    "----WebKitFormBoundary7MA4YWxkTrZu0gW",
    "-" * 27 + "90519140415448",
    "-",
    "a-",
]


@pytest.mark.parametrize("padding", ["", " \t"])
@pytest.mark.parametrize("boundary", BROWSER_BOUNDARIES)
def test_a_body_cut_into_pieces_anywhere_parses_as_it_does_whole(boundary: str, padding: str):
    """Werkzeug's decoder alone adds a stray CR to the last part when a read ends inside the
    closing ``--``, and swallows a delimiter when one ends inside its padding."""
    parts: Parsed = [
        ("a", None, "text/plain", b"he-\r\n-llo"),
        ("f", "x", "application/octet-stream", b"\r\nfile\r"),
    ]
    form = Form(boundary, parts, b"", b"")
    delimiter = f"--{boundary}\r\n".encode()
    body = form.body.replace(delimiter, delimiter[:-2] + padding.encode() + b"\r\n")
    for cut in range(1, len(body)):
        assert parse(body, form.content_type, cuts=(cut,)) == parts, cut
    tail = range(len(body) - len(boundary) - 12, len(body))
    for cuts in itertools.combinations(tail, 2):
        assert parse(body, form.content_type, cuts=cuts) == parts, cuts


LINE_ENDINGS = [b"\n", b"\r", b"\n\r", b"\r\r\n", b""]


@st.composite
def mangled_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """A well-formed body with some of its structure broken, and its Content-Type."""
    form = draw(forms())
    body = form.body
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.integers(0, 6))
        position = draw(st.integers(0, len(body)))
        if how == 0:  # other line endings, everywhere or at one place
            ending = draw(st.sampled_from(LINE_ENDINGS))
            if draw(st.booleans()):
                body = body.replace(b"\r\n", ending)
            else:
                at = body.find(b"\r\n", position)
                body = body if at < 0 else body[:at] + ending + body[at + 2 :]
        elif how == 1:  # a changed delimiter
            old = f"--{form.boundary}".encode()
            new = draw(st.sampled_from([old[:-1], old + b"x", old.upper(), b"-" + old, old[1:]]))
            body = body.replace(old, new, draw(st.integers(1, 3)))
        elif how == 2:  # a broken header line
            old = draw(st.sampled_from([b"Content-Disposition: ", b"form-data; ", b'name="']))
            new = draw(st.sampled_from([b"", b"Content-Disposition ", b"\xff\xfe", b'"', b";;"]))
            body = body.replace(old, new, 1)
        elif how == 3:  # a byte changed
            if body:
                changed = bytearray(body)
                changed[position % len(body)] ^= draw(st.integers(1, 255))
                body = bytes(changed)
        elif how == 4:  # bytes inserted
            inserted = draw(st.binary(min_size=1, max_size=20) | st.sampled_from(LINE_ENDINGS))
            body = body[:position] + inserted + body[position:]
        elif how == 5:  # bytes deleted
            body = body[:position] + body[position + draw(st.integers(1, 20)) :]
        else:  # a header line of any bytes, or huge
            header = draw(st.binary(max_size=60) | st.just(b"X-Long: " + b"a" * 70_000))
            at = body.find(b"\r\n", position)
            body = body if at < 0 else body[: at + 2] + header + b"\r\n" + body[at + 2 :]
    return body, form.content_type


@settings(fuzz, max_examples=200)
@given(mangled=mangled_bodies(), sizes=read_sizes, skip=st.frozensets(st.integers(0, 3)))
def test_mangled_bodies_are_parsed_or_refused_as_malformed(
    mangled: tuple[bytes, str], sizes: list[int], skip: frozenset[int]
) -> None:
    body, content_type = mangled
    result = parse(body, content_type, sizes=sizes, skip=skip)
    assert result is MalformedUpload or isinstance(result, list)
    # However the socket splits it, the same answer.
    assert parse(body, content_type, skip=skip) == result


@fuzz
@given(body=st.binary(max_size=2000), sizes=read_sizes)
def test_random_bytes_are_parsed_or_refused_as_malformed(body: bytes, sizes: list[int]) -> None:
    result = parse(body, sizes=sizes)
    assert result is MalformedUpload or isinstance(result, list)


# --- the Content-Type header ---------------------------------------------------------------

header_text = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=120)
content_types = st.one_of(
    st.none(),
    header_text,
    header_text.map(lambda rest: "multipart/form-data; " + rest),
    st.sampled_from(
        [
            "multipart/form-data",
            "multipart/form-data; boundary=",
            'multipart/form-data; boundary=""',
            "multipart/form-data; boundary=" + "b" * 201,
            "multipart/form-data; boundary*=UTF-8''%E2%82%AC",
            "multipart/form-data; boundary*=UTF-8''B",
            "multipart/form-data; boundary*=iso-8859-1''%E9",
            "multipart/form-data; boundary*0=B; boundary*1=C",
            "MULTIPART/FORM-DATA; BOUNDARY=B",
            "multipart/mixed; boundary=B",
            "text/plain; boundary=B",
        ]
    ),
)


@fuzz
@given(content_type=content_types)
def test_any_content_type_gives_a_boundary_or_a_malformed_upload(content_type: str | None):
    try:
        boundary = boundary_of(content_type)
    except MalformedUpload:
        return
    assert 0 < len(boundary) <= 200


@fuzz
@given(content_type=content_types, body=st.sampled_from([b"", b"--B\r\n", b"--B--\r\n"]))
def test_any_content_type_is_parsed_or_refused_as_malformed(content_type: str | None, body: bytes):
    result = parse(body, content_type)
    assert result is MalformedUpload or isinstance(result, list)


# --- limits --------------------------------------------------------------------------------


@fuzz
@given(form=forms(), max_bytes=st.integers(0, 3000), sizes=read_sizes)
def test_more_than_max_bytes_is_too_large_and_never_less(
    form: Form, max_bytes: int, sizes: list[int]
) -> None:
    result = parse(form.body, form.content_type, max_bytes=max_bytes, sizes=sizes)
    if len(form.body) <= max_bytes:
        assert result == form.parts
    else:
        assert result is UploadTooLarge or result == form.parts


def test_more_parts_than_the_limit_are_malformed() -> None:
    field = b'--B\r\nContent-Disposition: form-data; name="f"\r\n\r\nx\r\n'
    assert len(parse(field * MAX_PARTS + b"--B--\r\n")) == MAX_PARTS  # type: ignore[arg-type]
    assert parse(field * (MAX_PARTS + 1) + b"--B--\r\n") is MalformedUpload


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


@fuzz
@given(data=st.binary(max_size=600), piece=st.integers(1, 100), limit=st.integers(0, 600))
def test_a_field_reads_as_text_or_is_refused_as_malformed(
    data: bytes, piece: int, limit: int
) -> None:
    part = Part("field", None, "text/plain", chunks_of(data, piece))
    try:
        text = part.read_text(limit=limit)
    except MalformedUpload:
        assert len(data) > limit or not is_utf8(data)
        return
    assert len(data) <= limit and text == data.decode("utf-8")


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
