"""Staff accounts and the wrapped key pair of each prosecutor."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, LargeBinary, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base
from app.models.enums import StaffRole
from app.models.types import EnumText, allowed_values, byte_length

if TYPE_CHECKING:
    from app.models.desks import DeskMembership

WRAPPED_SECRET_KEY_BYTES = 24 + 16 + 32  # nonce || SecretBox(MAC || X25519 secret key)


class StaffUser(Base):
    """A staff account; never deleted (audit events keep pointing at it), only disabled."""

    __tablename__ = "staff_users"
    __table_args__ = (
        allowed_values("role", StaffRole),
        CheckConstraint("failed_login_count >= 0", name="failed_login_count_not_negative"),
        byte_length("invitation_digest", 32),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[StaffRole] = mapped_column(EnumText(StaffRole))
    # argon2-cffi encoded hash; NULL until the invitation is accepted.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # The last TOTP time step accepted: a code is never accepted twice.
    last_totp_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_login_count: Mapped[int] = mapped_column(server_default=text("0"))
    locked_until: Mapped[datetime | None]
    disabled: Mapped[bool] = mapped_column(server_default=false())
    # Digest of the one-time invitation token; the token itself is only in the invitation.
    invitation_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    invitation_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime | None]

    key: Mapped[StaffKey | None] = relationship(back_populates="user")
    memberships: Mapped[list[DeskMembership]] = relationship(back_populates="user")

    def __repr__(self) -> str:
        return f"<StaffUser {self.id} {self.username!r} {self.role}>"


class StaffKey(Base):
    """A prosecutor's X25519 key pair; the secret key is stored only wrapped (DESIGN §4)."""

    __tablename__ = "staff_keys"
    __table_args__ = (
        CheckConstraint("length(key_id) = 32", name="key_id_length"),
        byte_length("public_key", 32),
        byte_length("wrapped_secret_key", WRAPPED_SECRET_KEY_BYTES),
        byte_length("kdf_salt", 16),
        CheckConstraint("kdf_opslimit > 0 AND kdf_memlimit > 0", name="kdf_limits_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), unique=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)  # hex(BLAKE2b-128(public_key))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    wrapped_secret_key: Mapped[bytes] = mapped_column(LargeBinary(WRAPPED_SECRET_KEY_BYTES))
    kdf_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    kdf_opslimit: Mapped[int]
    kdf_memlimit: Mapped[int] = mapped_column(BigInteger)  # bytes, as libsodium counts
    created_at: Mapped[datetime]

    user: Mapped[StaffUser] = relationship(back_populates="key")
