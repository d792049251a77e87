"""Staff sign-in: password + TOTP, replay refusal, lockout, invitations and password changes."""

from __future__ import annotations

import functools
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import ColumnElement, case, literal, or_, select, update
from sqlalchemy.orm import Session

from app.config import StaffKdf
from app.errors import InvalidInput, NoLongerAvailable, NotPermitted, TooManyAttempts
from app.models import StaffKey, StaffRole, StaffUser, Tip
from app.services import audit
from app.services.audit import AuditAction
from app.services.passwords import check_password_strength, hash_password, verify_password
from app.services.staff import invitation_digest, wrapped_staff_key
from app.services.staff_sessions import (
    SessionLimits,
    close_all_sessions,
    close_session,
    start_session,
)
from crypto.keys import KeyPair, generate_keypair, keypair_from_secret
from crypto.wrapping import KdfParams, WrappedKey, unwrap_secret_key, wrap_secret_key

MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
TOTP_WINDOW = 1  # accept the previous and next 30-second step too (clock drift)


class SignInFailed(NotPermitted):
    """Wrong name, password or code, or a locked account: one answer, so that it tells no one
    whether an account exists or is locked."""

    code = "sign_in_failed"
    keep_effects = True  # the failed attempt counts toward lockout although we refuse

    def __init__(self) -> None:
        super().__init__(
            "The user name, password or one-time code is wrong, or the account is locked "
            f"({LOCKOUT.seconds // 60} minutes after {MAX_FAILED_SIGN_INS} failed attempts)."
        )


class AccountLocked(TooManyAttempts):
    code = "account_locked"

    def __init__(self) -> None:
        super().__init__(
            f"Too many failed sign-ins: this account is locked for {LOCKOUT.seconds // 60} "
            "minutes. Ask an admin if you need access sooner."
        )


@dataclass(frozen=True)
class SignedIn:
    """A member who just signed in, and the value of their new session cookie."""

    user: StaffUser
    cookie: str


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


@functools.cache
def _dummy_hash(kdf: StaffKdf) -> str:
    # Verifying against a real hash keeps the timing of unknown and known users alike; made
    # once per cost, or an unknown name would pay a hashing on top of the verification.
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
    """Password and TOTP, then, under the account's row lock, lockout and replay.

    Every attempt pays one Argon2 verification, against the account's hash (locked or not) or
    a dummy one, and a locked account answers as a wrong password does: neither the answer nor
    the work tells whether an account exists or is locked. Failed attempts are counted on the
    user row: the caller must keep that change even though the request fails.

    :raises SignInFailed: wrong name, password or code, a replayed code, a disabled or a
        locked account.
    """
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is None or user.password_hash is None:
        verify_password(_dummy_hash(kdf), password, kdf)
        raise SignInFailed()
    password_ok = verify_password(user.password_hash, password, kdf)
    step = totp_step(user.totp_secret or "", totp_code, now) if password_ok else None
    if step is None or user.disabled or not _accept_factors(session, user, step, now):
        _count_failure(session, user, now)
        raise SignInFailed()
    return user


def sign_in(
    session: Session,
    *,
    username: str,
    password: str,
    totp_code: str,
    previous_cookie: str | None,
    now: datetime,
    kdf: StaffKdf,
    limits: SessionLimits,
) -> SignedIn:
    """Check both factors, unwrap (or first create) a prosecutor's key, open a fresh session.

    The session the browser came with, if any, is closed: a session is never reused.

    :raises SignInFailed: wrong name, password or code (the failure counts toward lockout,
        and ``keep_effects`` says so to the transaction owner).
    :raises AccountLocked:
    """
    user = check_credentials(
        session, username=username, password=password, totp_code=totp_code, now=now, kdf=kdf
    )
    keypair = prosecutor_keypair(session, user, password, kdf=kdf, now=now)
    close_session(session, previous_cookie)
    return SignedIn(user, start_session(session, user, keypair, now=now, limits=limits))


