"""Object metadata ``M``: the v1 kinds, their validation and their serialisation.

A ``file`` either carries its body (``size`` bytes after ``M``) or names a detached ``body``
object that holds it: ``"body": <object id>``. A detached body is what a writer produces when
it learns the file's size and SHA-256 only after its last byte (the no-JavaScript intake): it
encrypts the body object as the bytes arrive, then writes the small ``file`` object. A ``body``
object's metadata is just ``{"v":1,"kind":"body"}``; its length comes from the file's ``size``.

Writers serialise with :func:`encode_metadata` (compact, sorted keys, UTF-8, no ASCII
escaping). Readers accept any valid JSON text for the same object (see
:func:`parse_metadata`), but reject duplicate keys, NaN/Infinity and lone surrogates.
Unknown extra fields are allowed, so later minor additions stay readable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from crypto._encoding import StrictDecodeError, is_strict_int, strict_json_loads
from crypto.errors import BadMetadata, InvalidMetadata, LengthOutOfRange
from crypto.layout import MAX_BODY_SIZE, MAX_METADATA_BYTES

VERSION = 1
KINDS = ("report", "message", "file", "note", "body")
MIN_METADATA_BYTES = 2  # "{}"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


class _Problem(Exception):
    """Why a metadata object is invalid; ``out_of_range`` marks a bad ``size``."""

    def __init__(self, message: str, *, out_of_range: bool = False) -> None:
        super().__init__(message)
        self.out_of_range = out_of_range


def _require_str(metadata: Mapping[str, Any], field: str, *, non_empty: bool = False) -> None:
    value = metadata.get(field)
    if not isinstance(value, str):
        raise _Problem(f"The metadata field '{field}' is missing or not a string.")
    if non_empty and not value:
        raise _Problem(f"The metadata field '{field}' is empty.")


def _check_size(metadata: Mapping[str, Any]) -> int:
    if "size" not in metadata:
        return 0
    size = metadata["size"]
    if not is_strict_int(size):
        raise _Problem("The metadata field 'size' is not an integer.")
    if not 0 <= size <= MAX_BODY_SIZE:
        raise _Problem("The metadata field 'size' is out of range.", out_of_range=True)
    return int(size)


def _check(metadata: object) -> int:
    """Validate a metadata object; return its declared body size."""
    if not isinstance(metadata, Mapping):
        raise _Problem("The metadata is not a JSON object.")
    if not all(isinstance(key, str) for key in metadata):
        raise _Problem("The metadata has a key that is not a string.")
    if not is_strict_int(metadata.get("v")) or metadata["v"] != VERSION:
        raise _Problem("The metadata is not version 1.")
    kind = metadata.get("kind")
    if kind not in KINDS:
        raise _Problem("The metadata kind is missing or unknown.")
    size = _check_size(metadata)
    if kind == "report":
        _require_str(metadata, "lang")
        if not isinstance(metadata.get("fields"), Mapping):
            raise _Problem("The metadata field 'fields' is missing or not an object.")
    elif kind in ("message", "note"):
        _require_str(metadata, "text")
    elif kind == "body":
        if "size" in metadata:
            raise _Problem("A detached body takes its size from its file object.")
    else:
        _require_str(metadata, "name", non_empty=True)
        _require_str(metadata, "type")
        if "size" not in metadata:
            raise _Problem("The metadata field 'size' is missing.")
        sha256 = metadata.get("sha256")
        if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
            raise _Problem("The metadata field 'sha256' is not 64 lowercase hex digits.")
        if "body" in metadata:
            body = metadata["body"]
            if not isinstance(body, str) or not _UUID.fullmatch(body):
                raise _Problem("The metadata field 'body' is not a lowercase UUID4 string.")
            return 0  # the body is in the object it names
    if kind != "file" and size != 0:
        raise _Problem("Only file objects carry a body.")
    return size


def declared_size(metadata: Mapping[str, Any]) -> int:
    """Return the length of the body inside this object: ``size``, or 0 when there is none
    or the body is detached. Assumes the metadata was validated."""
    if "body" in metadata:
        return 0
    return int(metadata.get("size", 0))


def detached_body_id(metadata: Mapping[str, Any]) -> str | None:
    """The object id (UUID string) of a file's detached body, or None if it carries its own."""
    body = metadata.get("body") if metadata.get("kind") == "file" else None
    return str(body) if body is not None else None


def encode_metadata(metadata: Mapping[str, Any]) -> bytes:
    """Validate and serialise metadata as written by this implementation.

    ``json.dumps(m, separators=(",", ":"), ensure_ascii=False, sort_keys=True)`` in UTF-8.

    :raises InvalidMetadata: if it is not a valid v1 object, not serialisable, or longer
        than :data:`~crypto.layout.MAX_METADATA_BYTES`.
    """
    try:
        _check(metadata)
        encoded = json.dumps(
            dict(metadata),
            separators=(",", ":"),
            ensure_ascii=False,
            sort_keys=True,
            allow_nan=False,
        ).encode("utf-8")
    except _Problem as exc:
        raise InvalidMetadata(str(exc)) from None
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise InvalidMetadata("The metadata cannot be serialised as JSON.") from exc
    if len(encoded) > MAX_METADATA_BYTES:
        raise InvalidMetadata("The serialised metadata is longer than 1 MiB.")
    return encoded


def parse_metadata(raw: bytes) -> dict[str, Any]:
    """Parse and validate decrypted metadata bytes.

    :raises BadMetadata: if it is not valid JSON, not an object, or not a valid v1 kind.
    :raises LengthOutOfRange: if ``size`` is a negative or too large integer.
    """
    try:
        value = strict_json_loads(raw)
    except StrictDecodeError:
        raise BadMetadata("The metadata is not valid UTF-8 JSON.") from None
    try:
        _check(value)
    except _Problem as exc:
        error = LengthOutOfRange if exc.out_of_range else BadMetadata
        raise error(str(exc)) from None
    return dict(value)


def report_metadata(lang: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata of a report: the tipster's language tag and the structured form fields."""
    return {"v": VERSION, "kind": "report", "lang": lang, "fields": dict(fields)}


def message_metadata(text: str) -> dict[str, Any]:
    """Metadata of a thread message (from the tipster or a staff reply)."""
    return {"v": VERSION, "kind": "message", "text": text}


def note_metadata(text: str) -> dict[str, Any]:
    """Metadata of an internal staff note."""
    return {"v": VERSION, "kind": "note", "text": text}


def file_metadata(
    name: str, type: str, size: int, sha256_hex: str, *, body: str | None = None
) -> dict[str, Any]:
    """Metadata of an evidence file; ``sha256_hex`` is SHA-256 of the body before encryption.

    ``body``: the object id (UUID string) of a detached body object holding the bytes.
    """
    metadata = {
        "v": VERSION,
        "kind": "file",
        "name": name,
        "type": type,
        "size": size,
        "sha256": sha256_hex,
    }
    if body is not None:
        metadata["body"] = body
    return metadata


def body_metadata() -> dict[str, Any]:
    """Metadata of a detached file body (see the module docstring)."""
    return {"v": VERSION, "kind": "body"}
