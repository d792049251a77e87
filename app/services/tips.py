"""The tip core: the one home of a tip's rows, its sealed keys and its bookkeeping.

Every tip row, sealed-key row and object row is built here, whichever path creates it (the
no-JavaScript intake, the browser's draft and its finalize, replies, notes, follow-ups, key
grants), so stored rows cannot tell the two intake paths apart by accident (docs/THREAT_MODEL.md
"Known limits"). Every change to a tip ends with :func:`touch`, which does the bookkeeping that
change needs: the activity order, the deadline the board shows, the statistics roll-up.

Sealing a data key to recipients and opening a sealed key (with the tip binding and the key
commitment checked, DESIGN §4) are also here, for every caller: intake, key grants, the case
file, the tipster's thread, and referral next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum, auto
from typing import Protocol

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from app.models import Author, Desk, EncryptedObject, Scope, SealedKey, Tip, TipState, TipStatus
from app.models.tips import ACTIVITY_SEQUENCE, ActivityCounter
from app.services import stats_rollup
from app.services.deadlines import acknowledgement_due, feedback_due
from app.services.objects import ObjectBatch, WrittenObject
from crypto.datakeys import COMMITMENT_BYTES, open_data_key, seal_data_key
from crypto.ids import id_from_str
from crypto.keys import KeyPair

# The longest message, reply or note anyone may write (characters).
MAX_MESSAGE_CHARS = 20_000
# Drafts are never opened by anyone: their commitments are placeholders until finalize.
PLACEHOLDER_COMMITMENT = bytes(COMMITMENT_BYTES)


class Change(Enum):
    """What happened to a tip, which decides the bookkeeping :func:`touch` does."""

    SUBMITTED = auto()  # it became visible to staff: deadlines start, it is counted
    NEW_ACTIVITY = auto()  # a message, reply, note or file: it moves up the inbox
    WORKFLOW = auto()  # status, deadline or outcome: the board and statistics change
    REMOVED = auto()  # purged: it leaves the statistics


class Recipient(Protocol):
    """Anything with a key id and an X25519 public key: a desk recipient, the tipster."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_key(self) -> bytes: ...


@dataclass(frozen=True)
class TipsterKey:
    """What a tip stores about its tipster's code: lookup digest, salt and public key."""

    lookup_digest: bytes
    tip_salt: bytes
    public_key: bytes


@dataclass(frozen=True)
class SealedEntry:
    """One recipient's sealed copy of one scope's data key (96 bytes, DESIGN §4)."""

    key_id: str
    scope: Scope
    sealed: bytes


# --- rows -----------------------------------------------------------------------------------


def add_submitted_tip(
    session: Session,
    *,
    tip_id: str,
    desk: Desk,
    tipster: TipsterKey,
    commitments: Mapping[Scope, bytes],
    sealed_keys: Iterable[SealedEntry],
    objects: Sequence[WrittenObject],
    today: date,
) -> Tip:
    """A submitted tip's rows, received today: the tip (deadlines set, first in the inbox,
    counted), its sealed keys and its tipster's ``objects`` in thread order (durable blobs).

    Both intake paths end here (the browser's at finalize), so their rows are alike. One
    flush: an INSERT per table, the sealed keys and objects each as one multi-row statement.
    """
    tip = Tip(
        id=tip_id,
        desk_id=desk.id,
        state=TipState.SUBMITTED,
        lookup_digest=tipster.lookup_digest,
        tip_salt=tipster.tip_salt,
        tipster_public_key=tipster.public_key,
        thread_commitment=bytes(commitments[Scope.THREAD]),
        internal_commitment=bytes(commitments[Scope.INTERNAL]),
        received_on=today,
        last_activity_on=today,
        activity_seq=0,
    )
    set_initial_deadlines(tip, desk, today)
    touch(session, tip, Change.SUBMITTED, today=today)  # before add: one INSERT, no UPDATE
    session.add(tip)
    add_sealed_keys(session, tip_id, sealed_keys)
    # A new tip has no objects yet: its first is number 0, no need to ask the database.
    session.add_all(_object_rows(tip_id, objects, 0, author=Author.TIPSTER, today=today))
    session.flush()
    return tip


