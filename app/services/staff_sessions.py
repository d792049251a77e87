"""Staff sessions: opened at sign-in, resumed from the cookie on every request, closed.

A prosecutor's secret key is kept server-side only encrypted under a random key that lives in
the session cookie (DESIGN §5 "Staff"): neither a database dump nor a stolen cookie alone
yields it. Other roles' sessions hold no key (DESIGN §2.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.errors import NotSignedIn
from app.models import StaffRole, StaffSession, StaffUser
from app.services import audit
from app.services.audit import AuditAction
from app.services.custody import CustodyBroken, new_custody, open_custody, split_cookie
from crypto.keys import KeyPair, keypair_from_secret


class StaffSessionExpired(NotSignedIn):
    code = "staff_session_expired"

    def __init__(self) -> None:
        super().__init__("Your session has ended. Please sign in again.")


@dataclass(frozen=True)
class StaffContext:
    """The signed-in staff member; ``keypair`` only for prosecutors, only during a request."""

    user: StaffUser
    keypair: KeyPair | None


@dataclass(frozen=True)
class SessionLimits:
    """A session ends after ``idle`` without a request, and ``max_lifetime`` after sign-in."""

    idle: timedelta
    max_lifetime: timedelta


def start_session(
    session: Session,
    user: StaffUser,
    keypair: KeyPair | None,
    *,
    now: datetime,
    limits: SessionLimits,
) -> str:
    """Open a session for a member who just proved who they are; returns the cookie value.

    The sign-in is audited. It grants nobody anything: keys reach a newcomer only through a
    colleague's explicit approval (:mod:`app.services.approvals`).
    """
    cookie = open_session(
        session, user, keypair=keypair, now=now, idle=limits.idle, max_lifetime=limits.max_lifetime
    )
    audit.record(session, action=AuditAction.STAFF_SIGNED_IN, now=now, actor_user_id=user.id)
    return cookie


def open_session(
    session: Session,
    user: StaffUser,
    *,
    keypair: KeyPair | None,
    now: datetime,
    max_lifetime: timedelta,
    idle: timedelta,
) -> str:
    """Start a staff session; a prosecutor's secret key is kept only under the cookie's key."""
    if keypair is not None and user.role is not StaffRole.PROSECUTOR:
        raise ValueError("only prosecutors hold keys")  # least privilege, DESIGN §2.4
    custody = new_custody(keypair.secret_key if keypair else None)
    session.add(
        StaffSession(
            session_digest=custody.session_digest,
            user_id=user.id,
            key_custody_blob=custody.sealed_secret,
            created_at=now,
            last_seen_at=now,
            expires_at=min(now + idle, now + max_lifetime),
        )
    )
    session.flush()
    return custody.cookie


def resume_session(
    session: Session,
    cookie: str | None,
    *,
    now: datetime,
    idle: timedelta,
    max_lifetime: timedelta,
) -> StaffContext:
    """:raises StaffSessionExpired: missing, unknown, expired or damaged session; disabled user."""
    try:
        digest, session_key = split_cookie(cookie or "")
    except CustodyBroken:
        raise StaffSessionExpired() from None
    row = session.get(StaffSession, digest)
    if row is None:
        raise StaffSessionExpired()
    user = session.get(StaffUser, row.user_id)
    if row.expires_at <= now or user is None or user.disabled:
        session.delete(row)
        raise StaffSessionExpired()
    keypair = None
    if row.key_custody_blob is not None:
        try:
            keypair = keypair_from_secret(open_custody(session_key, row.key_custody_blob))
        except CustodyBroken:
            raise StaffSessionExpired() from None
    row.last_seen_at = now
    row.expires_at = min(now + idle, row.created_at + max_lifetime)
    return StaffContext(user=user, keypair=keypair)


def close_session(session: Session, cookie: str | None) -> None:
    try:
        digest, _ = split_cookie(cookie or "")
    except CustodyBroken:
        return
    session.execute(delete(StaffSession).where(StaffSession.session_digest == digest))


def close_all_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
