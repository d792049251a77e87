"""Case workflow records staff add to a tip: tags, platform preservation requests, outcomes;
and what each desk tells tipsters beside the report form.

All of it is cleartext metadata entered by staff (DESIGN §2.1), never copied by the server from
a tip's encrypted content. Every row about a tip goes when the tip is purged (ON DELETE
CASCADE); the audit log keeps the history.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.models.types import EnumText, allowed_values


class TagKind(StrEnum):
    """The staff tag vocabularies (their values are those of ``app.services.report_form``)."""

    SPECIES_GROUP = "species_group"
    COMMODITY = "commodity"
    PLATFORM_TYPE = "platform_type"


class OutcomeKind(StrEnum):
    """What a reward claim can cite (docs/DOMAIN.md "Duties a case tracker must support")."""

    SEIZURE = "seizure"
    ARREST = "arrest"
    PROSECUTION = "prosecution"
    CONVICTION = "conviction"
    PENALTY = "penalty"
    FORFEITURE = "forfeiture"


class TipTag(Base):
    __tablename__ = "tip_tags"
    __table_args__ = (allowed_values("kind", TagKind),)

    tip_id: Mapped[str] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[TagKind] = mapped_column(EnumText(TagKind), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)


class PreservationRequest(Base):
    """A request to a platform to preserve data (e.g. 18 U.S.C. §2703(f)): 90 days, +90 once."""

    __tablename__ = "preservation_requests"
    __table_args__ = (
        CheckConstraint(
            "extended_on IS NULL OR extended_on >= sent_on", name="extended_after_sent"
        ),
        CheckConstraint("expires_on > sent_on", name="expires_after_sent"),
        # The board's and the digest's "expiring soon" list scans by expiry.
        Index(None, "expires_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[str] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(200))
    sent_on: Mapped[date]
    extended_on: Mapped[date | None]
    # Derived from sent_on and extended_on (app.services.deadlines), stored for indexed queries.
    expires_on: Mapped[date]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class Outcome(Base):
    """A seizure, arrest, … with its day; no free text beyond an official reference number."""

    __tablename__ = "outcomes"
    __table_args__ = (
        allowed_values("kind", OutcomeKind),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount_not_negative"),
        CheckConstraint("(amount IS NULL) = (currency IS NULL)", name="amount_has_currency"),
        CheckConstraint(
            "currency IS NULL OR (length(currency) = 3 AND currency = upper(currency))",
            name="currency_iso4217",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[str] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    kind: Mapped[OutcomeKind] = mapped_column(EnumText(OutcomeKind), index=True)
    occurred_on: Mapped[date]
    # A penalty's amount or a forfeiture's value, with its ISO 4217 currency.
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    # A court or case reference number only (the form says so): never tip content.
    reference_number: Mapped[str] = mapped_column(String(64), server_default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class DeskGuidance(Base):
    """What a desk tells tipsters beside the report form, per language (safe Markdown)."""

    __tablename__ = "desk_guidance"

    desk_id: Mapped[int] = mapped_column(
        ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(35), primary_key=True)  # BCP 47 tag
    markdown: Mapped[str] = mapped_column(Text)