def add_draft_tip(
    session: Session, *, tip_id: str, desk: Desk, tipster: TipsterKey, today: date, expires_on: date
) -> Tip:
    """A draft's row: invisible to staff, placeholder commitments, outside the activity order."""
    tip = Tip(
        id=tip_id,
        desk_id=desk.id,
        state=TipState.DRAFT,
        lookup_digest=tipster.lookup_digest,
        tip_salt=tipster.tip_salt,
        tipster_public_key=tipster.public_key,
        thread_commitment=PLACEHOLDER_COMMITMENT,
        internal_commitment=PLACEHOLDER_COMMITMENT,
        received_on=today,
        last_activity_on=today,
        activity_seq=0,
        draft_expires_on=expires_on,
    )
    session.add(tip)
    session.flush()
    return tip


def add_objects(
    session: Session,
    tip_id: str,
    objects: Sequence[WrittenObject],
    *,
    author: Author,
    today: date,
    author_user_id: int | None = None,
    complete: bool = True,
) -> list[EncryptedObject]:
    """The object rows of ``objects``, in order, after the tip's existing objects.

    ``complete=False`` for a draft's objects whose ciphertext is still arriving.
    """
    last_seq = session.scalar(
        select(func.max(EncryptedObject.seq)).where(EncryptedObject.tip_id == tip_id)
    )
    rows = _object_rows(
        tip_id,
        objects,
        0 if last_seq is None else last_seq + 1,
        author=author,
        today=today,
        author_user_id=author_user_id,
        complete=complete,
    )
    session.add_all(rows)
    return rows


def _object_rows(
    tip_id: str,
    objects: Sequence[WrittenObject],
    first_seq: int,
    *,
    author: Author,
    today: date,
    author_user_id: int | None = None,
    complete: bool = True,
) -> list[EncryptedObject]:
    return [
        EncryptedObject(
            id=written.object_id,
            tip_id=tip_id,
            scope=written.scope,
            kind=written.kind,
            author=author,
            author_user_id=author_user_id,
            seq=first_seq + offset,
            ciphertext_size=written.ciphertext_size,
            complete=complete,
            created_on=today,
        )
        for offset, written in enumerate(objects)
    ]


def add_batch(
    session: Session,
    tip: Tip,
    batch: ObjectBatch,
    *,
    author: Author,
    today: date,
    author_user_id: int | None = None,
) -> None:
    """A reply, note or follow-up: the batch's objects join the tip as new activity."""
    add_objects(
        session, tip.id, batch.durable(), author=author, today=today, author_user_id=author_user_id
    )
    touch(session, tip, Change.NEW_ACTIVITY, today=today)
    session.flush()


# --- sealed keys ----------------------------------------------------------------------------


def add_sealed_keys(session: Session, tip_id: str, entries: Iterable[SealedEntry]) -> None:
    """Store sealed keys as they are (sealed here, or by the tipster's browser)."""
    session.add_all(
        SealedKey(tip_id=tip_id, key_id=entry.key_id, scope=entry.scope, sealed=bytes(entry.sealed))
        for entry in entries
    )


def seal_keys(
    session: Session,
    tip_id: str,
    data_keys: Mapping[Scope, bytes],
    recipients: Iterable[Recipient],
) -> None:
    """Seal each of ``data_keys`` to each recipient, bound to the tip (DESIGN §4)."""
    add_sealed_keys(session, tip_id, sealed_entries(tip_id, data_keys, recipients))


def sealed_entries(
    tip_id: str, data_keys: Mapping[Scope, bytes], recipients: Iterable[Recipient]
) -> list[SealedEntry]:
    """Each of ``data_keys`` sealed to each recipient, bound to the tip (DESIGN §4); no rows."""
    raw_tip_id = id_from_str(tip_id)
    return [
        SealedEntry(recipient.key_id, scope, seal_data_key(key, raw_tip_id, recipient.public_key))
        for recipient in recipients
        for scope, key in data_keys.items()
    ]


