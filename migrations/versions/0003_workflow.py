"""Case workflow: staff tags, platform preservation requests, outcomes, each desk's guidance
for tipsters; on tips, the day feedback was given and the next open deadline (with the indexes
the board and the statistics page walk).

Every new row about a tip is deleted with it (ON DELETE CASCADE), so a retention purge leaves
nothing behind.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _one_of(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


TAG_KINDS = ("species_group", "commodity", "platform_type")
OUTCOME_KINDS = ("seizure", "arrest", "prosecution", "conviction", "penalty", "forfeiture")
AWAITING_FEEDBACK = ("acknowledged", "triaged", "investigating", "referred")


def _tip_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tip_id"], ["tips.id"], name=op.f(f"fk_{table}_tip_id_tips"), ondelete="CASCADE"
    )


def _staff_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["staff_users.id"], name=op.f(f"fk_{table}_{column}_staff_users")
    )


def upgrade() -> None:
    op.add_column("tips", sa.Column("feedback_given_on", sa.Date(), nullable=True))
    op.add_column("tips", sa.Column("next_due_on", sa.Date(), nullable=True))
    # Built from this file's constants only.
    op.execute(
        "UPDATE tips SET next_due_on = CASE "  # noqa: S608
        "WHEN status = 'received' THEN ack_due_on "
        f"WHEN {_one_of('status', *AWAITING_FEEDBACK)} THEN feedback_due_on END "
        "WHERE state = 'submitted'"
    )
    op.create_index(
        op.f("ix_tips_desk_id_state_next_due_on_id"),
        "tips",
        ["desk_id", "state", "next_due_on", "id"],
    )
    op.create_index(op.f("ix_tips_desk_id_received_on"), "tips", ["desk_id", "received_on"])

    op.create_table(
        "tip_tags",
        sa.Column("tip_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.CheckConstraint(_one_of("kind", *TAG_KINDS), name=op.f("ck_tip_tags_kind_allowed")),
        _tip_fk("tip_tags"),
        sa.PrimaryKeyConstraint("tip_id", "kind", "value", name=op.f("pk_tip_tags")),
    )
    op.create_table(
        "preservation_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tip_id", sa.String(length=36), nullable=False),
        sa.Column("platform", sa.String(length=200), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("extended_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "extended_on IS NULL OR extended_on >= sent_on",
            name=op.f("ck_preservation_requests_extended_after_sent"),
        ),
        sa.CheckConstraint(
            "expires_on > sent_on", name=op.f("ck_preservation_requests_expires_after_sent")
        ),
        _tip_fk("preservation_requests"),
        _staff_fk("preservation_requests", "created_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preservation_requests")),
    )
    op.create_index(op.f("ix_preservation_requests_tip_id"), "preservation_requests", ["tip_id"])
    op.create_index(
        op.f("ix_preservation_requests_expires_on"), "preservation_requests", ["expires_on"]
    )

    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tip_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("reference_number", sa.String(length=64), server_default="", nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(_one_of("kind", *OUTCOME_KINDS), name=op.f("ck_outcomes_kind_allowed")),
        sa.CheckConstraint(
            "amount IS NULL OR amount >= 0", name=op.f("ck_outcomes_amount_not_negative")
        ),
        sa.CheckConstraint(
            "(amount IS NULL) = (currency IS NULL)", name=op.f("ck_outcomes_amount_has_currency")
        ),
        sa.CheckConstraint(
            "currency IS NULL OR (length(currency) = 3 AND currency = upper(currency))",
            name=op.f("ck_outcomes_currency_iso4217"),
        ),
        _tip_fk("outcomes"),
        _staff_fk("outcomes", "recorded_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes")),
    )
    op.create_index(op.f("ix_outcomes_tip_id"), "outcomes", ["tip_id"])
    op.create_index(op.f("ix_outcomes_kind"), "outcomes", ["kind"])

    op.create_table(
        "desk_guidance",
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"],
            ["desks.id"],
            name=op.f("fk_desk_guidance_desk_id_desks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("desk_id", "language", name=op.f("pk_desk_guidance")),
    )


def downgrade() -> None:
    for table in ("desk_guidance", "outcomes", "preservation_requests", "tip_tags"):
        op.drop_table(table)
    op.drop_index(op.f("ix_tips_desk_id_received_on"), table_name="tips")
    op.drop_index(op.f("ix_tips_desk_id_state_next_due_on_id"), table_name="tips")
    with op.batch_alter_table("tips") as batch:
        batch.drop_column("next_due_on")
        batch.drop_column("feedback_given_on")
