"""Server-side sessions. Only a digest of each cookie's session id is stored."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base
from app.models.types import MinuteUTCDateTime, byte_length

if TYPE_CHECKING:
    from app.models.staff import StaffUser
    from app.models.tips import Tip


class StaffSession(Base):
    """A staff login; a prosecutor's session also holds their key in custody (DESIGN §5)."""

    __tablename__ = "staff_sessions"
    __table_args__ = (byte_length("session_digest", 32),)

    session_digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    # The secret key encrypted under the session key that only the cookie holds.
    key_custody_blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)

    user: Mapped[StaffUser] = relationship()


class TipsterSession(Base):
    """A tipster signed in with their code. Nothing else about them is kept.

    ``expires_at`` is a session expiry, not a record of activity, and is stored only to the
    minute (the column type drops the seconds).
    """

    __tablename__ = "tipster_sessions"
    __table_args__ = (byte_length("session_digest", 32),)

    session_digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    tip_id: Mapped[str] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    # The tipster's secret key, encrypted under a key only the tipster's cookie holds.
    key_custody_blob: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(MinuteUTCDateTime, index=True)

    tip: Mapped[Tip] = relationship()
