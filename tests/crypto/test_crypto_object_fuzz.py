"""Fuzzing the object decoder: whatever the bytes, it returns the object or raises a
``DecryptionError`` subclass, never another exception; and it never accepts a changed object.

Inputs: random bytes; valid ciphertexts from ``encrypt_object`` and ``encrypt_detached_body``
flipped, truncated, extended, cut and spliced at chunk boundaries and read in random pieces;
and authentic ciphertexts of hostile plaintexts (what a tipster's own browser could encrypt):
random metadata, length prefixes, padding and chunk tags, sealed with the right key.
Deterministic (derandomized, no example database) and bounded for CI.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import ciphertext_forge as forge
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.errors import DecryptionError
from crypto.layout import CHUNK_SIZE, CIPHERTEXT_CHUNK_SIZE, HEADER_BYTES, MAX_BODY_SIZE
from crypto.metadata import KINDS, body_metadata, file_metadata, message_metadata, report_metadata
from crypto.object_reader import decrypt_object, decrypt_object_bytes
from crypto.objects import encrypt_detached_body, encrypt_object, object_key

DATA_KEY = bytes(range(32))
OBJECT_ID = bytes(range(16))
KEY = object_key(DATA_KEY, OBJECT_ID)

fuzz = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def pieces(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    """``data`` split at the (sorted, deduplicated) positions ``cuts``."""
    start = 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}):
        yield data[start:cut]
        start = cut
    yield data[start:]


def outcome(ciphertext: bytes, cuts: list[int], body_size: int | None = None) -> object:
    """Decrypt ``ciphertext`` read in pieces, to the end of its body: ``(metadata, body)``,
    or the class of the ``DecryptionError`` it raised. Any other exception fails the test."""
    try:
        decrypted = decrypt_object(
            DATA_KEY, OBJECT_ID, pieces(ciphertext, cuts), body_size=body_size
        )
        if decrypted.kind == "body" and body_size is None:
            # Documented: its metadata is returned, its body is read with its file's size.
            with pytest.raises(ValueError, match="size its file object declares"):
                next(decrypted.body)
            return decrypted.metadata, None
        return decrypted.metadata, b"".join(decrypted.body)
    except DecryptionError as rejection:
        assert str(rejection) and "\n" not in str(rejection)
        return type(rejection)


def rejected(result: object) -> bool:
    return isinstance(result, type) and issubclass(result, DecryptionError)


# --- valid objects -------------------------------------------------------------------------

# Bodies around the chunk size, so objects end just before, at and after chunk boundaries.
body_sizes = st.one_of(
    st.integers(0, 300),
    st.integers(CHUNK_SIZE - 300, CHUNK_SIZE + 300),
    st.integers(2 * CHUNK_SIZE - 200, 2 * CHUNK_SIZE + 200),
)


@st.composite
def valid_objects(draw: st.DrawFn) -> tuple[bytes, int | None, Any]:
    """``(ciphertext, body_size to read it with, expected (metadata, body))``."""
    kind = draw(st.sampled_from(["message", "report", "file", "body"]))
    if kind == "message":
        metadata: dict[str, Any] = message_metadata(draw(st.text(max_size=50)))
        body = b""
    elif kind == "report":
        fields = draw(st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=4))
        metadata, body = report_metadata("en", fields), b""
    else:
        body = bytes([draw(st.integers(0, 255))]) * draw(body_sizes)
    if kind == "file":
        metadata = file_metadata("e.bin", "", len(body), hashlib.sha256(body).hexdigest())
        ciphertext = b"".join(encrypt_object(DATA_KEY, OBJECT_ID, metadata, [body]))
        return ciphertext, None, (metadata, body)
    if kind == "body":
        ciphertext = b"".join(encrypt_detached_body(DATA_KEY, OBJECT_ID, [body]))
        return ciphertext, len(body), (body_metadata(), body)
    ciphertext = b"".join(encrypt_object(DATA_KEY, OBJECT_ID, metadata))
    return ciphertext, None, (metadata, b"")


cut_lists = st.lists(st.integers(0, 3 * CIPHERTEXT_CHUNK_SIZE), max_size=6)


@fuzz
@given(valid=valid_objects(), cuts=cut_lists)
def test_valid_objects_decrypt_whatever_the_pieces(valid: Any, cuts: list[int]) -> None:
    ciphertext, body_size, expected = valid
    assert outcome(ciphertext, cuts, body_size) == expected


@fuzz
@given(
    valid=valid_objects(),
    position=st.integers(0, 2**32),
    change=st.integers(1, 255),
    cuts=cut_lists,
)
def test_any_changed_byte_is_rejected(valid: Any, position: int, change: int, cuts: list[int]):
    ciphertext, body_size, _ = valid
    changed = bytearray(ciphertext)
    changed[position % len(changed)] ^= change
    assert rejected(outcome(bytes(changed), cuts, body_size))


@fuzz
@given(valid=valid_objects(), keep=st.integers(0, 2**32), cuts=cut_lists)
def test_every_truncation_is_rejected(valid: Any, keep: int, cuts: list[int]) -> None:
    ciphertext, body_size, _ = valid
    assert rejected(outcome(ciphertext[: keep % len(ciphertext)], cuts, body_size))


@fuzz
@given(valid=valid_objects(), extra=st.binary(min_size=1, max_size=70_000), cuts=cut_lists)
def test_anything_appended_is_rejected(valid: Any, extra: bytes, cuts: list[int]) -> None:
    ciphertext, body_size, _ = valid
    assert rejected(outcome(ciphertext + extra, cuts, body_size))


@fuzz
@given(
    valid=valid_objects(),
    start=st.integers(0, 2**32),
    length=st.integers(1, 70_000),
    inserted=st.binary(max_size=70_000),
    cuts=cut_lists,
)
def test_any_spliced_range_is_rejected(
    valid: Any, start: int, length: int, inserted: bytes, cuts: list[int]
) -> None:
    ciphertext, body_size, _ = valid
    start %= len(ciphertext)
    spliced = ciphertext[:start] + inserted + ciphertext[start + length :]
    if spliced != ciphertext:
        assert rejected(outcome(spliced, cuts, body_size))


@fuzz
@given(valid=valid_objects(), order=st.lists(st.integers(0, 4), max_size=5), cuts=cut_lists)
def test_whole_chunks_dropped_repeated_or_reordered_are_rejected(
    valid: Any, order: list[int], cuts: list[int]
) -> None:
    ciphertext, body_size, _ = valid
    body = ciphertext[HEADER_BYTES:]
    chunks = [
        body[i : i + CIPHERTEXT_CHUNK_SIZE] for i in range(0, len(body), CIPHERTEXT_CHUNK_SIZE)
    ]
    rearranged = ciphertext[:HEADER_BYTES] + b"".join(chunks[i % len(chunks)] for i in order)
    if rearranged != ciphertext:
        assert rejected(outcome(rearranged, cuts, body_size))


@fuzz
@given(valid=valid_objects(), claimed=st.integers(-(2**60), 2**60))
def test_a_detached_body_read_with_any_other_size_is_rejected(valid: Any, claimed: int) -> None:
    ciphertext, body_size, _ = valid
    if body_size is None or claimed == body_size:
        return
    if not 0 <= claimed <= MAX_BODY_SIZE:
        with pytest.raises(ValueError):  # documented: the caller passed an impossible size
            outcome(ciphertext, [], claimed)
        return
    assert rejected(outcome(ciphertext, [], claimed))


# --- random bytes --------------------------------------------------------------------------


@fuzz
@given(data=st.binary(max_size=3 * CIPHERTEXT_CHUNK_SIZE), cuts=cut_lists)
def test_random_bytes_are_rejected(data: bytes, cuts: list[int]) -> None:
    assert rejected(outcome(data, cuts))
    with pytest.raises(DecryptionError):
        decrypt_object_bytes(DATA_KEY, OBJECT_ID, data)


# --- authentic ciphertexts of hostile plaintexts ---------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
FIELDS = ["v", "kind", "size", "name", "type", "sha256", "body", "text", "lang", "fields"]
plausible_values = st.one_of(
    st.sampled_from([1, "message", "report", "file", "note", "body", "", "0" * 64, {}]),
    st.integers(-1, 3 * CHUNK_SIZE),
    st.sampled_from([MAX_BODY_SIZE, MAX_BODY_SIZE + 1, 2**64, 1.0, True]),
    st.just("00000000-0000-4000-8000-000000000000"),
    json_values,
)
TEMPLATES = [
    message_metadata("hello"),
    {"v": 1, "kind": "note", "text": "n"},
    report_metadata("en", {"where": "market"}),
    file_metadata("e.bin", "", 100, "0" * 64),
    file_metadata("e.bin", "", 10, "0" * 64, body="00000000-0000-4000-8000-000000000000"),
    body_metadata(),
]


def mangled(draw: st.DrawFn) -> bool:
    """True one time in four: the rest of the time a part of the object is left as it should be."""
    return draw(st.integers(0, 3)) == 3


@st.composite
def near_valid_metadata(draw: st.DrawFn) -> dict[str, Any]:
    """A valid metadata object of some kind with fields dropped, added or changed."""
    metadata = dict(draw(st.sampled_from(TEMPLATES)))
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(FIELDS) | st.text(max_size=4))
        if draw(st.booleans()):
            metadata[name] = draw(plausible_values)
        else:
            metadata.pop(name, None)
    return metadata


@st.composite
def hostile_metadata(draw: st.DrawFn) -> bytes:
    """Bytes where the metadata goes: near-valid objects, any JSON, or any bytes."""
    choice = draw(st.integers(0, 5))
    if choice <= 2:  # compact, or spaced out and unsorted: readers accept any valid JSON text
        separators = draw(st.sampled_from([(",", ":"), (" , ", " : ")]))
        return json.dumps(draw(near_valid_metadata()), separators=separators).encode()
    if choice == 3:
        return json.dumps(draw(json_values)).encode()
    if choice == 4:  # deep nesting: the JSON parser must not blow the stack
        depth = draw(st.integers(1, 200_000))
        return b"[" * depth + b"]" * draw(st.integers(0, depth))
    return draw(st.binary(max_size=200))


@st.composite
def hostile_plaintexts(draw: st.DrawFn) -> list[tuple[bytes, int]]:
    """``(plaintext, tag)`` per chunk: a length prefix (true or not), metadata, a body,
    padding (zero or not, canonical length or not), cut into chunks with any tags."""
    metadata = draw(hostile_metadata())
    prefix_length = len(metadata)
    if mangled(draw):
        prefix_length = draw(st.integers(0, 2**32 - 1) | st.integers(0, len(metadata) + 3))
    body = b"\x00" * draw(st.sampled_from([0, 10, 100, CHUNK_SIZE, 2 * CHUNK_SIZE]))
    unpadded = prefix_length.to_bytes(4, "little") + metadata + body
    padded_to = -(-len(unpadded) // 4096) * 4096
    if mangled(draw):
        padded_to = draw(st.integers(max(1, len(unpadded) - 10), len(unpadded) + 2 * CHUNK_SIZE))
    plaintext = bytearray(unpadded + bytes(max(0, padded_to - len(unpadded))))[:padded_to]
    if mangled(draw) and len(plaintext) > len(unpadded):
        plaintext[draw(st.integers(len(unpadded), len(plaintext) - 1))] = draw(st.integers(1, 255))
    chunks = forge.cut(bytes(plaintext))
    tags = [forge.MESSAGE] * (len(chunks) - 1) + [forge.FINAL]
    if mangled(draw):
        every_tag = st.sampled_from([forge.MESSAGE, forge.FINAL, forge.PUSH])
        tags = draw(st.lists(every_tag, min_size=len(chunks), max_size=len(chunks)))
    return list(zip(chunks, tags, strict=True))


@settings(fuzz, max_examples=200)
@given(
    chunks=hostile_plaintexts(),
    body_size=st.none() | st.integers(0, 3 * CHUNK_SIZE),
    cuts=cut_lists,
)
def test_authentic_ciphertexts_of_hostile_plaintexts_are_read_or_rejected(
    chunks: list[tuple[bytes, int]], body_size: int | None, cuts: list[int]
) -> None:
    ciphertext = forge.seal_chunks(KEY, chunks)
    result = outcome(ciphertext, cuts, body_size)
    if isinstance(result, tuple):
        metadata, _ = result
        assert metadata["v"] == 1 and metadata["kind"] in KINDS
        assert chunks[-1][1] == forge.FINAL
        assert all(tag == forge.MESSAGE for _, tag in chunks[:-1])
    # However it is split, the same answer.
    assert outcome(ciphertext, [], body_size) == result
