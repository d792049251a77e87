"""The inbox's unread marks (per staff member and tip, the activity sequence last seen), and
indexes that let every inbox page be an index walk, whatever the number of tips.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tip_reads",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tip_id", sa.String(length=36), nullable=False),
        sa.Column("read_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name=op.f("fk_tip_reads_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tip_id"], ["tips.id"], name=op.f("fk_tip_reads_tip_id_tips"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "tip_id", name=op.f("pk_tip_reads")),
    )
    op.create_index(op.f("ix_tip_reads_tip_id"), "tip_reads", ["tip_id"])
    op.create_index("ix_tips_activity_seq", "tips", ["activity_seq"])
    # Keyset pages walk an index only if the tie-breaker (id) is in it.
    op.drop_index("ix_tips_desk_id_state_activity_seq", table_name="tips")
    op.create_index(
        "ix_tips_desk_id_state_activity_seq_id", "tips", ["desk_id", "state", "activity_seq", "id"]
    )
    op.create_index(
        "ix_tips_desk_id_state_status_activity_seq_id",
        "tips",
        ["desk_id", "state", "status", "activity_seq", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_tips_desk_id_state_status_activity_seq_id", table_name="tips")
    op.drop_index("ix_tips_desk_id_state_activity_seq_id", table_name="tips")
    op.create_index(
        "ix_tips_desk_id_state_activity_seq", "tips", ["desk_id", "state", "activity_seq"]
    )
    op.drop_index("ix_tips_activity_seq", table_name="tips")
    op.drop_index(op.f("ix_tip_reads_tip_id"), table_name="tip_reads")
    op.drop_table("tip_reads")
