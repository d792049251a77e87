"""Statistics roll-up: per desk and month of receipt, the figures of its submitted tips
(counts, whole-day histograms, deadline days, outcomes), with a version counter that every
change bumps so a reader recomputes only the rows that changed.

Existing desks and months are marked to be computed on the first read.

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_COLUMNS = (
    "statuses",
    "days_to_acknowledge",
    "days_to_feedback",
    "acknowledgement_deadlines",
    "feedback_deadlines",
    "outcomes",
)


def upgrade() -> None:
    op.create_table(
        "stats_rollup",
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("computed_version", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.JSON(), nullable=False) for name in JSON_COLUMNS),
        sa.CheckConstraint(
            "computed_version <= version", name=op.f("ck_stats_rollup_computed_not_ahead")
        ),
        sa.CheckConstraint("received >= 0", name=op.f("ck_stats_rollup_received_not_negative")),
        sa.ForeignKeyConstraint(
            ["desk_id"],
            ["desks.id"],
            name=op.f("fk_stats_rollup_desk_id_desks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("desk_id", "month", name=op.f("pk_stats_rollup")),
    )
    if op.get_bind().dialect.name == "postgresql":
        month = "CAST(date_trunc('month', received_on) AS date)"
    else:
        month = "date(received_on, 'start of month')"
    empty = ", ".join("'{}'" for _ in JSON_COLUMNS)
    # Built from this file's constants only: every existing desk and month, dirty.
    op.execute(
        f"INSERT INTO stats_rollup (desk_id, month, version, computed_version, received, "  # noqa: S608
        f"{', '.join(JSON_COLUMNS)}) "
        f"SELECT desk_id, {month}, 1, 0, 0, {empty} FROM tips "
        f"WHERE state = 'submitted' GROUP BY desk_id, {month}"
    )


def downgrade() -> None:
    op.drop_table("stats_rollup")
