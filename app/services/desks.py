"""Desks: the teams that receive tips, their jurisdictions and offline recovery keys."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from iso3166 import countries
from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound
from app.models import (
    Desk,
    DeskJurisdiction,
    DeskMembership,
    DeskRecoveryKey,
    StaffKey,
    StaffRole,
    StaffUser,
)
from app.services import audit
from app.services.audit import AuditAction
from crypto.keys import key_id as compute_key_id

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
PUBLIC_KEY_BYTES = 32


class DeskNotFound(NotFound):
    def __init__(self, slug: str) -> None:
        super().__init__(f"There is no desk '{slug}'.")


class DeskExists(Conflict):
    def __init__(self, slug: str) -> None:
        super().__init__(f"A desk '{slug}' already exists.")


@dataclass(frozen=True)
class Recipient:
    """A public key every new tip of a desk is sealed to."""

    key_id: str
    public_key: bytes
    kind: str  # "prosecutor" or "recovery"


def normalise_country_codes(codes: Sequence[str]) -> list[str]:
    """Upper-case ISO 3166-1 alpha-2 codes, deduplicated and sorted.

    :raises InvalidInput: a code is not an ISO 3166-1 country.
    """
    normalised = set()
    for code in codes:
        candidate = code.strip().upper()
        if len(candidate) != 2 or candidate not in countries:
            raise InvalidInput(f"'{code}' is not an ISO 3166-1 alpha-2 country code.")
        normalised.add(countries.get(candidate).alpha2)
    return sorted(normalised)


def create_desk(
    session: Session,
    *,
    slug: str,
    name: str,
    country_codes: Sequence[str],
    now: datetime,
    actor_id: int | None,
    is_triage: bool = False,
    languages: Sequence[str] = ("en",),
) -> Desk:
    """Add a desk (audited; ``actor_id`` None for the command line).

    :raises InvalidInput: bad slug, empty name, unknown country, or a second triage desk.
    :raises DeskExists: the slug is taken.
    """
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(
            "A desk slug is 1–64 lowercase letters, digits or dashes, e.g. 'kenya-kws'."
        )
    if not name.strip():
        raise InvalidInput("A desk needs a name.")
    codes = normalise_country_codes(country_codes)
    if not codes and not is_triage:
        raise InvalidInput("A desk needs at least one country (or must be the triage desk).")
    if session.scalar(select(Desk.id).where(Desk.slug == slug)) is not None:
        raise DeskExists(slug)
    if is_triage and session.scalar(select(Desk.id).where(Desk.is_triage)) is not None:
        raise InvalidInput("There is already a triage desk; an instance has exactly one.")
    desk = Desk(
        slug=slug,
        name=name.strip(),
        is_triage=is_triage,
        languages=list(languages),
        created_on=now.date(),
    )
    desk.jurisdictions = [DeskJurisdiction(country_code=code) for code in codes]
    session.add(desk)
    session.flush()
    audit.record(
        session,
        action=AuditAction.DESK_CREATED,
        now=now,
        actor_user_id=actor_id,
        details={"desk_id": desk.id, "slug": desk.slug, "triage": is_triage},
    )
    return desk


def get_desk(session: Session, slug: str) -> Desk:
    """:raises DeskNotFound: no desk has this slug."""
    desk = session.scalar(select(Desk).where(Desk.slug == slug.strip().lower()))
    if desk is None:
        raise DeskNotFound(slug)
    return desk


def list_desks(session: Session) -> list[Desk]:
    return list(session.scalars(select(Desk).order_by(Desk.is_triage, Desk.name)))


def add_recovery_key(
    session: Session,
    *,
    slug: str,
    public_key: bytes,
    label: str,
    now: datetime,
    actor_id: int | None,
) -> DeskRecoveryKey:
    """Register an offline recovery key: every tip the desk receives from now on is sealed to it.

    Audited (``actor_id`` None for the command line): whoever holds the key's secret can read
    every new tip of the desk — so a key an admin adds waits until a prosecutor of the desk
    approves it (:mod:`app.services.approvals`); the command line's is approved at once.

    :raises DeskNotFound:
    :raises InvalidInput: the key is not a 32-byte X25519 public key.
    :raises Conflict: the desk already has this key.
    """
    desk = get_desk(session, slug)
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise InvalidInput("A recovery public key is 32 bytes.")
    key_id = compute_key_id(public_key)
    if any(existing.key_id == key_id for existing in desk.recovery_keys):
        raise Conflict(f"Desk '{desk.slug}' already has recovery key {key_id}.")
    approved = actor_id is None  # the command line approves at once; an admin's key waits
    recovery_key = DeskRecoveryKey(
        desk=desk,
        key_id=key_id,
        public_key=public_key,
        label=label,
        created_at=now,
        approved_at=now if approved else None,
    )
    session.add(recovery_key)
    session.flush()
    audit.record(
        session,
        action=AuditAction.DESK_RECOVERY_KEY_ADDED,
        now=now,
        actor_user_id=actor_id,
        details={"desk_id": desk.id, "key_id": key_id, "approved": approved},
    )
    return recovery_key


def desk_recipients(session: Session, desk_id: int) -> list[Recipient]:
    """Every key a new tip of this desk is sealed to: its approved prosecutors' keys and
    approved recovery keys (app/services/approvals.py), in that order, each by key id.

    One query (every intake asks): the two kinds of key as one ``UNION ALL``.
    """
    prosecutor_keys = (
        select(literal(0).label("rank"), StaffKey.key_id, StaffKey.public_key)
        .join(StaffUser, StaffUser.id == StaffKey.user_id)
        .join(DeskMembership, DeskMembership.user_id == StaffUser.id)
        .where(
            DeskMembership.desk_id == desk_id,
            DeskMembership.approved_at.is_not(None),
            StaffUser.role == StaffRole.PROSECUTOR,
            StaffUser.disabled.is_(False),
        )
    )
    recovery_keys = select(
        literal(1).label("rank"), DeskRecoveryKey.key_id, DeskRecoveryKey.public_key
    ).where(DeskRecoveryKey.desk_id == desk_id, DeskRecoveryKey.approved_at.is_not(None))
    rows = session.execute(union_all(prosecutor_keys, recovery_keys).order_by("rank", "key_id"))
    return [
        Recipient(key_id, public_key, "prosecutor" if rank == 0 else "recovery")
        for rank, key_id, public_key in rows
    ]


@dataclass(frozen=True)
class CountryChoice:
    country_code: str
    country_name: str
    desk_slug: str


def country_choices(session: Session) -> list[CountryChoice]:
    """Countries a tipster can pick, each with the desk that covers it (first by name)."""
    choices: dict[str, CountryChoice] = {}
    rows = session.execute(
        select(DeskJurisdiction.country_code, Desk.slug)
        .join(Desk, Desk.id == DeskJurisdiction.desk_id)
        .order_by(Desk.name)
    )
    for code, slug in rows:
        if code not in choices:
            choices[code] = CountryChoice(code, countries.get(code).name, slug)
    return sorted(choices.values(), key=lambda choice: choice.country_name)


def triage_desk(session: Session) -> Desk | None:
    return session.scalar(select(Desk).where(Desk.is_triage))


def desk_for_country(session: Session, country_code: str) -> Desk:
    """The desk for a country code, or the triage desk for ``"unknown"``.

    :raises DeskNotFound: no desk covers it.
    """
    if country_code == "unknown":
        desk = triage_desk(session)
    else:
        desk = session.scalar(
            select(Desk)
            .join(DeskJurisdiction, DeskJurisdiction.desk_id == Desk.id)
            .where(DeskJurisdiction.country_code == country_code.strip().upper())
            .order_by(Desk.name)
            .limit(1)
        )
    if desk is None:
        raise DeskNotFound(country_code)
    return desk
