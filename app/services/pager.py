"""Keyset page cursors: where a listing's next page starts, as one string in the page link.

A listing sorted on a unique key hands out, with every page but the last, the key of that
page's last row; the next page is the rows strictly after it, found by walking an index, so the
thousandth page costs what the first does. The inbox sorts on ``(activity_seq, tip id)``, the
board on ``(next_due_on, tip id)``, the audit log on the event's id alone.

A cursor is the key's fields joined by ``.``: an integer in decimal digits, a day as
``YYYY-MM-DD``, a tip id as its lower-case UUID text (``42.5f0c…``, ``2026-11-01.5f0c…``,
``42``). Callers treat it as opaque. Decoding accepts exactly what encoding writes: anything
else is a link that was edited or cut short, refused with the listing's own message before it
reaches a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar, overload

from app.errors import InvalidInput

Key = TypeVar("Key", int, date)

# Below 10**18, so that any accepted integer fits a signed 64-bit column.
MAX_INT_DIGITS = 18
_INT = re.compile(rf"0|[1-9][0-9]{{0,{MAX_INT_DIGITS - 1}}}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIP_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _encode_key(key: int | date) -> str:
    """:raises ValueError: an integer that no cursor can carry (negative, or 19 digits)."""
    if isinstance(key, date):
        return key.isoformat()
    if not 0 <= key < 10**MAX_INT_DIGITS:
        raise ValueError(f"a cursor key must be in [0, 10**{MAX_INT_DIGITS}), not {key}")
    return str(key)


@overload
def _decode_key(text: str, key_type: type[int], damaged: str) -> int: ...
@overload
def _decode_key(text: str, key_type: type[date], damaged: str) -> date: ...
def _decode_key(text: str, key_type: type[int] | type[date], damaged: str) -> int | date:
    """:raises InvalidInput: ``text`` is not what :func:`_encode_key` writes for the type."""
    if key_type is date:
        if _DAY.fullmatch(text) is None:
            raise InvalidInput(damaged)
        try:
            return date.fromisoformat(text)
        except ValueError:  # a day that does not exist, such as 2026-02-30
            raise InvalidInput(damaged) from None
    if _INT.fullmatch(text) is None:
        raise InvalidInput(damaged)
    return int(text)


@dataclass(frozen=True)
class KeysetCursor(Generic[Key]):
    """The cursors of a listing sorted on a key of ``key_type``, ties broken by tip id.

    ``damaged`` is the message shown for a cursor this listing did not hand out.
    """

    key_type: type[Key]
    damaged: str

    def encode(self, key: Key, tip_id: str) -> str:
        """:raises ValueError: a key or tip id that :meth:`decode` would refuse."""
        if _TIP_ID.fullmatch(tip_id) is None:
            raise ValueError(f"a cursor's tip id must be a lower-case UUID, not {tip_id!r}")
        return f"{_encode_key(key)}.{tip_id}"

    def decode(self, cursor: str | None) -> tuple[Key, str] | None:
        """The ``(key, tip id)`` to start after; None (the first page) for no cursor.

        :raises InvalidInput: anything :meth:`encode` does not write.
        """
        if not cursor:
            return None
        key_text, _, tip_id = cursor.rpartition(".")
        if _TIP_ID.fullmatch(tip_id) is None:
            raise InvalidInput(self.damaged)
        return _decode_key(key_text, self.key_type, self.damaged), tip_id


@dataclass(frozen=True)
class IdCursor:
    """The cursors of a listing sorted on a unique integer id alone (the audit log)."""

    damaged: str

    def encode(self, row_id: int) -> str:
        """:raises ValueError: an id that :meth:`decode` would refuse."""
        return _encode_key(row_id)

    def decode(self, cursor: str | None) -> int | None:
        """The id to start after; None (the first page) for no cursor.

        :raises InvalidInput: anything :meth:`encode` does not write.
        """
        if not cursor:
            return None
        return _decode_key(cursor, int, self.damaged)
