"""Recipient approvals: a desk member's or recovery key's keys are used only once approved.

A prosecutor added to a desk, or a recovery key added to it, becomes a recipient of the desk's
tips (new tips sealed to it, older ones re-sealed to it) only after a prosecutor of the desk
approves it in their own session, having compared its key fingerprint with the newcomer —
or, on the command line, the server's operator does (docs/THREAT_MODEL.md "Who may see
what"). Members and keys that exist already were recipients before, so they are approved as
of the day they were added.

Revision ID: 0006
Revises: 0005
Create Date: 2027-02-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    for table, added_at in (
        ("desk_memberships", "joined_at"),
        ("desk_recovery_keys", "created_at"),
    ):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("approved_at", UTC_TIMESTAMP, nullable=True))
            # Who approved (a staff user id), or NULL: the command line, or before approvals.
            batch.add_column(sa.Column("approved_by_user_id", sa.Integer(), nullable=True))
        op.execute(sa.text(f"UPDATE {table} SET approved_at = {added_at}"))  # noqa: S608 (constants)


def downgrade() -> None:
    for table in ("desk_memberships", "desk_recovery_keys"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("approved_by_user_id")
            batch.drop_column("approved_at")
