"""Key pairs, data keys, key commitments, sealing and opening."""

from __future__ import annotations

import pytest

from crypto.datakeys import (
    SCOPES,
    SEALED_KEY_BYTES,
    commitment,
    generate_data_key,
    open_data_key,
    seal_data_key,
)
from crypto.errors import CommitmentMismatch, SealedKeyInvalid, WrongTip
from crypto.ids import id_from_str, id_to_str, new_id
from crypto.keys import KeyPair, generate_keypair, key_id, keypair_from_secret

TIP_ID = bytes(range(16))


def sealed_for(
    keypair: KeyPair, scope: str = "thread", tip_id: bytes = TIP_ID
) -> tuple[bytes, bytes]:
    data_key = generate_data_key()
    return data_key, seal_data_key(data_key, tip_id, keypair.public_key)


def test_key_pair_repr_does_not_show_the_secret_key() -> None:
    keypair = generate_keypair()
    shown = repr(keypair)
    assert "secret_key" not in shown and repr(keypair.secret_key) not in shown
    assert repr(keypair.public_key) in shown


def test_key_id_is_32_hex_digits_of_blake2b_128() -> None:
    keypair = generate_keypair()
    assert len(keypair.key_id) == 32 and int(keypair.key_id, 16) >= 0
    assert key_id(keypair.public_key) == keypair.key_id


def test_key_pair_from_secret_recomputes_the_public_key() -> None:
    keypair = generate_keypair()
    assert keypair_from_secret(keypair.secret_key) == keypair


def test_ids_are_uuid4_strings_outside_crypto() -> None:
    raw = new_id()
    text = id_to_str(raw)
    assert text[14] == "4" and id_from_str(text) == raw
    with pytest.raises(ValueError):
        id_from_str(text.upper())


def test_sealed_key_is_96_bytes_and_opens_for_its_recipient() -> None:
    recipient = generate_keypair()
    for scope in SCOPES:
        data_key, sealed = sealed_for(recipient, scope)
        assert len(sealed) == SEALED_KEY_BYTES == 96
        opened = open_data_key(
            sealed,
            tip_id=TIP_ID,
            keypair=recipient,
            scope=scope,
            expected_commitment=commitment(data_key, TIP_ID, scope),
        )
        assert opened == data_key


def test_commitments_differ_per_scope_and_tip() -> None:
    data_key = generate_data_key()
    values = {
        commitment(data_key, TIP_ID, "thread"),
        commitment(data_key, TIP_ID, "internal"),
        commitment(data_key, bytes(16), "thread"),
    }
    assert len(values) == 3


def test_sealed_key_of_another_tip_is_rejected() -> None:
    recipient = generate_keypair()
    other_tip = bytes(range(1, 17))
    data_key, sealed = sealed_for(recipient, tip_id=other_tip)
    with pytest.raises(WrongTip):
        open_data_key(
            sealed,
            tip_id=TIP_ID,
            keypair=recipient,
            scope="thread",
            expected_commitment=commitment(data_key, TIP_ID, "thread"),
        )


def test_wrong_commitment_is_rejected() -> None:
    recipient = generate_keypair()
    data_key, sealed = sealed_for(recipient)
    for wrong in (
        commitment(generate_data_key(), TIP_ID, "thread"),
        commitment(data_key, TIP_ID, "internal"),
        bytes(32),
    ):
        with pytest.raises(CommitmentMismatch):
            open_data_key(
                sealed, tip_id=TIP_ID, keypair=recipient, scope="thread", expected_commitment=wrong
            )


def test_sealed_key_for_someone_else_is_rejected() -> None:
    data_key, sealed = sealed_for(generate_keypair())
    with pytest.raises(SealedKeyInvalid):
        open_data_key(
            sealed,
            tip_id=TIP_ID,
            keypair=generate_keypair(),
            scope="thread",
            expected_commitment=commitment(data_key, TIP_ID, "thread"),
        )


@pytest.mark.parametrize("length", [0, 95, 97])
def test_sealed_key_of_wrong_length_is_rejected(length: int) -> None:
    with pytest.raises(SealedKeyInvalid):
        open_data_key(
            bytes(length),
            tip_id=TIP_ID,
            keypair=generate_keypair(),
            scope="thread",
            expected_commitment=bytes(32),
        )


def test_tampered_sealed_key_is_rejected() -> None:
    recipient = generate_keypair()
    data_key, sealed = sealed_for(recipient)
    tampered = bytes([sealed[0] ^ 1]) + sealed[1:]
    with pytest.raises(SealedKeyInvalid):
        open_data_key(
            tampered,
            tip_id=TIP_ID,
            keypair=recipient,
            scope="thread",
            expected_commitment=commitment(data_key, TIP_ID, "thread"),
        )


def test_unknown_scope_and_bad_lengths_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        commitment(generate_data_key(), TIP_ID, "reply")
    with pytest.raises(ValueError):
        commitment(bytes(31), TIP_ID, "thread")
    with pytest.raises(ValueError):
        seal_data_key(generate_data_key(), bytes(15), generate_keypair().public_key)
    with pytest.raises(ValueError):
        KeyPair(bytes(31), bytes(32))
