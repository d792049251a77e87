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
from crypto_testdata import NODE_DIR, REPO_ROOT, load_vectors

from crypto.codes import tipster_keypair, tipster_seed
from crypto.datakeys import commitment, generate_data_key, open_data_key, seal_data_key
from crypto.keys import generate_keypair, keypair_from_secret
from crypto.layout import ciphertext_length, padded_length
from crypto.metadata import (
    encode_metadata,
    file_metadata,
    message_metadata,
    note_metadata,
    report_metadata,
)
from crypto.objects import decrypt_object, encrypt_object, object_key
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
