"""The returning tipster: code login, a short session, the thread, follow-ups, burning the code.

The code is never stored: a keyed digest finds the tip, and the tipster's secret key is derived
from the code again at login. For the session, that key is kept server-side only encrypted
under a random key that lives in the tipster's cookie (neither half alone reveals it).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import nacl.utils
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotPermitted, NotSignedIn, StoredDataDamaged
from app.models import (
    Author,
    DeskStatusText,
    EncryptedObject,
    ObjectKind,
    Scope,
    SealedKey,
    Tip,
    TipState,
    TipStatus,
    TipsterSession,
    TipsterStatus,
)
from app.services import tips
from app.services.custody import CustodyBroken, new_custody, open_custody, split_cookie
from app.services.intake import add_uploaded_file
from app.services.kdf_slots import KdfSlots
from app.services.objects import ObjectBatch, read_metadata, read_small_object
from app.storage import BlobStore
from crypto.codes import TIP_SALT_BYTES, lookup_digest, parse_code, tipster_keypair
from crypto.errors import DecryptionError, InvalidCode
from crypto.keys import KeyPair, keypair_from_secret
from crypto.metadata import message_metadata

TIPSTER_STATUS_OF = {
    TipStatus.RECEIVED: TipsterStatus.RECEIVED,
    TipStatus.ACKNOWLEDGED: TipsterStatus.ACKNOWLEDGED,
    TipStatus.TRIAGED: TipsterStatus.IN_REVIEW,
    TipStatus.INVESTIGATING: TipsterStatus.IN_REVIEW,
    TipStatus.REFERRED: TipsterStatus.IN_REVIEW,
    TipStatus.FEEDBACK_GIVEN: TipsterStatus.ACTION_TAKEN,
    TipStatus.CLOSED: TipsterStatus.CLOSED,
}
DEFAULT_STATUS_TEXTS = {
    TipsterStatus.RECEIVED: "Your tip has arrived safely. The desk will confirm that they have "
    "received it within 7 days.",
    TipsterStatus.ACKNOWLEDGED: "The desk has confirmed that they received your tip. They will "
    "tell you what they are doing about it within 3 months.",
    TipsterStatus.IN_REVIEW: "Your tip is being looked at by the prosecutors. Check back for "
    "questions they may ask you.",
    TipsterStatus.ACTION_TAKEN: "Action has been taken on your tip. Read the messages below for "
    "what the desk can tell you.",
    TipsterStatus.CLOSED: "This case is closed. Thank you for reporting it.",
}


class CodeNotRecognised(NotPermitted):
    code = "code_not_recognised"

    def __init__(self) -> None:
        super().__init__(
            "We could not find a tip for this code. Check each word and try again; if you "
            "have burned this code, it no longer works."
        )


class TipsterSessionExpired(NotSignedIn):
    code = "session_expired"

    def __init__(self) -> None:
        super().__init__(
            "Your session has ended (after 30 minutes without activity, or you logged out). "
            "Enter your code again to continue."
        )


@dataclass(frozen=True)
class TipsterAccess:
    """A logged-in tipster: their tip and the key derived from their code."""

    tip: Tip
    keypair: KeyPair


@dataclass(frozen=True)
class ThreadEntry:
    author: Author
    kind: ObjectKind
    day: date
    text: str = ""
    fields: dict[str, Any] | None = None
    file_name: str = ""
    file_size: int = 0


@dataclass(frozen=True)
class TipsterThread:
    status: TipsterStatus
    status_text: str
    received_on: date
    entries: list[ThreadEntry]


def login_with_code(
    session: Session, *, code_text: str, pepper: bytes, kdf_slots: KdfSlots | None = None
) -> TipsterAccess:
    """Find the tip of a code and derive the tipster's key.

    Unknown, malformed, burned and wrong codes give the same error after the same work (one
    Argon2id derivation), so neither the answer nor its timing tells them apart. With
    ``kdf_slots`` (the web app's), the derivation waits for a slot of the process's bound.

    :raises CodeNotRecognised:
    :raises ServerBusy: no derivation slot came free in time (nothing was tried or counted).
    """
    try:
        canonical = parse_code(code_text)
    except InvalidCode:
        canonical = None
    tip = None
    if canonical is not None:
        tip = session.scalar(
            select(Tip).where(
                Tip.lookup_digest == lookup_digest(pepper, canonical),
                Tip.state == TipState.SUBMITTED,
            )
        )
    with kdf_slots.hold() if kdf_slots is not None else nullcontext():
        if tip is None or tip.tipster_public_key is None or canonical is None:
            tipster_keypair(canonical or bytes(16), nacl.utils.random(TIP_SALT_BYTES))
            raise CodeNotRecognised()
        keypair = tipster_keypair(canonical, tip.tip_salt)
    if not hmac.compare_digest(keypair.public_key, tip.tipster_public_key):
        raise CodeNotRecognised()
    return TipsterAccess(tip=tip, keypair=keypair)


def start_session(
    session: Session, access: TipsterAccess, *, now: datetime, idle: timedelta
) -> str:
    """Open a tipster session; returns the cookie value (a random reference and key)."""
    custody = new_custody(access.keypair.secret_key)
    session.add(
        TipsterSession(
            session_digest=custody.session_digest,
            tip_id=access.tip.id,
            key_custody_blob=custody.sealed_secret,
            expires_at=now + idle,
        )
    )
    session.flush()
    return custody.cookie


def resume_session(
    session: Session, cookie: str | None, *, now: datetime, idle: timedelta
) -> TipsterAccess:
    """The tipster behind a session cookie; each use extends the idle timeout.

    :raises TipsterSessionExpired: no cookie, unknown or expired session, or a damaged cookie.
    """
    try:
        digest, session_key = split_cookie(cookie or "")
    except CustodyBroken:
        raise TipsterSessionExpired() from None
    row = session.get(TipsterSession, digest)
    if row is None:
        raise TipsterSessionExpired()
    if row.expires_at <= now:
        session.delete(row)
        raise TipsterSessionExpired()
    try:
        secret_key = open_custody(session_key, row.key_custody_blob)
    except CustodyBroken:
        raise TipsterSessionExpired() from None
    tip = session.get(Tip, row.tip_id)
    if tip is None or tip.tipster_public_key is None:
        raise TipsterSessionExpired()
    row.expires_at = now + idle
    return TipsterAccess(tip=tip, keypair=keypair_from_secret(secret_key))


def end_session(session: Session, cookie: str | None) -> None:
    """Log out: the server-side half of the session is deleted (idempotent)."""
    try:
        digest, _ = split_cookie(cookie or "")
    except CustodyBroken:
        return
    session.execute(delete(TipsterSession).where(TipsterSession.session_digest == digest))


def thread_key(session: Session, access: TipsterAccess) -> bytes:
    """Open the tip's thread data key with the tipster's key (checking binding and commitment).

    :raises crypto.errors.DecryptionError: the sealed key is missing or rejected.
    """
    sealed = session.scalar(
        select(SealedKey.sealed).where(
            SealedKey.tip_id == access.tip.id,
            SealedKey.key_id == access.keypair.key_id,
            SealedKey.scope == Scope.THREAD,
        )
    )
    if sealed is None:
        raise TipsterSessionExpired()
    return tips.open_sealed_key(
        sealed,
        tip_id=access.tip.id,
        scope=Scope.THREAD,
        commitment=access.tip.thread_commitment,
        keypair=access.keypair,
    )


def status_for_tipster(session: Session, tip: Tip, language: str) -> tuple[TipsterStatus, str]:
    """The coarse status and the desk's canned sentence for it (or the default one)."""
    coarse = TIPSTER_STATUS_OF[tip.status]
    texts = {
        row.language: row.text
        for row in session.scalars(
            select(DeskStatusText).where(
                DeskStatusText.desk_id == tip.desk_id, DeskStatusText.status == coarse
            )
        )
    }
    return coarse, texts.get(language) or texts.get("en") or DEFAULT_STATUS_TEXTS[coarse]


def read_thread(
    session: Session, blob_store: BlobStore, access: TipsterAccess, language: str
) -> TipsterThread:
    """Decrypt, in memory, everything of the thread scope the tipster may read."""
    data_key = thread_key(session, access)
    rows = session.scalars(
        select(EncryptedObject)
        .where(
            EncryptedObject.tip_id == access.tip.id,
            EncryptedObject.scope == Scope.THREAD,
            EncryptedObject.complete.is_(True),
            EncryptedObject.kind != ObjectKind.BODY,  # read through its file
        )
        .order_by(EncryptedObject.seq)
    )
    try:
        entries = [_thread_entry(blob_store, row, data_key) for row in rows]
    except DecryptionError:
        raise ThreadDamaged() from None
    coarse, text = status_for_tipster(session, access.tip, language)
    return TipsterThread(coarse, text, access.tip.received_on, entries)


def _thread_entry(blob_store: BlobStore, row: EncryptedObject, data_key: bytes) -> ThreadEntry:
    """:raises crypto.errors.DecryptionError: the object is rejected, or of another kind."""
    if row.kind is ObjectKind.FILE:
        metadata = read_metadata(blob_store, row, data_key)
        return ThreadEntry(
            row.author,
            row.kind,
            row.created_on,
            file_name=str(metadata["name"]),
            file_size=int(metadata["size"]),
        )
    metadata, _ = read_small_object(blob_store, row, data_key)
    if row.kind is ObjectKind.REPORT:
        return ThreadEntry(row.author, row.kind, row.created_on, fields=metadata["fields"])
    return ThreadEntry(row.author, row.kind, row.created_on, text=metadata["text"])


class ThreadDamaged(StoredDataDamaged):
    code = "thread_damaged"

    def __init__(self) -> None:
        super().__init__(
            "Part of this conversation could not be opened: it was stored damaged. Nothing "
            "of it is shown. You can still send a new message; the desk sees the same problem."
        )


class MessageRejected(InvalidInput):
    """A follow-up the tipster must change before it can be sent (nothing of it is kept)."""

    code = "message_rejected"


class FollowUp:
    """A tipster's follow-up being received: a message and files, under the thread key.

    Files are encrypted as they stream in (:meth:`add_file`); :meth:`complete` adds the
    message and the rows, all or nothing. On any failure the caller calls :meth:`abort`,
    which removes every blob written.

    :raises TipsterSessionExpired: the tipster's sealed thread key is gone (a burnt code).
    """

    def __init__(self, session: Session, blob_store: BlobStore, access: TipsterAccess) -> None:
        self.access = access
        self.batch = ObjectBatch(
            blob_store, access.tip.id, {Scope.THREAD: thread_key(session, access)}
        )

    def add_file(self, filename: str, content_type: str, chunks: Iterable[bytes]) -> None:
        add_uploaded_file(self.batch, filename=filename, content_type=content_type, chunks=chunks)

    def complete(self, session: Session, *, text: str, file_count: int, today: date) -> None:
        """Add the message (if any) and the follow-up's rows; the tip has new activity.

        :raises MessageRejected: too long, or neither a message nor a file.
        """
        text = text.strip()
        if len(text) > tips.MAX_MESSAGE_CHARS:
            raise MessageRejected(
                f"Please shorten your message to at most {tips.MAX_MESSAGE_CHARS} characters."
            )
        if not (text or file_count):
            raise MessageRejected("Your message is empty. Write something or attach a file.")
        if text:
            self.batch.add(Scope.THREAD, ObjectKind.MESSAGE, message_metadata(text))
        tips.add_batch(session, self.access.tip, self.batch, author=Author.TIPSTER, today=today)

    def abort(self) -> None:
        self.batch.discard()


def burn_code(session: Session, access: TipsterAccess) -> None:
    """Make the code useless for good: no lookup, no tipster key, no tipster sealed key.

    The tip itself stays for the desk; the tipster can no longer reach it.
    """
    tip = access.tip
    session.execute(
        delete(SealedKey).where(
            SealedKey.tip_id == tip.id, SealedKey.key_id == access.keypair.key_id
        )
    )
    session.execute(delete(TipsterSession).where(TipsterSession.tip_id == tip.id))
    tip.lookup_digest = None
    tip.tipster_public_key = None
    session.flush()
