"""The JavaScript intake: a draft tip whose ciphertext arrives in resumable chunks (DESIGN §5).

The browser encrypts everything; the server never holds a data key. What the server can
check without keys, it checks: every object's declared ciphertext length is one a v1 object
can have (:mod:`crypto.layout`), chunk batches are bounded, end on a secretstream chunk
boundary and append at exactly the stored offset. A draft is ``tips.state = 'draft'`` with
placeholder commitments, ``objects.complete = false`` rows and staged blobs; staff never see
it. :func:`finalize_draft` publishes the blobs and makes the tip visible in one transaction.
Drafts are deleted a day after their expiry date by :func:`purge_expired_drafts`.

Requests are authenticated statelessly: the draft token is an HMAC of the draft id under the
app's secret key (:func:`draft_token`), so nothing about it is stored.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapper, Session

from app.errors import InvalidInput
from app.models import Author, Desk, EncryptedObject, ObjectKind, Scope, SealedKey, Tip, TipState
from app.services import stats_rollup
from app.services.desks import Recipient, desk_recipients, get_desk
from app.services.draft_errors import (
    AlreadySubmitted,
    BadChunk,
    BadDraftToken,
    ChunkOutOfOrder,
    ChunkTooLarge,
    DraftExpired,
    DraftNotFound,
    DraftTooLarge,
    ObjectNotFound,
    RecipientsChanged,
    UploadIncomplete,
)
from app.services.draft_purge import delete_draft
from app.services.intake import DeskCannotReceive, issue_code, next_activity_seq
from app.services.report_form import MAX_FILES_PER_REQUEST
from app.services.workflow import set_initial_deadlines
from app.storage import BlobExists, BlobStore, StagedOffsetMismatch
from crypto.datakeys import COMMITMENT_BYTES, SEALED_KEY_BYTES
from crypto.ids import id_from_str
from crypto.keys import key_id
from crypto.layout import (
    CIPHERTEXT_CHUNK_SIZE,
    HEADER_BYTES,
    LENGTH_PREFIX_BYTES,
    MAX_METADATA_BYTES,
    ciphertext_length,
    is_valid_ciphertext_length,
    padded_length,
)

TOKEN_LABEL = b"tipline/draft/"
# A batch carries at most 256 secretstream chunks (16 MiB of plaintext) and the header. Fewer,
# larger batches spend less per byte on requests (and, over Tor, on round trips); a batch
# that breaks off still keeps its whole chunks (append_chunk), so a drop costs little.
MAX_BATCH_BYTES = 256 * CIPHERTEXT_CHUNK_SIZE + HEADER_BYTES
# A report is metadata only: at most 1 MiB of JSON, so at most 2 MiB once padded.
MAX_REPORT_CIPHERTEXT = ciphertext_length(padded_length(LENGTH_PREFIX_BYTES + MAX_METADATA_BYTES))
PLACEHOLDER_COMMITMENT = bytes(COMMITMENT_BYTES)  # drafts are never opened by anyone
DRAFT_LIFETIME = timedelta(days=1)


# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftCredentials:
    """What a client presents: the draft id from the URL and the token from its header."""

    draft_id: str
    token: str


@dataclass(frozen=True)
class DeclaredObject:
    kind: ObjectKind
    ciphertext_size: int


@dataclass(frozen=True)
class DraftObject:
    object_id: str
    kind: ObjectKind
    ciphertext_size: int
    stored: int


@dataclass(frozen=True)
class DraftView:
    """A draft as its client sees it: where to seal the keys, what is uploaded so far."""

    draft_id: str
    recipients: list[Recipient]
    tipster_public_key: bytes
    objects: list[DraftObject]
    expires_on: date


@dataclass(frozen=True)
class CreatedDraft:
    """A new draft: the view, plus what is shown once and never stored (code) or derivable
    (token)."""

    view: DraftView
    token: str
    code: str
    code_language: str


@dataclass(frozen=True)
class SubmittedKey:
    key_id: str
    scope: Scope
    sealed: bytes


# --- tokens -------------------------------------------------------------------------------


def draft_token(secret_key: bytes, draft_id: str) -> str:
    """``base64url(HMAC-SHA256(secret_key, "tipline/draft/" || tip_id))``, unpadded.

    :raises ValueError: ``draft_id`` is not a canonical UUID string.
    """
    mac = hmac.new(secret_key, TOKEN_LABEL + id_from_str(draft_id), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def _check_token(secret_key: bytes, credentials: DraftCredentials) -> None:
    try:
        expected = draft_token(secret_key, credentials.draft_id)
    except ValueError:
        raise DraftNotFound() from None
    if not hmac.compare_digest(expected.encode(), credentials.token.encode("utf-8", "replace")):
        raise BadDraftToken()


def _open_draft(
    session: Session,
    secret_key: bytes,
    credentials: DraftCredentials,
    today: date,
    *,
    for_update: bool = False,
) -> Tip:
    """The draft the credentials name, still open for uploads.

    :raises BadDraftToken: the token does not belong to this draft id (checked first, without
        touching the database, so a wrong token tells nothing about which drafts exist).
    :raises DraftNotFound: no tip has this id.
    :raises AlreadySubmitted: the tip was finalized.
    :raises DraftExpired: the draft is past its expiry day.
    """
    _check_token(secret_key, credentials)
    if for_update:
        # Take the write lock before reading, with a write that changes nothing: on
        # PostgreSQL the row's lock, on SQLite the database's (SELECT ... FOR UPDATE locks
        # nothing there). A concurrent finalize then waits, and reads what the first left.
        session.execute(
            update(Tip).where(Tip.id == credentials.draft_id).values(state=Tip.state),
            execution_options={"synchronize_session": False},
        )
    # populate_existing: a second read in this session (under the lock) must see new values.
    query = select(Tip).where(Tip.id == credentials.draft_id)
    tip = session.scalar(query.execution_options(populate_existing=True))
    if tip is None:
        raise DraftNotFound()
    _check_still_open(tip.state, tip.draft_expires_on, today)
    return tip


def _check_still_open(state: TipState, expires_on: date | None, today: date) -> None:
    """:raises AlreadySubmitted: / :raises DraftExpired: see :func:`_open_draft`."""
    if state is not TipState.DRAFT:
        raise AlreadySubmitted()
    if expires_on is None or expires_on < today:
        raise DraftExpired()


def _object_rows(session: Session, tip_id: str) -> list[EncryptedObject]:
    return list(
        session.scalars(
            select(EncryptedObject)
            .where(EncryptedObject.tip_id == tip_id)
            .order_by(EncryptedObject.seq)
        )
    )


def _stored_bytes(blob_store: BlobStore, row: EncryptedObject) -> int:
    """Bytes of the object the server holds: staged so far, or all of it once published."""
    staged = blob_store.staged_size(row.id)
    if staged == 0 and blob_store.exists(row.id):
        return blob_store.size(row.id)
    return staged


def _view(session: Session, blob_store: BlobStore, tip: Tip) -> DraftView:
    assert tip.tipster_public_key is not None and tip.draft_expires_on is not None
    return DraftView(
        draft_id=tip.id,
        recipients=desk_recipients(session, tip.desk_id),
        tipster_public_key=tip.tipster_public_key,
        objects=[
            DraftObject(row.id, row.kind, row.ciphertext_size, _stored_bytes(blob_store, row))
            for row in _object_rows(session, tip.id)
        ],
        expires_on=tip.draft_expires_on,
    )


# --- creating -----------------------------------------------------------------------------


# Any object without a body is metadata only: a report, or a file naming its detached body.
MAX_METADATA_ONLY_CIPHERTEXT = MAX_REPORT_CIPHERTEXT
_BODY_BEFORE_FILE = "Each body object must be followed by the file object that names it."


def _check_declared(objects: Sequence[DeclaredObject], max_upload_bytes: int) -> None:
    """:raises InvalidInput: / :raises DraftTooLarge: the plan cannot be a v1 tip upload.

    A plan is the report, then one pair per attached file: the file's detached body object,
    then the file object naming it (docs/PROTOCOL.md §5.6), the storage format of both intake
    paths. A file object carrying its own body is refused.
    """
    if not objects or objects[0].kind is not ObjectKind.REPORT:
        raise InvalidInput("A draft starts with its report object.")
    attached = objects[1:]
    for index, declared in enumerate(attached):
        expected = ObjectKind.BODY if index % 2 == 0 else ObjectKind.FILE
        if declared.kind is expected:
            continue
        if declared.kind is ObjectKind.FILE:
            raise InvalidInput(
                "Each file object must come right after its detached body object; a file "
                "carrying its own body is not accepted."
            )
        if declared.kind is ObjectKind.BODY:
            raise InvalidInput(_BODY_BEFORE_FILE)
        raise InvalidInput("After the report, a draft holds only body and file objects.")
    if len(attached) % 2:
        raise InvalidInput(_BODY_BEFORE_FILE)
    if len(attached) // 2 > MAX_FILES_PER_REQUEST:
        raise InvalidInput(f"Please attach at most {MAX_FILES_PER_REQUEST} files at a time.")
    for declared in objects:
        if not is_valid_ciphertext_length(declared.ciphertext_size):
            raise InvalidInput(
                f"{declared.ciphertext_size} bytes is not the length of any v1 encrypted object."
            )
    if objects[0].ciphertext_size > MAX_REPORT_CIPHERTEXT:
        raise InvalidInput("The encrypted report is larger than a report can be.")
    if any(o.ciphertext_size > MAX_METADATA_ONLY_CIPHERTEXT for o in attached[1::2]):
        raise InvalidInput(
            "An encrypted file object is larger than one without a body of its own can be."
        )
    total = sum(o.ciphertext_size for o in objects)
    if total > max_upload_bytes:
        raise DraftTooLarge(
            f"Together the encrypted files are {total} bytes; this tip line accepts at most "
            f"{max_upload_bytes} bytes in one report."
        )


def create_draft(
    session: Session,
    blob_store: BlobStore,
    *,
    desk_slug: str,
    lang: str,
    objects: Sequence[DeclaredObject],
    pepper: bytes,
    secret_key: bytes,
    max_upload_bytes: int,
    today: date,
) -> CreatedDraft:
    """Open a draft: issue the code and the tipster's key, reserve an id per declared object.

    The objects are the report, then for each attached file its detached body object and the
    file object naming it (docs/PROTOCOL.md §5.6): what the no-JavaScript intake stores, so
    the rows do not tell the two paths apart. Ids are assigned here, in that order; the
    client writes a body's id into its file object after this returns.

    :raises DeskNotFound: no desk has this slug.
    :raises DeskCannotReceive: the desk has no recipient key.
    :raises InvalidInput: the declared objects are not the report followed by a (body, file)
        pair per attached file, or a ciphertext length is impossible for its object.
    :raises DraftTooLarge: the declared ciphertext is over ``max_upload_bytes``.
    """
    _check_declared(objects, max_upload_bytes)
    desk = get_desk(session, desk_slug)
    if not desk_recipients(session, desk.id):
        raise DeskCannotReceive()
    issued = issue_code(lang, pepper)
    tip = Tip(
        id=str(uuid.uuid4()),
        desk_id=desk.id,
        state=TipState.DRAFT,
        lookup_digest=issued.lookup_digest,
        tip_salt=issued.tip_salt,
        tipster_public_key=issued.keypair.public_key,
        thread_commitment=PLACEHOLDER_COMMITMENT,
        internal_commitment=PLACEHOLDER_COMMITMENT,
        received_on=today,
        last_activity_on=today,
        activity_seq=0,  # set when the tip is finalized
        draft_expires_on=today + DRAFT_LIFETIME,
    )
    session.add(tip)
    session.flush()
    session.add_all(
        EncryptedObject(
            id=str(uuid.uuid4()),
            tip_id=tip.id,
            scope=Scope.THREAD,
            kind=declared.kind,
            author=Author.TIPSTER,
            seq=seq,
            ciphertext_size=declared.ciphertext_size,
            complete=False,
            created_on=today,
        )
        for seq, declared in enumerate(objects)
    )
    session.flush()
    return CreatedDraft(
        view=_view(session, blob_store, tip),
        token=draft_token(secret_key, tip.id),
        code=issued.code,
        code_language=issued.language,
    )


def read_draft(
    session: Session,
    blob_store: BlobStore,
    secret_key: bytes,
    credentials: DraftCredentials,
    *,
    today: date,
) -> DraftView:
    """The draft's recipients and how much of each object is stored (to resume an upload).

    :raises BadDraftToken: / :raises DraftNotFound: / :raises AlreadySubmitted: /
        :raises DraftExpired: see :func:`_open_draft`.
    """
    return _view(session, blob_store, _open_draft(session, secret_key, credentials, today))


# --- uploading ----------------------------------------------------------------------------


def _ends_on_chunk_boundary(end: int, ciphertext_size: int) -> bool:
    if end == ciphertext_size:
        return True
    return end >= HEADER_BYTES and (end - HEADER_BYTES) % CIPHERTEXT_CHUNK_SIZE == 0


def _last_chunk_boundary(end: int) -> int:
    """Where the whole secretstream chunks among the first ``end`` bytes end (0: none)."""
    if end < HEADER_BYTES:
        return 0
    return end - (end - HEADER_BYTES) % CIPHERTEXT_CHUNK_SIZE


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
) -> int:
    """Append a batch of ``length`` bytes of ciphertext at ``offset``, written as its
    ``pieces`` arrive; return how many bytes are now stored.

    Everything is checked against the declared ``length`` before the first piece is read,
    so a refused batch is never received. ``pieces`` must yield exactly ``length`` bytes
    (or raise); the caller's request body reader guarantees it. The lookup's read-only
    transaction is ended before the body is received: a slow client (Tor) must not hold a
    database connection and snapshot open while it sends.

    If the body breaks off, the whole secretstream chunks received stay stored (where the
    blob store writes as bytes arrive) and the rest is dropped: the client, told where the
    stored bytes end, resumes from the last whole chunk instead of resending the batch.

    :raises BadDraftToken: / :raises DraftNotFound: / :raises AlreadySubmitted: /
        :raises DraftExpired: see :func:`_open_draft`.
    :raises ObjectNotFound: the draft has no such object.
    :raises ChunkTooLarge: more than :data:`MAX_BATCH_BYTES`.
    :raises BadChunk: empty, past the declared end, or not ending on a chunk boundary.
    :raises ChunkOutOfOrder: ``offset`` is not where the stored bytes end (a replay, a gap).
    """
    ciphertext_size = _draft_object_size(session, secret_key, credentials, object_id, today)
    _check_batch(offset, length, ciphertext_size)
    session.rollback()  # nothing was written; see above
    try:
        return blob_store.append_staged_pieces(
            object_id, pieces, offset, resume_point=_last_chunk_boundary
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
        :raises DraftExpired: as :func:`_open_draft`, in the same order.
    :raises ObjectNotFound: the draft has no such object.
    """
    _check_token(secret_key, credentials)
    found = session.execute(
        _DRAFT_OBJECT_QUERY, {"draft_id": credentials.draft_id, "object_id": object_id}
    ).one_or_none()
    if found is None:
        raise DraftNotFound()
    _check_still_open(found.state, found.draft_expires_on, today)
    if found.ciphertext_size is None:
        raise ObjectNotFound()
    size: int = found.ciphertext_size
    return size


