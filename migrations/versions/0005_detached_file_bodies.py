"""Detached file bodies: an object row may be of kind ``body``.

The no-JavaScript intake learns a file's size and SHA-256 only after its last byte, while a
``file`` object's metadata comes before its body. Rather than holding the whole upload in
an encrypted scratch spool and encrypting it a second time, the server now writes the body
as its own ``body`` object while it arrives, then a small ``file`` object naming it
(docs/PROTOCOL.md, "Detached bodies"). The CHECK constraint on ``objects.kind`` gains the
new value; nothing else changes and existing rows stay valid.

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "ck_objects_kind_allowed"
BEFORE = "kind IN ('report', 'message', 'file', 'note')"
AFTER = "kind IN ('report', 'message', 'file', 'note', 'body')"


def _objects_table(kind_condition: str) -> list[sa.SchemaItem]:
    """The columns and constraints of ``objects`` as 0001 made them, in the same order."""
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tip_id", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("author", sa.String(length=32), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ciphertext_size", sa.BigInteger(), nullable=False),
        sa.Column("complete", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "scope IN ('thread', 'internal')", name=op.f("ck_objects_scope_allowed")
        ),
        sa.CheckConstraint(kind_condition, name=op.f(CONSTRAINT)),
        sa.CheckConstraint(
            "author IN ('tipster', 'staff')", name=op.f("ck_objects_author_allowed")
        ),
        sa.CheckConstraint("length(id) = 36", name=op.f("ck_objects_id_length")),
        sa.CheckConstraint(
            "(author = 'staff') = (author_user_id IS NOT NULL)",
            name=op.f("ck_objects_staff_author_named"),
        ),
        sa.CheckConstraint(
            "author = 'staff' OR scope = 'thread'", name=op.f("ck_objects_tipster_writes_thread")
        ),
        sa.CheckConstraint(
            "ciphertext_size >= 0 AND seq >= 0", name=op.f("ck_objects_size_and_seq_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["tip_id"], ["tips.id"], name=op.f("fk_objects_tip_id_tips"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["staff_users.id"],
            name=op.f("fk_objects_author_user_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objects")),
        sa.UniqueConstraint("tip_id", "seq", name=op.f("uq_objects_tip_id_seq")),
    ]


def _replace_kind_check(condition: str) -> None:
    if op.get_context().dialect.name != "sqlite":
        op.drop_constraint(op.f(CONSTRAINT), "objects", type_="check")
        op.create_check_constraint(op.f(CONSTRAINT), "objects", condition)
        return
    # SQLite cannot alter a constraint, so the table is copied. Not with batch mode: it
    # re-creates constraints in set order, which changes which constraint SQLite names
    # first when a row breaks two. No table refers to ``objects``, so none is touched.
    op.create_table("objects_0005", *_objects_table(condition))
    op.execute("INSERT INTO objects_0005 SELECT * FROM objects")
    op.drop_table("objects")
    op.rename_table("objects_0005", "objects")


def upgrade() -> None:
    _replace_kind_check(AFTER)


def downgrade() -> None:
    bodies = op.get_bind().execute(sa.text("SELECT count(*) FROM objects WHERE kind = 'body'"))
    if bodies.scalar_one():
        # Their files would point at nothing: refuse rather than lose evidence.
        raise RuntimeError("Tips hold detached file bodies; 0004 cannot represent them.")
    _replace_kind_check(BEFORE)
