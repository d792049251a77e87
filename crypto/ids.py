"""Tip and object identifiers: 16 random bytes, a UUID4, as a UUID string outside crypto."""

from __future__ import annotations

import uuid

from crypto._encoding import StrictDecodeError, id_to_uuid, uuid_to_id

ID_BYTES = 16


def new_id() -> bytes:
    """Return a fresh 16-byte identifier (the bytes of a random UUID4)."""
    return uuid.uuid4().bytes


def id_to_str(raw_id: bytes) -> str:
    """Return the canonical lowercase UUID string of a 16-byte id.

    :raises ValueError: if ``raw_id`` is not 16 bytes.
    """
    if len(raw_id) != ID_BYTES:
        raise ValueError("An identifier must be 16 bytes long.")
    return id_to_uuid(raw_id)


def id_from_str(text: str) -> bytes:
    """Parse a canonical lowercase hyphenated UUID string.

    :raises ValueError: if ``text`` is not exactly that form.
    """
    try:
        return uuid_to_id(text)
    except StrictDecodeError as exc:
        raise ValueError("An identifier must be a lowercase hyphenated UUID string.") from exc


def check_id(raw_id: bytes, what: str) -> bytes:
    """Return ``raw_id`` as bytes after checking it is 16 bytes long.

    :raises ValueError: otherwise.
    """
    if not isinstance(raw_id, bytes | bytearray | memoryview) or len(raw_id) != ID_BYTES:
        raise ValueError(f"The {what} must be 16 bytes long.")
    return bytes(raw_id)
