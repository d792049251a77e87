"""Object encryption: round trips over every size boundary and arbitrary re-chunking."""

from __future__ import annotations

import hashlib
import random
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.errors import InvalidMetadata, SizeMismatch
from crypto.layout import (
    CHUNK_SIZE,
    ciphertext_length,
    is_padded_length,
    is_valid_ciphertext_length,
    padded_length,
    padded_length_of_ciphertext,
)
from crypto.metadata import encode_metadata, file_metadata, message_metadata, report_metadata
from crypto.object_reader import decrypt_object, decrypt_object_bytes
from crypto.objects import encrypt_object

DATA_KEY = bytes(range(32))
OBJECT_ID = bytes(range(16, 32))
MIB = 1024 * 1024
BODY_SIZES = [0, 1, 4095, 4096, 65535, 65536, 65537, MIB - 1, MIB, MIB + 1]


def body_of(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def metadata_for(body: bytes) -> dict:
    return file_metadata(
        "evidence.bin", "application/octet-stream", len(body), hashlib.sha256(body).hexdigest()
    )


def body_size_for_unpadded(target: int) -> int:
    """The body size whose unpadded plaintext ``u32le || M || B`` is exactly ``target``."""
    size = target
    for _ in range(5):  # len(M) depends on the digits of size: iterate to the fixed point
        template = file_metadata("evidence.bin", "application/octet-stream", size, "0" * 64)
        size = target - 4 - len(encode_metadata(template))
    return size


# Bodies that make the *unpadded plaintext* hit each boundary too.
UNPADDED_TARGETS = [4095, 4096, 4097, 65535, 65536, 65537, 131072, MIB - 1, MIB, MIB + 1]
SIZES = sorted(set(BODY_SIZES + [body_size_for_unpadded(t) for t in UNPADDED_TARGETS]))


def split(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    position, index = 0, 0
    while position < len(data):
        step = sizes[index % len(sizes)]
        yield data[position : position + step]
        position += step
        index += 1


piece_sizes = st.lists(
    st.sampled_from([1, 2, 17, 4095, 4096, 65535, 65536, 65553, 100_003]), min_size=1, max_size=4
).map(
    lambda sizes: [*sizes, 65537]  # keeps the piece count low for 1 MiB bodies
)


def test_body_size_helper_hits_its_targets() -> None:
    for target in UNPADDED_TARGETS:
        size = body_size_for_unpadded(target)
        assert 4 + len(encode_metadata(metadata_for(bytes(size)))) + size == target


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.sampled_from(SIZES) | st.integers(0, 200_000),
    seed=st.integers(0, 2**16),
    body_pieces=piece_sizes,
    ciphertext_pieces=piece_sizes,
)
def test_objects_round_trip_whatever_the_size_and_splits(
    size: int, seed: int, body_pieces: list[int], ciphertext_pieces: list[int]
) -> None:
    body = body_of(size, seed)
    metadata = metadata_for(body)
    ciphertext = b"".join(encrypt_object(DATA_KEY, OBJECT_ID, metadata, split(body, body_pieces)))
    padded = padded_length(4 + len(encode_metadata(metadata)) + size)
    assert len(ciphertext) == ciphertext_length(padded)
    assert padded_length_of_ciphertext(len(ciphertext)) == padded
    decrypted = decrypt_object(DATA_KEY, OBJECT_ID, split(ciphertext, ciphertext_pieces))
    assert decrypted.metadata == metadata
    assert b"".join(decrypted.body) == body


@settings(max_examples=25, deadline=None)
@given(
    text=st.text(max_size=3000),
    fields=st.dictionaries(st.text(max_size=20), st.text(max_size=200), max_size=8),
)
def test_metadata_only_objects_round_trip(text: str, fields: dict[str, str]) -> None:
    for metadata in (message_metadata(text), report_metadata("sw", fields)):
        ciphertext = b"".join(encrypt_object(DATA_KEY, OBJECT_ID, metadata))
        assert decrypt_object_bytes(DATA_KEY, OBJECT_ID, ciphertext) == (metadata, b"")


def test_metadata_spanning_several_chunks_round_trips() -> None:
    metadata = message_metadata("x" * (3 * CHUNK_SIZE + 123))
    ciphertext = b"".join(encrypt_object(DATA_KEY, OBJECT_ID, metadata))
    assert decrypt_object_bytes(DATA_KEY, OBJECT_ID, ciphertext)[0] == metadata


def test_encryption_yields_the_header_then_whole_chunks() -> None:
    body = body_of(200_000)
    pieces = list(encrypt_object(DATA_KEY, OBJECT_ID, metadata_for(body), [body]))
    assert [len(p) for p in pieces[:-1]] == [24] + [CHUNK_SIZE + 17] * (len(pieces) - 2)


def test_encrypt_accepts_a_producer_that_reuses_its_buffer() -> None:
    body = body_of(300_001, seed=7)
    buffer = bytearray(10_000)

    def refilling() -> Iterator[bytearray]:
        for start in range(0, len(body), len(buffer)):
            piece = body[start : start + len(buffer)]
            buffer[: len(piece)] = piece
            yield buffer if len(piece) == len(buffer) else bytearray(piece)

    ciphertext = b"".join(encrypt_object(DATA_KEY, OBJECT_ID, metadata_for(body), refilling()))
    assert decrypt_object_bytes(DATA_KEY, OBJECT_ID, ciphertext)[1] == body


def test_decrypt_accepts_a_source_that_reuses_its_buffer() -> None:
    body = body_of(150_000, seed=3)
    ciphertext = b"".join(encrypt_object(DATA_KEY, OBJECT_ID, metadata_for(body), [body]))
    buffer = bytearray(7_000)

    def refilling() -> Iterator[memoryview]:
        for start in range(0, len(ciphertext), len(buffer)):
            piece = ciphertext[start : start + len(buffer)]
            buffer[: len(piece)] = piece
            yield memoryview(buffer)[: len(piece)]

    assert b"".join(decrypt_object(DATA_KEY, OBJECT_ID, refilling()).body) == body


def test_a_single_bytes_object_is_one_piece_not_an_iterable_of_ints() -> None:
    body = b"abc"
    ciphertext = b"".join(encrypt_object(DATA_KEY, OBJECT_ID, metadata_for(body), body))
    assert decrypt_object_bytes(DATA_KEY, OBJECT_ID, ciphertext)[1] == body


def test_metadata_is_read_without_consuming_the_body() -> None:
    body = body_of(5 * CHUNK_SIZE)
    pieces = iter(list(encrypt_object(DATA_KEY, OBJECT_ID, metadata_for(body), [body])))
    decrypted = decrypt_object(DATA_KEY, OBJECT_ID, pieces)
    assert decrypted.kind == "file" and decrypted.size == len(body)
    assert len(list(pieces)) == 5  # header and first chunk read; 5 of 6 chunks left


def test_encryption_and_decryption_memory_stays_bounded() -> None:
    total = 48 * MIB
    piece = body_of(MIB)
    metadata = file_metadata("big.bin", "", total, "0" * 64)

    def body() -> Iterator[bytes]:
        for _ in range(total // MIB):
            yield piece

    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        ciphertext_length_seen = 0
        for chunk in encrypt_object(DATA_KEY, OBJECT_ID, metadata, body()):
            ciphertext_length_seen += len(chunk)
        encrypt_peak = tracemalloc.get_traced_memory()[1] - baseline
        tracemalloc.reset_peak()
        decrypted = decrypt_object(
            DATA_KEY, OBJECT_ID, encrypt_object(DATA_KEY, OBJECT_ID, metadata, body())
        )
        received = sum(len(part) for part in decrypted.body)
        decrypt_peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert received == total
    assert ciphertext_length_seen == ciphertext_length(padded_length(total + 200))
    assert encrypt_peak < 2 * MIB
    assert decrypt_peak < 2 * MIB


def test_body_longer_than_declared_is_refused() -> None:
    with pytest.raises(SizeMismatch):
        b"".join(encrypt_object(DATA_KEY, OBJECT_ID, metadata_for(b"1234"), [b"12345"]))


def test_body_shorter_than_declared_is_refused_before_the_final_chunk() -> None:
    produced: list[bytes] = []
    with pytest.raises(SizeMismatch):
        for chunk in encrypt_object(
            DATA_KEY, OBJECT_ID, metadata_for(bytes(200_000)), [bytes(199_999)]
        ):
            produced.append(chunk)
    assert len(produced) < 4  # header + chunks, but never the FINAL one


def test_body_without_declared_size_is_refused() -> None:
    with pytest.raises(SizeMismatch):
        list(encrypt_object(DATA_KEY, OBJECT_ID, message_metadata("hi"), [b"x"]))


@pytest.mark.parametrize(
    "metadata",
    [
        {"v": 1, "kind": "reply", "text": "x"},
        {"v": 2, "kind": "message", "text": "x"},
        {"v": True, "kind": "message", "text": "x"},
        {"v": 1, "kind": "message"},
        {"v": 1, "kind": "message", "text": "x", "size": 3},
        {"v": 1, "kind": "file", "name": "a", "type": "", "size": 1, "sha256": "AB" * 32},
        {"v": 1, "kind": "file", "name": "", "type": "", "size": 1, "sha256": "ab" * 32},
        {"v": 1, "kind": "file", "name": "a", "type": "", "size": -1, "sha256": "ab" * 32},
        {"v": 1, "kind": "message", "text": "\ud800"},
        {"v": 1, "kind": "message", "text": "x", "extra": float("nan")},
        {"v": 1, "kind": "message", "text": "x" * (1024 * 1024)},
    ],
)
def test_invalid_metadata_is_refused_before_anything_is_yielded(metadata: dict) -> None:
    with pytest.raises(InvalidMetadata):
        encrypt_object(DATA_KEY, OBJECT_ID, metadata)


def test_wrong_length_keys_and_ids_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        encrypt_object(bytes(31), OBJECT_ID, message_metadata("x"))
    with pytest.raises(ValueError):
        decrypt_object(DATA_KEY, bytes(15), [b""])


def test_valid_ciphertext_lengths_are_exactly_those_of_padded_plaintexts() -> None:
    valid = {ciphertext_length(p) for p in range(4096, 3 * MIB + 1, 4096) if is_padded_length(p)}
    for length in range(0, 3 * MIB + 1000):
        assert is_valid_ciphertext_length(length) == (length in valid), length


@pytest.mark.parametrize("size", SIZES)
def test_every_boundary_size_round_trips_with_odd_splits(size: int) -> None:
    body = body_of(size, seed=size)
    metadata = metadata_for(body)
    ciphertext = b"".join(
        encrypt_object(DATA_KEY, OBJECT_ID, metadata, split(body, [4097, 1, 65535]))
    )
    decrypted = decrypt_object(DATA_KEY, OBJECT_ID, split(ciphertext, [65552, 3, 24]))
    assert decrypted.metadata == metadata
    assert b"".join(decrypted.body) == body
