"""Retention: closed tips are deleted after their desk's period, keys first (crypto-shredding).

Order matters (DESIGN §5 "Retention"): the sealed keys go first and are committed on their
own, so even a copy of the blobs taken earlier can never be decrypted again; then the
objects' blobs, then the rows. Each purge is audited. Nothing else is deleted automatically,
except drafts never finalized (:func:`purge_all` runs both; DESIGN §5 "Drafts after 24 h").

A batch job, and so one of the two services that commit (tests/test_structure.py): each tip
is committed on its own, so a failure half-way keeps what was already shredded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import Desk, EncryptedObject, SealedKey, Tip, TipState, TipStatus
from app.services import audit, tips
from app.services.audit import AuditAction
from app.services.draft_purge import DraftPurgeReport, purge_expired_drafts
from app.storage import BlobStore


@dataclass(frozen=True)
class PurgeReport:
    tips: int
    blobs: int


@dataclass(frozen=True)
class FullPurgeReport:
    tips: PurgeReport
    drafts: DraftPurgeReport


def expired_closed_tips(session: Session, today: date) -> list[Tip]:
    """Closed tips whose desk's retention period has run out since they were closed."""
    candidates = session.execute(
        select(Tip, Desk.retention_days)
        .join(Desk, Desk.id == Tip.desk_id)
        .where(
            Tip.state == TipState.SUBMITTED,
            Tip.status == TipStatus.CLOSED,
            Tip.closed_on.is_not(None),
        )
        .order_by(Tip.closed_on)
    ).all()
    return [
        tip
        for tip, retention_days in candidates
        if tip.closed_on is not None and tip.closed_on + timedelta(days=retention_days) <= today
    ]


def purge_tip(session: Session, blob_store: BlobStore, tip: Tip, *, now: datetime) -> int:
    """Shred one tip: commit the deletion of its sealed keys, then blobs, then rows.

    Returns the number of blobs deleted. Commits (twice) on ``session``.
    """
    tip_id = tip.id
    session.execute(delete(SealedKey).where(SealedKey.tip_id == tip_id))
    audit.record(session, action=AuditAction.TIP_KEYS_SHREDDED, now=now, tip_id=tip_id)
    session.commit()
    object_ids = list(
        session.scalars(select(EncryptedObject.id).where(EncryptedObject.tip_id == tip_id))
    )
    for object_id in object_ids:
        blob_store.delete(object_id)
    session.execute(delete(EncryptedObject).where(EncryptedObject.tip_id == tip_id))
    session.execute(delete(Tip).where(Tip.id == tip_id))
    tips.touch(session, tip, tips.Change.REMOVED, today=now.date())
    audit.record(
        session,
        action=AuditAction.TIP_PURGED,
        now=now,
        tip_id=tip_id,
        details={"objects": len(object_ids)},
    )
    session.commit()
    return len(object_ids)


def purge_expired(session: Session, blob_store: BlobStore, *, now: datetime) -> PurgeReport:
    """Purge every closed tip past its desk's retention period."""
    tips = expired_closed_tips(session, now.date())
    blobs = sum(purge_tip(session, blob_store, tip, now=now) for tip in tips)
    return PurgeReport(tips=len(tips), blobs=blobs)


def purge_all(session: Session, blob_store: BlobStore, *, now: datetime) -> FullPurgeReport:
    """Expired closed tips, then abandoned drafts; a drafts purge that removed anything is
    audited with its counts only (a draft never reached staff, so no id is logged).
    """
    tips = purge_expired(session, blob_store, now=now)
    return FullPurgeReport(tips=tips, drafts=purge_abandoned_drafts(session, blob_store, now=now))


def purge_abandoned_drafts(
    session: Session, blob_store: BlobStore, *, now: datetime
) -> DraftPurgeReport:
    """Drafts never finalized (``tipline purge-drafts``, hourly, and ``tipline purge``): a
    purge that removed anything is audited with its counts only (a draft never reached staff,
    so no id is logged).
    """
    drafts = purge_expired_drafts(session, blob_store, today=now.date())
    if drafts.drafts or drafts.orphans:
        audit.record(
            session,
            action=AuditAction.DRAFTS_PURGED,
            now=now,
            details={"drafts": drafts.drafts, "blobs": drafts.blobs, "orphans": drafts.orphans},
        )
        session.commit()
    return drafts