def refuse_forged_sign_in(session: Session, username: str, now: datetime) -> None:
    """A sign-in form that failed its CSRF check counts as a failure for the named account.

    :raises SignInFormExpired: always.
    """
    user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    if user is not None:
        _count_failure(session, user, now)
    raise SignInFormExpired()


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


class InvitationInvalid(NoLongerAvailable):
    code = "invitation_invalid"

    def __init__(self) -> None:
        super().__init__(
            "This invitation has expired or was already used. Ask an admin for a new one."
        )


class SignInFormExpired(InvalidInput):
    code = "sign_in_form_expired"
    keep_effects = True  # counted against the named account, as a wrong password is

    def __init__(self) -> None:
        super().__init__("This form expired or was not sent from this site. Please sign in again.")


class PasswordsDiffer(InvalidInput):
    code = "passwords_differ"

    def __init__(self) -> None:
        super().__init__("The two new passwords are not the same.")


def _not_locked(now: datetime) -> ColumnElement[bool]:
    return or_(StaffUser.locked_until.is_(None), StaffUser.locked_until <= now)


def _accept_factors(session: Session, user: StaffUser, step: int, now: datetime) -> bool:
    """Record a sign-in with the right password and TOTP ``step``, unless the account is
    locked or the step was already used: one UPDATE, so concurrent attempts are decided in
    turn (PostgreSQL: the row's lock; SQLite: the database's), never on a stale read.
    """
    accepted = session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            _not_locked(now),
            or_(StaffUser.last_totp_step.is_(None), StaffUser.last_totp_step < step),
        )
        .values(failed_login_count=0, locked_until=None, last_totp_step=step)
        .returning(StaffUser.id),
        execution_options={"synchronize_session": False},
    ).first()
    session.expire(user, ["failed_login_count", "locked_until", "last_totp_step"])
    return accepted is not None


def _count_failure(session: Session, user: StaffUser, now: datetime) -> None:
    """One more failed attempt on the account (audited); the fifth locks it for a while.

    An atomic increment (concurrent failures all count, the fifth sets the lock in the same
    statement); an attempt on a locked account is audited but neither counted nor extends it.
    The row is written before the audit event, so the audit chain is appended under its lock.
    """
    reaches_limit = StaffUser.failed_login_count + 1 >= MAX_FAILED_SIGN_INS
    session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id, _not_locked(now))
        .values(
            failed_login_count=case((reaches_limit, 0), else_=StaffUser.failed_login_count + 1),
            locked_until=case(
                (reaches_limit, literal(now + LOCKOUT, StaffUser.locked_until.type)),
                else_=StaffUser.locked_until,
            ),
        ),
        execution_options={"synchronize_session": False},
    )
    session.expire(user, ["failed_login_count", "locked_until"])
    audit.record(session, action=AuditAction.STAFF_SIGN_IN_FAILED, now=now, actor_user_id=user.id)


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
    limits: SessionLimits,
) -> SignedIn:
    """Set the password chosen by the invitee, after proving their authenticator works, and
    sign them in.

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
    return SignedIn(user, start_session(session, user, keypair, now=now, limits=limits))


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
    limits: SessionLimits,
) -> str:
    """New password; a prosecutor's key is re-wrapped (the key pair itself stays the same).

    Every session of the user ends, and a fresh one starts; returns its cookie value.

    :raises SignInFailed: the current password or the code is wrong (counted toward lockout).
    :raises WeakPassword:
    :raises PasswordsDiffer:
    """
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked()
    ok = user.password_hash is not None and verify_password(user.password_hash, current, kdf)
    step = totp_step(user.totp_secret or "", totp_code, now) if ok else None
    if step is None or not _accept_factors(session, user, step, now):
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
    user.password_changed_at = now  # the step and the count were recorded by _accept_factors
    close_all_sessions(session, user.id)
    audit.record(session, action=AuditAction.STAFF_PASSWORD_CHANGED, now=now, actor_user_id=user.id)
    session.flush()
    return start_session(session, user, keypair, now=now, limits=limits)
