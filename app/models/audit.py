"""The hash-chained audit log of staff actions (DESIGN §5 "Audit")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.models.types import byte_length

# SQLite autoincrements only an INTEGER PRIMARY KEY (its 64-bit rowid).
AUDIT_ID = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    """One event; ``event_hash = BLAKE2b(prev_hash || canonical JSON of the event)``.

    ``tip_id`` is deliberately not a foreign key: a purged tip's events must survive it.
    """

    __tablename__ = "audit_events"
    __table_args__ = (byte_length("prev_hash", 32), byte_length("event_hash", 32))

    id: Mapped[int] = mapped_column(AUDIT_ID, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime]
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    action: Mapped[str] = mapped_column(String(64))
    tip_id: Mapped[str | None] = mapped_column(String(36), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    event_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action!r}>"