def _check_batch(offset: int, length: int, ciphertext_size: int) -> None:
    """:raises ChunkTooLarge: / :raises BadChunk: see :func:`append_chunk`."""
    if length > MAX_BATCH_BYTES:
        raise ChunkTooLarge(MAX_BATCH_BYTES)
    if length <= 0:
        raise BadChunk("A chunk batch must carry at least one byte.")
    end = offset + length
    if offset < 0 or end > ciphertext_size:
        raise BadChunk(
            f"Bytes {offset}–{end} run past the object's declared {ciphertext_size} bytes."
        )
    if not _ends_on_chunk_boundary(end, ciphertext_size):
        raise BadChunk("A chunk batch must end on a secretstream chunk boundary.")


# --- finalizing, cancelling ---------------------------------------------------------------


def _check_sealed_keys(session: Session, tip: Tip, sealed_keys: Sequence[SubmittedKey]) -> None:
    """:raises InvalidInput: / :raises RecipientsChanged: see :func:`finalize_draft`."""
    assert tip.tipster_public_key is not None
    required = {(r.key_id, scope) for r in desk_recipients(session, tip.desk_id) for scope in Scope}
    required.add((key_id(tip.tipster_public_key), Scope.THREAD))
    offered = [(key.key_id, key.scope) for key in sealed_keys]
    if len(set(offered)) != len(offered):
        raise InvalidInput("Each recipient and scope may have only one sealed key.")
    if any(len(key.sealed) != SEALED_KEY_BYTES for key in sealed_keys):
        raise InvalidInput(f"A sealed key is {SEALED_KEY_BYTES} bytes long.")
    if set(offered) != required:
        raise RecipientsChanged()


