"""Writes the known-answer vectors in tests/crypto/vectors/ (run once; output is checked in).

    .venv/bin/python tests/crypto/make_vectors.py

Every input is fixed below. Long bodies are stored as ``body_pattern_length``: byte i of
such a body is ``(31 * i + 7) % 256``. Ciphertexts are standard base64. Deterministic
outputs (ids, commitments, object keys, lookup digest, Argon2id, tipster keys, wrapped key
blobs, lengths) must never change; ciphertexts and sealed keys contain libsodium's random
nonces, so re-running the script changes them, but the tests only require that they
decrypt to the recorded plaintexts.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).parent))

import ciphertext_forge as forge  # noqa: E402
import nacl.pwhash.argon2id  # noqa: E402
from nacl.secret import SecretBox  # noqa: E402

from crypto import codes, datakeys, keys, layout, metadata, objects  # noqa: E402
from crypto._encoding import b64encode  # noqa: E402
from crypto.ids import id_from_str  # noqa: E402
from crypto.keyfile import FORMAT as KEY_FILE_FORMAT  # noqa: E402

OUT = Path(__file__).parent / "vectors"

RECIPIENT_SECRET_KEY = bytes(range(0x40, 0x60))
TIP_ID = id_from_str("6f9619ff-8b86-4d01-b42d-00cf4fc964ff")
DATA_KEYS = {"thread": bytes(range(0x00, 0x20)), "internal": bytes(range(0x20, 0x40))}
OBJECT_IDS = {
    "report": id_from_str("1b4e28ba-2fa1-41d2-883f-0016d3cca427"),
    "message": id_from_str("3d813cbb-47fb-42ba-91df-831e1593ac29"),
    "file": id_from_str("9c5b94b1-35ad-49bb-b118-8e8fc24abf80"),
    "note": id_from_str("c0ffee00-1234-4567-89ab-cdef01234567"),
    "empty_file": id_from_str("e7a1c2d3-0000-4000-8000-000000000001"),
    "one_full_chunk": id_from_str("e7a1c2d3-0000-4000-8000-000000000002"),
    "two_full_chunks": id_from_str("e7a1c2d3-0000-4000-8000-000000000003"),
}
PEPPER = bytes(range(0x80, 0xA0))
TIP_SALT = bytes(range(0xC0, 0xD0))
CODE_INDICES = [0, 1, 2047, 1024, 5, 300, 1999, 42]
PASSPHRASE = "correct horse battery staple"
WRAP_SALT = bytes(range(0x10, 0x20))
WRAP_NONCE = bytes(range(0x30, 0x48))


def pattern(length: int) -> bytes:
    """A fixed, non-trivial body: byte i is (31 * i + 7) mod 256."""
    return bytes((31 * i + 7) % 256 for i in range(length))


def body_fields(body: bytes) -> dict[str, Any]:
    """Short bodies as hex; long ones as the length of :func:`pattern` (keeps files small)."""
    if len(body) <= 1024:
        return {"body_hex": body.hex()}
    assert body == pattern(len(body))
    return {"body_pattern_length": len(body), "body_sha256": hashlib.sha256(body).hexdigest()}


def write(name: str, document: dict[str, Any]) -> None:
    OUT.mkdir(exist_ok=True)
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    (OUT / name).write_text(text, encoding="utf-8")


def file_object(name: str, body: bytes) -> dict[str, Any]:
    return metadata.file_metadata(
        name, "application/octet-stream", len(body), hashlib.sha256(body).hexdigest()
    )


def body_filling(padded_target: int, name: str) -> bytes:
    """A body whose unpadded plaintext is exactly ``padded_target`` bytes (no padding)."""
    size = padded_target
    for _ in range(10):  # len(M) depends on the digits of size: iterate to a fixed point
        encoded = metadata.encode_metadata(file_object(name, bytes(size)))
        size = padded_target - 4 - len(encoded)
    return pattern(size)


def make_derivations() -> None:
    recipient = keys.keypair_from_secret(RECIPIENT_SECRET_KEY)
    write(
        "derivations.json",
        {
            "recipient": {
                "secret_key": recipient.secret_key.hex(),
                "public_key": recipient.public_key.hex(),
                "key_id": recipient.key_id,
            },
            "tip_id": TIP_ID.hex(),
            "data_keys": {s: k.hex() for s, k in DATA_KEYS.items()},
            "commitments": {
                s: datakeys.commitment(k, TIP_ID, s).hex() for s, k in DATA_KEYS.items()
            },
            "object_keys": [
                {
                    "scope": "thread",
                    "object_id": OBJECT_IDS["report"].hex(),
                    "object_key": objects.object_key(
                        DATA_KEYS["thread"], OBJECT_IDS["report"]
                    ).hex(),
                },
                {
                    "scope": "internal",
                    "object_id": OBJECT_IDS["note"].hex(),
                    "object_key": objects.object_key(
                        DATA_KEYS["internal"], OBJECT_IDS["note"]
                    ).hex(),
                },
            ],
            "sealed_keys": [
                {
                    "scope": s,
                    "sealed": datakeys.seal_data_key(k, TIP_ID, recipient.public_key).hex(),
                }
                for s, k in DATA_KEYS.items()
            ],
            "padding": [
                [n, layout.padded_length(n)]
                for n in (
                    1,
                    4095,
                    4096,
                    4097,
                    65535,
                    65536,
                    65537,
                    1048575,
                    1048576,
                    1048577,
                    2097152,
                    2097153,
                )
            ],
            "ciphertext_lengths": [
                [p, layout.ciphertext_length(p)]
                for p in (4096, 61440, 65536, 69632, 131072, 1048576, 2097152)
            ],
            "invalid_ciphertext_lengths": [
                0,
                24,
                41,
                4136,
                4138,
                65578,
                layout.ciphertext_length(1048576 + 4096),
            ],
        },
    )


def make_objects() -> None:
    specs: list[tuple[str, str, dict[str, Any], bytes]] = [
        (
            "report",
            "thread",
            metadata.report_metadata(
                "fr",
                {
                    "platform": "Facebook",
                    "species": "Psittacus erithacus",
                    "links": ["https://example.org/a"],
                },
            ),
            b"",
        ),
        (
            "message",
            "thread",
            metadata.message_metadata("Merci — 象牙 ivory, 🐘 photos demain."),
            b"",
        ),
        (
            "note",
            "internal",
            metadata.note_metadata("Check seller against 2023 seizure list."),
            b"",
        ),
    ]
    body = pattern(70000)
    specs.append(("file", "thread", file_object("IMG_0042.jpg", body), body))
    specs.append(("empty_file", "thread", file_object("empty.txt", b""), b""))
    full = body_filling(65536, "full.bin")
    specs.append(("one_full_chunk", "thread", file_object("full.bin", full), full))
    two = body_filling(131072, "two.bin")
    specs.append(("two_full_chunks", "thread", file_object("two.bin", two), two))
    entries = []
    for name, scope, meta, body_bytes in specs:
        encoded = metadata.encode_metadata(meta)
        ciphertext = b"".join(
            objects.encrypt_object(DATA_KEYS[scope], OBJECT_IDS[name], meta, [body_bytes])
        )
        entries.append(
            {
                "name": name,
                "scope": scope,
                "object_id": OBJECT_IDS[name].hex(),
                "object_key": objects.object_key(DATA_KEYS[scope], OBJECT_IDS[name]).hex(),
                "metadata": meta,
                "metadata_json": encoded.decode("utf-8"),
                **body_fields(body_bytes),
                "padded_length": layout.padded_length(4 + len(encoded) + len(body_bytes)),
                "ciphertext_b64": b64encode(ciphertext),
            }
        )
    write(
        "objects.json",
        {"data_keys": {s: k.hex() for s, k in DATA_KEYS.items()}, "objects": entries},
    )


def make_rejections() -> None:
    key = objects.object_key(DATA_KEYS["thread"], OBJECT_IDS["file"])
    message = forge.metadata_bytes(metadata.message_metadata("hello"))
    small = forge.plaintext(message)
    big_body = pattern(70000)
    big_meta = forge.metadata_bytes(file_object("big.bin", big_body))
    big = forge.plaintext(big_meta, big_body)  # 73728 bytes: two chunks
    valid_small = forge.seal(key, small)
    valid_big = forge.seal(key, big)
    first, second = forge.cut(big)
    bad_padding = bytearray(big)
    bad_padding[-1] = 1
    m, f = forge.MESSAGE, forge.FINAL

    def meta_case(raw: bytes) -> bytes:
        return forge.seal(key, forge.plaintext(raw))

    cases = [
        ("empty", "TruncatedStream", b""),
        ("header_only", "TruncatedStream", valid_small[:24]),
        ("tampered_header", "TamperedCiphertext", forge.flip(valid_small, 3)),
        ("tampered_chunk", "TamperedCiphertext", forge.flip(valid_big, 24 + 100)),
        ("tampered_tag", "TamperedCiphertext", forge.flip(valid_small, len(valid_small) - 1)),
        ("truncated_in_last_chunk", "TruncatedStream", valid_big[:-1]),
        ("truncated_at_chunk_boundary", "TruncatedStream", valid_big[: 24 + 65553]),
        ("missing_final_single_chunk", "TruncatedStream", forge.seal(key, small, [m])),
        ("missing_final", "MissingFinal", forge.seal(key, big, [m, m])),
        ("early_final", "EarlyFinal", forge.seal_chunks(key, [(first, f)])),
        ("final_then_more", "DataAfterFinal", forge.seal_chunks(key, [(first, f), (second, f)])),
        ("byte_after_final", "DataAfterFinal", valid_small + b"\x00"),
        ("push_tag", "TamperedCiphertext", forge.seal(key, small, [forge.PUSH])),
        ("nonzero_padding", "NonZeroPadding", forge.seal(key, bytes(bad_padding))),
        (
            "padding_too_long",
            "LengthOutOfRange",
            forge.seal(key, forge.plaintext(message, padded_to=8192)),
        ),
        (
            "metadata_length_zero",
            "LengthOutOfRange",
            forge.seal(key, forge.plaintext(message, length=0)),
        ),
        (
            "metadata_length_huge",
            "LengthOutOfRange",
            forge.seal(key, forge.plaintext(message, length=2**31)),
        ),
        (
            "metadata_length_past_end",
            "LengthOutOfRange",
            forge.seal(key, forge.plaintext(message, length=5000)),
        ),
        (
            "size_negative",
            "LengthOutOfRange",
            meta_case(
                b'{"kind":"file","name":"a","sha256":"'
                + b"0" * 64
                + b'","size":-1,"type":"","v":1}'
            ),
        ),
        (
            "size_beyond_object",
            "EarlyFinal",
            meta_case(forge.metadata_bytes(file_object("a", bytes(70000)))),
        ),
        ("invalid_json", "BadMetadata", meta_case(b"{not json}")),
        ("invalid_utf8", "BadMetadata", meta_case(b'{"v":1,"kind":"message","text":"\xff"}')),
        ("not_an_object", "BadMetadata", meta_case(b"[1,2]")),
        ("wrong_version", "BadMetadata", meta_case(b'{"v":2,"kind":"message","text":"x"}')),
        ("version_as_float", "BadMetadata", meta_case(b'{"v":1.0,"kind":"message","text":"x"}')),
        ("unknown_kind", "BadMetadata", meta_case(b'{"v":1,"kind":"reply","text":"x"}')),
        ("missing_field", "BadMetadata", meta_case(b'{"v":1,"kind":"message"}')),
        (
            "duplicate_key",
            "BadMetadata",
            meta_case(b'{"v":1,"kind":"message","text":"a","text":"b"}'),
        ),
        (
            "body_on_message",
            "BadMetadata",
            meta_case(b'{"v":1,"kind":"message","text":"a","size":1}'),
        ),
    ]
    write(
        "rejections.json",
        {
            "data_key": DATA_KEYS["thread"].hex(),
            "object_id": OBJECT_IDS["file"].hex(),
            "cases": [{"name": n, "error": e, "ciphertext_b64": b64encode(c)} for n, e, c in cases],
        },
    )


def make_codes() -> None:
    canonical = b"".join(i.to_bytes(2, "little") for i in CODE_INDICES)
    tipster = codes.tipster_keypair(canonical, TIP_SALT)
    english = codes.format_code(canonical, "english")
    french = codes.format_code(canonical, "french")
    spanish = codes.format_code(canonical, "spanish")
    variants = [
        ("english", "  " + english.upper().replace(" ", "\t ") + "\n"),
        ("english", " ".join(w[:4] for w in english.split())),
        ("french", french.upper()),
        (
            "spanish",
            spanish.replace("á", "a")
            .replace("é", "e")
            .replace("í", "i")
            .replace("ó", "o")
            .replace("ú", "u"),
        ),
        ("japanese", codes.format_code(canonical, "japanese").replace("\u3000", " ")),
        ("chinese_simplified", codes.format_code(canonical, "chinese_simplified").replace(" ", "")),
    ]
    write(
        "codes.json",
        {
            "indices": CODE_INDICES,
            "canonical": canonical.hex(),
            "formatted": {lang: codes.format_code(canonical, lang) for lang in codes.LANGUAGES},
            "typed_variants": [{"language": lang, "text": text} for lang, text in variants],
            "pepper": PEPPER.hex(),
            "lookup_digest": codes.lookup_digest(PEPPER, canonical).hex(),
            "tip_salt": TIP_SALT.hex(),
            "tipster_seed": codes.tipster_seed(canonical, TIP_SALT).hex(),
            "tipster_secret_key": tipster.secret_key.hex(),
            "tipster_public_key": tipster.public_key.hex(),
        },
    )


def make_wrapping() -> None:
    secret_key = RECIPIENT_SECRET_KEY
    public_key = keys.keypair_from_secret(secret_key).public_key
    cases = []
    for opslimit, memlimit in ((1, 8192), (2, 19 * 1024 * 1024), (3, 256 * 1024 * 1024)):
        wrap_key = nacl.pwhash.argon2id.kdf(
            32, PASSPHRASE.encode(), WRAP_SALT, opslimit=opslimit, memlimit=memlimit
        )
        blob = bytes(SecretBox(wrap_key).encrypt(secret_key, WRAP_NONCE))
        cases.append(
            {
                "salt": WRAP_SALT.hex(),
                "opslimit": opslimit,
                "memlimit": memlimit,
                "wrap_key": wrap_key.hex(),
                "nonce": WRAP_NONCE.hex(),
                "blob": blob.hex(),
            }
        )
    header = {
        "format": KEY_FILE_FORMAT,
        "v": 1,
        "key_id": keys.key_id(public_key),
        "public_key": b64encode(public_key),
    }
    plain = dict(header, secret_key=b64encode(secret_key))
    wrapped = dict(
        header,
        wrapped_secret_key=b64encode(bytes.fromhex(cases[0]["blob"])),
        kdf={"alg": "argon2id", "salt": b64encode(WRAP_SALT), "opslimit": 1, "memlimit": 8192},
    )
    write(
        "wrapping.json",
        {
            "passphrase": PASSPHRASE,
            "secret_key": secret_key.hex(),
            "public_key": public_key.hex(),
            "cases": cases,
            "key_file_plain": json.dumps(plain, indent=2) + "\n",
            "key_file_wrapped": json.dumps(wrapped, indent=2) + "\n",
        },
    )


if __name__ == "__main__":
    make_derivations()
    make_objects()
    make_rejections()
    make_codes()
    make_wrapping()
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('*.json')))}")
