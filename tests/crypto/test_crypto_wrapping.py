"""Passphrase-wrapped secret keys and key files."""

from __future__ import annotations

import base64
import json

import nacl.pwhash.argon2id
import pytest

from crypto.errors import BadKeyFile, PassphraseRequired, WrongPassphrase
from crypto.keyfile import dump_key_file, load_key_file
from crypto.keys import generate_keypair
from crypto.wrapping import (
    DEFAULT_STAFF_MEMLIMIT,
    DEFAULT_STAFF_OPSLIMIT,
    WRAPPED_KEY_BYTES,
    KdfParams,
    WrappedKey,
    unwrap_secret_key,
    wrap_secret_key,
)

PASSPHRASE = b"river otter at dawn"


def test_staff_defaults_are_libsodium_moderate() -> None:
    assert DEFAULT_STAFF_OPSLIMIT == nacl.pwhash.argon2id.OPSLIMIT_MODERATE == 3
    assert DEFAULT_STAFF_MEMLIMIT == nacl.pwhash.argon2id.MEMLIMIT_MODERATE == 256 * 1024 * 1024


def test_wrapped_key_unwraps_with_its_passphrase(cheap_kdf: dict[str, int]) -> None:
    secret_key = generate_keypair().secret_key
    wrapped = wrap_secret_key(secret_key, PASSPHRASE, **cheap_kdf)
    assert len(wrapped.blob) == WRAPPED_KEY_BYTES == 72
    assert wrapped.kdf.opslimit == cheap_kdf["opslimit"]
    assert wrapped.kdf.memlimit == cheap_kdf["memlimit"]
    assert unwrap_secret_key(wrapped, PASSPHRASE) == secret_key


def test_each_wrap_uses_a_fresh_salt_and_nonce(cheap_kdf: dict[str, int]) -> None:
    secret_key = generate_keypair().secret_key
    first = wrap_secret_key(secret_key, PASSPHRASE, **cheap_kdf)
    second = wrap_secret_key(secret_key, PASSPHRASE, **cheap_kdf)
    assert first.kdf.salt != second.kdf.salt and first.blob[:24] != second.blob[:24]


def test_wrong_passphrase_is_rejected(cheap_kdf: dict[str, int]) -> None:
    wrapped = wrap_secret_key(generate_keypair().secret_key, PASSPHRASE, **cheap_kdf)
    with pytest.raises(WrongPassphrase):
        unwrap_secret_key(wrapped, b"river otter at dusk")


def test_tampered_blob_is_rejected(cheap_kdf: dict[str, int]) -> None:
    wrapped = wrap_secret_key(generate_keypair().secret_key, PASSPHRASE, **cheap_kdf)
    tampered = WrappedKey(wrapped.blob[:-1] + bytes([wrapped.blob[-1] ^ 1]), wrapped.kdf)
    with pytest.raises(WrongPassphrase):
        unwrap_secret_key(tampered, PASSPHRASE)


def test_bad_parameters_are_programming_errors(cheap_kdf: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        wrap_secret_key(bytes(32), b"", **cheap_kdf)
    with pytest.raises(ValueError):
        wrap_secret_key(bytes(32), PASSPHRASE, opslimit=0, memlimit=8192)
    with pytest.raises(ValueError):
        KdfParams(bytes(15), 1, 8192)
    with pytest.raises(ValueError):
        unwrap_secret_key(WrappedKey(bytes(71), KdfParams(bytes(16), 1, 8192)), PASSPHRASE)


def test_plain_key_file_round_trips() -> None:
    keypair = generate_keypair()
    document = dump_key_file(keypair)
    assert json.loads(document)["key_id"] == keypair.key_id
    assert load_key_file(document) == keypair
    assert load_key_file(document, b"ignored") == keypair


def test_wrapped_key_file_round_trips(cheap_kdf: dict[str, int]) -> None:
    keypair = generate_keypair()
    document = dump_key_file(keypair, PASSPHRASE, **cheap_kdf)
    parsed = json.loads(document)
    assert "secret_key" not in parsed
    assert parsed["kdf"]["alg"] == "argon2id" and parsed["kdf"]["memlimit"] == cheap_kdf["memlimit"]
    assert base64.b64encode(keypair.secret_key).decode() not in document.decode()
    assert load_key_file(document, PASSPHRASE) == keypair


def test_wrapped_key_file_needs_its_passphrase(cheap_kdf: dict[str, int]) -> None:
    document = dump_key_file(generate_keypair(), PASSPHRASE, **cheap_kdf)
    with pytest.raises(PassphraseRequired):
        load_key_file(document)
    with pytest.raises(WrongPassphrase):
        load_key_file(document, b"wrong")


def mutate(document: bytes, change: object) -> bytes:
    parsed = json.loads(document)
    change(parsed)  # type: ignore[operator]
    return json.dumps(parsed).encode()


def other_public_key(d: dict) -> None:
    d["public_key"] = base64.b64encode(generate_keypair().public_key).decode()


@pytest.mark.parametrize(
    "make_bad",
    [
        lambda doc: b"not json",
        lambda doc: b"[]",
        lambda doc: doc[: len(doc) // 2],
        lambda doc: b" " * 70_000,
        lambda doc: mutate(doc, lambda d: d.update(format="tipline-bundle")),
        lambda doc: mutate(doc, lambda d: d.update(v=2)),
        lambda doc: mutate(doc, lambda d: d.update(v="1")),
        lambda doc: mutate(doc, lambda d: d.update(comment="hi")),
        lambda doc: mutate(doc, lambda d: d.pop("key_id")),
        lambda doc: mutate(doc, lambda d: d.update(key_id="0" * 32)),
        lambda doc: mutate(doc, other_public_key),
        lambda doc: mutate(doc, lambda d: d.update(secret_key=d["secret_key"][:-2])),
        lambda doc: mutate(doc, lambda d: d.update(secret_key=d["secret_key"].replace("=", ""))),
        lambda doc: mutate(doc, lambda d: d.update(secret_key="!" + d["secret_key"][1:])),
        lambda doc: mutate(doc, lambda d: d.update(wrapped_secret_key=d["secret_key"])),
        lambda doc: doc.replace(b'"v": 1', b'"v": 1, "v": 1'),
    ],
)
def test_bad_key_files_are_rejected(make_bad: object) -> None:
    document = dump_key_file(generate_keypair())
    with pytest.raises(BadKeyFile):
        load_key_file(make_bad(document))  # type: ignore[operator]


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["kdf"].update(alg="scrypt"),
        lambda d: d["kdf"].update(opslimit=0),
        lambda d: d["kdf"].update(memlimit="8192"),
        lambda d: d["kdf"].update(salt="AAAA"),
        lambda d: d["kdf"].pop("salt"),
        lambda d: d.update(wrapped_secret_key=d["public_key"]),
        lambda d: d.update(kdf=[]),
    ],
)
def test_bad_wrapped_key_files_are_rejected(change: object, cheap_kdf: dict[str, int]) -> None:
    document = dump_key_file(generate_keypair(), PASSPHRASE, **cheap_kdf)
    with pytest.raises(BadKeyFile):
        load_key_file(mutate(document, change), PASSPHRASE)
