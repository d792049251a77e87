"""Every rejection rule of the object format, with ciphertexts forged by raw secretstream."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import ciphertext_forge as forge
import pytest

from crypto.errors import (
    BadMetadata,
    DataAfterFinal,
    DecryptionError,
    EarlyFinal,
    LengthOutOfRange,
    MissingFinal,
    NonZeroPadding,
    TamperedCiphertext,
    TruncatedStream,
)
from crypto.metadata import file_metadata, message_metadata
from crypto.object_reader import decrypt_object, decrypt_object_bytes
from crypto.objects import encrypt_object, object_key

DATA_KEY = bytes(range(32))
OBJECT_ID = bytes(range(16))
KEY = object_key(DATA_KEY, OBJECT_ID)
BIG_BODY = bytes(range(256)) * 280  # 71680 bytes: the object spans two chunks
BIG_META = forge.metadata_bytes(
    file_metadata("b.bin", "", len(BIG_BODY), hashlib.sha256(BIG_BODY).hexdigest())
)
BIG = forge.plaintext(BIG_META, BIG_BODY)
SMALL = forge.plaintext(forge.metadata_bytes(message_metadata("hello")))


def decrypt(ciphertext: bytes) -> tuple[dict, bytes]:
    return decrypt_object_bytes(DATA_KEY, OBJECT_ID, ciphertext)


def with_metadata(raw: bytes) -> bytes:
    return forge.seal(KEY, forge.plaintext(raw))


def test_forged_valid_objects_are_accepted() -> None:
    assert decrypt(forge.seal(KEY, BIG))[1] == BIG_BODY
    assert decrypt(forge.seal(KEY, SMALL))[0] == message_metadata("hello")


def test_every_rejection_is_a_decryption_error() -> None:
    with pytest.raises(DecryptionError):
        decrypt(b"")


def test_tampered_chunk_is_rejected() -> None:
    with pytest.raises(TamperedCiphertext):
        decrypt(forge.flip(forge.seal(KEY, BIG), 24 + 65553 + 10))


def test_tampered_header_is_rejected() -> None:
    with pytest.raises(TamperedCiphertext):
        decrypt(forge.flip(forge.seal(KEY, SMALL), 0))


def test_wrong_key_or_object_id_is_rejected_as_tampering() -> None:
    ciphertext = b"".join(encrypt_object(DATA_KEY, OBJECT_ID, message_metadata("x")))
    with pytest.raises(TamperedCiphertext):
        decrypt_object_bytes(bytes(32), OBJECT_ID, ciphertext)
    with pytest.raises(TamperedCiphertext):
        decrypt_object_bytes(DATA_KEY, bytes(16), ciphertext)


def test_swapped_chunks_are_rejected() -> None:
    ciphertext = forge.seal(KEY, BIG)
    header, first, second = ciphertext[:24], ciphertext[24 : 24 + 65553], ciphertext[24 + 65553 :]
    with pytest.raises(TamperedCiphertext):
        decrypt(header + second + first)


def test_truncated_stream_is_rejected() -> None:
    ciphertext = forge.seal(KEY, BIG)
    with pytest.raises(TruncatedStream):
        decrypt(ciphertext[:-1])
    with pytest.raises(TruncatedStream):
        decrypt(ciphertext[: 24 + 65553])  # the FINAL chunk is missing entirely
    with pytest.raises(TruncatedStream):
        decrypt(ciphertext[:20])


def test_missing_final_is_rejected() -> None:
    with pytest.raises(MissingFinal):
        decrypt(forge.seal(KEY, BIG, [forge.MESSAGE, forge.MESSAGE]))
    with pytest.raises(TruncatedStream):
        decrypt(forge.seal(KEY, SMALL, [forge.MESSAGE]))


def test_stream_continuing_past_the_declared_end_is_rejected() -> None:
    first, second = forge.cut(BIG)
    extra = bytes(4096)
    with pytest.raises(MissingFinal):
        decrypt(
            forge.seal_chunks(
                KEY, [(first, forge.MESSAGE), (second, forge.MESSAGE), (extra, forge.FINAL)]
            )
        )


def test_early_final_is_rejected() -> None:
    first, _ = forge.cut(BIG)
    with pytest.raises(EarlyFinal):
        decrypt(forge.seal_chunks(KEY, [(first, forge.FINAL)]))


def test_data_after_final_is_rejected() -> None:
    first, second = forge.cut(BIG)
    with pytest.raises(DataAfterFinal):
        decrypt(forge.seal_chunks(KEY, [(first, forge.FINAL), (second, forge.FINAL)]))
    with pytest.raises(DataAfterFinal):
        decrypt(forge.seal(KEY, SMALL) + b"\x00")
    with pytest.raises(DataAfterFinal):
        decrypt(forge.seal(KEY, BIG) + b"\x00")


def test_unexpected_tag_is_rejected() -> None:
    with pytest.raises(TamperedCiphertext):
        decrypt(forge.seal(KEY, SMALL, [forge.PUSH]))


def test_non_zero_padding_is_rejected() -> None:
    padded = bytearray(BIG)
    padded[-1] = 0x80
    with pytest.raises(NonZeroPadding):
        decrypt(forge.seal(KEY, bytes(padded)))


def test_objects_without_body_are_fully_verified_before_metadata_is_returned() -> None:
    padded = bytearray(SMALL)
    padded[-1] = 1
    with pytest.raises(NonZeroPadding):
        decrypt_object(DATA_KEY, OBJECT_ID, [forge.seal(KEY, bytes(padded))])


def test_padding_is_checked_before_the_chunk_body_is_released() -> None:
    body = b"evidence"
    meta = forge.metadata_bytes(file_metadata("e", "", len(body), hashlib.sha256(body).hexdigest()))
    bad = bytearray(forge.plaintext(meta, body))
    bad[-1] = 1
    received: list[bytes] = []
    with pytest.raises(NonZeroPadding):
        decrypted = decrypt_object(DATA_KEY, OBJECT_ID, [forge.seal(KEY, bytes(bad))])
        received.extend(decrypted.body)
    assert received == []


def test_non_canonical_padding_length_is_rejected() -> None:
    raw = forge.metadata_bytes(message_metadata("hello"))
    with pytest.raises(LengthOutOfRange):
        decrypt(forge.seal(KEY, forge.plaintext(raw, padded_to=8192)))


def test_bad_json_is_rejected() -> None:
    with pytest.raises(BadMetadata):
        decrypt(with_metadata(b"{not json}"))


@pytest.mark.parametrize(
    "raw",
    [
        b"[1,2]",
        b'"text"',
        b'{"v":2,"kind":"message","text":"x"}',
        b'{"v":1.0,"kind":"message","text":"x"}',
        b'{"v":true,"kind":"message","text":"x"}',
        b'{"v":1,"kind":"reply","text":"x"}',
        b'{"v":1,"kind":"message"}',
        b'{"v":1,"kind":"message","text":1}',
        b'{"v":1,"kind":"report","lang":"en","fields":[]}',
        b'{"v":1,"kind":"file","name":"a","type":"","sha256":"' + b"0" * 64 + b'"}',
        b'{"v":1,"kind":"file","name":"a","type":"","size":"1","sha256":"' + b"0" * 64 + b'"}',
        b'{"v":1,"kind":"message","text":"a","text":"b"}',
        b'{"v":1,"kind":"message","text":"\xff"}',
        b'{"v":1,"kind":"message","text":"\\ud800"}',
        b'{"v":1,"kind":"message","text":"x","n":NaN}',
        b'{"v":1,"kind":"message","text":"x","n":1e400}',
        b'\xef\xbb\xbf{"v":1,"kind":"message","text":"x"}',
    ],
)
def test_invalid_metadata_is_rejected(raw: bytes) -> None:
    with pytest.raises(BadMetadata):
        decrypt(with_metadata(raw))


def test_readers_accept_any_valid_json_serialisation() -> None:
    raw = b' {\n "text" : "caf\\u00e9",\t"kind":"message", "v":1 , "x": [1, 2.5, null]}\n'
    assert decrypt(with_metadata(raw))[0]["text"] == "café"


@pytest.mark.parametrize("length", [0, 1, 1024 * 1024 + 1, 2**31, 2**32 - 1])
def test_metadata_length_out_of_range_is_rejected(length: int) -> None:
    raw = forge.metadata_bytes(message_metadata("hello"))
    with pytest.raises(LengthOutOfRange):
        decrypt(forge.seal(KEY, forge.plaintext(raw, length=length)))


def test_metadata_length_past_the_object_end_is_rejected() -> None:
    raw = forge.metadata_bytes(message_metadata("hello"))
    with pytest.raises(LengthOutOfRange):
        decrypt(forge.seal(KEY, forge.plaintext(raw, length=4093)))


@pytest.mark.parametrize("size", [b"-1", b"9007199254740992", b"1" + b"0" * 30])
def test_size_out_of_range_is_rejected(size: bytes) -> None:
    raw = (
        b'{"v":1,"kind":"file","name":"a","type":"","sha256":"'
        + b"0" * 64
        + b'","size":'
        + size
        + b"}"
    )
    with pytest.raises(LengthOutOfRange):
        decrypt(with_metadata(raw))


def test_size_larger_than_the_object_is_rejected() -> None:
    needs_more_chunks = forge.metadata_bytes(file_metadata("a", "", 100_000, "0" * 64))
    with pytest.raises(EarlyFinal):
        decrypt(with_metadata(needs_more_chunks))
    needs_longer_chunk = forge.metadata_bytes(file_metadata("a", "", 10_000, "0" * 64))
    with pytest.raises(LengthOutOfRange):
        decrypt(with_metadata(needs_longer_chunk))


def test_size_smaller_than_the_object_is_rejected() -> None:
    raw = forge.metadata_bytes(file_metadata("a", "", 1, "0" * 64))
    with pytest.raises(LengthOutOfRange):
        decrypt(forge.seal(KEY, forge.plaintext(raw, b"x" * 5000)))


def test_error_messages_never_contain_plaintext() -> None:
    secret = b"CANARY-" + bytes(10)
    raw = b'{"v":1,"kind":"message","text":"CANARY-secret"'  # cut short: invalid JSON
    padded = bytearray(
        forge.plaintext(forge.metadata_bytes(message_metadata(secret.decode("latin-1"))))
    )
    padded[-1] = 7
    for ciphertext in (with_metadata(raw), forge.seal(KEY, bytes(padded))):
        with pytest.raises(DecryptionError) as caught:
            decrypt(ciphertext)
        assert "CANARY" not in str(caught.value)
        assert "\n" not in str(caught.value)


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("piece_size", [1, 17, 4096, 65553])
def test_rejections_do_not_depend_on_how_the_ciphertext_is_split(piece_size: int) -> None:
    first, second = forge.cut(BIG)
    cases = [
        (forge.seal(KEY, BIG)[:-1], TruncatedStream),
        (forge.seal_chunks(KEY, [(first, forge.FINAL), (second, forge.FINAL)]), DataAfterFinal),
        (forge.seal(KEY, BIG, [forge.MESSAGE, forge.MESSAGE]), MissingFinal),
        (forge.seal(KEY, SMALL) + b"\x00", DataAfterFinal),
    ]
    for ciphertext, error in cases:
        with pytest.raises(error):
            decrypted = decrypt_object(DATA_KEY, OBJECT_ID, pieces(ciphertext, piece_size))
            for _ in decrypted.body:
                pass
