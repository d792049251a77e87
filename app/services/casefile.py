"""Prosecutors reading and answering tips: access checks, decryption in memory, replies, notes.

Only a prosecutor who is a member of the tip's desk, holding a sealed key for their own key,
gets past :func:`open_tip`. Everything decrypted lives in memory for one request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound, StoredDataDamaged
from app.models import (
    Author,
    EncryptedObject,
    ObjectKind,
    Scope,
    SealedKey,
    Tip,
)
from app.services import access, audit, tips
from app.services.audit import AuditAction
from app.services.objects import ObjectBatch, open_file, read_metadata, read_small_object
from app.services.staff_sessions import StaffContext
from app.storage import BlobStore
from crypto.errors import DecryptionError
from crypto.metadata import message_metadata, note_metadata


class FileNotOnTip(NotFound):
    code = "not_found"

    def __init__(self) -> None:
        super().__init__("This tip has no file at this address.")


class KeyNotGrantedYet(Conflict):
    code = "key_not_granted"

    def __init__(self) -> None:
        super().__init__(
            "You joined this desk after this tip arrived. It becomes readable once a colleague "
            "of the desk signs in (their session grants you access)."
        )


class TipDamaged(StoredDataDamaged):
    code = "tip_damaged"

    def __init__(self) -> None:
        super().__init__(
            "This tip's encrypted data was rejected as damaged or tampered with, so nothing of "
            "it is shown. Tell an admin: the audit log and backups can show what changed."
        )


@dataclass(frozen=True)
class OpenedTip:
    tip: Tip
    keys: dict[Scope, bytes]


@dataclass(frozen=True)
class CaseEntry:
    object_id: str
    scope: Scope
    kind: ObjectKind
    author: Author
    day: date
    metadata: dict[str, Any] = field(default_factory=dict)


def open_tip(session: Session, context: StaffContext, tip_id: str) -> OpenedTip:
    """Check access and open both data keys of a tip.

    :raises RoleNotAllowed: not a prosecutor signed in with their key.
    :raises TipNotOnYourDesks: no submitted tip with this id on the prosecutor's desks.
    :raises KeyNotGrantedYet: a member whose key no colleague has re-sealed to yet.
    :raises TipDamaged: a sealed key or commitment is rejected.
    """
    if context.keypair is None:
        raise access.RoleNotAllowed("Only prosecutors can read tips.")
    access.require_role(context.user, access.READERS)
    tip = access.staff_tip(session, context.user, tip_id)
    sealed_rows = session.scalars(
        select(SealedKey).where(
            SealedKey.tip_id == tip.id, SealedKey.key_id == context.keypair.key_id
        )
    ).all()
    if not sealed_rows:
        raise KeyNotGrantedYet()
    try:
        keys = {
            row.scope: tips.open_sealed_key(
                row.sealed,
                tip_id=tip.id,
                scope=row.scope,
                commitment=tips.commitment_of(tip, row.scope),
                keypair=context.keypair,
            )
            for row in sealed_rows
        }
    except DecryptionError:
        raise TipDamaged() from None
    return OpenedTip(tip=tip, keys=keys)


def read_case(
    session: Session, blob_store: BlobStore, opened: OpenedTip, *, actor_id: int, now: datetime
) -> list[CaseEntry]:
    """Every object of the tip, decrypted in memory (files: metadata only), audited."""
    rows = session.scalars(
        select(EncryptedObject)
        .where(
            EncryptedObject.tip_id == opened.tip.id,
            EncryptedObject.complete.is_(True),
            EncryptedObject.kind != ObjectKind.BODY,  # a file's detached body: read through it
        )
        .order_by(EncryptedObject.seq)
    ).all()
    entries = []
    for row in rows:
        key = opened.keys.get(row.scope)
        if key is None:
            continue  # a scope this prosecutor holds no key for (not yet granted)
        try:
            if row.kind is ObjectKind.FILE:
                metadata = read_metadata(blob_store, row, key)
            else:
                metadata, _ = read_small_object(blob_store, row, key)
        except DecryptionError:
            raise TipDamaged() from None
        entries.append(CaseEntry(row.id, row.scope, row.kind, row.author, row.created_on, metadata))
    audit.record(
        session,
        action=AuditAction.TIP_DECRYPTED,
        now=now,
        actor_user_id=actor_id,
        tip_id=opened.tip.id,
    )
    return entries


def file_download(
    session: Session,
    blob_store: BlobStore,
    opened: OpenedTip,
    object_id: str,
    *,
    actor_id: int,
    now: datetime,
) -> tuple[dict[str, Any], Iterator[bytes]]:
    """A file's metadata and its decrypted body as a stream; the download is audited.

    :raises FileNotOnTip: the object is not a file of this tip.
    """
    row = session.get(EncryptedObject, object_id)
    if row is None or row.tip_id != opened.tip.id or row.kind is not ObjectKind.FILE:
        raise FileNotOnTip()
    metadata, body = open_file(blob_store, row, opened.keys[row.scope])
    audit.record(
        session,
        action=AuditAction.FILE_DOWNLOADED,
        now=now,
        actor_user_id=actor_id,
        tip_id=opened.tip.id,
        details={"object_id": object_id},
    )
    return metadata, body


def add_staff_text(
    session: Session,
    blob_store: BlobStore,
    opened: OpenedTip,
    *,
    text: str,
    scope: Scope,
    actor_id: int,
    now: datetime,
) -> None:
    """A reply to the tipster (thread scope) or an internal note (internal scope).

    :raises InvalidInput: empty or too long.
    """
    text = text.strip()
    if not text:
        raise InvalidInput("Please write something first.")
    if len(text) > tips.MAX_MESSAGE_CHARS:
        raise InvalidInput(f"Please keep it under {tips.MAX_MESSAGE_CHARS} characters.")
    batch = ObjectBatch(blob_store, opened.tip.id, opened.keys)
    if scope is Scope.THREAD:
        batch.add(scope, ObjectKind.MESSAGE, message_metadata(text))
        action = AuditAction.REPLY_SENT
    else:
        batch.add(scope, ObjectKind.NOTE, note_metadata(text))
        action = AuditAction.NOTE_ADDED
    try:
        tips.add_batch(
            session,
            opened.tip,
            batch,
            author=Author.STAFF,
            today=now.date(),
            author_user_id=actor_id,
        )
        audit.record(session, action=action, now=now, actor_user_id=actor_id, tip_id=opened.tip.id)
        session.flush()
    except BaseException:
        batch.discard()
        raise
