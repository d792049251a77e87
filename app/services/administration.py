"""Admin actions that the CLI also offers, here with an audit entry naming the admin.

Admins manage desks, accounts, memberships and recovery keys; none of it opens a tip.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from app.config import StaffKdf
from app.errors import InvalidInput
from app.models import Desk, DeskRecoveryKey, StaffRole, StaffUser
from app.services import audit
from app.services import desks as desk_service
from app.services import staff as staff_service
from app.services.audit import AuditAction
from crypto.keys import key_id

MAX_KEY_FILE_BYTES = 4096


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
    desk = desk_service.create_desk(
        session,
        slug=slug,
        name=name,
        country_codes=country_codes,
        languages=languages,
        is_triage=is_triage,
        today=now.date(),
    )
    audit.record(
        session,
        action=AuditAction.DESK_CREATED,
        now=now,
        actor_user_id=actor.id,
        details={"desk_id": desk.id, "slug": desk.slug, "triage": is_triage},
    )
    return desk


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
    created = staff_service.create_staff_user(
        session,
        username=username,
        role=role,
        desk_slugs=desk_slugs,
        display_name=display_name or None,
        now=now,
        kdf=kdf,
    )
    audit.record(
        session,
        action=AuditAction.STAFF_CREATED,
        now=now,
        actor_user_id=actor.id,
        details={"user_id": created.user.id, "role": role.value, "desks": list(desk_slugs)},
    )
    return created


def disable_staff_user(session: Session, actor: StaffUser, username: str, *, now: datetime) -> None:
    """:raises StaffUserNotFound: / :raises InvalidInput: an admin disabling themself."""
    user = staff_service.get_staff_user(session, username)
    if user.id == actor.id:
        raise InvalidInput("You cannot disable your own account.")
    staff_service.disable_staff_user(session, username)
    audit.record(
        session,
        action=AuditAction.STAFF_DISABLED,
        now=now,
        actor_user_id=actor.id,
        details={"user_id": user.id},
    )


def public_key_from_file(data: bytes) -> bytes:
    """The public key of an uploaded key file; a file that holds a secret key is refused.

    :raises InvalidInput: not a Tipline key file, a key_id mismatch, or a secret inside.
    """
    if len(data) > MAX_KEY_FILE_BYTES:
        raise InvalidInput("This is not a Tipline public key file (too large).")
    try:
        document = json.loads(data)
        if "secret_key" in document or "wrapped_secret_key" in document:
            raise InvalidInput(
                "This file holds a secret key: never upload it. Upload a copy with only "
                '"format", "v", "key_id" and "public_key", and keep the secret offline.'
            )
        public_key = base64.b64decode(document["public_key"], validate=True)
        if document.get("format") != "tipline-key" or document["key_id"] != key_id(public_key):
            raise ValueError("key_id mismatch")
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInput("This is not a valid Tipline public key file.") from None
    return public_key


def add_recovery_key(
    session: Session, actor: StaffUser, *, slug: str, key_file: bytes, label: str, now: datetime
) -> DeskRecoveryKey:
    """:raises InvalidInput: / :raises Conflict: / :raises DeskNotFound:"""
    label = " ".join(label.split())[:200] or "recovery"
    recovery_key = desk_service.add_recovery_key(
        session, slug=slug, public_key=public_key_from_file(key_file), label=label, now=now
    )
    audit.record(
        session,
        action=AuditAction.DESK_RECOVERY_KEY_ADDED,
        now=now,
        actor_user_id=actor.id,
        details={"desk_id": recovery_key.desk_id, "key_id": recovery_key.key_id},
    )
    return recovery_key
