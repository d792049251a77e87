"""The blob store contract: ciphertext by object id, visible all at once or not at all.

Two ways in:

- :meth:`BlobStore.writer` for a blob written in one go (the no-JavaScript intake, replies),
  durable when the block ends, or with ``durable=False`` made durable later, together with the
  other blobs of the same submission, by :meth:`BlobStore.make_durable`;
- :meth:`BlobStore.append_staged` … :meth:`BlobStore.publish` for a resumable upload spread
  over many requests (the JavaScript intake), with :meth:`BlobStore.list_staged` and
  :meth:`BlobStore.discard_staged` to clean up abandoned drafts.

Readers only ever see published blobs. Times kept by a store are days (DESIGN §2.3).

Durability: a blob is safe from a crash once :meth:`BlobWriter.__exit__` (or
:meth:`BlobStore.publish`, or :meth:`BlobStore.make_durable` for a deferred writer) has
returned. Until then a crash may lose it, or leave its name behind with only part of its
bytes: nothing may refer to a blob (a committed row) before that point, which is also why
such a remnant is never read (and would fail authentication if it were).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from types import TracebackType
from typing import NamedTuple, Self

from app.storage.errors import InvalidBlobName

READ_CHUNK_BYTES = 1024 * 1024  # the most a reader yields at once
_NAME = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def check_name(name: object) -> str:
    """``name`` if it is a canonical UUID string (which can never traverse a path).

    :raises InvalidBlobName: anything else.
    """
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise InvalidBlobName("blob names are canonical lower-case UUID strings")
    return name


class StagedBlob(NamedTuple):
    """A resumable upload not yet published, and the day it last grew."""

    name: str
    modified_on: date


class BlobReader(Iterator[bytes]):
    """A published blob's bytes in chunks of at most 1 MiB; close it if you stop early.

    Iterating to the end closes it, and so does leaving a ``with`` block.
    """

    def __init__(self, chunks: Iterator[bytes], release: Callable[[], None]) -> None:
        self._chunks = chunks
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> bytes:
        if self._release is None:
            raise StopIteration
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _exc_type: type[BaseException] | None,
        _exc: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


class BlobWriter(ABC):
    """Writes one new blob; use as a context manager.

    Leaving the block normally publishes the blob atomically. Leaving it with an exception
    removes everything written, so nothing is ever visible half-written.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.bytes_written = 0
        self._open = False

    def __enter__(self) -> Self:
        """:raises BlobExists: the name is published or being written already."""
        self._begin()
        self._open = True
        return self

    def write(self, data: bytes) -> None:
        if not self._open:
            raise RuntimeError("use the writer as a context manager: with store.writer(name)")
        if data:
            self._write(data)
            self.bytes_written += len(data)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        _exc: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._open = False
        if exc_type is not None:
            self._abort()
            return
        try:
            self._commit()
        except BaseException:
            self._abort()
            raise

    @abstractmethod
    def _begin(self) -> None: ...

    @abstractmethod
    def _write(self, data: bytes) -> None: ...

    @abstractmethod
    def _commit(self) -> None:
        """Make the blob visible atomically. :raises BlobExists: someone published it first."""

    @abstractmethod
    def _abort(self) -> None:
        """Remove everything written; must not raise for a half-begun write."""


class BlobStore(ABC):
    """Ciphertext blobs named by object id (a canonical UUID string).

    Every method validates the name first (:raises InvalidBlobName:).
    """

    #: Whether a writer's ``write`` may be called from a helper thread (one at a time, in
    #: order) while the thread that opened it encrypts the next piece.
    writes_off_thread = False

    # --- writing in one go ------------------------------------------------------------------

    @abstractmethod
    def writer(self, name: str, *, durable: bool = True) -> BlobWriter:
        """A writer for a new blob: ``with store.writer(name) as blob: blob.write(chunk)``.

        Memory use is bounded by the chunks the caller passes. With ``durable=False`` the blob
        is published when the block ends but is safe from a crash only once
        :meth:`make_durable` has returned for it: a caller writing several blobs before
        referring to any makes them durable together, in one round of syncs.
        :raises BlobExists: (on entering the block) the name is taken.
        """

    @abstractmethod
    def make_durable(self, names: Iterable[str]) -> None:
        """Make published blobs safe from a crash, all of them together (idempotent).

        :raises BlobNotFound: a name is not published.
        """

    # --- resumable staging --------------------------------------------------------------------

    @abstractmethod
    def append_staged(self, name: str, data: bytes | bytearray, offset: int) -> int:
        """Append ``data`` to the staged blob at exactly ``offset``; returns the new size.

        An append lands whole or not at all (barring a crash, which can only leave a prefix
        of it; :meth:`staged_size` then tells the client where to resume).
        :raises StagedOffsetMismatch: ``offset`` is not the current staged size.
        :raises BlobExists: the name is already published.
        """

    def append_staged_pieces(
        self,
        name: str,
        pieces: Iterable[bytes | memoryview],
        offset: int,
        *,
        resume_point: Callable[[int], int] | None = None,
    ) -> int:
        """Append the bytes of ``pieces`` to the staged blob at exactly ``offset``, as they
        come (a request body being received); returns the new size.

        A piece may be a view of a buffer that the next piece reuses: it is used before
        the next one is asked for. If ``pieces`` raises (the client went away, the body was
        short), the exception propagates and what was stored of this append is removed,
        except that a backend writing pieces as they arrive may keep (durably) the bytes
        up to ``resume_point(end)``, a position between ``offset`` and the ``end`` reached,
        so that the client resumes from there rather than from ``offset``. This default
        gathers the pieces and makes one :meth:`append_staged`, which lands whole or not at
        all; memory use is that of the pieces.

        :raises StagedOffsetMismatch: ``offset`` is not the current staged size.
        :raises BlobExists: the name is already published.
        """
        gathered = bytearray()
        for piece in pieces:
            gathered += piece
        return self.append_staged(name, gathered, offset)

    @abstractmethod
    def staged_size(self, name: str) -> int:
        """Bytes staged so far under ``name``; 0 if nothing is staged."""

    @abstractmethod
    def publish(self, name: str) -> None:
        """Make the staged blob visible, atomically.

        :raises BlobNotFound: nothing is staged under ``name``.
        :raises BlobExists: the name is already published.
        """

    @abstractmethod
    def discard_staged(self, name: str) -> None:
        """Remove staged data under ``name``, if any (idempotent; published blobs stay)."""

    @abstractmethod
    def list_staged(self) -> Iterable[StagedBlob]:
        """Every staged blob with the day it last changed (cleanup of abandoned drafts)."""

    # --- reading and deleting -------------------------------------------------------------

    @abstractmethod
    def open(self, name: str) -> BlobReader:
        """The published blob's bytes, in chunks of at most 1 MiB.

        :raises BlobNotFound: not published (at call time; or, if deleted while being read,
            from the iteration, so a reader never mistakes a truncated blob for a whole one).
        """

    @abstractmethod
    def size(self, name: str) -> int:
        """:raises BlobNotFound: not published."""

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether a published blob has this name."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove the blob (published or staged) if present; idempotent."""

    @abstractmethod
    def check(self) -> None:
        """Probe that the store is reachable and usable (for /healthz).

        :raises BlobStoreUnavailable: with a message safe to show (no paths, no URLs).
        """