def commitment_of(tip: Tip, scope: Scope) -> bytes:
    return tip.thread_commitment if scope is Scope.THREAD else tip.internal_commitment


def open_sealed_key(
    sealed: bytes, *, tip_id: str, scope: Scope, commitment: bytes, keypair: KeyPair
) -> bytes:
    """Open one sealed data key: bound to this tip, and matching the tip's commitment.

    :raises crypto.errors.DecryptionError: not sealed to ``keypair``, sealed for another tip,
        or a key that does not match the commitment (one ciphertext, two plaintexts).
    """
    return open_data_key(
        sealed,
        tip_id=id_from_str(tip_id),
        keypair=keypair,
        scope=scope.value,
        expected_commitment=commitment,
    )


# --- bookkeeping ----------------------------------------------------------------------------


def touch(session: Session, tip: Tip, change: Change, *, today: date) -> None:
    """The bookkeeping a change to ``tip`` needs, in the caller's transaction.

    New activity moves the tip up the inbox (a fresh ``activity_seq``, today's day); a
    submission or workflow change recomputes the deadline the board shows and marks the
    tip's desk-month for the statistics roll-up; a removal marks it too.
    """
    if change in (Change.SUBMITTED, Change.NEW_ACTIVITY):
        tip.last_activity_on = today
        tip.activity_seq = _next_activity_seq(session, tip.desk_id)
    if change in (Change.SUBMITTED, Change.WORKFLOW):
        tip.next_due_on = next_due(tip)
    if change is not Change.NEW_ACTIVITY:
        stats_rollup.mark(session, tip.desk_id, tip.received_on)


# PostgreSQL's two-key advisory locks of a desk's activity order: ("tips", desk id).
_ACTIVITY_LOCK_SPACE = int.from_bytes(b"tips", "big")


def _next_activity_seq(session: Session, desk_id: int) -> int:
    """An ever-increasing number that orders tips by latest activity without keeping times:
    unique, and within a desk increasing in commit order.

    PostgreSQL: the desk's advisory lock, held until the transaction ends, then the sequence;
    a concurrent change to the same desk's tips draws its number only after this one commits.
    SQLite: the one-row counter, bumped under the database's write lock, held until commit.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:desk AS integer))"),
            {"space": _ACTIVITY_LOCK_SPACE, "desk": desk_id},
        )
        return session.execute(select(ACTIVITY_SEQUENCE.next_value())).scalar_one()
    return session.execute(
        update(ActivityCounter)
        .values(last_value=ActivityCounter.last_value + 1)
        .returning(ActivityCounter.last_value),
        execution_options={"synchronize_session": False},
    ).scalar_one()


def next_due(tip: Tip) -> date | None:
    """The earliest legal deadline still open on the tip, or None (what ``next_due_on`` holds)."""
    if tip.state is not TipState.SUBMITTED or tip.status is TipStatus.CLOSED:
        return None
    if tip.acknowledged_on is None:
        return tip.ack_due_on
    if tip.feedback_given_on is None:
        return tip.feedback_due_on
    return None


def set_initial_deadlines(tip: Tip, desk: Desk, today: date) -> None:
    """Deadlines of a tip received today; acknowledged at once if the desk says so.

    The automatic acknowledgement is not audited: an audit event carries a time of day, and a
    tipster's submission must leave only its day (DESIGN §2.3). ``acknowledged_on`` records it.
    """
    tip.status = TipStatus.RECEIVED
    tip.ack_due_on = acknowledgement_due(today)
    tip.acknowledged_on = None
    if desk.auto_acknowledge:
        tip.status = TipStatus.ACKNOWLEDGED
        tip.acknowledged_on = today
    tip.feedback_due_on = feedback_due(today, tip.acknowledged_on, extended=False)
