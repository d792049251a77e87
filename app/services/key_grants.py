"""Re-sealing a desk's tip keys to prosecutors who joined after those tips arrived.

The server cannot do this alone (it cannot open any data key): the next desk member who signs
in does it with their own key, in their session (DESIGN §5 "Staff").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    DeskMembership,
    Scope,
    SealedKey,
    StaffKey,
    StaffRole,
    StaffUser,
    Tip,
    TipState,
)
from app.services import audit, tips
from app.services.audit import AuditAction
from crypto.keys import KeyPair


def pending_grants(session: Session, user_id: int) -> int:
    """How many colleagues in this user's desks are waiting for access to older tips."""
    desks = select(DeskMembership.desk_id).where(DeskMembership.user_id == user_id)
    return int(
        session.scalar(
            select(func.count())
            .select_from(DeskMembership)
            .where(
                DeskMembership.desk_id.in_(desks),
                DeskMembership.needs_key_grant.is_(True),
                DeskMembership.user_id != user_id,
            )
        )
        or 0
    )


def tips_awaiting_access(session: Session, user_id: int) -> int:
    """How many tips of this prosecutor's desks they cannot open until a colleague signs in.

    Counted only on desks where they are still waiting, so it costs nothing once granted.
    """
    key_id = session.scalar(select(StaffKey.key_id).where(StaffKey.user_id == user_id))
    waiting_desks = select(DeskMembership.desk_id).where(
        DeskMembership.user_id == user_id, DeskMembership.needs_key_grant.is_(True)
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


def grant_waiting_colleagues(
    session: Session, granter: StaffUser, keypair: KeyPair, *, now: datetime
) -> int:
    """Seal every tip key the granter can open to each waiting prosecutor of the same desks.

    Returns the number of sealed keys added. A colleague is marked done per desk only when
    every tip of that desk could be re-sealed.
    """
    added = 0
    my_desks = select(DeskMembership.desk_id).where(DeskMembership.user_id == granter.id)
    waiting = session.execute(
        select(DeskMembership, StaffKey)
        .join(StaffUser, StaffUser.id == DeskMembership.user_id)
        .join(StaffKey, StaffKey.user_id == StaffUser.id)
        .where(
            DeskMembership.desk_id.in_(my_desks),
            DeskMembership.needs_key_grant.is_(True),
            DeskMembership.user_id != granter.id,
            StaffUser.role == StaffRole.PROSECUTOR,
            StaffUser.disabled.is_(False),
        )
    ).all()
    for membership, colleague_key in waiting:
        desk_tips = select(Tip.id).where(
            Tip.desk_id == membership.desk_id, Tip.state == TipState.SUBMITTED
        )
        # Three queries per colleague and desk, whatever the number of tips.
        theirs = {
            (tip_id, scope)
            for tip_id, scope in session.execute(
                select(SealedKey.tip_id, SealedKey.scope).where(
                    SealedKey.key_id == colleague_key.key_id, SealedKey.tip_id.in_(desk_tips)
                )
            )
        }
        mine = session.execute(
            select(SealedKey, Tip.thread_commitment, Tip.internal_commitment)
            .join(Tip, Tip.id == SealedKey.tip_id)
            .where(SealedKey.key_id == keypair.key_id, SealedKey.tip_id.in_(desk_tips))
        ).all()
        opened_tips = {sealed.tip_id for sealed, _, _ in mine}
        tip_count = session.scalar(select(func.count()).select_from(desk_tips.subquery())) or 0
        complete = len(opened_tips) == tip_count  # the granter holds keys to every tip
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
            tips.seal_keys(session, sealed.tip_id, {sealed.scope: data_key}, [colleague_key])
            added += 1
        if complete:
            membership.needs_key_grant = False
            audit.record(
                session,
                action=AuditAction.DESK_KEYS_GRANTED,
                now=now,
                actor_user_id=granter.id,
                details={"desk_id": membership.desk_id, "to_user_id": membership.user_id},
            )
    session.flush()
    return added


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
