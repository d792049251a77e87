"""Key fingerprints: what two people compare aloud before a newcomer may read a desk's tips."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from mnemonic import Mnemonic

from app.cli import cli
from crypto.fingerprint import WORDS, fingerprint
from crypto.keyfile import dump_key_file
from crypto.keys import generate_keypair, key_id

ENGLISH = set(Mnemonic("english").wordlist)


@given(st.binary(min_size=32, max_size=32))
def test_a_fingerprint_is_twelve_list_words_and_the_key_id_in_groups(public_key: bytes) -> None:
    printed = fingerprint(public_key)
    assert len(printed.words) == WORDS and set(printed.words) <= ENGLISH
    assert printed.hex.replace(" ", "") == key_id(public_key)
    assert printed == fingerprint(public_key)


def test_two_keys_differing_in_one_bit_have_different_words() -> None:
    key = bytearray(generate_keypair().public_key)
    other = bytearray(key)
    other[31] ^= 1
    assert fingerprint(bytes(key)).words != fingerprint(bytes(other)).words


def test_a_key_that_is_not_32_bytes_is_refused() -> None:
    with pytest.raises(ValueError):
        fingerprint(bytes(31))


def test_keys_fingerprint_prints_the_words_of_a_wrapped_or_plain_key_file(tmp_path: Path) -> None:
    keypair = generate_keypair()
    for name, data in (
        ("plain.json", dump_key_file(keypair)),
        ("wrapped.json", dump_key_file(keypair, b"a long passphrase", opslimit=1, memlimit=8192)),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        result = CliRunner().invoke(cli, ["keys", "fingerprint", str(path)])
        assert result.exit_code == 0, result.output
        assert fingerprint(keypair.public_key).spoken in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    refused = CliRunner().invoke(cli, ["keys", "fingerprint", str(broken)])
    assert refused.exit_code != 0
