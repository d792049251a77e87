"""Staff sign-in: password + TOTP, replay refusal, lockout, and the session's key custody."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.config import StaffKdf
from app.errors import DomainError, InvalidInput
from app.models import StaffKey, StaffRole, StaffSession, StaffUser, Tip
from app.services import audit
from app.services.custody import CustodyBroken, new_custody, open_custody, split_cookie
from app.services.passwords import check_password_strength, hash_password, verify_password
from app.services.staff import invitation_digest, wrapped_staff_key
from crypto.errors import WrongPassphrase
from crypto.keys import KeyPair, generate_keypair, keypair_from_secret
from crypto.wrapping import KdfParams, WrappedKey, unwrap_secret_key, wrap_secret_key

MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
TOTP_WINDOW = 1  # accept the previous and next 30-second step too (clock drift)


class SignInFailed(DomainError):
    status_code = 403
    code = "sign_in_failed"

    def __init__(self) -> None:
        super().__init__("The user name, password or one-time code is wrong.")


class AccountLocked(DomainError):
    status_code = 429
    code = "account_locked"

    def __init__(self) -> None:
        super().__init__(
            f"Too many failed sign-ins: this account is locked for {LOCKOUT.seconds // 60} "
            "minutes. Ask an admin if you need access sooner."
        )


class StaffSessionExpired(DomainError):
    status_code = 401
    code = "staff_session_expired"

    def __init__(self) -> None:
        super().__init__("Your session has ended. Please sign in again.")


@dataclass(frozen=True)
class StaffContext:
    """The signed-in staff member; ``keypair`` only for prosecutors, only during a request."""

    user: StaffUser
    keypair: KeyPair | None


def totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The 30-second step ``code`` belongs to (within the drift window), else ``None``."""
    code = code.strip().replace(" ", "")
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for offset in range(-TOTP_WINDOW, TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(current + offset), code):
            return current + offset
    return None


def _dummy_hash(kdf: StaffKdf) -> str:
    # Verifying against a real hash keeps the timing of unknown and known users alike.
    return hash_password("no such user: timing equaliser", kdf)


def check_credentials(
    session: Session,
    *,
    username: str,
    password: str,
    totp_code: str,
    now: datetime,
    kdf: StaffKdf,
) -> StaffUser:
    """Password, then TOTP (refusing a replay of the last accepted step), then lockout.

    Failed attempts are counted on the user row: the caller must keep that change even though
    the request fails.

    :raises SignInFailed:
    :raises AccountLocked:
    """
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None or user.password_hash is None:
        verify_password(_dummy_hash(kdf), password, kdf)
        raise SignInFailed()
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked()
    password_ok = verify_password(user.password_hash, password, kdf)
    step = totp_step(user.totp_secret or "", totp_code, now) if password_ok else None
    replayed = step is not None and user.last_totp_step is not None and step <= user.last_totp_step
    if not password_ok or step is None or replayed or user.disabled:
        _count_failure(session, user, now)
        raise SignInFailed()
    user.failed_login_count = 0
    user.locked_until = None
    user.last_totp_step = step
    return user


def unwrap_staff_key(staff_key: StaffKey, password: str) -> KeyPair:
    """:raises WrongPassphrase: the password does not unwrap the key."""
    wrapped = WrappedKey(
        blob=staff_key.wrapped_secret_key,
        kdf=KdfParams(
            salt=staff_key.kdf_salt,
            opslimit=staff_key.kdf_opslimit,
            memlimit=staff_key.kdf_memlimit,
        ),
    )
    return keypair_from_secret(unwrap_secret_key(wrapped, password.encode("utf-8")))


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


class InvitationInvalid(DomainError):
    status_code = 410
    code = "invitation_invalid"

    def __init__(self) -> None:
        super().__init__(
            "This invitation has expired or was already used. Ask an admin for a new one."
        )


class PasswordsDiffer(InvalidInput):
    code = "passwords_differ"

    def __init__(self) -> None:
        super().__init__("The two new passwords are not the same.")


def _count_failure(session: Session, user: StaffUser, now: datetime) -> None:
    """One more failed attempt on the account (audited); the fifth locks it for a while."""
    audit.record(session, action="staff.sign_in_failed", now=now, actor_user_id=user.id)
    user.failed_login_count += 1
    if user.failed_login_count >= MAX_FAILED_SIGN_INS:
        user.locked_until = now + LOCKOUT
        user.failed_login_count = 0
    session.flush()


def count_failure_for(session: Session, username: str, now: datetime) -> None:
    """Count a refused sign-in (e.g. a forged form) against the named account, if it exists."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is not None:
        _count_failure(session, user, now)


def _mark_waiting_for_keys(session: Session, user: StaffUser) -> None:
    """A prosecutor whose key is new needs colleagues to re-seal the desks' existing tips."""
    for membership in user.memberships:
        has_tips = session.scalar(select(Tip.id).where(Tip.desk_id == membership.desk_id).limit(1))
        membership.needs_key_grant = has_tips is not None


