"""Tips, the sealed data keys that open them, and their encrypted objects.

Only ciphertext, digests and public keys live here; the cleartext a tip carries is its desk,
staff workflow metadata and day-granular dates (DESIGN §2.1, §2.3).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    Sequence,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base
from app.models.enums import Author, ObjectKind, Scope, TipState, TipStatus
from app.models.types import EnumText, allowed_values, byte_length

if TYPE_CHECKING:
    from app.models.desks import Desk
    from app.models.staff import StaffUser

UUID_LENGTH = 36  # canonical UUID string
SEALED_KEY_BYTES = 48 + 32 + 16  # crypto_box_seal overhead + data key + tip_id


class Tip(Base):
    __tablename__ = "tips"
    __table_args__ = (
        allowed_values("state", TipState),
        allowed_values("status", TipStatus),
        CheckConstraint(f"length(id) = {UUID_LENGTH}", name="id_length"),
        byte_length("lookup_digest", 32),
        byte_length("tip_salt", 16),
        byte_length("tipster_public_key", 32),
        byte_length("thread_commitment", 32),
        byte_length("internal_commitment", 32),
        # Burning the code removes both together; a half-burnt tip is a bug.
        CheckConstraint(
            "(lookup_digest IS NULL) = (tipster_public_key IS NULL)", name="code_burnt_whole"
        ),
        # Newest activity first, per desk, among submitted tips; id breaks ties, so a keyset
        # page is a pure index walk. The second serves the inbox's status filter.
        Index(None, "desk_id", "state", "activity_seq", "id"),
        Index(None, "desk_id", "state", "status", "activity_seq", "id"),
        # The board: a desk's open deadlines, soonest first (overdue and due-this-week are
        # ranges of it), and the statistics page's tips per desk and month.
        Index(None, "desk_id", "state", "next_due_on", "id"),
        Index(None, "desk_id", "received_on"),
        # No two submitted tips share a place in the activity order (drafts all stand at 0).
        Index(
            "ix_tips_unique_submitted_activity_seq",
            "activity_seq",
            unique=True,
            sqlite_where=text("state = 'submitted'"),
            postgresql_where=text("state = 'submitted'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="RESTRICT"))
    state: Mapped[TipState] = mapped_column(EnumText(TipState), server_default=TipState.DRAFT.value)
    # BLAKE2b(PEPPER, code); NULL once the tipster burns their code.
    lookup_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    tip_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    tipster_public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    thread_commitment: Mapped[bytes] = mapped_column(LargeBinary(32))
    internal_commitment: Mapped[bytes] = mapped_column(LargeBinary(32))

    # Staff workflow metadata (cleartext by design).
    status: Mapped[TipStatus] = mapped_column(
        EnumText(TipStatus), server_default=TipStatus.RECEIVED.value, index=True
    )
    outcome: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    feedback_extended_reason: Mapped[str | None] = mapped_column(Text)

    # Days only (DESIGN §2.3): the Day type refuses a datetime.
    received_on: Mapped[date]
    acknowledged_on: Mapped[date | None]
    ack_due_on: Mapped[date | None] = mapped_column(index=True)
    feedback_due_on: Mapped[date | None] = mapped_column(index=True)
    closed_on: Mapped[date | None]
    # The day feedback was first given to the tipster (EU 2019/1937 art. 9(1)(f)).
    feedback_given_on: Mapped[date | None]
    # The earliest legal deadline still open (acknowledgement, then feedback); NULL when none.
    # Kept by app.services.tips.touch so the board's overdue and due-soon views are index walks.
    next_due_on: Mapped[date | None]
    last_activity_on: Mapped[date]
    # Orders "newest activity first" without storing a time: unique among submitted tips,
    # drawn by app.services.tips.touch from ACTIVITY_SEQUENCE (SQLite: ActivityCounter).
    activity_seq: Mapped[int] = mapped_column(BigInteger)
    draft_expires_on: Mapped[date | None]

    desk: Mapped[Desk] = relationship()
    assignee: Mapped[StaffUser | None] = relationship()
    sealed_keys: Mapped[list[SealedKey]] = relationship(
        back_populates="tip", cascade="all, delete-orphan", passive_deletes=True
    )
    objects: Mapped[list[EncryptedObject]] = relationship(
        back_populates="tip",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="EncryptedObject.seq",
    )

    def __repr__(self) -> str:
        return f"<Tip {self.id} {self.state} {self.status}>"


# The activity order's numbers on PostgreSQL.
ACTIVITY_SEQUENCE = Sequence("tips_activity_seq", metadata=Base.metadata)


class ActivityCounter(Base):
    """The activity order's last number on SQLite, which has no sequences: one row, bumped in
    the writer's transaction. PostgreSQL has the table too (one schema) but uses the sequence.
    """

    __tablename__ = "activity_counter"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger)


class SealedKey(Base):
    """``SEAL(data_key || tip_id, recipient_pk)`` for one recipient and scope (DESIGN §4)."""

    __tablename__ = "sealed_keys"
    __table_args__ = (
        UniqueConstraint("tip_id", "key_id", "scope"),
        allowed_values("scope", Scope),
        CheckConstraint("length(key_id) = 32", name="key_id_length"),
        byte_length("sealed", SEALED_KEY_BYTES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[str] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"))
    key_id: Mapped[str] = mapped_column(String(32), index=True)  # the recipient's key_id
    scope: Mapped[Scope] = mapped_column(EnumText(Scope))
    sealed: Mapped[bytes] = mapped_column(LargeBinary(SEALED_KEY_BYTES))

    tip: Mapped[Tip] = relationship(back_populates="sealed_keys")


class EncryptedObject(Base):
    """One encrypted report, message, file or note; its ciphertext is the blob named ``id``."""

    __tablename__ = "objects"
    __table_args__ = (
        UniqueConstraint("tip_id", "seq"),
        allowed_values("scope", Scope),
        allowed_values("kind", ObjectKind),
        allowed_values("author", Author),
        CheckConstraint(f"length(id) = {UUID_LENGTH}", name="id_length"),
        CheckConstraint(
            "(author = 'staff') = (author_user_id IS NOT NULL)", name="staff_author_named"
        ),
        # The tipster never holds the internal key, so cannot have written in that scope.
        CheckConstraint("author = 'staff' OR scope = 'thread'", name="tipster_writes_thread"),
        CheckConstraint("ciphertext_size >= 0 AND seq >= 0", name="size_and_seq_not_negative"),
    )

    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    tip_id: Mapped[str] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"))
    scope: Mapped[Scope] = mapped_column(EnumText(Scope))
    kind: Mapped[ObjectKind] = mapped_column(EnumText(ObjectKind))
    author: Mapped[Author] = mapped_column(EnumText(Author))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    seq: Mapped[int]  # order within the tip
    ciphertext_size: Mapped[int] = mapped_column(BigInteger)
    # False while a resumable upload is still arriving.
    complete: Mapped[bool] = mapped_column(server_default=false())
    created_on: Mapped[date]

    tip: Mapped[Tip] = relationship(back_populates="objects")

    def __repr__(self) -> str:
        return f"<EncryptedObject {self.id} {self.kind} of tip {self.tip_id}>"
