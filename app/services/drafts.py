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

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import Author, Desk, EncryptedObject, ObjectKind, Scope, Tip
from app.services import tips, upload_plan
from app.services.desks import Recipient, desk_recipients, get_desk
from app.services.draft_access import DraftCredentials, check_still_open, check_token, draft_token
from app.services.draft_errors import (
    DraftExpired,
    DraftNotFound,
    RecipientsChanged,
    UploadIncomplete,
)
from app.services.draft_purge import delete_draft
from app.services.intake import DeskCannotReceive, issue_code
from app.services.objects import WrittenObject
from app.services.upload_plan import DeclaredObject
from app.storage import BlobExists, BlobStore
from crypto.datakeys import COMMITMENT_BYTES, SEALED_KEY_BYTES
from crypto.keys import key_id

DRAFT_LIFETIME = timedelta(days=1)


# --- values -------------------------------------------------------------------------------


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


def open_draft(
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
    check_token(secret_key, credentials)
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
    check_still_open(tip.state, tip.draft_expires_on, today)
    return tip


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
    upload_plan.check_declared(objects, max_upload_bytes)
    desk = get_desk(session, desk_slug)
    if not desk_recipients(session, desk.id):
        raise DeskCannotReceive()
    issued = issue_code(lang, pepper)
    tip = tips.add_draft_tip(
        session,
        tip_id=str(uuid.uuid4()),
        desk=desk,
        tipster=issued.tipster_key,
        today=today,
        expires_on=today + DRAFT_LIFETIME,
    )
    tips.add_objects(
        session,
        tip.id,
        [
            WrittenObject(str(uuid.uuid4()), Scope.THREAD, declared.kind, declared.ciphertext_size)
            for declared in objects
        ],
        author=Author.TIPSTER,
        today=today,
        complete=False,
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
        :raises DraftExpired: see :func:`open_draft`.
    """
    return _view(session, blob_store, open_draft(session, secret_key, credentials, today))


# --- uploading ----------------------------------------------------------------------------


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
        :raises DraftExpired: see :func:`open_draft`.
    :raises InvalidInput: a commitment or sealed key is malformed.
    :raises RecipientsChanged: the sealed keys are not exactly one per desk recipient and
        scope, plus the tipster's thread key.
    :raises UploadIncomplete: some object is not fully uploaded.
    """
    tip = open_draft(session, secret_key, credentials, today)
    for scope in Scope:
        value = commitments.get(scope, b"")
        if len(value) != COMMITMENT_BYTES or value == tips.PLACEHOLDER_COMMITMENT:
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
    tip = open_draft(session, secret_key, credentials, today, for_update=True)
    # Under the lock: against the desk's keys as they are when the tip becomes visible.
    _check_sealed_keys(session, tip, sealed_keys)
    assert tip.lookup_digest is not None and tip.tipster_public_key is not None  # a draft's
    _delete_draft_rows(session, tip, rows)
    tips.add_submitted_tip(
        session,
        tip_id=tip.id,
        desk=session.get_one(Desk, tip.desk_id),
        tipster=tips.TipsterKey(tip.lookup_digest, tip.tip_salt, tip.tipster_public_key),
        commitments=commitments,
        sealed_keys=(tips.SealedEntry(key.key_id, key.scope, key.sealed) for key in sealed_keys),
        # Published above: each publication is durable when it returns.
        objects=[WrittenObject(row.id, row.scope, row.kind, row.ciphertext_size) for row in rows],
        today=today,
    )
    return tip.id


def _delete_draft_rows(session: Session, tip: Tip, rows: Sequence[EncryptedObject]) -> None:
    """Delete the draft's tip and object rows; finalize inserts the submitted tip's afresh.

    A submitted tip's rows are inserted when it is submitted, as the no-JavaScript intake
    inserts them: rows left from when the upload began would date it in SQLite's rowid
    order and tell a browser tip from one posted without JavaScript (docs/THREAT_MODEL.md).
    The ids stay: the ciphertext and the sealed keys are bound to them.
    """
    for row in rows:
        session.delete(row)
    session.delete(tip)
    session.flush()


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
        :func:`open_draft` (an expired draft can still be cancelled).
    """
    try:
        tip = open_draft(session, secret_key, credentials, today)
    except DraftExpired:
        tip = session.get_one(Tip, credentials.draft_id)
    delete_draft(session, blob_store, tip.id)
    session.flush()
