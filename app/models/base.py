"""The declarative base: one metadata, one naming convention, the project's column types."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import LargeBinary, MetaData
from sqlalchemy.orm import DeclarativeBase

from app.models.types import Day, UTCDateTime

# Every constraint and index gets a predictable name, so migrations can alter or drop it.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # date -> Day means a Mapped[date] column cannot store a time (DESIGN §2.3).
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute as is
        datetime: UTCDateTime(),
        date: Day(),
        bytes: LargeBinary(),
    }
