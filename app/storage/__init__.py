"""Where ciphertext lives: a local directory (default) or the database (multi-node).

Services depend on :class:`BlobStore` only; :func:`make_blob_store` picks the backend from
``TIPLINE_BLOB_STORE``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from app.instance import BLOB_DIR
from app.storage.base import (
    READ_CHUNK_BYTES,
    BlobReader,
    BlobStore,
    BlobWriter,
    StagedBlob,
    check_name,
)
from app.storage.database import DatabaseBlobStore
from app.storage.errors import (
    BlobExists,
    BlobNotFound,
    BlobStoreError,
    BlobStoreUnavailable,
    InvalidBlobName,
    StagedOffsetMismatch,
)
from app.storage.files import FileBlobStore

__all__ = [
    "READ_CHUNK_BYTES",
    "BlobExists",
    "BlobNotFound",
    "BlobReader",
    "BlobStore",
    "BlobStoreError",
    "BlobStoreUnavailable",
    "BlobWriter",
    "DatabaseBlobStore",
    "FileBlobStore",
    "InvalidBlobName",
    "StagedBlob",
    "StagedOffsetMismatch",
    "check_name",
    "make_blob_store",
]


def make_blob_store(kind: str, *, data_dir: Path, engine: Engine) -> BlobStore:
    """``"file"``: ``<data_dir>/blobs``; ``"database"``: the tables behind ``engine``.

    :raises ValueError: unknown ``kind``.
    :raises OSError: the blob directory cannot be created.
    """
    if kind == "file":
        return FileBlobStore(data_dir / BLOB_DIR)
    if kind == "database":
        return DatabaseBlobStore(engine)
    raise ValueError(f"unknown blob store {kind!r}; expected 'file' or 'database'")
