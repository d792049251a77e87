"""Detached file bodies: encrypted before their length is known, read with the file's size."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import BadMetadata, DecryptionError, InvalidMetadata, TamperedCiphertext
from crypto.ids import id_to_str, new_id
from crypto.layout import ciphertext_length, padded_length
from crypto.metadata import encode_metadata, file_metadata, parse_metadata
from crypto.object_reader import decrypt_object
from crypto.objects import encrypt_detached_body, encrypt_object

KEY = bytes(range(32))
SHA = "ab" * 32
MIB = 1024 * 1024


def encrypted(body: bytes, pieces: int = 3) -> tuple[bytes, bytes]:
    object_id = new_id()
    step = max(1, -(-len(body) // pieces))
    parts = [body[i : i + step] for i in range(0, len(body), step)]
    return object_id, b"".join(encrypt_detached_body(KEY, object_id, parts))


def read(object_id: bytes, ciphertext: bytes, size: int) -> bytes:
    return b"".join(decrypt_object(KEY, object_id, [ciphertext], body_size=size).body)


@pytest.mark.parametrize(
    "size", [0, 1, 4096 - 40, 4096 - 20, 65536, MIB - 30, MIB - 29, MIB, 3 * MIB + 7]
)
def test_round_trip_and_padded_length(size: int) -> None:
    body = os.urandom(size)
    object_id, ciphertext = encrypted(body)
    assert read(object_id, ciphertext, size) == body
    prefix = 4 + len(encode_metadata({"v": 1, "kind": "body"}))
    assert len(ciphertext) == ciphertext_length(padded_length(prefix + size + 8))


@settings(max_examples=40, deadline=None)
@given(size=st.integers(0, 70_000), wrong=st.integers(-70_000, 70_000))
def test_any_other_size_is_rejected(size: int, wrong: int) -> None:
    """The trailer binds the body to its length: zero padding cannot pass for body bytes."""
    body = bytes(size)  # all zeros: the hardest case to tell from padding
    object_id, ciphertext = encrypted(body)
    claimed = size + wrong
    if wrong == 0 or claimed < 0:
        return
    with pytest.raises(DecryptionError):
        read(object_id, ciphertext, claimed)


def test_metadata_is_readable_without_the_size_but_the_body_is_not() -> None:
    object_id, ciphertext = encrypted(b"evidence")
    opened = decrypt_object(KEY, object_id, [ciphertext])
    assert opened.metadata == {"v": 1, "kind": "body"}
    with pytest.raises(ValueError, match="size its file object declares"):
        next(opened.body)


def test_a_size_for_an_object_that_is_not_a_body_is_rejected() -> None:
    object_id = new_id()
    ciphertext = b"".join(encrypt_object(KEY, object_id, file_metadata("a", "b", 2, SHA), [b"hi"]))
    with pytest.raises(BadMetadata):
        decrypt_object(KEY, object_id, [ciphertext], body_size=2)


def test_a_tampered_trailer_fails_authentication() -> None:
    object_id, ciphertext = encrypted(b"evidence")
    bad = ciphertext[:-20] + bytes([ciphertext[-20] ^ 1]) + ciphertext[-19:]
    with pytest.raises(TamperedCiphertext):
        read(object_id, bad, 8)


def test_file_metadata_naming_a_body_carries_no_body_of_its_own() -> None:
    body_id = id_to_str(new_id())
    metadata = file_metadata("video.mp4", "video/mp4", 5 * MIB, SHA, body=body_id)
    object_id = new_id()
    ciphertext = b"".join(encrypt_object(KEY, object_id, metadata))
    opened = decrypt_object(KEY, object_id, [ciphertext])
    assert opened.metadata["body"] == body_id and opened.metadata["size"] == 5 * MIB
    assert list(opened.body) == []
    assert len(ciphertext) < 5000  # only the metadata, padded to 4 KiB


@pytest.mark.parametrize(
    "metadata",
    [
        {**file_metadata("a", "b", 1, SHA), "body": "not-a-uuid"},
        {**file_metadata("a", "b", 1, SHA), "body": 7},
        {"v": 1, "kind": "body", "size": 3},
    ],
)
def test_malformed_detached_metadata_is_refused_both_ways(metadata: dict) -> None:
    with pytest.raises(InvalidMetadata):
        encode_metadata(metadata)
    with pytest.raises(BadMetadata):
        parse_metadata(json.dumps(metadata).encode())