def finalize_draft(
    session: Session,
    blob_store: BlobStore,
    secret_key: bytes,
    credentials: DraftCredentials,
    *,
    commitments: Mapping[Scope, bytes],
    sealed_keys: Sequence[SubmittedKey],
    today: date,
) -> str:
    """Make the draft a submitted tip; returns its id. Visible once the caller commits.

    Blobs are published first (harmless: only a submitted tip's complete objects are ever
    read), then every row changes in the caller's one transaction, under the tip's write
    lock, taken only then: on SQLite it is the database's, which the database blob store
    needs to publish. A retry after a failure between the two finds the blobs published and
    goes on; a concurrent finalize waits for the lock and finds the tip submitted.

    :raises BadDraftToken: / :raises DraftNotFound: / :raises AlreadySubmitted: /
        :raises DraftExpired: see :func:`_open_draft`.
    :raises InvalidInput: a commitment or sealed key is malformed.
    :raises RecipientsChanged: the sealed keys are not exactly one per desk recipient and
        scope, plus the tipster's thread key.
    :raises UploadIncomplete: some object is not fully uploaded.
    """
    tip = _open_draft(session, secret_key, credentials, today)
    for scope in Scope:
        value = commitments.get(scope, b"")
        if len(value) != COMMITMENT_BYTES or value == PLACEHOLDER_COMMITMENT:
            raise InvalidInput(f"The {scope} key commitment must be 32 bytes.")
    rows = _object_rows(session, tip.id)
    to_publish = [row for row in rows if blob_store.staged_size(row.id) == row.ciphertext_size]
    published = [
        row
        for row in rows
        if row not in to_publish
        and blob_store.exists(row.id)
        and blob_store.size(row.id) == row.ciphertext_size
    ]
    missing = len(rows) - len(to_publish) - len(published)
    if missing:
        raise UploadIncomplete(missing)
    for row in to_publish:
        # BlobExists: a concurrent finalize of the same draft got there first.
        with contextlib.suppress(BlobExists):
            blob_store.publish(row.id)
    tip = _open_draft(session, secret_key, credentials, today, for_update=True)
    # Under the lock: against the desk's keys as they are when the tip becomes visible.
    _check_sealed_keys(session, tip, sealed_keys)
    submitted = _reinserted(session, tip, rows)
    submitted.state = TipState.SUBMITTED
    submitted.thread_commitment = bytes(commitments[Scope.THREAD])
    submitted.internal_commitment = bytes(commitments[Scope.INTERNAL])
    submitted.received_on = today
    submitted.last_activity_on = today
    set_initial_deadlines(submitted, session.get_one(Desk, submitted.desk_id), today)
    submitted.activity_seq = next_activity_seq(session)
    submitted.draft_expires_on = None
    session.add(submitted)
    session.flush()
    session.add_all(
        SealedKey(tip_id=submitted.id, key_id=key.key_id, scope=key.scope, sealed=bytes(key.sealed))
        for key in sealed_keys
    )
    session.add_all(
        EncryptedObject(**{**_column_values(row), "complete": True, "created_on": today})
        for row in rows
    )
    session.flush()
    stats_rollup.mark_tip(session, submitted)
    return submitted.id


