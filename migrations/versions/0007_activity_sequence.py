"""The activity order is a sequence: no two submitted tips share an ``activity_seq``.

``max(activity_seq) + 1`` gave concurrent changes the same number. Numbers now come from a
sequence (``tips_activity_seq`` on PostgreSQL; on SQLite, which has none, the one-row
``activity_counter``), and a partial unique index over submitted tips (drafts all stand at 0)
keeps them apart. Tips that already share a number are spread apart first, without changing
the order or what anyone has read: with K the most tips sharing one number, every submitted
tip's number becomes ``number * K + its rank among those sharing it`` (by id), and every
``tip_reads.read_seq`` becomes ``read_seq * K + K - 1``, so "read at or after" holds exactly as
before. Without duplicates K is 1 and nothing changes. Plain SQL throughout, so the offline
mode prints it for a DBA.

Revision ID: 0007
Revises: 0006
Create Date: 2027-02-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_tips_unique_submitted_activity_seq"
SUBMITTED = "state = 'submitted'"
# K: the most submitted tips that share one number (1 when none do).
SPREAD_READS = """
UPDATE tip_reads SET read_seq = read_seq * k.spread + k.spread - 1
FROM (SELECT COALESCE(MAX(sharing), 1) AS spread FROM (
    SELECT count(*) AS sharing FROM tips WHERE state = 'submitted' GROUP BY activity_seq
) AS shared) AS k
"""
NEW_NUMBERS = """
CREATE TABLE activity_renumbered AS SELECT id, new_seq FROM (
    SELECT tips.id, tips.activity_seq, tips.activity_seq * k.spread
        + row_number() OVER (PARTITION BY tips.activity_seq ORDER BY tips.id) - 1 AS new_seq
    FROM tips, (SELECT COALESCE(MAX(sharing), 1) AS spread FROM (
        SELECT count(*) AS sharing FROM tips WHERE state = 'submitted' GROUP BY activity_seq
    ) AS shared) AS k
    WHERE tips.state = 'submitted'
) AS ranked WHERE new_seq <> activity_seq
"""
SPREAD_TIPS = """
UPDATE tips SET activity_seq = (
    SELECT new_seq FROM activity_renumbered WHERE activity_renumbered.id = tips.id
) WHERE id IN (SELECT id FROM activity_renumbered)
"""
START_SEQUENCE = """
SELECT setval('tips_activity_seq', COALESCE((SELECT MAX(activity_seq) FROM tips), 0) + 1, false)
"""


def _spread_shared_numbers() -> None:
    # The new numbers first, from the old ones; then the reads (K is still measurable), then
    # the tips.
    op.execute(NEW_NUMBERS)
    op.execute(SPREAD_READS)
    op.execute(SPREAD_TIPS)
    op.execute("DROP TABLE activity_renumbered")


def upgrade() -> None:
    _spread_shared_numbers()
    op.create_index(
        INDEX,
        "tips",
        ["activity_seq"],
        unique=True,
        sqlite_where=sa.text(SUBMITTED),
        postgresql_where=sa.text(SUBMITTED),
    )
    op.create_table(
        "activity_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_activity_counter_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_counter")),
    )
    op.execute(
        "INSERT INTO activity_counter (id, last_value)"
        " SELECT 1, COALESCE(MAX(activity_seq), 0) FROM tips"
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE tips_activity_seq AS bigint")
        op.execute(START_SEQUENCE)


def downgrade() -> None:
    # Numbers spread apart stay so: they are in the same order, which is all 0006 needs.
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE tips_activity_seq")
    op.drop_table("activity_counter")
    op.drop_index(INDEX, table_name="tips")
