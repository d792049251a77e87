"""Deleting drafts: cancelled by the tipster, or not finalized in time (DESIGN §5, "Drafts").

:func:`purge_expired_drafts` is a batch job, one of the two services that commit
(tests/test_structure.py): each draft is committed on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from app.models import EncryptedObject, SealedKey, Tip, TipState
from app.storage import BlobStore

# Staged blobs no draft owns (a crash between writes) go once untouched since before yesterday.
ORPHAN_AGE = timedelta(days=2)


@dataclass(frozen=True)
class DraftPurgeReport:
    drafts: int
    blobs: int
    orphans: int


def delete_draft(session: Session, blob_store: BlobStore, tip_id: str) -> int:
    """Remove a draft's blobs (staged or published), then its rows; returns blobs removed.

    Does nothing (returns 0) if the tip is not a draft: a submitted tip is never touched here.
    """
    state = session.scalar(select(Tip.state).where(Tip.id == tip_id).with_for_update())
    if state is not TipState.DRAFT:
        return 0
    object_ids = list(
        session.scalars(select(EncryptedObject.id).where(EncryptedObject.tip_id == tip_id))
    )
    for object_id in object_ids:
        blob_store.delete(object_id)
    session.execute(delete(EncryptedObject).where(EncryptedObject.tip_id == tip_id))
    session.execute(delete(SealedKey).where(SealedKey.tip_id == tip_id))
    session.execute(delete(Tip).where(Tip.id == tip_id))
    return len(object_ids)


def purge_expired_drafts(
    session: Session, blob_store: BlobStore, *, today: date
) -> DraftPurgeReport:
    """Delete drafts past their expiry day (so each lived at least 24 hours) and their blobs.

    Also removes staged blobs that no object row owns and that have not changed since before
    yesterday: left by a crash, they can never be published. Commits after each draft.
    """
    expired = list(
        session.scalars(
            select(Tip.id).where(
                Tip.state == TipState.DRAFT,
                or_(Tip.draft_expires_on < today, Tip.draft_expires_on.is_(None)),
            )
        )
    )
    blobs = 0
    for tip_id in expired:
        blobs += delete_draft(session, blob_store, tip_id)
        session.commit()
    stale = [b.name for b in blob_store.list_staged() if b.modified_on <= today - ORPHAN_AGE]
    owned = set(
        session.scalars(select(EncryptedObject.id).where(EncryptedObject.id.in_(stale)))
        if stale
        else ()
    )
    orphans = [name for name in stale if name not in owned]
    for name in orphans:
        blob_store.discard_staged(name)
    session.commit()
    return DraftPurgeReport(drafts=len(expired), blobs=blobs, orphans=len(orphans))
