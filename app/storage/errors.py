"""Blob store errors. Messages never carry paths, URLs or content: they may reach /healthz."""

from __future__ import annotations


class BlobStoreError(Exception):
    """Base of every blob store error."""


class InvalidBlobName(BlobStoreError, ValueError):
    """The name is not a canonical (lower-case) UUID string."""


class BlobNotFound(BlobStoreError):
    """No published blob has this name (or it vanished while being read)."""


class BlobExists(BlobStoreError):
    """A blob with this name is already published or being written; names are never reused."""


class StagedOffsetMismatch(BlobStoreError):
    """An append did not start where the staged data ends; ``staged_size`` says where it does."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"staged data ends at byte {expected}, append offered offset {got}")
        self.expected = expected
        self.got = got


class BlobStoreUnavailable(BlobStoreError):
    """The store cannot be used right now (health check)."""
