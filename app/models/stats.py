"""The statistics roll-up: per desk and month of receipt, the figures of its submitted tips.

Workflow metadata only (DESIGN §2.1): counts, whole-day histograms and deadline days; never
anything derived from a tip's content. ``app.services.stats_rollup`` keeps it exact: every
change to a tip's statistics bumps ``version`` in the same transaction, and a reader
recomputes a row whose ``computed_version`` lags behind before using it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class StatsRollup(Base):
    __tablename__ = "stats_rollup"
    __table_args__ = (
        CheckConstraint("computed_version <= version", name="computed_not_ahead"),
        CheckConstraint("received >= 0", name="received_not_negative"),
    )

    desk_id: Mapped[int] = mapped_column(
        ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(primary_key=True)  # its first day
    # Bumped by every change to the tips of this desk and month; the figures below are those
    # of ``computed_version`` (so the row is "dirty" while the two differ).
    version: Mapped[int]
    computed_version: Mapped[int]
    received: Mapped[int]
    statuses: Mapped[dict[str, int]] = mapped_column(JSON)  # status -> tips
    # Whole days from receipt -> tips (as JSON object keys, so strings), for exact medians.
    days_to_acknowledge: Mapped[dict[str, int]] = mapped_column(JSON)
    days_to_feedback: Mapped[dict[str, int]] = mapped_column(JSON)
    # {"met": n, "late": n, "open": {due day ISO -> tips}}: the open ones are classified
    # against the reader's "today", so a deadline passing needs no write.
    acknowledgement_deadlines: Mapped[dict[str, Any]] = mapped_column(JSON)
    feedback_deadlines: Mapped[dict[str, Any]] = mapped_column(JSON)
    # kind -> {"count": n, "amounts": {currency -> decimal text}}
    outcomes: Mapped[dict[str, Any]] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<StatsRollup desk {self.desk_id} {self.month:%Y-%m} v{self.version}>"
