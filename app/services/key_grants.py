"""Re-sealing a desk's tip keys to a newly approved recipient, in the approver's session.

The server cannot do this alone (it cannot open any data key): the prosecutor who approves a
newcomer (:mod:`app.services.approvals`) opens each tip key with their own key, in their own
session, and seals it to the newcomer. It never happens as a side effect of signing in.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import DeskMembership, Scope, SealedKey, StaffKey, Tip, TipState
from app.services import tips
from crypto.keys import KeyPair


@dataclass(frozen=True)
class SharedTips:
    sealed_keys_added: int
    complete: bool  # the approver held the keys of every tip of the desk


def tips_awaiting_access(session: Session, user_id: int) -> int:
    """How many tips of this prosecutor's desks they cannot open yet (a colleague has not
    approved them, or not yet shared the desk's older tips with them).

    Counted only on desks where they are still waiting, so it costs nothing once granted.
    """
    key_id = session.scalar(select(StaffKey.key_id).where(StaffKey.user_id == user_id))
    waiting_desks = select(DeskMembership.desk_id).where(
        DeskMembership.user_id == user_id,
        (DeskMembership.needs_key_grant.is_(True)) | (DeskMembership.approved_at.is_(None)),
    )
    if key_id is None or session.scalar(waiting_desks.limit(1)) is None:
        return 0
    sealed_to_me = select(SealedKey.id).where(
        SealedKey.tip_id == Tip.id, SealedKey.key_id == key_id
    )
    return int(
        session.scalar(
            select(func.count())
            .select_from(Tip)
            .where(
                Tip.desk_id.in_(waiting_desks),
                Tip.state == TipState.SUBMITTED,
                ~sealed_to_me.exists(),
            )
        )
        or 0
    )


def share_desk_tips(
    session: Session, keypair: KeyPair, *, desk_id: int, recipient: tips.Recipient
) -> SharedTips:
    """Seal every key of the desk's tips that ``keypair`` opens to ``recipient`` as well.

    Three queries whatever the number of tips, plus the inserts. Keys the recipient holds
    already are skipped, so sharing twice adds nothing.
    """
    desk_tips = select(Tip.id).where(Tip.desk_id == desk_id, Tip.state == TipState.SUBMITTED)
    theirs = {
        (tip_id, scope)
        for tip_id, scope in session.execute(
            select(SealedKey.tip_id, SealedKey.scope).where(
                SealedKey.key_id == recipient.key_id, SealedKey.tip_id.in_(desk_tips)
            )
        )
    }
    mine = session.execute(
        select(SealedKey, Tip.thread_commitment, Tip.internal_commitment)
        .join(Tip, Tip.id == SealedKey.tip_id)
        .where(SealedKey.key_id == keypair.key_id, SealedKey.tip_id.in_(desk_tips))
    ).all()
    tip_count = session.scalar(select(func.count()).select_from(desk_tips.subquery())) or 0
    complete = len({sealed.tip_id for sealed, _, _ in mine}) == tip_count
    added = 0
    for sealed, thread_commitment, internal_commitment in mine:
        if (sealed.tip_id, sealed.scope) in theirs:
            continue
        commitments = {Scope.THREAD: thread_commitment, Scope.INTERNAL: internal_commitment}
        data_key = tips.open_sealed_key(
            sealed.sealed,
            tip_id=sealed.tip_id,
            scope=sealed.scope,
            commitment=commitments[sealed.scope],
            keypair=keypair,
        )
        tips.seal_keys(session, sealed.tip_id, {sealed.scope: data_key}, [recipient])
        added += 1
    session.flush()
    return SharedTips(sealed_keys_added=added, complete=complete)


def revoke_desk_keys(session: Session, user_id: int, desk_id: int) -> int:
    """When a prosecutor leaves a desk, their sealed keys for its tips are deleted."""
    key_ids = select(StaffKey.key_id).where(StaffKey.user_id == user_id)
    desk_tips = select(Tip.id).where(Tip.desk_id == desk_id)
    doomed = session.scalars(
        select(SealedKey).where(SealedKey.key_id.in_(key_ids), SealedKey.tip_id.in_(desk_tips))
    ).all()
    for row in doomed:
        session.delete(row)
    session.flush()
    return len(doomed)
