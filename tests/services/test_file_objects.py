"""Files whose size and hash arrive last: a detached body object, then the file naming it."""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.models import EncryptedObject, ObjectKind, Scope
from app.services.lane import Lane
from app.services.objects import ObjectBatch, open_file, read_metadata
from app.storage import FileBlobStore
from crypto.datakeys import generate_data_key
from crypto.errors import TamperedCiphertext
from crypto.metadata import report_metadata

MIB = 1024 * 1024


def new_batch(tmp_path: Path) -> ObjectBatch:
    keys = {Scope.THREAD: generate_data_key(), Scope.INTERNAL: generate_data_key()}
    return ObjectBatch(FileBlobStore(tmp_path / "blobs"), "tip", keys)


def row_of(batch: ObjectBatch, index: int) -> EncryptedObject:
    written = batch.written[index]
    return EncryptedObject(id=written.object_id, scope=written.scope, kind=written.kind)


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def blob_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((tmp_path / "blobs").rglob("*")) if p.is_file())


@pytest.mark.parametrize(
    ("size", "piece"), [(0, 1), (5, 2), (64 * 1024, 1000), (3 * MIB + 11, 1_000_003)]
)
def test_a_file_reads_back_exactly_with_its_size_and_hash(
    tmp_path: Path, size: int, piece: int
) -> None:
    batch = new_batch(tmp_path)
    data = os.urandom(size)
    batch.add_file(
        Scope.THREAD, name="clip.mp4", content_type="video/mp4", body=pieces(data, piece)
    )
    assert [w.kind for w in batch.written] == [ObjectKind.BODY, ObjectKind.FILE]
    key = batch.data_keys[Scope.THREAD]
    metadata = read_metadata(batch.blob_store, row_of(batch, 1), key)
    assert metadata["size"] == size
    assert metadata["sha256"] == hashlib.sha256(data).hexdigest()
    assert metadata["body"] == batch.written[0].object_id
    assert b"".join(open_file(batch.blob_store, row_of(batch, 1), key)[1]) == data


def test_the_blobs_hold_no_plaintext(tmp_path: Path) -> None:
    batch = new_batch(tmp_path)
    canary = b"PANGOLIN-CANARY-" + os.urandom(8).hex().encode()
    data = canary * (2 * MIB // len(canary))
    batch.add_file(Scope.THREAD, name="canary.txt", content_type="text/plain", body=[data])
    stored = blob_bytes(tmp_path)
    assert len(stored) > len(data)
    assert canary not in stored and b"canary.txt" not in stored


def test_a_body_that_fails_midway_leaves_no_blob_and_no_thread(tmp_path: Path) -> None:
    batch = new_batch(tmp_path)

    def broken() -> Iterator[bytes]:
        for _ in range(5):
            yield os.urandom(MIB)
        raise ConnectionResetError("the tipster's connection dropped")

    with pytest.raises(ConnectionResetError):
        batch.add_file(Scope.THREAD, name="a.bin", content_type="", body=broken())
    assert batch.written == []
    assert blob_bytes(tmp_path) == b""
    assert not helper_threads()


def test_a_full_disk_stops_the_upload_with_its_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.storage.files as files

    real_write_all = files._write_all
    writes = 0

    def fill_up(fd: int, data: bytes) -> None:
        nonlocal writes
        writes += 1
        if writes > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write_all(fd, data)

    monkeypatch.setattr(files, "_write_all", fill_up)
    batch = new_batch(tmp_path)
    endless = (os.urandom(MIB) for _ in range(10_000))
    with pytest.raises(OSError, match="No space left"):
        batch.add_file(Scope.THREAD, name="a.bin", content_type="", body=endless)
    assert batch.written == []
    assert blob_bytes(tmp_path) == b""
    assert not helper_threads()


def helper_threads() -> list[str]:
    prefixes = ("file-hash", "file-encrypt", "blob-write", "blob-fsync")
    return [t.name for t in threading.enumerate() if t.name.startswith(prefixes)]


def test_a_swapped_body_blob_is_rejected(tmp_path: Path) -> None:
    batch = new_batch(tmp_path)
    batch.add_file(Scope.THREAD, name="a.bin", content_type="", body=[b"first"])
    batch.add_file(Scope.THREAD, name="b.bin", content_type="", body=[b"other"])
    first_body, second_body = batch.written[0].object_id, batch.written[2].object_id
    store = batch.blob_store
    second = b"".join(store.open(second_body))
    store.delete(first_body)
    with store.writer(first_body) as blob:
        blob.write(second)
    with pytest.raises(TamperedCiphertext):
        b"".join(open_file(store, row_of(batch, 1), batch.data_keys[Scope.THREAD])[1])


def test_lane_runs_jobs_in_order_and_reraises_the_first_failure() -> None:
    done: list[int] = []

    def job(number: int) -> None:
        if number == 3:
            raise ValueError("job 3 failed")
        done.append(number)

    with Lane("test-lane", depth=2) as lane, pytest.raises(ValueError, match="job 3"):
        for number in range(10):
            lane.submit(job, number)
        lane.drain()
    assert done[:3] == [0, 1, 2]
    assert len(done) <= 6  # bounded: at most `depth` jobs ran ahead of the failure
    assert not [t for t in threading.enumerate() if t.name.startswith("test-lane")]


def test_a_batch_syncs_its_blobs_only_when_asked_for_them_and_then_all_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append(os.fstat(fd).st_ino)

    monkeypatch.setattr("app.storage.files.os.fsync", fsync)
    batch = new_batch(tmp_path)
    batch.add_file(Scope.THREAD, name="a.txt", content_type="text/plain", body=[b"evidence"])
    batch.add(Scope.THREAD, ObjectKind.REPORT, report_metadata("en", {"description": "seen"}))
    blobs = [tmp_path / "blobs" / w.object_id[:2] / w.object_id for w in batch.written]
    # Only the store's root so far, as each new shard directory was made.
    assert set(synced) <= {(tmp_path / "blobs").stat().st_ino}
    durable = batch.durable()
    assert durable == batch.written
    assert {blob.stat().st_ino for blob in blobs} <= set(synced)
    assert {blob.parent.stat().st_ino for blob in blobs} <= set(synced)
    assert not helper_threads()