def _reinserted(session: Session, tip: Tip, rows: Sequence[EncryptedObject]) -> Tip:
    """Delete the draft's tip and object rows; return a new, not yet added, copy of the tip.

    A submitted tip's rows are inserted when it is submitted, as the no-JavaScript intake
    inserts them: rows left from when the upload began would date it in SQLite's rowid
    order and tell a browser tip from one posted without JavaScript (docs/THREAT_MODEL.md).
    The ids stay: the ciphertext and the sealed keys are bound to them.
    """
    copy = Tip(**_column_values(tip))
    for row in rows:
        session.delete(row)
    session.delete(tip)
    session.flush()
    return copy


def _column_values(row: Tip | EncryptedObject) -> dict[str, Any]:
    mapper: Mapper[Any] = sa_inspect(type(row))
    return {column.key: getattr(row, column.key) for column in mapper.column_attrs}


def discard_draft(
    session: Session,
    blob_store: BlobStore,
    secret_key: bytes,
    credentials: DraftCredentials,
    *,
    today: date,
) -> None:
    """The tipster cancelled: delete the draft and everything uploaded for it.

    :raises BadDraftToken: / :raises DraftNotFound: / :raises AlreadySubmitted: see
        :func:`_open_draft` (an expired draft can still be cancelled).
    """
    try:
        tip = _open_draft(session, secret_key, credentials, today)
    except DraftExpired:
        tip = session.get_one(Tip, credentials.draft_id)
    delete_draft(session, blob_store, tip.id)
    session.flush()
