"""Strict decoders shared by the key file, bundle and metadata parsers."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from typing import Any

_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_B64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class StrictDecodeError(ValueError):
    """Input is not in the one canonical form a v1 reader accepts."""


def b64encode(raw: bytes) -> str:
    """Standard base64 with padding, as text."""
    return base64.b64encode(raw).decode("ascii")


def b64decode(text: object, *, length: int | None = None) -> bytes:
    """Decode canonical standard base64 (with padding), optionally of an exact length.

    :raises StrictDecodeError: if ``text`` is not a string of canonical base64 or decodes to
        the wrong length.
    """
    if not isinstance(text, str) or not _B64_RE.fullmatch(text) or len(text) % 4:
        raise StrictDecodeError("not standard base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise StrictDecodeError("not standard base64") from exc
    if b64encode(raw) != text:
        raise StrictDecodeError("not canonical base64")
    if length is not None and len(raw) != length:
        raise StrictDecodeError("wrong decoded length")
    return raw


def id_to_uuid(raw_id: bytes) -> str:
    """Return the canonical lowercase UUID string of a 16-byte identifier."""
    return str(uuid.UUID(bytes=bytes(raw_id)))


def uuid_to_id(text: object) -> bytes:
    """Parse a canonical lowercase hyphenated UUID string into 16 bytes.

    :raises StrictDecodeError: if ``text`` is not exactly that form.
    """
    if not isinstance(text, str) or not _UUID_RE.fullmatch(text):
        raise StrictDecodeError("not a canonical UUID string")
    return uuid.UUID(text).bytes


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise StrictDecodeError("duplicate key")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise StrictDecodeError("NaN and Infinity are not JSON")


def strict_json_loads(raw: bytes) -> Any:
    """Parse UTF-8 JSON (RFC 8259), rejecting duplicate keys, NaN/Infinity (also from
    overflowing numbers such as 1e400) and lone surrogates.

    Duplicate keys are rejected because two parsers may keep different values for them.

    :raises StrictDecodeError: on anything that is not such JSON.
    """
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
        # A lone surrogate escape (\ud800) parses but cannot be written out as UTF-8.
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except StrictDecodeError:
        raise
    except (UnicodeError, ValueError, RecursionError) as exc:
        raise StrictDecodeError("not valid UTF-8 JSON") from exc
    return value


def is_strict_int(value: object) -> bool:
    """True for a JSON integer (``bool`` is not one, nor is ``1.0``)."""
    return type(value) is int
