"""Blobs as rows in the database: for several app servers without shared storage.

``blobs`` holds one head row per blob (size, state, last day changed); ``blob_chunks`` its
bytes in rows of at most 1 MiB. Each write, append, publish or chunk read is its own short
transaction on the store's engine, independent of any request's session:

- a crashed writer leaves only a ``staged`` head and its chunks, which readers never see and
  :meth:`DatabaseBlobStore.discard_staged` (or retention cleanup via ``list_staged``) removes;
- a slow download does not hold a transaction (or a pooled connection) open.

Appends are compare-and-set on the head row (``WHERE size = :offset``), which serialises
concurrent appends on SQLite and PostgreSQL alike.

Meant for PostgreSQL. On SQLite (tests) remember it is one writer at a time: a blob write
made while the request's own session holds uncommitted writes waits for that lock (up to
the busy timeout) — write blobs before flushing the rows that refer to them.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.models.blobs import Blob, BlobChunk
from app.models.enums import BlobState
from app.storage.base import (
    BlobReader,
    BlobStore,
    BlobWriter,
    StagedBlob,
    check_name,
)
from app.storage.errors import (
    BlobExists,
    BlobNotFound,
    BlobStoreUnavailable,
    StagedOffsetMismatch,
)

CHUNK_BYTES = 1024 * 1024  # the largest blob_chunks row

log = logging.getLogger("tipline.storage")


class DatabaseBlobStore(BlobStore):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- writing ---------------------------------------------------------------------------

    def writer(self, name: str, *, durable: bool = True) -> BlobWriter:
        # Every publication is its own committed transaction: durable either way.
        return _DatabaseWriter(self, check_name(name))

    def make_durable(self, names: Iterable[str]) -> None:
        # Published means committed, and so already durable: only check the names.
        wanted = {check_name(name) for name in names}
        if not wanted:
            return
        with self._engine.connect() as connection:
            found = set(
                connection.scalars(
                    select(Blob.name).where(
                        Blob.name.in_(wanted), Blob.state == BlobState.PUBLISHED
                    )
                )
            )
        if found != wanted:
            raise BlobNotFound("no such blob")

    def append_staged(self, name: str, data: bytes | bytearray, offset: int) -> int:
        check_name(name)
        if offset < 0:
            raise StagedOffsetMismatch(self.staged_size(name), offset)
        # Two rounds at most: the first may find no head row and create it.
        for _ in range(2):
            with self._engine.begin() as connection:
                if _append(connection, name, data, offset):
                    return offset + len(data)
                head = connection.execute(
                    select(Blob.state, Blob.size).where(Blob.name == name)
                ).one_or_none()
            if head is None and offset == 0:
                self._create_staged(name)  # losing a race to create it is fine
                continue
            if head is None:
                raise StagedOffsetMismatch(0, offset)
            if head.state is BlobState.PUBLISHED:
                raise BlobExists("blob already published")
            raise StagedOffsetMismatch(head.size, offset)
        raise StagedOffsetMismatch(self.staged_size(name), offset)

    def _create_staged(self, name: str) -> bool:
        """Insert an empty staged head row; False if the name already has one."""
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    insert(Blob).values(
                        name=name, size=0, state=BlobState.STAGED, updated_on=_today()
                    )
                )
        except IntegrityError:
            return False
        return True

    def staged_size(self, name: str) -> int:
        with self._engine.connect() as connection:
            size = connection.scalar(
                select(Blob.size).where(
                    Blob.name == check_name(name), Blob.state == BlobState.STAGED
                )
            )
        return size or 0

    def publish(self, name: str) -> None:
        check_name(name)
        with self._engine.begin() as connection:
            if _publish(connection, name):
                return
            state = connection.scalar(select(Blob.state).where(Blob.name == name))
        if state is BlobState.PUBLISHED:
            raise BlobExists("blob already published")
        raise BlobNotFound("nothing staged under this name")

    def discard_staged(self, name: str) -> None:
        check_name(name)
        with self._engine.begin() as connection:
            # The head row first: that waits for (and then beats) an append in flight.
            removed = connection.execute(
                delete(Blob).where(Blob.name == name, Blob.state == BlobState.STAGED)
            ).rowcount
            if removed:
                connection.execute(delete(BlobChunk).where(BlobChunk.name == name))

    def list_staged(self) -> Iterable[StagedBlob]:
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(Blob.name, Blob.updated_on).where(Blob.state == BlobState.STAGED)
            ).all()
        return [StagedBlob(name, updated_on) for name, updated_on in rows]

    # --- reading and deleting -----------------------------------------------------------------

    def open(self, name: str) -> BlobReader:
        check_name(name)
        with self._engine.connect() as connection:
            size = connection.scalar(
                select(Blob.size).where(Blob.name == name, Blob.state == BlobState.PUBLISHED)
            )
        if size is None:
            raise BlobNotFound("no such blob")
        chunks = self._chunks(name, size)
        return BlobReader(chunks, chunks.close)

    def _chunks(self, name: str, size: int) -> Generator[bytes, None, None]:
        """One short query per chunk; a blob deleted mid-read raises instead of ending early."""
        last_seq = -1
        delivered = 0
        while delivered < size:
            with self._engine.connect() as connection:
                row = connection.execute(
                    select(BlobChunk.seq, BlobChunk.data)
                    .where(BlobChunk.name == name, BlobChunk.seq > last_seq)
                    .order_by(BlobChunk.seq)
                    .limit(1)
                ).one_or_none()
            if row is None:
                raise BlobNotFound("blob was deleted while being read")
            last_seq = row.seq
            delivered += len(row.data)
            if delivered > size:
                raise BlobNotFound("blob changed while being read")
            yield bytes(row.data)

    def size(self, name: str) -> int:
        with self._engine.connect() as connection:
            size = connection.scalar(
                select(Blob.size).where(
                    Blob.name == check_name(name), Blob.state == BlobState.PUBLISHED
                )
            )
        if size is None:
            raise BlobNotFound("no such blob")
        return size

    def exists(self, name: str) -> bool:
        with self._engine.connect() as connection:
            found = connection.scalar(
                select(Blob.name).where(
                    Blob.name == check_name(name), Blob.state == BlobState.PUBLISHED
                )
            )
        return found is not None

    def delete(self, name: str) -> None:
        check_name(name)
        with self._engine.begin() as connection:
            connection.execute(delete(Blob).where(Blob.name == name))
            connection.execute(delete(BlobChunk).where(BlobChunk.name == name))

    def check(self) -> None:
        try:
            with self._engine.connect() as connection:
                connection.execute(select(Blob.name).limit(1)).all()
        except SQLAlchemyError:
            raise BlobStoreUnavailable("blob database is unavailable") from None


class _DatabaseWriter(BlobWriter):
    """Buffers up to one chunk row; each full row is appended in its own transaction."""

    def __init__(self, store: DatabaseBlobStore, name: str) -> None:
        super().__init__(name)
        self._store = store
        self._engine = store._engine
        self._buffer = bytearray()
        self._stored = 0

    def _begin(self) -> None:
        if not self._store._create_staged(self.name):
            raise BlobExists("blob already published or being written")

    def _write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= CHUNK_BYTES:
            piece = bytes(self._buffer[:CHUNK_BYTES])
            del self._buffer[:CHUNK_BYTES]
            with self._engine.begin() as connection:
                self._store_piece(connection, piece)

    def _store_piece(self, connection: Connection, piece: bytes) -> None:
        if not _append(connection, self.name, piece, self._stored):
            raise BlobNotFound("staged blob removed while being written")
        self._stored += len(piece)

    def _commit(self) -> None:
        with self._engine.begin() as connection:
            if self._buffer:
                self._store_piece(connection, bytes(self._buffer))
                self._buffer.clear()
            if not _publish(connection, self.name):
                raise BlobNotFound("staged blob removed while being written")

    def _abort(self) -> None:
        self._buffer.clear()
        try:
            self._store.discard_staged(self.name)
        except SQLAlchemyError as error:
            # Left staged: cleanup of abandoned uploads (list_staged) removes it later.
            log.warning("could not discard a failed blob write: %s", type(error).__name__)


def _append(connection: Connection, name: str, data: bytes | bytearray, offset: int) -> bool:
    """Append ``data`` to the staged blob if it is exactly ``offset`` bytes long.

    The conditional UPDATE is the lock: concurrent appends at the same offset cannot both
    match, on SQLite (one writer at a time) or PostgreSQL (row lock, then re-check).
    """
    claimed = connection.execute(
        update(Blob)
        .where(Blob.name == name, Blob.state == BlobState.STAGED, Blob.size == offset)
        .values(size=Blob.size + len(data), updated_on=_today())
    ).rowcount
    if claimed != 1:
        return False
    if not data:
        return True
    last = connection.execute(
        select(BlobChunk.seq, BlobChunk.data)
        .where(BlobChunk.name == name)
        .order_by(BlobChunk.seq.desc())
        .limit(1)
    ).one_or_none()
    next_seq = 0 if last is None else last.seq + 1
    if last is not None and len(last.data) < CHUNK_BYTES:
        # Fill the last row first: rows are then whole CHUNK_BYTES but the last, however the
        # bytes arrived (as the writer stores them), so their sizes do not tell an upload in
        # batches from a blob written in one go.
        top_up = data[: CHUNK_BYTES - len(last.data)]
        connection.execute(
            update(BlobChunk)
            .where(BlobChunk.name == name, BlobChunk.seq == last.seq)
            .values(data=bytes(last.data) + top_up)
        )
        data = data[len(top_up) :]
    for index, start in enumerate(range(0, len(data), CHUNK_BYTES)):
        connection.execute(
            insert(BlobChunk).values(
                name=name, seq=next_seq + index, data=data[start : start + CHUNK_BYTES]
            )
        )
    return True


def _publish(connection: Connection, name: str) -> bool:
    published = connection.execute(
        update(Blob)
        .where(Blob.name == name, Blob.state == BlobState.STAGED)
        .values(state=BlobState.PUBLISHED, updated_on=_today())
    ).rowcount
    return published == 1


def _today() -> date:
    return datetime.now(UTC).date()
