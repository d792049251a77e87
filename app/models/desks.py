"""Desks: the teams that receive tips, where tipsters find them, and who can decrypt."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base
from app.models.enums import TipsterStatus
from app.models.types import EnumText, allowed_values, byte_length

if TYPE_CHECKING:
    from app.models.staff import StaffUser


class Desk(Base):
    __tablename__ = "desks"
    __table_args__ = (
        CheckConstraint("slug = lower(slug) AND length(slug) > 0", name="slug_lowercase"),
        CheckConstraint("retention_days > 0", name="retention_days_positive"),
        # At most one triage desk (the "I don't know the country" choice).
        Index(
            "ix_desks_single_triage",
            "is_triage",
            unique=True,
            sqlite_where=text("is_triage"),
            postgresql_where=text("is_triage"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_triage: Mapped[bool] = mapped_column(server_default=false())
    # BCP 47 language tags the desk reads, e.g. ["en", "sw"].
    languages: Mapped[list[str]] = mapped_column(JSON)
    auto_acknowledge: Mapped[bool] = mapped_column(server_default=false())
    retention_days: Mapped[int] = mapped_column(server_default=text("365"))
    created_on: Mapped[date]

    jurisdictions: Mapped[list[DeskJurisdiction]] = relationship(
        back_populates="desk", cascade="all, delete-orphan", passive_deletes=True
    )
    status_texts: Mapped[list[DeskStatusText]] = relationship(
        back_populates="desk", cascade="all, delete-orphan", passive_deletes=True
    )
    recovery_keys: Mapped[list[DeskRecoveryKey]] = relationship(
        back_populates="desk", cascade="all, delete-orphan", passive_deletes=True
    )
    memberships: Mapped[list[DeskMembership]] = relationship(
        back_populates="desk", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Desk {self.id} {self.slug!r}>"


class DeskJurisdiction(Base):
    """A country whose tips go to the desk (the tipster picks a desk by country)."""

    __tablename__ = "desk_jurisdictions"
    __table_args__ = (
        CheckConstraint(
            "length(country_code) = 2 AND country_code = upper(country_code)",
            name="country_code_alpha2",
        ),
    )

    desk_id: Mapped[int] = mapped_column(
        ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True
    )
    # ISO 3166-1 alpha-2, upper case.
    country_code: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)

    desk: Mapped[Desk] = relationship(back_populates="jurisdictions")


class DeskStatusText(Base):
    """The canned text a tipster reads for a coarse status, per language."""

    __tablename__ = "desk_status_texts"
    __table_args__ = (allowed_values("status", TipsterStatus),)

    desk_id: Mapped[int] = mapped_column(
        ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[TipsterStatus] = mapped_column(EnumText(TipsterStatus), primary_key=True)
    language: Mapped[str] = mapped_column(String(35), primary_key=True)  # BCP 47 tag
    text: Mapped[str] = mapped_column(Text)

    desk: Mapped[Desk] = relationship(back_populates="status_texts")


class DeskRecoveryKey(Base):
    """An offline recovery key: a desk recipient whose secret key never touches the server."""

    __tablename__ = "desk_recovery_keys"
    __table_args__ = (
        UniqueConstraint("desk_id", "key_id"),
        CheckConstraint("length(key_id) = 32", name="key_id_length"),
        byte_length("public_key", 32),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="CASCADE"))
    key_id: Mapped[str] = mapped_column(String(32))  # hex(BLAKE2b-128(public_key))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # New tips are sealed to it only once approved (app/services/approvals.py).
    approved_at: Mapped[datetime | None]
    approved_by_user_id: Mapped[int | None]

    desk: Mapped[Desk] = relationship(back_populates="recovery_keys")


class DeskMembership(Base):
    __tablename__ = "desk_memberships"

    desk_id: Mapped[int] = mapped_column(
        ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_at: Mapped[datetime]
    # A prosecutor is a recipient of the desk's tips only once approved (app/services/approvals.py).
    approved_at: Mapped[datetime | None]
    approved_by_user_id: Mapped[int | None]
    # Approved, but the desk's older tips are not yet all re-sealed to them.
    needs_key_grant: Mapped[bool] = mapped_column(server_default=false())

    desk: Mapped[Desk] = relationship(back_populates="memberships")
    user: Mapped[StaffUser] = relationship(back_populates="memberships")