def prosecutor_keypair(
    session: Session, user: StaffUser, password: str, *, kdf: StaffKdf, now: datetime
) -> KeyPair | None:
    """At sign-in: a prosecutor's key unwrapped by the password, created if this is the first.

    Other roles get ``None``: they never hold a key (DESIGN §2.4).
    """
    if user.role is not StaffRole.PROSECUTOR:
        return None
    if user.key is None:
        keypair = generate_keypair()
        session.add(wrapped_staff_key(user, keypair, password, kdf, now))
        _mark_waiting_for_keys(session, user)
        session.flush()
        return keypair
    return unwrap_staff_key(user.key, password)


def find_invitation(session: Session, token: str, now: datetime) -> StaffUser:
    """:raises InvitationInvalid: unknown, used or expired token."""
    user = session.scalar(
        select(StaffUser).where(StaffUser.invitation_digest == invitation_digest(token))
    )
    if (
        user is None
        or user.disabled
        or user.invitation_expires_at is None
        or user.invitation_expires_at <= now
    ):
        raise InvitationInvalid()
    return user


def accept_invitation(
    session: Session,
    token: str,
    *,
    password: str,
    confirm: str,
    totp_code: str,
    now: datetime,
    kdf: StaffKdf,
) -> tuple[StaffUser, KeyPair | None]:
    """Set the password chosen by the invitee, after proving their authenticator works.

    A wrong code counts toward the account's lockout, as at sign-in.

    :raises InvitationInvalid:
    :raises AccountLocked:
    :raises WeakPassword:
    :raises PasswordsDiffer:
    :raises SignInFailed: the one-time code is wrong.
    """
    user = find_invitation(session, token, now)
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked()
    if password != confirm:
        raise PasswordsDiffer()
    check_password_strength(password, user.username)
    step = totp_step(user.totp_secret or "", totp_code, now)
    if step is None:
        _count_failure(session, user, now)
        raise SignInFailed()
    user.password_hash = hash_password(password, kdf)
    user.password_changed_at = now
    user.invitation_digest = None
    user.invitation_expires_at = None
    user.last_totp_step = step
    user.failed_login_count = 0
    keypair = prosecutor_keypair(session, user, password, kdf=kdf, now=now)
    session.flush()
    return user, keypair


def change_password(
    session: Session,
    user: StaffUser,
    *,
    current: str,
    new: str,
    confirm: str,
    totp_code: str,
    now: datetime,
    kdf: StaffKdf,
) -> KeyPair | None:
    """New password; a prosecutor's key is re-wrapped (the key pair itself stays the same).

    Every session of the user ends; the caller opens a fresh one.

    :raises SignInFailed: the current password or the code is wrong (counted toward lockout).
    :raises WeakPassword:
    :raises PasswordsDiffer:
    """
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked()
    ok = user.password_hash is not None and verify_password(user.password_hash, current, kdf)
    step = totp_step(user.totp_secret or "", totp_code, now) if ok else None
    if step is None or (user.last_totp_step is not None and step <= user.last_totp_step):
        _count_failure(session, user, now)
        raise SignInFailed()
    if new != confirm:
        raise PasswordsDiffer()
    check_password_strength(new, user.username)
    keypair = None
    if user.role is StaffRole.PROSECUTOR and user.key is not None:
        keypair = unwrap_staff_key(user.key, current)
        wrapped = wrap_secret_key(
            keypair.secret_key, new.encode("utf-8"), opslimit=kdf.opslimit, memlimit=kdf.memlimit
        )
        user.key.wrapped_secret_key = wrapped.blob
        user.key.kdf_salt = wrapped.kdf.salt
        user.key.kdf_opslimit = wrapped.kdf.opslimit
        user.key.kdf_memlimit = wrapped.kdf.memlimit
    elif user.role is StaffRole.PROSECUTOR:
        keypair = prosecutor_keypair(session, user, new, kdf=kdf, now=now)
    user.password_hash = hash_password(new, kdf)
    user.password_changed_at = now
    user.last_totp_step = step
    user.failed_login_count = 0
    close_all_sessions(session, user.id)
    session.flush()
    return keypair


__all__ = [
    "AccountLocked",
    "InvitationInvalid",
    "PasswordsDiffer",
    "SignInFailed",
    "StaffContext",
    "StaffSessionExpired",
    "WrongPassphrase",
    "accept_invitation",
    "change_password",
    "check_credentials",
    "close_all_sessions",
    "close_session",
    "count_failure_for",
    "find_invitation",
    "open_session",
    "prosecutor_keypair",
    "resume_session",
    "totp_step",
    "unwrap_staff_key",
]
