"""Initial schema: desks, staff and their keys, tips with sealed keys and encrypted objects,
the audit log, server-side sessions, and the database blob backend's tables.

What the schema promises (DESIGN §2):
- only ciphertext, digests and public keys are stored for a tip; its cleartext is the desk,
  staff workflow metadata and dates;
- every date about something a tipster did is a DATE (day granularity), never a timestamp;
- value sets (statuses, scopes, roles...) are short strings guarded by named CHECK
  constraints rather than native enums, so adding a value is a plain constraint swap;
- fixed-size binary columns (digests, keys, sealed keys) have their length checked.

Constraint and index names follow ``app.models.base.NAMING_CONVENTION``.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True)


def _one_of(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


SCOPES = ("thread", "internal")


def upgrade() -> None:
    # --- Desks: who receives tips, and where tipsters find them -------------------------------
    op.create_table(
        "desks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_triage", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("auto_acknowledge", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("retention_days", sa.Integer(), server_default=sa.text("365"), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "slug = lower(slug) AND length(slug) > 0", name=op.f("ck_desks_slug_lowercase")
        ),
        sa.CheckConstraint("retention_days > 0", name=op.f("ck_desks_retention_days_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desks")),
        sa.UniqueConstraint("slug", name=op.f("uq_desks_slug")),
    )
    # At most one triage desk: a unique index over the rows where is_triage is true.
    op.create_index(
        "ix_desks_single_triage",
        "desks",
        ["is_triage"],
        unique=True,
        sqlite_where=sa.text("is_triage"),
        postgresql_where=sa.text("is_triage"),
    )

    op.create_table(
        "desk_jurisdictions",
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.CheckConstraint(
            "length(country_code) = 2 AND country_code = upper(country_code)",
            name=op.f("ck_desk_jurisdictions_country_code_alpha2"),
        ),
        sa.ForeignKeyConstraint(
            ["desk_id"],
            ["desks.id"],
            name=op.f("fk_desk_jurisdictions_desk_id_desks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("desk_id", "country_code", name=op.f("pk_desk_jurisdictions")),
    )
    op.create_index(
        op.f("ix_desk_jurisdictions_country_code"), "desk_jurisdictions", ["country_code"]
    )

    op.create_table(
        "desk_status_texts",
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.CheckConstraint(
            _one_of("status", "received", "acknowledged", "in_review", "action_taken", "closed"),
            name=op.f("ck_desk_status_texts_status_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["desk_id"],
            ["desks.id"],
            name=op.f("fk_desk_status_texts_desk_id_desks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("desk_id", "status", "language", name=op.f("pk_desk_status_texts")),
    )

    op.create_table(
        "desk_recovery_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.CheckConstraint("length(key_id) = 32", name=op.f("ck_desk_recovery_keys_key_id_length")),
        sa.CheckConstraint(
            "length(public_key) = 32", name=op.f("ck_desk_recovery_keys_public_key_length")
        ),
        sa.ForeignKeyConstraint(
            ["desk_id"],
            ["desks.id"],
            name=op.f("fk_desk_recovery_keys_desk_id_desks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_recovery_keys")),
        sa.UniqueConstraint("desk_id", "key_id", name=op.f("uq_desk_recovery_keys_desk_id_key_id")),
    )

    # --- Staff: accounts (never deleted, only disabled) and wrapped key pairs ----------------
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("last_totp_step", sa.BigInteger(), nullable=True),
        sa.Column("failed_login_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_until", UTC_TIMESTAMP, nullable=True),
        sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("invitation_digest", sa.LargeBinary(length=32), nullable=True),
        sa.Column("invitation_expires_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("password_changed_at", UTC_TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            _one_of("role", "admin", "prosecutor", "officer"),
            name=op.f("ck_staff_users_role_allowed"),
        ),
        sa.CheckConstraint(
            "failed_login_count >= 0", name=op.f("ck_staff_users_failed_login_count_not_negative")
        ),
        sa.CheckConstraint(
            "length(invitation_digest) = 32", name=op.f("ck_staff_users_invitation_digest_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
        sa.UniqueConstraint("invitation_digest", name=op.f("uq_staff_users_invitation_digest")),
    )

    op.create_table(
        "staff_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        # nonce(24) || SecretBox(wrap_key).encrypt(secret key): 24 + 16 + 32 bytes.
        sa.Column("wrapped_secret_key", sa.LargeBinary(length=72), nullable=False),
        sa.Column("kdf_salt", sa.LargeBinary(length=16), nullable=False),
        sa.Column("kdf_opslimit", sa.Integer(), nullable=False),
        sa.Column("kdf_memlimit", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.CheckConstraint("length(key_id) = 32", name=op.f("ck_staff_keys_key_id_length")),
        sa.CheckConstraint("length(public_key) = 32", name=op.f("ck_staff_keys_public_key_length")),
        sa.CheckConstraint(
            "length(wrapped_secret_key) = 72", name=op.f("ck_staff_keys_wrapped_secret_key_length")
        ),
        sa.CheckConstraint("length(kdf_salt) = 16", name=op.f("ck_staff_keys_kdf_salt_length")),
        sa.CheckConstraint(
            "kdf_opslimit > 0 AND kdf_memlimit > 0", name=op.f("ck_staff_keys_kdf_limits_positive")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_staff_keys_user_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_keys")),
        sa.UniqueConstraint("user_id", name=op.f("uq_staff_keys_user_id")),
        sa.UniqueConstraint("key_id", name=op.f("uq_staff_keys_key_id")),
    )

    op.create_table(
        "desk_memberships",
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("needs_key_grant", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"],
            ["desks.id"],
            name=op.f("fk_desk_memberships_desk_id_desks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name=op.f("fk_desk_memberships_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("desk_id", "user_id", name=op.f("pk_desk_memberships")),
    )
    op.create_index(op.f("ix_desk_memberships_user_id"), "desk_memberships", ["user_id"])

    # --- Tips: cleartext is only the desk, workflow metadata and days ------------------------
    op.create_table(
        "tips",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), server_default="draft", nullable=False),
        sa.Column("lookup_digest", sa.LargeBinary(length=32), nullable=True),
        sa.Column("tip_salt", sa.LargeBinary(length=16), nullable=False),
        sa.Column("tipster_public_key", sa.LargeBinary(length=32), nullable=True),
        sa.Column("thread_commitment", sa.LargeBinary(length=32), nullable=False),
        sa.Column("internal_commitment", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), server_default="received", nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("priority", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("feedback_extended_reason", sa.Text(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("acknowledged_on", sa.Date(), nullable=True),
        sa.Column("ack_due_on", sa.Date(), nullable=True),
        sa.Column("feedback_due_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("last_activity_on", sa.Date(), nullable=False),
        sa.Column("activity_seq", sa.BigInteger(), nullable=False),
        sa.Column("draft_expires_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            _one_of("state", "draft", "submitted"), name=op.f("ck_tips_state_allowed")
        ),
        sa.CheckConstraint(
            _one_of(
                "status",
                "received",
                "acknowledged",
                "triaged",
                "investigating",
                "referred",
                "feedback_given",
                "closed",
            ),
            name=op.f("ck_tips_status_allowed"),
        ),
        sa.CheckConstraint("length(id) = 36", name=op.f("ck_tips_id_length")),
        sa.CheckConstraint("length(lookup_digest) = 32", name=op.f("ck_tips_lookup_digest_length")),
        sa.CheckConstraint("length(tip_salt) = 16", name=op.f("ck_tips_tip_salt_length")),
        sa.CheckConstraint(
            "length(tipster_public_key) = 32", name=op.f("ck_tips_tipster_public_key_length")
        ),
        sa.CheckConstraint(
            "length(thread_commitment) = 32", name=op.f("ck_tips_thread_commitment_length")
        ),
        sa.CheckConstraint(
            "length(internal_commitment) = 32", name=op.f("ck_tips_internal_commitment_length")
        ),
        # Burning the code clears the lookup digest and the tipster key together.
        sa.CheckConstraint(
            "(lookup_digest IS NULL) = (tipster_public_key IS NULL)",
            name=op.f("ck_tips_code_burnt_whole"),
        ),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desks.id"], name=op.f("fk_tips_desk_id_desks"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["staff_users.id"], name=op.f("fk_tips_assignee_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tips")),
        sa.UniqueConstraint("lookup_digest", name=op.f("uq_tips_lookup_digest")),
    )
    op.create_index(
        op.f("ix_tips_desk_id_state_activity_seq"), "tips", ["desk_id", "state", "activity_seq"]
    )
    op.create_index(op.f("ix_tips_status"), "tips", ["status"])
    op.create_index(op.f("ix_tips_assignee_id"), "tips", ["assignee_id"])
    op.create_index(op.f("ix_tips_ack_due_on"), "tips", ["ack_due_on"])
    op.create_index(op.f("ix_tips_feedback_due_on"), "tips", ["feedback_due_on"])

    op.create_table(
        "sealed_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tip_id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        # crypto_box_seal(data_key(32) || tip_id(16)): 48 bytes of overhead + 48.
        sa.Column("sealed", sa.LargeBinary(length=96), nullable=False),
        sa.CheckConstraint(_one_of("scope", *SCOPES), name=op.f("ck_sealed_keys_scope_allowed")),
        sa.CheckConstraint("length(key_id) = 32", name=op.f("ck_sealed_keys_key_id_length")),
        sa.CheckConstraint("length(sealed) = 96", name=op.f("ck_sealed_keys_sealed_length")),
        sa.ForeignKeyConstraint(
            ["tip_id"], ["tips.id"], name=op.f("fk_sealed_keys_tip_id_tips"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sealed_keys")),
        sa.UniqueConstraint(
            "tip_id", "key_id", "scope", name=op.f("uq_sealed_keys_tip_id_key_id_scope")
        ),
    )
    op.create_index(op.f("ix_sealed_keys_key_id"), "sealed_keys", ["key_id"])

    op.create_table(
        "objects",
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
        sa.CheckConstraint(_one_of("scope", *SCOPES), name=op.f("ck_objects_scope_allowed")),
        sa.CheckConstraint(
            _one_of("kind", "report", "message", "file", "note"),
            name=op.f("ck_objects_kind_allowed"),
        ),
        sa.CheckConstraint(
            _one_of("author", "tipster", "staff"), name=op.f("ck_objects_author_allowed")
        ),
        sa.CheckConstraint("length(id) = 36", name=op.f("ck_objects_id_length")),
        sa.CheckConstraint(
            "(author = 'staff') = (author_user_id IS NOT NULL)",
            name=op.f("ck_objects_staff_author_named"),
        ),
        # The tipster never holds the internal key.
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
    )

    # --- Audit log: tip_id is not a foreign key, so a purged tip's history survives ----------
    op.create_table(
        "audit_events",
        # BIGINT on PostgreSQL; SQLite autoincrements only INTEGER PRIMARY KEY (64-bit anyway).
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("occurred_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("tip_id", sa.String(length=36), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("event_hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("length(prev_hash) = 32", name=op.f("ck_audit_events_prev_hash_length")),
        sa.CheckConstraint(
            "length(event_hash) = 32", name=op.f("ck_audit_events_event_hash_length")
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["staff_users.id"],
            name=op.f("fk_audit_events_actor_user_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("event_hash", name=op.f("uq_audit_events_event_hash")),
    )
    op.create_index(op.f("ix_audit_events_tip_id"), "audit_events", ["tip_id"])

    # --- Sessions: only digests of the cookies' session ids ----------------------------------
    op.create_table(
        "staff_sessions",
        sa.Column("session_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_custody_blob", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "length(session_digest) = 32", name=op.f("ck_staff_sessions_session_digest_length")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_staff_sessions_user_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("session_digest", name=op.f("pk_staff_sessions")),
    )
    op.create_index(op.f("ix_staff_sessions_user_id"), "staff_sessions", ["user_id"])
    op.create_index(op.f("ix_staff_sessions_expires_at"), "staff_sessions", ["expires_at"])

    op.create_table(
        "tipster_sessions",
        sa.Column("session_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("tip_id", sa.String(length=36), nullable=False),
        # The tipster's box secret key, encrypted under a session key only the cookie holds
        # (the code-derived key costs an Argon2 run; this avoids one per request).
        sa.Column("key_custody_blob", sa.LargeBinary(), nullable=False),
        # A session expiry kept to the minute (the model's column type drops the seconds).
        sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "length(session_digest) = 32", name=op.f("ck_tipster_sessions_session_digest_length")
        ),
        sa.ForeignKeyConstraint(
            ["tip_id"],
            ["tips.id"],
            name=op.f("fk_tipster_sessions_tip_id_tips"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_digest", name=op.f("pk_tipster_sessions")),
    )
    op.create_index(op.f("ix_tipster_sessions_tip_id"), "tipster_sessions", ["tip_id"])
    op.create_index(op.f("ix_tipster_sessions_expires_at"), "tipster_sessions", ["expires_at"])

    # --- Database blob backend (TIPLINE_BLOB_STORE=database) ---------------------------------
    op.create_table(
        "blobs",
        sa.Column("name", sa.String(length=36), nullable=False),
        sa.Column("size", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("updated_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            _one_of("state", "staged", "published"), name=op.f("ck_blobs_state_allowed")
        ),
        sa.CheckConstraint("size >= 0", name=op.f("ck_blobs_size_not_negative")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_blobs")),
    )
    op.create_index(op.f("ix_blobs_state"), "blobs", ["state"])

    op.create_table(
        "blob_chunks",
        sa.Column("name", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["name"], ["blobs.name"], name=op.f("fk_blob_chunks_name_blobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("name", "seq", name=op.f("pk_blob_chunks")),
    )
    if op.get_context().dialect.name == "postgresql":
        # Ciphertext does not compress: store chunks out of line without trying to.
        op.execute("ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    # Children before parents; indexes go with their tables.
    for table in (
        "blob_chunks",
        "blobs",
        "tipster_sessions",
        "staff_sessions",
        "audit_events",
        "objects",
        "sealed_keys",
        "tips",
        "desk_memberships",
        "staff_keys",
        "staff_users",
        "desk_recovery_keys",
        "desk_status_texts",
        "desk_jurisdictions",
        "desks",
    ):
        op.drop_table(table)
