"""What the web admin area adds to the desk and account services: the acting admin, an
invitation instead of a password, and a pasted key file.

The services it calls record the audit events, so the web and the command line leave the same
ones (:mod:`app.services.audit`). Admins manage desks, accounts, memberships and recovery
keys; none of it opens a tip.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from app.config import StaffKdf
from app.errors import InvalidInput
from app.models import Desk, DeskRecoveryKey, StaffRole, StaffUser
from app.services import desks as desk_service
from app.services import staff as staff_service
from crypto.errors import BadKeyFile
from crypto.keyfile import read_public_key


def create_desk(
    session: Session,
    actor: StaffUser,
    *,
    slug: str,
    name: str,
    country_codes: Sequence[str],
    languages: Sequence[str],
    is_triage: bool,
    now: datetime,
) -> Desk:
    """:raises InvalidInput: / :raises DeskExists: see :func:`app.services.desks.create_desk`."""
    return desk_service.create_desk(
        session,
        slug=slug,
        name=name,
        country_codes=country_codes,
        languages=languages,
        is_triage=is_triage,
        now=now,
        actor_id=actor.id,
    )


def create_staff_user(
    session: Session,
    actor: StaffUser,
    *,
    username: str,
    display_name: str,
    role: StaffRole,
    desk_slugs: Sequence[str],
    kdf: StaffKdf,
    now: datetime,
) -> staff_service.NewStaffUser:
    """An account the person finishes through a one-time invitation link.

    :raises InvalidInput: / :raises Conflict: see :func:`app.services.staff.create_staff_user`.
    """
    return staff_service.create_staff_user(
        session,
        username=username,
        role=role,
        desk_slugs=desk_slugs,
        display_name=display_name or None,
        now=now,
        kdf=kdf,
        actor_id=actor.id,
    )


def disable_staff_user(session: Session, actor: StaffUser, username: str, *, now: datetime) -> None:
    """:raises StaffUserNotFound: / :raises InvalidInput: an admin disabling themself."""
    staff_service.disable_staff_user(session, username, now=now, actor_id=actor.id)


def public_key_from_file(data: bytes) -> bytes:
    """The public key of a pasted key file (:func:`crypto.keyfile.read_public_key`).

    :raises InvalidInput: not a Tipline key file, a key_id mismatch, or an unprotected secret.
    """
    try:
        return read_public_key(data)
    except BadKeyFile as error:
        raise InvalidInput(str(error)) from None


def add_recovery_key(
    session: Session, actor: StaffUser, *, slug: str, key_file: bytes, label: str, now: datetime
) -> DeskRecoveryKey:
    """:raises InvalidInput: / :raises Conflict: / :raises DeskNotFound:"""
    label = " ".join(label.split())[:200] or "recovery"
    return desk_service.add_recovery_key(
        session,
        slug=slug,
        public_key=public_key_from_file(key_file),
        label=label,
        now=now,
        actor_id=actor.id,
    )
