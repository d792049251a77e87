"""Known-answer vectors (tests/crypto/vectors/, written by make_vectors.py)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from crypto_testdata import load_vectors
from nacl.secret import SecretBox

from crypto import errors
from crypto.codes import (
    LANGUAGES,
    format_code,
    lookup_digest,
    parse_code,
    tipster_keypair,
    tipster_seed,
)
from crypto.datakeys import commitment, open_data_key
from crypto.keyfile import load_key_file
from crypto.keys import key_id, keypair_from_secret
from crypto.layout import ciphertext_length, is_valid_ciphertext_length, padded_length
from crypto.object_reader import decrypt_object_bytes
from crypto.objects import object_key
from crypto.wrapping import KdfParams, WrappedKey, derive_wrap_key, unwrap_secret_key

DERIVATIONS = load_vectors("derivations.json")
OBJECTS = load_vectors("objects.json")
REJECTIONS = load_vectors("rejections.json")
CODES = load_vectors("codes.json")
WRAPPING = load_vectors("wrapping.json")


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def expected_body(entry: dict) -> bytes:
    if "body_hex" in entry:
        return h(entry["body_hex"])
    return bytes((31 * i + 7) % 256 for i in range(entry["body_pattern_length"]))


def test_key_id_matches_vector() -> None:
    recipient = DERIVATIONS["recipient"]
    keypair = keypair_from_secret(h(recipient["secret_key"]))
    assert keypair.public_key.hex() == recipient["public_key"]
    assert key_id(keypair.public_key) == keypair.key_id == recipient["key_id"]


@pytest.mark.parametrize("scope", ["thread", "internal"])
def test_commitment_matches_vector(scope: str) -> None:
    data_key = h(DERIVATIONS["data_keys"][scope])
    computed = commitment(data_key, h(DERIVATIONS["tip_id"]), scope)
    assert computed.hex() == DERIVATIONS["commitments"][scope]


def test_object_keys_match_vectors() -> None:
    for entry in DERIVATIONS["object_keys"]:
        data_key = h(DERIVATIONS["data_keys"][entry["scope"]])
        assert object_key(data_key, h(entry["object_id"])).hex() == entry["object_key"]


def test_vector_sealed_keys_open_to_the_data_keys() -> None:
    keypair = keypair_from_secret(h(DERIVATIONS["recipient"]["secret_key"]))
    for entry in DERIVATIONS["sealed_keys"]:
        scope = entry["scope"]
        opened = open_data_key(
            h(entry["sealed"]),
            tip_id=h(DERIVATIONS["tip_id"]),
            keypair=keypair,
            scope=scope,
            expected_commitment=h(DERIVATIONS["commitments"][scope]),
        )
        assert opened.hex() == DERIVATIONS["data_keys"][scope]


def test_padding_and_ciphertext_lengths_match_vectors() -> None:
    for unpadded, padded in DERIVATIONS["padding"]:
        assert padded_length(unpadded) == padded
    for padded, total in DERIVATIONS["ciphertext_lengths"]:
        assert ciphertext_length(padded) == total
        assert is_valid_ciphertext_length(total)
    for invalid in DERIVATIONS["invalid_ciphertext_lengths"]:
        assert not is_valid_ciphertext_length(invalid)


@pytest.mark.parametrize("entry", OBJECTS["objects"], ids=lambda e: e["name"])
def test_vector_objects_decrypt_to_their_plaintexts(entry: dict) -> None:
    data_key = h(OBJECTS["data_keys"][entry["scope"]])
    ciphertext = base64.b64decode(entry["ciphertext_b64"])
    metadata, body = decrypt_object_bytes(data_key, h(entry["object_id"]), ciphertext)
    assert metadata == entry["metadata"]
    assert body == expected_body(entry)
    assert len(ciphertext) == ciphertext_length(entry["padded_length"])
    assert object_key(data_key, h(entry["object_id"])).hex() == entry["object_key"]
    if "body_sha256" in entry:
        assert hashlib.sha256(body).hexdigest() == entry["body_sha256"]


@pytest.mark.parametrize("case", REJECTIONS["cases"], ids=lambda c: c["name"])
def test_vector_rejections_raise_the_named_error(case: dict) -> None:
    error_class = getattr(errors, case["error"])
    with pytest.raises(error_class):
        decrypt_object_bytes(
            h(REJECTIONS["data_key"]),
            h(REJECTIONS["object_id"]),
            base64.b64decode(case["ciphertext_b64"]),
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_code_formats_and_parses_per_vector(language: str) -> None:
    canonical = h(CODES["canonical"])
    assert format_code(canonical, language) == CODES["formatted"][language]
    assert parse_code(CODES["formatted"][language], language) == canonical


def test_typed_code_variants_parse_to_the_canonical_bytes() -> None:
    for variant in CODES["typed_variants"]:
        assert parse_code(variant["text"], variant["language"]).hex() == CODES["canonical"]
        assert parse_code(variant["text"]).hex() == CODES["canonical"]


def test_lookup_digest_and_tipster_keys_match_vectors() -> None:
    canonical, salt = h(CODES["canonical"]), h(CODES["tip_salt"])
    assert lookup_digest(h(CODES["pepper"]), canonical).hex() == CODES["lookup_digest"]
    assert tipster_seed(canonical, salt).hex() == CODES["tipster_seed"]
    keypair = tipster_keypair(canonical, salt)
    assert keypair.secret_key.hex() == CODES["tipster_secret_key"]
    assert keypair.public_key.hex() == CODES["tipster_public_key"]


@pytest.mark.parametrize(
    "case", WRAPPING["cases"], ids=lambda c: f"{c['opslimit']}-{c['memlimit']}"
)
def test_wrap_key_and_blob_match_vectors(case: dict) -> None:
    kdf = KdfParams(h(case["salt"]), case["opslimit"], case["memlimit"])
    passphrase = WRAPPING["passphrase"].encode()
    wrap_key = derive_wrap_key(passphrase, kdf)
    assert wrap_key.hex() == case["wrap_key"]
    secret_key = h(WRAPPING["secret_key"])
    assert bytes(SecretBox(wrap_key).encrypt(secret_key, h(case["nonce"]))).hex() == case["blob"]
    assert unwrap_secret_key(WrappedKey(h(case["blob"]), kdf), passphrase) == secret_key


def test_vector_key_files_load() -> None:
    plain = load_key_file(WRAPPING["key_file_plain"].encode())
    wrapped = load_key_file(WRAPPING["key_file_wrapped"].encode(), WRAPPING["passphrase"].encode())
    assert plain == wrapped
    assert plain.secret_key.hex() == WRAPPING["secret_key"]
