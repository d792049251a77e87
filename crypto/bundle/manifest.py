"""The bundle manifest (``manifest.json``): its entries, serialisation and strict parsing."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crypto._encoding import (
    StrictDecodeError,
    b64decode,
    b64encode,
    id_to_uuid,
    is_strict_int,
    strict_json_loads,
    uuid_to_id,
)
from crypto.datakeys import COMMITMENT_BYTES, SCOPES, SEALED_KEY_BYTES
from crypto.errors import BadBundle

FORMAT = "tipline-bundle"
VERSION = 1
MANIFEST_NAME = "manifest.json"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
MAX_MEMBER_NAME = 255
_KEY_ID = re.compile(r"[0-9a-f]{32}")
_TOP_FIELDS = {"format", "v", "tip_id", "commits", "sealed_keys", "objects"}


@dataclass(frozen=True)
class SealedKeyEntry:
    """A data key of one scope sealed to the recipient whose key id is ``key_id``."""

    key_id: str
    scope: str
    sealed: bytes = field(repr=False)


@dataclass(frozen=True)
class ObjectEntry:
    """Where an object's ciphertext lies in the bundle zip."""

    object_id: bytes
    scope: str
    path: str


@dataclass(frozen=True)
class Manifest:
    """A validated manifest."""

    tip_id: bytes
    commitments: dict[str, bytes]
    sealed_keys: tuple[SealedKeyEntry, ...]
    objects: tuple[ObjectEntry, ...]


def object_path(object_id: bytes) -> str:
    """The member name this implementation uses for an object's ciphertext."""
    return f"objects/{id_to_uuid(object_id)}.bin"


def is_safe_member_name(name: object) -> bool:
    """True for a relative POSIX path with no empty, ``.``, ``..`` or control-bearing part."""
    if not isinstance(name, str) or not name or len(name) > MAX_MEMBER_NAME:
        return False
    if name.startswith("/") or "\\" in name:
        return False
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name):
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def check_manifest_inputs(
    commitments: Mapping[str, bytes],
    sealed_keys: Sequence[SealedKeyEntry],
    objects: Sequence[ObjectEntry],
) -> None:
    """Check what a writer is about to put in a manifest.

    :raises ValueError: on a missing commitment, bad entry, or duplicate.
    """
    if set(commitments) != set(SCOPES) or any(
        len(c) != COMMITMENT_BYTES for c in commitments.values()
    ):
        raise ValueError("A bundle needs a 32-byte commitment for each of thread and internal.")
    seen_keys: set[tuple[str, str]] = set()
    for entry in sealed_keys:
        if not _KEY_ID.fullmatch(entry.key_id) or entry.scope not in SCOPES:
            raise ValueError("A sealed key entry has a bad key id or scope.")
        if len(entry.sealed) != SEALED_KEY_BYTES or (entry.key_id, entry.scope) in seen_keys:
            raise ValueError("A sealed key entry is malformed or duplicated.")
        seen_keys.add((entry.key_id, entry.scope))
    seen_ids: set[bytes] = set()
    for obj in objects:
        if len(obj.object_id) != 16 or obj.scope not in SCOPES or obj.object_id in seen_ids:
            raise ValueError("An object entry is malformed or duplicated.")
        seen_ids.add(obj.object_id)


def encode_manifest(
    tip_id: bytes,
    commitments: Mapping[str, bytes],
    sealed_keys: Iterable[SealedKeyEntry],
    objects: Iterable[ObjectEntry],
) -> bytes:
    """Serialise a manifest (pretty-printed UTF-8 JSON, fields in specification order)."""
    document = {
        "format": FORMAT,
        "v": VERSION,
        "tip_id": id_to_uuid(tip_id),
        "commits": {scope: b64encode(commitments[scope]) for scope in SCOPES},
        "sealed_keys": [
            {"key_id": e.key_id, "scope": e.scope, "sealed": b64encode(e.sealed)}
            for e in sealed_keys
        ],
        "objects": [
            {"object_id": id_to_uuid(o.object_id), "scope": o.scope, "path": o.path}
            for o in objects
        ],
    }
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def _entries(document: dict[str, Any], key: str, fields: set[str]) -> list[dict[str, Any]]:
    entries = document[key]
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and set(e) == fields for e in entries
    ):
        raise BadBundle(f"The manifest's {key} are not a list of well-formed entries.")
    return entries


def parse_manifest(raw: bytes) -> Manifest:
    """Parse and strictly validate ``manifest.json``.

    :raises BadBundle: on anything that is not exactly a v1 manifest.
    """
    try:
        document = strict_json_loads(raw)
    except StrictDecodeError:
        raise BadBundle("The bundle manifest is not valid JSON.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BadBundle("The file is not a Tipline bundle.")
    if not is_strict_int(document.get("v")) or document["v"] != VERSION:
        raise BadBundle("The bundle is not version 1.")
    if set(document) != _TOP_FIELDS:
        raise BadBundle("The bundle manifest has missing or unexpected fields.")
    try:
        tip_id = uuid_to_id(document["tip_id"])
        commits = document["commits"]
        if not isinstance(commits, dict) or set(commits) != set(SCOPES):
            raise BadBundle("The manifest needs exactly a thread and an internal commitment.")
        commitments = {s: b64decode(commits[s], length=COMMITMENT_BYTES) for s in SCOPES}
        sealed_keys = tuple(
            SealedKeyEntry(e["key_id"], e["scope"], b64decode(e["sealed"], length=SEALED_KEY_BYTES))
            for e in _entries(document, "sealed_keys", {"key_id", "scope", "sealed"})
        )
        objects = tuple(
            ObjectEntry(uuid_to_id(e["object_id"]), e["scope"], e["path"])
            for e in _entries(document, "objects", {"object_id", "scope", "path"})
        )
    except StrictDecodeError:
        raise BadBundle("An id, commitment or sealed key in the manifest is malformed.") from None
    _check_parsed_entries(sealed_keys, objects)
    return Manifest(tip_id, commitments, sealed_keys, objects)


def _check_parsed_entries(
    sealed_keys: tuple[SealedKeyEntry, ...], objects: tuple[ObjectEntry, ...]
) -> None:
    seen_keys: set[tuple[str, str]] = set()
    for key in sealed_keys:
        if not isinstance(key.key_id, str) or not _KEY_ID.fullmatch(key.key_id):
            raise BadBundle("A sealed key entry has a malformed key id.")
        if key.scope not in SCOPES:
            raise BadBundle("A sealed key entry has an unknown scope.")
        if (key.key_id, key.scope) in seen_keys:
            raise BadBundle("A recipient has two sealed keys for the same scope.")
        seen_keys.add((key.key_id, key.scope))
    seen_ids: set[bytes] = set()
    seen_paths: set[str] = set()
    for obj in objects:
        if obj.scope not in SCOPES:
            raise BadBundle("An object entry has an unknown scope.")
        if not is_safe_member_name(obj.path) or obj.path == MANIFEST_NAME:
            raise BadBundle("An object path in the manifest is unsafe.")
        if obj.object_id in seen_ids or obj.path in seen_paths:
            raise BadBundle("Two object entries share an id or a path.")
        seen_ids.add(obj.object_id)
        seen_paths.add(obj.path)
