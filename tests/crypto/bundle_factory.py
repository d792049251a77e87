"""Builds real bundles for the bundle and offline CLI tests."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto.bundle import BundleObject, SealedKeyEntry, write_bundle
from crypto.datakeys import commitment, generate_data_key, seal_data_key
from crypto.ids import id_to_str, new_id
from crypto.keys import KeyPair, generate_keypair
from crypto.metadata import file_metadata, message_metadata, note_metadata, report_metadata
from crypto.objects import encrypt_detached_body, encrypt_object

DETACHED = "detached"  # in place of a file's "body": build_bundle writes a detached body


@dataclass
class BuiltBundle:
    path: Path
    tip_id: bytes
    data_keys: dict[str, bytes]
    recipient: KeyPair
    tipster: KeyPair
    files: dict[str, bytes] = field(default_factory=dict)  # name -> body
    object_ids: dict[str, bytes] = field(default_factory=dict)


def evidence_file(
    name: str, body: bytes, scope: str = "thread"
) -> tuple[str, dict[str, Any], bytes]:
    digest = hashlib.sha256(body).hexdigest()
    return scope, file_metadata(name, "application/octet-stream", len(body), digest), body


def detached_evidence_file(
    name: str, body: bytes, scope: str = "thread"
) -> tuple[str, dict[str, Any], bytes]:
    """A file whose body build_bundle writes as a detached body object, as the server does."""
    scope, metadata, body = evidence_file(name, body, scope)
    return scope, {**metadata, "body": DETACHED}, body


def default_objects() -> list[tuple[str, dict[str, Any], bytes]]:
    return [
        ("thread", report_metadata("en", {"platform": "Instagram", "species": "pangolin"}), b""),
        ("thread", message_metadata("Seller posts every Friday."), b""),
        evidence_file("photo.jpg", bytes(range(256)) * 300),
        evidence_file("../../etc/passwd", b"not really"),
        evidence_file("chat.txt", "ivoire — 象牙".encode() * 5000),
        ("internal", note_metadata("Matches a 2023 seizure."), b""),
    ]


def build_bundle(
    path: Path,
    objects: list[tuple[str, dict[str, Any], bytes]] | None = None,
    *,
    recipient: KeyPair | None = None,
    tip_id: bytes | None = None,
    seal_tip_id: bytes | None = None,
    commitments: dict[str, bytes] | None = None,
    extra_files: dict[str, bytes] | None = None,
) -> BuiltBundle:
    """A bundle for ``recipient`` (both scopes) and a tipster (thread scope only)."""
    recipient = recipient or generate_keypair()
    tipster = generate_keypair()
    tip_id = tip_id or new_id()
    data_keys = {"thread": generate_data_key(), "internal": generate_data_key()}
    sealed = [
        SealedKeyEntry(
            recipient.key_id, scope, seal_data_key(key, seal_tip_id or tip_id, recipient.public_key)
        )
        for scope, key in data_keys.items()
    ]
    sealed.append(
        SealedKeyEntry(
            tipster.key_id, "thread", seal_data_key(data_keys["thread"], tip_id, tipster.public_key)
        )
    )
    built = BuiltBundle(path, tip_id, data_keys, recipient, tipster)
    bundle_objects = []
    for scope, metadata, body in objects if objects is not None else default_objects():
        object_id = new_id()
        if metadata["kind"] == "file":
            built.files[metadata["name"]] = body
        built.object_ids[str(metadata.get("name", metadata["kind"]))] = object_id
        if metadata.get("body") == DETACHED:
            body_id = new_id()
            built.object_ids[f"body of {metadata['name']}"] = body_id
            body_chunks = encrypt_detached_body(data_keys[scope], body_id, [body])
            bundle_objects.append(BundleObject(body_id, scope, body_chunks))
            metadata, body = {**metadata, "body": id_to_str(body_id)}, b""
        chunks = encrypt_object(data_keys[scope], object_id, metadata, [body])
        bundle_objects.append(BundleObject(object_id, scope, chunks))
    write_bundle(
        path,
        tip_id=tip_id,
        commitments=commitments or {s: commitment(k, tip_id, s) for s, k in data_keys.items()},
        sealed_keys=sealed,
        objects=bundle_objects,
        extra_files=extra_files,
    )
    return built


def rewrite_bundle(
    source: Path,
    target: Path,
    *,
    manifest: Callable[[dict[str, Any]], Any] | None = None,
    members: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]] | None = None,
) -> Path:
    """Copy a bundle, letting the caller alter the manifest document and the member list."""
    with zipfile.ZipFile(source) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    if manifest is not None:
        entries = [
            (
                name,
                json.dumps(manifest(json.loads(data))).encode()
                if name == "manifest.json"
                else data,
            )
            for name, data in entries
        ]
    if members is not None:
        entries = members(entries)
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name), data)
    return target
