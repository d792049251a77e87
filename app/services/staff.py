"""Staff accounts: creation (with or without an invitation), listing, disabling."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import StaffKdf
from app.errors import Conflict, InvalidInput, NotFound
from app.models import DeskMembership, StaffKey, StaffRole, StaffUser, Tip
from app.services import audit
from app.services.approvals import initially_approved
from app.services.audit import AuditAction
from app.services.desks import get_desk
from app.services.key_grants import revoke_desk_keys
from app.services.passwords import check_password_strength, hash_password
from crypto.keys import KeyPair, generate_keypair
from crypto.wrapping import wrap_secret_key

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
INVITATION_LIFETIME = timedelta(days=7)


class StaffUserNotFound(NotFound):
    def __init__(self, username: str) -> None:
        super().__init__(f"There is no staff account '{username}'.")


@dataclass(frozen=True)
class NewStaffUser:
    """What creating an account yields once: shown to the admin, never stored in clear."""

    user: StaffUser
    totp_secret: str
    invitation_token: str | None


def invitation_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def create_staff_user(
    session: Session,
    *,
    username: str,
    role: StaffRole,
    desk_slugs: Sequence[str],
    now: datetime,
    kdf: StaffKdf,
    actor_id: int | None,
    display_name: str | None = None,
    password: str | None = None,
) -> NewStaffUser:
    """Create an account with a fresh TOTP secret (audited; ``actor_id`` None for the
    command line).

    With a password the account is ready at once (and a prosecutor gets a key pair wrapped by
    that password, so tips submitted before their first sign-in are sealed to them too).
    Without one, a one-time invitation token lets the person choose it.

    :raises InvalidInput: bad user name, weak password, or desks given to an admin.
    :raises Conflict: the user name is taken.
    :raises DeskNotFound: a desk slug is unknown.
    """
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise InvalidInput("A user name is 2–63 lowercase letters, digits, dots, dashes or _.")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise Conflict(f"A staff account '{username}' already exists.")
    if role is StaffRole.ADMIN and desk_slugs:
        raise InvalidInput("Admins are not desk members; give desks to prosecutors and officers.")
    desks = [get_desk(session, slug) for slug in desk_slugs]

    totp_secret = pyotp.random_base32()
    user = StaffUser(
        username=username,
        display_name=(display_name or username).strip(),
        role=role,
        totp_secret=totp_secret,
        created_at=now,
    )
    invitation_token = None
    if password is None:
        invitation_token = secrets.token_urlsafe(32)
        user.invitation_digest = invitation_digest(invitation_token)
        user.invitation_expires_at = now + INVITATION_LIFETIME
    else:
        check_password_strength(password, username)
        user.password_hash = hash_password(password, kdf)
        user.password_changed_at = now
    session.add(user)
    session.flush()

    if role is StaffRole.PROSECUTOR and password is not None:
        session.add(new_staff_key(user, password, kdf, now))
    for desk in desks:
        session.add(_membership(session, desk.id, user, now=now, actor_id=actor_id))
    session.flush()
    audit.record(
        session,
        action=AuditAction.STAFF_CREATED,
        now=now,
        actor_user_id=actor_id,
        details={"user_id": user.id, "role": role.value, "desks": [d.slug for d in desks]},
    )
    return NewStaffUser(user=user, totp_secret=totp_secret, invitation_token=invitation_token)


def new_staff_key(user: StaffUser, password: str, kdf: StaffKdf, now: datetime) -> StaffKey:
    """A fresh X25519 key pair whose secret half is stored only wrapped by the password."""
    return wrapped_staff_key(user, generate_keypair(), password, kdf, now)


def wrapped_staff_key(
    user: StaffUser, keypair: KeyPair, password: str, kdf: StaffKdf, now: datetime
) -> StaffKey:
    """``keypair`` as a staff key row: the secret half wrapped by Argon2id of the password."""
    wrapped = wrap_secret_key(
        keypair.secret_key, password.encode("utf-8"), opslimit=kdf.opslimit, memlimit=kdf.memlimit
    )
    return StaffKey(
        user_id=user.id,
        key_id=keypair.key_id,
        public_key=keypair.public_key,
        wrapped_secret_key=wrapped.blob,
        kdf_salt=wrapped.kdf.salt,
        kdf_opslimit=wrapped.kdf.opslimit,
        kdf_memlimit=wrapped.kdf.memlimit,
        created_at=now,
    )


def get_staff_user(session: Session, username: str) -> StaffUser:
    """:raises StaffUserNotFound:"""
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None:
        raise StaffUserNotFound(username)
    return user


def list_staff_users(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def disable_staff_user(
    session: Session, username: str, *, now: datetime, actor_id: int | None
) -> StaffUser:
    """Disable an account: it can no longer sign in and new tips are no longer sealed to it.

    Audited; ``actor_id`` None for the command line. Nobody disables their own account.

    :raises StaffUserNotFound:
    :raises InvalidInput: an admin disabling themself.
    """
    user = get_staff_user(session, username)
    if user.id == actor_id:
        raise InvalidInput("You cannot disable your own account.")
    user.disabled = True
    session.flush()
    audit.record(
        session,
        action=AuditAction.STAFF_DISABLED,
        now=now,
        actor_user_id=actor_id,
        details={"user_id": user.id},
    )
    return user


def _desk_has_tips(session: Session, desk_id: int) -> bool:
    return session.scalar(select(Tip.id).where(Tip.desk_id == desk_id).limit(1)) is not None


def _membership(
    session: Session, desk_id: int, user: StaffUser, *, now: datetime, actor_id: int | None
) -> DeskMembership:
    """A new membership. A prosecutor added by an admin waits for a prosecutor of the desk to
    approve them (:mod:`app.services.approvals`); the command line approves at once. Either
    way, the desk's older tips reach them only through a colleague's share.
    """
    approved = initially_approved(actor_id, user.role)
    return DeskMembership(
        desk_id=desk_id,
        user_id=user.id,
        joined_at=now,
        approved_at=now if approved else None,
        needs_key_grant=user.role is StaffRole.PROSECUTOR and _desk_has_tips(session, desk_id),
    )


def join_desk(
    session: Session, username: str, slug: str, *, now: datetime, actor_id: int | None = None
) -> DeskMembership:
    """Add a prosecutor or officer to a desk.

    A prosecutor joining a desk reads nothing until a prosecutor of the desk approves them
    and shares its tips (:mod:`app.services.approvals`); the server holds no key that opens
    them. The command line (``actor_id`` None) approves at once for new tips.

    :raises StaffUserNotFound:
    :raises DeskNotFound:
    :raises InvalidInput: an admin (admins are never desk members).
    :raises Conflict: already a member.
    """
    user = get_staff_user(session, username)
    desk = get_desk(session, slug)
    if user.role is StaffRole.ADMIN:
        raise InvalidInput("Admins are not desk members; give desks to prosecutors and officers.")
    if session.get(DeskMembership, (desk.id, user.id)) is not None:
        raise Conflict(f"'{user.username}' is already a member of desk '{desk.slug}'.")
    membership = _membership(session, desk.id, user, now=now, actor_id=actor_id)
    session.add(membership)
    audit.record(
        session,
        action=AuditAction.DESK_MEMBER_ADDED,
        now=now,
        actor_user_id=actor_id,
        details={
            "desk_id": desk.id,
            "user_id": user.id,
            "approved": membership.approved_at is not None,
        },
    )
    session.flush()
    return membership


def leave_desk(
    session: Session, username: str, slug: str, *, now: datetime, actor_id: int | None = None
) -> int:
    """Remove a member from a desk; a prosecutor's sealed keys for its tips are deleted.

    Returns how many sealed keys were deleted.

    :raises NotFound: not a member.
    """
    user = get_staff_user(session, username)
    desk = get_desk(session, slug)
    membership = session.get(DeskMembership, (desk.id, user.id))
    if membership is None:
        raise NotFound(f"'{user.username}' is not a member of desk '{desk.slug}'.")
    removed = revoke_desk_keys(session, user.id, desk.id)
    session.delete(membership)
    audit.record(
        session,
        action=AuditAction.DESK_MEMBER_REMOVED,
        now=now,
        actor_user_id=actor_id,
        details={"desk_id": desk.id, "user_id": user.id, "sealed_keys_deleted": removed},
    )
    session.flush()
    return removed
