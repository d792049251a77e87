"""Receiving a draft's ciphertext in resumable chunk batches (DESIGN §5 "Intake, JavaScript on").

Each batch is checked against its object's declared length before a byte of it is read, then
appended to the object's staged blob as it arrives. No database row changes: a draft's
progress is what its blobs hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.models import EncryptedObject, Tip
from app.services import upload_plan
from app.services.draft_access import DraftCredentials, check_still_open, check_token
from app.services.draft_errors import ChunkOutOfOrder, DraftNotFound, ObjectNotFound
from app.storage import BlobExists, BlobStore, StagedOffsetMismatch


def append_chunk(
    session: Session,
    blob_store: BlobStore,
    secret_key: bytes,
    credentials: DraftCredentials,
    *,
    object_id: str,
    offset: int,
    length: int,
    pieces: Iterable[bytes | memoryview],
    today: date,
    end_reads: Callable[[], None],
) -> int:
    """Append a batch of ``length`` bytes of ciphertext at ``offset``, written as its
    ``pieces`` arrive; return how many bytes are now stored.

    Everything is checked against the declared ``length`` before the first piece is read,
    so a refused batch is never received. ``pieces`` must yield exactly ``length`` bytes
    (or raise); the caller's request body reader guarantees it. The lookup's read-only
    transaction is ended (``end_reads``, the transaction owner's) before the body is
    received: a slow client (Tor) must not hold a database connection and snapshot open
    while it sends.

    If the body breaks off, the whole secretstream chunks received stay stored (where the
    blob store writes as bytes arrive) and the rest is dropped: the client, told where the
    stored bytes end, resumes from the last whole chunk instead of resending the batch.

    :raises BadDraftToken: / :raises DraftNotFound: / :raises AlreadySubmitted: /
        :raises DraftExpired: see :func:`app.services.drafts.open_draft`.
    :raises ObjectNotFound: the draft has no such object.
    :raises ChunkTooLarge: more than :data:`app.services.upload_plan.MAX_BATCH_BYTES`.
    :raises BadChunk: empty, past the declared end, or not ending on a chunk boundary.
    :raises ChunkOutOfOrder: ``offset`` is not where the stored bytes end (a replay, a gap).
    """
    ciphertext_size = _draft_object_size(session, secret_key, credentials, object_id, today)
    upload_plan.check_batch(offset, length, ciphertext_size)
    end_reads()  # nothing was written; see above
    try:
        return blob_store.append_staged_pieces(
            object_id, pieces, offset, resume_point=upload_plan.last_chunk_boundary
        )
    except StagedOffsetMismatch as mismatch:
        raise ChunkOutOfOrder(mismatch.expected, offset) from None
    except BlobExists:
        raise ChunkOutOfOrder(ciphertext_size, offset) from None


# Built once, because it runs for every batch of every upload: building it anew costs about
# as much as running it on SQLite (~0.2 ms each).
_DRAFT_OBJECT_QUERY = (
    select(Tip.state, Tip.draft_expires_on, EncryptedObject.ciphertext_size)
    .outerjoin(
        EncryptedObject,
        (EncryptedObject.tip_id == Tip.id) & (EncryptedObject.id == bindparam("object_id")),
    )
    .where(Tip.id == bindparam("draft_id"))
)


def _draft_object_size(
    session: Session,
    secret_key: bytes,
    credentials: DraftCredentials,
    object_id: str,
    today: date,
) -> int:
    """The declared ciphertext size of one object of an open draft, in one query (it runs
    for every batch of every upload).

    :raises BadDraftToken: / :raises DraftNotFound: / :raises AlreadySubmitted: /
        :raises DraftExpired: as :func:`app.services.drafts.open_draft`, in the same order.
    :raises ObjectNotFound: the draft has no such object.
    """
    check_token(secret_key, credentials)
    found = session.execute(
        _DRAFT_OBJECT_QUERY, {"draft_id": credentials.draft_id, "object_id": object_id}
    ).one_or_none()
    if found is None:
        raise DraftNotFound()
    check_still_open(found.state, found.draft_expires_on, today)
    if found.ciphertext_size is None:
        raise ObjectNotFound()
    size: int = found.ciphertext_size
    return size
