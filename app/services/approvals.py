"""Who becomes a reader of a desk: no insider path to keys (DESIGN §5 "Staff").

A prosecutor added to a desk, or an offline recovery key added to it, is a *pending* reader:
no new tip is sealed to it and no older tip is re-sealed to it. It becomes a reader only when
a prosecutor who already reads the desk approves it, explicitly, in their own session, having
compared its key fingerprint (:mod:`crypto.fingerprint`) with the newcomer in person or by
phone. The approval re-seals the desk's tips that the approver can open (:mod:`key_grants`).
So an admin who creates an account, completes its invitation and signs in as it — or pastes
a recovery key of their own — still reads nothing.

The one other way in is the server's operator on the command line (``tipline users add``,
``users join``, ``desks add-recovery-key``, the demo): they approve at once, because whoever
runs the server could change its code anyway (docs/THREAT_MODEL.md). Even then, older tips
reach the newcomer only through a colleague's explicit share on the approvals page.

Every step is audited: the addition (by its service), the approval, the share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound, NotPermitted
from app.models import Desk, DeskMembership, DeskRecoveryKey, StaffKey, StaffRole, StaffUser
from app.services import audit, key_grants
from app.services.audit import AuditAction
from app.services.staff_sessions import StaffContext
from crypto.fingerprint import Fingerprint, fingerprint


class NotAReaderOfThisDesk(NotPermitted):
    code = "not_a_reader"

    def __init__(self) -> None:
        super().__init__(
            "Only a prosecutor who already reads this desk's tips can let someone else read them."
        )


class NothingToApprove(NotFound):
    code = "nothing_to_approve"

    def __init__(self) -> None:
        super().__init__("There is no one waiting for this approval any more.")


class FingerprintChanged(Conflict):
    code = "fingerprint_changed"

    def __init__(self) -> None:
        super().__init__(
            "This key is not the one whose fingerprint you compared (it changed since the page "
            "was shown). Nothing was approved: compare the fingerprint again."
        )


@dataclass(frozen=True)
class WaitingReader:
    """Someone waiting for a reader of the desk: to be approved, or for its older tips."""

    desk_id: int
    desk_name: str
    name: str
    user_id: int | None  # a prosecutor's account, or None for a recovery key
    recovery_key_id: int | None
    key_id: str | None  # None: a prosecutor who has not signed in yet (no key)
    fingerprint: Fingerprint | None
    approved: bool  # approved, waiting only for the desk's older tips

    @property
    def is_recovery_key(self) -> bool:
        return self.recovery_key_id is not None


def initially_approved(actor_id: int | None, role: StaffRole | None = None) -> bool:
    """Whether an addition is approved as it is made: by the command line (the operator), or
    for a case officer, who never receives a key."""
    return actor_id is None or role is StaffRole.OFFICER


def reader_desk_ids(session: Session, context: StaffContext) -> set[int]:
    """The desks whose tips this member reads: an approved prosecutor, in a session with a key."""
    if context.keypair is None or context.user.role is not StaffRole.PROSECUTOR:
        return set()
    return set(
        session.scalars(
            select(DeskMembership.desk_id).where(
                DeskMembership.user_id == context.user.id, DeskMembership.approved_at.is_not(None)
            )
        )
    )


def waiting_readers(session: Session, context: StaffContext) -> list[WaitingReader]:
    """Everyone the member could let in: pending prosecutors and recovery keys of the desks
    they read, and approved ones still waiting for older tips. Sorted by desk, then name."""
    desk_ids = reader_desk_ids(session, context)
    if not desk_ids:
        return []
    waiting: list[WaitingReader] = []
    members = session.execute(
        select(DeskMembership, StaffUser, Desk.name, StaffKey.key_id, StaffKey.public_key)
        .join(StaffUser, StaffUser.id == DeskMembership.user_id)
        .join(Desk, Desk.id == DeskMembership.desk_id)
        .outerjoin(StaffKey, StaffKey.user_id == StaffUser.id)
        .where(
            DeskMembership.desk_id.in_(desk_ids),
            DeskMembership.user_id != context.user.id,
            StaffUser.role == StaffRole.PROSECUTOR,
            StaffUser.disabled.is_(False),
            DeskMembership.approved_at.is_(None) | DeskMembership.needs_key_grant.is_(True),
        )
    )
    for membership, user, desk_name, key_id, public_key in members:
        waiting.append(
            WaitingReader(
                desk_id=membership.desk_id,
                desk_name=desk_name,
                name=f"{user.display_name} ({user.username})",
                user_id=user.id,
                recovery_key_id=None,
                key_id=key_id,
                fingerprint=fingerprint(public_key) if public_key is not None else None,
                approved=membership.approved_at is not None,
            )
        )
    keys = session.execute(
        select(DeskRecoveryKey, Desk.name)
        .join(Desk, Desk.id == DeskRecoveryKey.desk_id)
        .where(DeskRecoveryKey.desk_id.in_(desk_ids), DeskRecoveryKey.approved_at.is_(None))
    )
    for key, desk_name in keys:
        waiting.append(
            WaitingReader(
                desk_id=key.desk_id,
                desk_name=desk_name,
                name=f"Recovery key “{key.label}”",
                user_id=None,
                recovery_key_id=key.id,
                key_id=key.key_id,
                fingerprint=fingerprint(key.public_key),
                approved=False,
            )
        )
    return sorted(waiting, key=lambda reader: (reader.desk_name, reader.name))


def _require_reader(session: Session, context: StaffContext, desk_id: int) -> None:
    if desk_id not in reader_desk_ids(session, context):
        raise NotAReaderOfThisDesk()


def approve_member(
    session: Session,
    context: StaffContext,
    *,
    desk_id: int,
    user_id: int,
    compared_key_id: str,
    now: datetime,
) -> key_grants.SharedTips:
    """Let a prosecutor of the desk read its tips: approve them (if pending) and re-seal to
    them every tip of the desk the approver can open.

    ``compared_key_id`` is the key id whose fingerprint the approver was shown and compared;
    if the member's key is another one now, nothing happens.

    :raises NotAReaderOfThisDesk: the approver does not read this desk's tips.
    :raises NothingToApprove: no such waiting prosecutor (or they have no key yet).
    :raises FingerprintChanged: the member's key is not the compared one.
    """
    _require_reader(session, context, desk_id)
    assert context.keypair is not None  # a reader has one (reader_desk_ids)
    found = session.execute(
        select(DeskMembership, StaffKey)
        .join(StaffUser, StaffUser.id == DeskMembership.user_id)
        .join(StaffKey, StaffKey.user_id == StaffUser.id)
        .where(
            DeskMembership.desk_id == desk_id,
            DeskMembership.user_id == user_id,
            StaffUser.role == StaffRole.PROSECUTOR,
            StaffUser.disabled.is_(False),
        )
    ).one_or_none()
    if found is None or user_id == context.user.id:
        raise NothingToApprove()
    membership, staff_key = found
    if staff_key.key_id != compared_key_id:
        raise FingerprintChanged()
    if membership.approved_at is None:
        membership.approved_at = now
        membership.approved_by_user_id = context.user.id
        audit.record(
            session,
            action=AuditAction.DESK_MEMBER_APPROVED,
            now=now,
            actor_user_id=context.user.id,
            details={"desk_id": desk_id, "user_id": user_id, "key_id": staff_key.key_id},
        )
    shared = key_grants.share_desk_tips(
        session, context.keypair, desk_id=desk_id, recipient=staff_key
    )
    if shared.complete:
        membership.needs_key_grant = False
    audit.record(
        session,
        action=AuditAction.DESK_KEYS_GRANTED,
        now=now,
        actor_user_id=context.user.id,
        details={
            "desk_id": desk_id,
            "to_user_id": user_id,
            "sealed_keys": shared.sealed_keys_added,
            "complete": shared.complete,
        },
    )
    session.flush()
    return shared


def approve_recovery_key(
    session: Session,
    context: StaffContext,
    *,
    desk_id: int,
    recovery_key_id: int,
    compared_key_id: str,
    now: datetime,
) -> key_grants.SharedTips:
    """Let a recovery key read the desk's tips: from now on, and the older ones the approver
    can open (re-sealed to it now).

    :raises NotAReaderOfThisDesk: / :raises NothingToApprove: / :raises FingerprintChanged:
        as :func:`approve_member`.
    """
    _require_reader(session, context, desk_id)
    assert context.keypair is not None
    key = session.get(DeskRecoveryKey, recovery_key_id)
    if key is None or key.desk_id != desk_id or key.approved_at is not None:
        raise NothingToApprove()
    if key.key_id != compared_key_id:
        raise FingerprintChanged()
    key.approved_at = now
    key.approved_by_user_id = context.user.id
    shared = key_grants.share_desk_tips(session, context.keypair, desk_id=desk_id, recipient=key)
    audit.record(
        session,
        action=AuditAction.DESK_RECOVERY_KEY_APPROVED,
        now=now,
        actor_user_id=context.user.id,
        details={
            "desk_id": desk_id,
            "key_id": key.key_id,
            "sealed_keys": shared.sealed_keys_added,
            "complete": shared.complete,
        },
    )
    session.flush()
    return shared


def waiting_count(session: Session, context: StaffContext) -> int:
    """How many readers wait for this member (the inbox's notice)."""
    return len(waiting_readers(session, context))
