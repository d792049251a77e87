"""Interoperability with real libsodium.js (libsodium-wrappers 0.8.4) in Node.

These tests fail, never skip, when node or node_modules is missing: run ``npm ci``.
The Node side runs static/js/tipline_protocol.mjs, the very module the browser loads.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.pwhash.argon2id
import pytest
from ciphertext_forge import FINAL, flip, seal
from crypto_testdata import NODE_DIR, REPO_ROOT, load_vectors
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_state,
)

from crypto.codes import tipster_keypair, tipster_seed
from crypto.datakeys import commitment, generate_data_key, open_data_key, seal_data_key
from crypto.errors import CryptoError
from crypto.ids import id_from_str, id_to_str, new_id
from crypto.keys import generate_keypair, keypair_from_secret
from crypto.layout import CIPHERTEXT_CHUNK_SIZE, HEADER_BYTES, ciphertext_length, padded_length
from crypto.metadata import (
    body_metadata,
    detached_body_id,
    encode_metadata,
    file_metadata,
    message_metadata,
    note_metadata,
    report_metadata,
)
from crypto.object_reader import decrypt_object
from crypto.objects import BODY_TRAILER_BYTES, encrypt_detached_body, encrypt_object, object_key
from crypto.wrapping import DEFAULT_STAFF_MEMLIMIT, DEFAULT_STAFF_OPSLIMIT

TIP_ID = bytes.fromhex("00112233445566778899aabbccddeeff")


def node_binary() -> str:
    node = shutil.which("node") or "/usr/bin/node"
    if not Path(node).exists():
        pytest.fail("Node.js is not installed: install node (>= 18), then run `npm ci`.")
    for package in ("libsodium-wrappers", "libsodium-wrappers-sumo"):
        if not (REPO_ROOT / "node_modules" / package).is_dir():
            pytest.fail(f"node_modules/{package} is missing: run `npm ci` in the repository root.")
    return node


def run_node(request: dict[str, Any]) -> Any:
    result = subprocess.run(
        [node_binary(), str(NODE_DIR / "interop_cli.mjs")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def pattern(length: int) -> bytes:
    return bytes((31 * i + 7) % 256 for i in range(length))


def evidence(name: str, body: bytes) -> dict[str, Any]:
    return file_metadata(name, "image/jpeg", len(body), hashlib.sha256(body).hexdigest())


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


OBJECTS: list[tuple[str, dict[str, Any], bytes]] = [
    (
        "thread",
        report_metadata("pt", {"platform": "WhatsApp", "species": "Arara-azul", "nota": "ç ã 🦜"}),
        b"",
    ),
    ("thread", message_metadata("Mais fotos amanhã."), b""),
    ("thread", evidence("IMG_0007.jpg", pattern(70_000)), pattern(70_000)),
    ("thread", evidence("empty.bin", b""), b""),
    ("thread", evidence("large.bin", pattern(1024 * 1024 + 1)), pattern(1024 * 1024 + 1)),
    ("internal", note_metadata("Compare with case 2024/117."), b""),
]


def test_python_opens_what_libsodium_js_produced() -> None:
    recipient, tipster = generate_keypair(), generate_keypair()
    object_ids = [bytes([i]) * 16 for i in range(len(OBJECTS))]
    produced = run_node(
        {
            "op": "produce",
            "tip_id": TIP_ID.hex(),
            "recipients": [
                {"public_key": recipient.public_key.hex(), "scopes": ["thread", "internal"]},
                {"public_key": tipster.public_key.hex(), "scopes": ["thread"]},
            ],
            "objects": [
                {"object_id": oid.hex(), "scope": scope, "metadata": meta, "body": body.hex()}
                for oid, (scope, meta, body) in zip(object_ids, OBJECTS, strict=True)
            ],
        }
    )
    commits = {scope: bytes.fromhex(value) for scope, value in produced["commits"].items()}
    data_keys = {}
    for entry in produced["sealed_keys"]:
        keypair = recipient if entry["key_id"] == recipient.key_id else tipster
        assert entry["key_id"] == keypair.key_id
        data_keys[(keypair.key_id, entry["scope"])] = open_data_key(
            bytes.fromhex(entry["sealed"]),
            tip_id=TIP_ID,
            keypair=keypair,
            scope=entry["scope"],
            expected_commitment=commits[entry["scope"]],
        )
    assert data_keys[(recipient.key_id, "thread")] == data_keys[(tipster.key_id, "thread")]
    assert (tipster.key_id, "internal") not in data_keys
    for oid, (scope, meta, body), encrypted in zip(
        object_ids, OBJECTS, produced["objects"], strict=True
    ):
        ciphertext = bytes.fromhex(encrypted["ciphertext"])
        expected_padded = padded_length(4 + len(encode_metadata(meta)) + len(body))
        assert len(ciphertext) == ciphertext_length(expected_padded)
        decrypted = decrypt_object(
            data_keys[(recipient.key_id, scope)], oid, pieces(ciphertext, 9_999)
        )
        assert decrypted.metadata == meta
        assert b"".join(decrypted.body) == body


def python_tip(recipient_public_key: bytes) -> tuple[dict[str, Any], list[bytes]]:
    data_keys = {"thread": generate_data_key(), "internal": generate_data_key()}
    object_ids = [bytes([0x40 + i]) * 16 for i in range(len(OBJECTS))]
    request = {
        "tip_id": TIP_ID.hex(),
        "commits": {s: commitment(k, TIP_ID, s).hex() for s, k in data_keys.items()},
        "sealed_keys": [
            {"scope": s, "sealed": seal_data_key(k, TIP_ID, recipient_public_key).hex()}
            for s, k in data_keys.items()
        ],
        "objects": [
            {
                "object_id": oid.hex(),
                "scope": scope,
                "ciphertext": b"".join(
                    encrypt_object(data_keys[scope], oid, meta, pieces(body, 30_001))
                ).hex(),
            }
            for oid, (scope, meta, body) in zip(object_ids, OBJECTS, strict=True)
        ],
    }
    return request, object_ids


def test_libsodium_js_opens_what_python_produced() -> None:
    recipient = generate_keypair()
    request, _ = python_tip(recipient.public_key)
    opened = run_node(
        {
            "op": "open",
            "public_key": recipient.public_key.hex(),
            "secret_key": recipient.secret_key.hex(),
            **request,
        }
    )
    assert "error" not in opened, opened
    for (_, meta, body), result in zip(OBJECTS, opened["objects"], strict=True):
        assert result == {"metadata": meta, "body": body.hex()}


def test_libsodium_js_checks_tip_binding_and_commitment() -> None:
    recipient = generate_keypair()
    request, _ = python_tip(recipient.public_key)
    keys = {"public_key": recipient.public_key.hex(), "secret_key": recipient.secret_key.hex()}
    other_tip = {**request, "tip_id": bytes(16).hex(), "objects": []}
    assert run_node({"op": "open", **keys, **other_tip})["error"] == "WrongTip"
    wrong_commit = {
        **request,
        "commits": {"thread": "00" * 32, "internal": "00" * 32},
        "objects": [],
    }
    assert run_node({"op": "open", **keys, **wrong_commit})["error"] == "CommitmentMismatch"
    stranger = generate_keypair()
    stranger_keys = {
        "public_key": stranger.public_key.hex(),
        "secret_key": stranger.secret_key.hex(),
    }
    assert (
        run_node({"op": "open", **stranger_keys, **request, "objects": []})["error"]
        == "SealedKeyInvalid"
    )


def test_libsodium_js_rejects_every_rejection_vector_with_the_same_error() -> None:
    vectors = load_vectors("rejections.json")
    cases = [
        {
            "data_key": vectors["data_key"],
            "object_id": vectors["object_id"],
            "ciphertext": base64.b64decode(case["ciphertext_b64"]).hex(),
        }
        for case in vectors["cases"]
    ]
    result = run_node({"op": "reject", "cases": cases})
    expected = [case["error"] for case in vectors["cases"]]
    assert dict(zip([c["name"] for c in vectors["cases"]], result["errors"], strict=True)) == dict(
        zip([c["name"] for c in vectors["cases"]], expected, strict=True)
    )


def test_derivations_and_lookup_digest_match_libsodium_js() -> None:
    derivations, codes = load_vectors("derivations.json"), load_vectors("codes.json")
    recipient = keypair_from_secret(bytes.fromhex(derivations["recipient"]["secret_key"]))
    data_key = bytes.fromhex(derivations["data_keys"]["thread"])
    object_id = bytes.fromhex(derivations["object_keys"][0]["object_id"])
    result = run_node(
        {
            "op": "derive",
            "public_key": recipient.public_key.hex(),
            "data_key": data_key.hex(),
            "tip_id": derivations["tip_id"],
            "object_id": object_id.hex(),
            "pepper": codes["pepper"],
            "canonical": codes["canonical"],
            "seed": codes["tipster_seed"],
        }
    )
    tip_id = bytes.fromhex(derivations["tip_id"])
    assert result["key_id"] == recipient.key_id == derivations["recipient"]["key_id"]
    assert result["commit_thread"] == commitment(data_key, tip_id, "thread").hex()
    assert result["commit_internal"] == commitment(data_key, tip_id, "internal").hex()
    assert result["object_key"] == object_key(data_key, object_id).hex()
    assert result["lookup"] == codes["lookup_digest"]
    assert result["tipster_secret_key"] == codes["tipster_secret_key"]
    assert result["tipster_public_key"] == codes["tipster_public_key"]


def test_argon2id_matches_libsodium_js_sumo() -> None:
    codes, wrapping = load_vectors("codes.json"), load_vectors("wrapping.json")
    canonical, salt = bytes.fromhex(codes["canonical"]), bytes.fromhex(codes["tip_salt"])
    passphrase = wrapping["passphrase"].encode()
    wrap_salt = bytes.fromhex(wrapping["cases"][0]["salt"])
    cases = [
        (canonical, salt, 2, 19 * 1024 * 1024),
        (passphrase, wrap_salt, DEFAULT_STAFF_OPSLIMIT, DEFAULT_STAFF_MEMLIMIT),
        (passphrase, wrap_salt, 1, 8192),
    ]
    result = run_node(
        {
            "op": "argon2",
            "cases": [
                {"password": p.hex(), "salt": s.hex(), "opslimit": o, "memlimit": m, "length": 32}
                for p, s, o, m in cases
            ],
        }
    )
    python = [
        nacl.pwhash.argon2id.kdf(32, p, s, opslimit=o, memlimit=m).hex() for p, s, o, m in cases
    ]
    assert result["outputs"] == python
    assert result["outputs"][0] == tipster_seed(canonical, salt).hex() == codes["tipster_seed"]
    assert tipster_keypair(canonical, salt).public_key.hex() == codes["tipster_public_key"]
    staff_vector = next(c for c in wrapping["cases"] if c["memlimit"] == DEFAULT_STAFF_MEMLIMIT)
    assert result["outputs"][1] == staff_vector["wrap_key"]


# --- detached bodies (docs/PROTOCOL.md §5.6) -------------------------------------------------

BODY_M = encode_metadata(body_metadata())
BODY_OVERHEAD = 4 + len(BODY_M) + BODY_TRAILER_BYTES  # u32le(len(M)) || M, then u64le(size)
MIB = 1024 * 1024
UNREADABLE = "A detached body is read with the size its file object declares."
# Sizes whose unpadded body plaintext is exactly, or one byte either side of, a padding or
# chunk boundary: 4 KiB (one padding unit), 64 KiB (one chunk), 1 MiB (the unit switch).
EDGE_BODY_SIZES = sorted(
    {0, 1} | {edge - BODY_OVERHEAD + d for edge in (4096, 65536, MIB) for d in (-1, 0, 1)}
)


def body_plaintext(body: bytes) -> bytes:
    """The §5.6 plaintext of a detached body, built here independently of both writers."""
    unpadded = 4 + len(BODY_M) + len(body) + BODY_TRAILER_BYTES
    zeros = bytes(padded_length(unpadded) - unpadded)
    return (
        len(BODY_M).to_bytes(4, "little")
        + BODY_M
        + body
        + zeros
        + len(body).to_bytes(BODY_TRAILER_BYTES, "little")
    )


def metadata_plaintext(metadata: dict[str, Any]) -> bytes:
    encoded = encode_metadata(metadata)
    unpadded = 4 + len(encoded)
    return len(encoded).to_bytes(4, "little") + encoded + bytes(padded_length(unpadded) - unpadded)


def plaintext_of(data_key: bytes, object_id: bytes, ciphertext: bytes) -> bytes:
    """Every plaintext byte of an object, padding and trailer included (raw secretstream)."""
    state = crypto_secretstream_xchacha20poly1305_state()
    key = object_key(data_key, object_id)
    crypto_secretstream_xchacha20poly1305_init_pull(state, ciphertext[:HEADER_BYTES], key)
    plain, tag = [], -1
    for start in range(HEADER_BYTES, len(ciphertext), CIPHERTEXT_CHUNK_SIZE):
        chunk = ciphertext[start : start + CIPHERTEXT_CHUNK_SIZE]
        piece, tag = crypto_secretstream_xchacha20poly1305_pull(state, chunk)
        plain.append(piece)
    assert tag == FINAL
    return b"".join(plain)


def evidence_pair(size: int) -> tuple[bytes, bytes, dict[str, Any], bytes]:
    """(body id, file id, file metadata naming the body, body) for a file of ``size`` bytes."""
    body = bytes((13 * i + size) % 256 for i in range(size))
    body_id, file_id = new_id(), new_id()
    metadata = file_metadata(
        f"фото {size} 象牙.jpg",
        "image/jpeg",
        size,
        hashlib.sha256(body).hexdigest(),
        body=id_to_str(body_id),
    )
    return body_id, file_id, metadata, body


def node_tip(
    data_keys: dict[str, bytes], recipient_public_key: bytes, objects: list[dict[str, Any]]
) -> dict[str, Any]:
    """An ``open`` request for Node: the thread key sealed to the recipient, then objects."""
    return {
        "op": "open",
        "tip_id": TIP_ID.hex(),
        "commits": {s: commitment(k, TIP_ID, s).hex() for s, k in data_keys.items()},
        "sealed_keys": [
            {"scope": s, "sealed": seal_data_key(k, TIP_ID, recipient_public_key).hex()}
            for s, k in data_keys.items()
        ],
        "objects": objects,
    }


def test_python_opens_detached_bodies_libsodium_js_wrote_at_every_padding_edge() -> None:
    recipient = generate_keypair()
    pairs = [evidence_pair(size) for size in EDGE_BODY_SIZES]
    objects = []
    for body_id, file_id, metadata, body in pairs:
        objects.append(
            {
                "object_id": body_id.hex(),
                "scope": "thread",
                "body_size": len(body),
                "body": body.hex(),
            }
        )
        objects.append({"object_id": file_id.hex(), "scope": "thread", "metadata": metadata})
    produced = run_node(
        {
            "op": "produce",
            "tip_id": TIP_ID.hex(),
            "recipients": [{"public_key": recipient.public_key.hex(), "scopes": ["thread"]}],
            "objects": objects,
        }
    )
    (sealed,) = produced["sealed_keys"]
    data_key = open_data_key(
        bytes.fromhex(sealed["sealed"]),
        tip_id=TIP_ID,
        keypair=recipient,
        scope="thread",
        expected_commitment=bytes.fromhex(produced["commits"]["thread"]),
    )
    ciphertexts = [bytes.fromhex(o["ciphertext"]) for o in produced["objects"]]
    for (body_id, file_id, metadata, body), body_ct, file_ct in zip(
        pairs, ciphertexts[::2], ciphertexts[1::2], strict=True
    ):
        # The file object: metadata only, naming the body, exactly as Python writes it.
        opened = decrypt_object(data_key, file_id, pieces(file_ct, 1_000))
        assert opened.metadata == metadata and list(opened.body) == []
        assert plaintext_of(data_key, file_id, file_ct) == metadata_plaintext(metadata)
        # The body object, found through the id in the file metadata, read with its size.
        named = detached_body_id(opened.metadata)
        assert named is not None and id_from_str(named) == body_id
        read = decrypt_object(
            data_key, id_from_str(named), pieces(body_ct, 9_999), body_size=opened.metadata["size"]
        )
        assert read.metadata == body_metadata()
        assert b"".join(read.body) == body
        # Byte for byte the plaintext Python writes: metadata, body, zeros, u64le(size).
        python_ct = b"".join(encrypt_detached_body(data_key, body_id, pieces(body, 30_001)))
        assert (
            len(body_ct)
            == len(python_ct)
            == ciphertext_length(padded_length(BODY_OVERHEAD + len(body)))
        )
        expected = body_plaintext(body)
        assert plaintext_of(data_key, body_id, body_ct) == expected
        assert plaintext_of(data_key, body_id, python_ct) == expected


def test_libsodium_js_opens_detached_bodies_python_wrote() -> None:
    recipient = generate_keypair()
    data_keys = {"thread": generate_data_key(), "internal": generate_data_key()}
    key = data_keys["thread"]
    objects: list[dict[str, Any]] = []
    expected: list[dict[str, Any]] = []
    for size in EDGE_BODY_SIZES:
        body_id, file_id, metadata, body = evidence_pair(size)
        body_ct = b"".join(encrypt_detached_body(key, body_id, pieces(body, 30_001)))
        file_ct = b"".join(encrypt_object(key, file_id, metadata))
        file_index = len(objects)
        objects += [
            {"object_id": file_id.hex(), "scope": "thread", "ciphertext": file_ct.hex()},
            {
                "object_id": body_id.hex(),
                "scope": "thread",
                "ciphertext": body_ct.hex(),
                "by_file": file_index,
            },
            {"object_id": body_id.hex(), "scope": "thread", "ciphertext": body_ct.hex()},
        ]
        expected += [
            {"metadata": metadata, "body": ""},
            {"metadata": body_metadata(), "body": body.hex()},
            {"metadata": body_metadata(), "body": {"unreadable": UNREADABLE}},
        ]
    keys = {"public_key": recipient.public_key.hex(), "secret_key": recipient.secret_key.hex()}
    opened = run_node(node_tip(data_keys, recipient.public_key, objects) | keys)
    assert "error" not in opened, opened
    # Without the file's size a body object gives its metadata and no body, as in Python.
    assert opened["objects"] == expected


def python_error(data_key: bytes, object_id: bytes, ciphertext: bytes, body_size: int) -> str:
    try:
        opened = decrypt_object(data_key, object_id, [ciphertext], body_size=body_size)
        b"".join(opened.body)
    except CryptoError as error:
        return type(error).__name__
    return "accepted"


def forged_body(
    data_key: bytes, object_id: bytes, body: bytes, *, trailer: int, padding: bytes = b""
) -> bytes:
    """A body object sealed with the right key around a plaintext Python would never write."""
    honest = body_plaintext(body)
    head = 4 + len(BODY_M) + len(body)
    zeros_end = len(honest) - BODY_TRAILER_BYTES
    padded = honest[:head] + padding + honest[head + len(padding) : zeros_end]
    assert len(padded) == zeros_end
    return seal(
        object_key(data_key, object_id),
        padded + trailer.to_bytes(BODY_TRAILER_BYTES, "little"),
    )


def test_libsodium_js_rejects_bad_detached_bodies_with_the_errors_python_raises() -> None:
    key = bytes(range(32))
    named: list[tuple[str, bytes, bytes, int]] = []  # (case, object id, ciphertext, size)
    for size in (0, 5_000, 70_000, MIB - BODY_OVERHEAD):
        body_id = new_id()
        body = bytes((i * 7 + 1) % 251 + 1 for i in range(size))  # no zero bytes at all
        honest = b"".join(encrypt_detached_body(key, body_id, [body]))
        claims = {size + d for d in (-4096, -8, -1, 1, 8, 4096, 65536, MIB)} | {0, 2 * size}
        for claim in sorted(c for c in claims if c >= 0 and c != size):
            named.append((f"{size} read as {claim}", body_id, honest, claim))
        flipped = flip(honest, len(honest) - 20)  # in the trailer: 16 MAC bytes end a chunk
        named.append((f"{size}: flipped trailer byte", body_id, flipped, size))
        for wrong in (size + 1, size - 1, size + 2**40):
            if wrong >= 0:
                forged = forged_body(key, body_id, body, trailer=wrong)
                named.append((f"{size}: trailer says {wrong}", body_id, forged, size))
        if len(body_plaintext(body)) > BODY_OVERHEAD + size:  # there is padding to spoil
            forged = forged_body(key, body_id, body, trailer=size, padding=b"\x01")
            named.append((f"{size}: non-zero padding after the body", body_id, forged, size))
    file_id = new_id()
    a_file = b"".join(encrypt_object(key, file_id, file_metadata("a", "", 1, "0" * 64), [b"x"]))
    named.append(("a file object read as a body", file_id, a_file, 1))
    bad_meta, sized = new_id(), b'{"kind":"body","size":3,"v":1}'
    sized_body = seal(
        object_key(key, bad_meta),
        len(sized).to_bytes(4, "little") + sized + bytes(4096 - 4 - len(sized)),
    )
    named.append(("a body object with a size of its own", bad_meta, sized_body, 3))

    python = {case: python_error(key, oid, ct, size) for case, oid, ct, size in named}
    result = run_node(
        {
            "op": "reject",
            "cases": [
                {
                    "data_key": key.hex(),
                    "object_id": oid.hex(),
                    "ciphertext": ct.hex(),
                    "body_size": size,
                }
                for _, oid, ct, size in named
            ],
        }
    )
    javascript = dict(zip(python, result["errors"], strict=True))
    assert javascript == python
    assert "accepted" not in python.values()
    for case, error in python.items():
        if "trailer says" in case:
            assert error == "LengthOutOfRange", case
        elif "non-zero padding" in case:
            assert error == "NonZeroPadding", case
        elif "flipped" in case:
            assert error == "TamperedCiphertext", case
    assert python["a file object read as a body"] == "BadMetadata"
    assert python["a body object with a size of its own"] == "BadMetadata"
    # A wrong size is caught by the layout, the zero check or the trailer, depending on it.
    assert {"EarlyFinal", "MissingFinal", "LengthOutOfRange", "NonZeroPadding"} <= set(
        python.values()
    )


def test_libsodium_js_never_finishes_a_detached_body_of_the_wrong_length() -> None:
    object_id, key = new_id(), bytes(range(32))
    cases = [
        (70_000, 70_001),  # short by one
        (70_000, 69_999),  # long by one
        (0, 1),
        (1, 0),
        (400_000, 200_000),  # long: chunks were emitted before it noticed
        (200_000, 400_000),  # short, with chunks emitted
        (70_000, 70_000),  # the control: the right length does end with FINAL
    ]
    answer = run_node(
        {
            "op": "mismatch",
            "data_key": key.hex(),
            "object_id": object_id.hex(),
            "cases": [{"length": length, "size": size} for length, size in cases],
        }
    )
    *wrong, right = answer["results"]
    assert right["error"] is None and right["tags"][-1] == FINAL
    assert python_error(key, object_id, bytes.fromhex(right["ciphertext"]), 70_000) == "accepted"
    for (length, size), result in zip(cases[:-1], wrong, strict=True):
        assert result["error"] == "SizeMismatch", (length, size)
        assert FINAL not in result["tags"], (length, size)
        emitted = bytes.fromhex(result["ciphertext"])
        assert python_error(key, object_id, emitted, size) == "TruncatedStream"
    assert len(wrong[4]["tags"]) >= 2 and len(wrong[5]["tags"]) >= 2
