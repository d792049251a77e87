"""Reading only the public half of a key file, as the server does (web admin and CLI alike)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import BadKeyFile
from crypto.keyfile import dump_key_file, read_public_key
from crypto.keys import generate_keypair

PASSPHRASE = b"a long offline passphrase for the desk"


def _public_only(document: dict[str, object]) -> dict[str, object]:
    return {name: document[name] for name in ("format", "v", "key_id", "public_key")}


def test_the_public_half_is_read_from_a_public_only_or_a_passphrase_protected_file() -> None:
    keypair = generate_keypair()
    wrapped = dump_key_file(keypair, PASSPHRASE, opslimit=1, memlimit=8192)
    public_only = json.dumps(_public_only(json.loads(wrapped))).encode()
    assert read_public_key(wrapped) == keypair.public_key
    assert read_public_key(public_only) == keypair.public_key


def test_a_file_with_an_unprotected_secret_key_is_refused_and_says_why() -> None:
    plain = dump_key_file(generate_keypair())
    with pytest.raises(BadKeyFile, match="unprotected"):
        read_public_key(plain)


def test_a_key_id_that_does_not_match_the_public_key_is_refused() -> None:
    document = _public_only(
        json.loads(dump_key_file(generate_keypair(), PASSPHRASE, opslimit=1, memlimit=8192))
    )
    document["key_id"] = generate_keypair().key_id
    with pytest.raises(BadKeyFile, match="key_id"):
        read_public_key(json.dumps(document).encode())


@pytest.mark.parametrize(
    "change",
    [
        {"format": "something-else"},
        {"v": 2},
        {"v": True},
        {"public_key": base64.b64encode(bytes(31)).decode()},
        {"public_key": "not base64!"},
        {"extra": 1},
    ],
)
def test_a_malformed_public_key_file_is_refused(change: dict[str, object]) -> None:
    keypair = generate_keypair()
    document = {
        "format": "tipline-key",
        "v": 1,
        "key_id": keypair.key_id,
        "public_key": base64.b64encode(keypair.public_key).decode(),
        **change,
    }
    with pytest.raises(BadKeyFile):
        read_public_key(json.dumps(document).encode())


@given(st.binary(max_size=512))
def test_any_bytes_give_a_public_key_or_bad_key_file_and_nothing_else(data: bytes) -> None:
    try:
        public_key = read_public_key(data)
    except BadKeyFile:
        return
    assert len(public_key) == 32
