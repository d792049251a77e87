"""Tables of the database blob backend (app.storage.database); nothing else uses them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.models.enums import BlobState
from app.models.types import EnumText, allowed_values


class Blob(Base):
    """A blob's head row: readers only ever see ``published`` blobs."""

    __tablename__ = "blobs"
    __table_args__ = (
        allowed_values("state", BlobState),
        CheckConstraint("size >= 0", name="size_not_negative"),
    )

    name: Mapped[str] = mapped_column(String(36), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    state: Mapped[BlobState] = mapped_column(EnumText(BlobState), index=True)
    updated_on: Mapped[date]  # a day: uploads are tipster activity (DESIGN §2.3)


class BlobChunk(Base):
    """Up to 1 MiB of a blob's bytes; ``seq`` orders the chunks."""

    __tablename__ = "blob_chunks"

    name: Mapped[str] = mapped_column(
        ForeignKey("blobs.name", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
