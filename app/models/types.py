"""Column types that make the schema's rules hold in Python as well as in SQL.

- :class:`Day` refuses ``datetime`` values: a tipster-related date can never carry a time by
  accident (DESIGN §2.3).
- :class:`UTCDateTime` refuses naive datetimes and always returns aware UTC values, on
  PostgreSQL (``timestamptz``) and on SQLite (which has no time zones) alike.
- :class:`MinuteUTCDateTime` stores a moment truncated to the whole minute.
- :class:`EnumText` stores a :class:`~enum.StrEnum` as its short string value and returns the
  enum member; the table's CHECK constraint (see :func:`allowed_values`) guards the database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import CheckConstraint, Date, DateTime, Dialect, String
from sqlalchemy.types import TypeDecorator

ENUM_LENGTH = 32

_E = TypeVar("_E", bound=StrEnum)


class Day(TypeDecorator[date]):
    """A calendar day (``DATE``); a ``datetime`` is refused rather than silently truncated."""

    impl = Date
    cache_ok = True

    def process_bind_param(self, value: date | None, dialect: Dialect) -> date | None:
        if isinstance(value, datetime):
            raise TypeError("a day column takes a date, not a datetime (no precise times)")
        return value


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in UTC (``timestamptz`` on PostgreSQL; UTC text on SQLite)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError("a timestamp column takes a datetime")
        if value.utcoffset() is None:
            raise ValueError("naive datetime refused; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)  # stored as UTC wall time; see process_result_value
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class MinuteUTCDateTime(UTCDateTime):
    """A UTC moment kept only to the minute (seconds dropped), for expiries that must stay coarse.

    Values compared against the column are truncated the same way, so a comparison is exact at
    minute granularity.
    """

    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if isinstance(value, datetime):
            value = value.replace(second=0, microsecond=0)
        return super().process_bind_param(value, dialect)


class EnumText(TypeDecorator[_E]):
    """A :class:`~enum.StrEnum` stored as ``VARCHAR(32)``; unknown values are refused on write."""

    impl = String(ENUM_LENGTH)
    cache_ok = True

    def __init__(self, enum_class: type[_E]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return str(self.enum_class(value).value)

    def process_result_value(self, value: Any, dialect: Dialect) -> _E | None:
        if value is None:
            return None
        return self.enum_class(value)

    @property
    def python_type(self) -> type[_E]:
        return self.enum_class


def allowed_values(column: str, enum_class: type[StrEnum]) -> CheckConstraint:
    """The CHECK constraint ``ck_<table>_<column>_allowed`` listing ``enum_class``'s values."""
    values = ", ".join(f"'{member.value}'" for member in enum_class)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_allowed")


def byte_length(column: str, length: int) -> CheckConstraint:
    """The CHECK constraint ``ck_<table>_<column>_length``: exactly ``length`` bytes (or NULL)."""
    return CheckConstraint(f"length({column}) = {length}", name=f"{column}_length")
