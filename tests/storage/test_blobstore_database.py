"""The database backend: chunk rows, staged rows invisible to readers, fail-closed reads."""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from app.db import make_engine
from app.models import Blob, BlobChunk, BlobState
from app.storage import (
    BlobNotFound,
    BlobStoreUnavailable,
    DatabaseBlobStore,
    make_blob_store,
)
from app.storage.database import CHUNK_BYTES

MiB = 1024 * 1024


@pytest.fixture
def store(engine: Engine) -> DatabaseBlobStore:
    store = make_blob_store("database", data_dir=Path("/nonexistent"), engine=engine)
    assert isinstance(store, DatabaseBlobStore)
    return store


def chunk_sizes(engine: Engine, name: str) -> list[int]:
    with engine.connect() as connection:
        return list(
            connection.scalars(
                select(func.length(BlobChunk.data))
                .where(BlobChunk.name == name)
                .order_by(BlobChunk.seq)
            )
        )


def test_blobs_are_stored_in_rows_of_at_most_one_mib(
    store: DatabaseBlobStore, engine: Engine
) -> None:
    name = str(uuid.uuid4())
    with store.writer(name) as blob:
        blob.write(os.urandom(2 * MiB + MiB // 2))  # one large write is split
        blob.write(b"tail")
    assert chunk_sizes(engine, name) == [CHUNK_BYTES, CHUNK_BYTES, MiB // 2 + 4]


def test_an_upload_in_batches_is_stored_in_the_same_rows_as_one_written_in_one_go(
    store: DatabaseBlobStore, engine: Engine
) -> None:
    # The browser uploads in chunk batches, the no-JavaScript intake writes as it encrypts:
    # the rows must not tell the two apart (docs/THREAT_MODEL.md).
    data = os.urandom(3 * MiB + 12_345)
    written, uploaded = str(uuid.uuid4()), str(uuid.uuid4())
    with store.writer(written) as blob:
        blob.write(data)
    batches = [0, 24, 24 + 17 * 65553, 2 * MiB + 3, 2 * MiB + 4, len(data)]
    for start, end in itertools.pairwise(batches):
        store.append_staged(uploaded, data[start:end], start)
    store.publish(uploaded)

    assert chunk_sizes(engine, uploaded) == chunk_sizes(engine, written)
    assert chunk_sizes(engine, written) == [CHUNK_BYTES] * 3 + [12_345]
    assert b"".join(store.open(uploaded)) == data


def test_a_write_in_progress_is_only_staged_rows(store: DatabaseBlobStore, engine: Engine) -> None:
    name = str(uuid.uuid4())
    with store.writer(name) as blob:
        blob.write(os.urandom(MiB + 1))
        with engine.connect() as connection:
            state = connection.scalar(select(Blob.state).where(Blob.name == name))
        assert state is BlobState.STAGED
        assert chunk_sizes(engine, name) == [CHUNK_BYTES]  # the rest waits in the buffer
    with engine.connect() as connection:
        assert connection.scalar(select(Blob.state).where(Blob.name == name)) is (
            BlobState.PUBLISHED
        )


def test_a_failed_write_removes_its_rows(store: DatabaseBlobStore, engine: Engine) -> None:
    with pytest.raises(ValueError, match="bad part"), store.writer(str(uuid.uuid4())) as blob:
        blob.write(os.urandom(3 * MiB))
        raise ValueError("bad part")
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Blob)) == 0
        assert connection.scalar(select(func.count()).select_from(BlobChunk)) == 0


def test_a_blob_deleted_while_being_read_raises_instead_of_ending_early(
    store: DatabaseBlobStore,
) -> None:
    name = str(uuid.uuid4())
    with store.writer(name) as blob:
        blob.write(os.urandom(3 * MiB))
    reader = store.open(name)
    assert len(next(reader)) == MiB
    store.delete(name)
    with pytest.raises(BlobNotFound):
        next(reader)


def test_check_fails_without_revealing_the_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing-dir/tipline.sqlite3"
    broken = make_engine(url)
    try:
        with pytest.raises(BlobStoreUnavailable) as failure:
            DatabaseBlobStore(broken).check()
    finally:
        broken.dispose()
    assert str(tmp_path) not in str(failure.value)


def test_check_fails_on_a_database_without_the_schema(tmp_path: Path) -> None:
    unmigrated = make_engine(f"sqlite:///{tmp_path}/empty.sqlite3")
    try:
        with pytest.raises(BlobStoreUnavailable):
            DatabaseBlobStore(unmigrated).check()
    finally:
        unmigrated.dispose()
