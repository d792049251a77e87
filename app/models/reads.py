"""Which tips each staff member has seen since their last activity (the inbox's unread marks)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.models.tips import Tip


class TipRead(Base):
    """A tip is unread for a user while its ``activity_seq`` is above ``read_seq``.

    Sequence numbers, not times: nothing here tells when anyone looked (DESIGN §2.3).
    """

    __tablename__ = "tip_reads"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    tip_id: Mapped[str] = mapped_column(
        ForeignKey("tips.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read_seq: Mapped[int] = mapped_column(BigInteger)


# The inbox walks all of a user's desks newest-first on this index. Declared here, beside the
# migration that adds it (0002); it attaches itself to the tips table.
TIPS_BY_ACTIVITY = Index("ix_tips_activity_seq", Tip.activity_seq)
