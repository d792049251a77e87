"""The file backend: permissions, atomic placement, no leftovers, day-granular times."""

from __future__ import annotations

import os
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from app.storage import (
    BlobExists,
    BlobStoreUnavailable,
    FileBlobStore,
    StagedOffsetMismatch,
    make_blob_store,
)

DAY = 86_400
MiB = 1024 * 1024


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Prove the modes come from the store, not from a kind umask."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def all_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if not path.is_dir())


def test_make_blob_store_puts_file_blobs_under_the_data_dir(data_dir: Path) -> None:
    store = make_blob_store("file", data_dir=data_dir, engine=create_engine("sqlite://"))
    assert isinstance(store, FileBlobStore)
    assert store.root == data_dir / "blobs"
    with pytest.raises(ValueError, match="unknown blob store"):
        make_blob_store("s3", data_dir=data_dir, engine=create_engine("sqlite://"))


def test_files_are_0600_and_directories_0700(data_dir: Path, permissive_umask: None) -> None:
    root = data_dir / "fresh" / "blobs"
    store = FileBlobStore(root)
    published, staged = str(uuid.uuid4()), str(uuid.uuid4())
    with store.writer(published) as blob:
        blob.write(b"ciphertext")
    store.append_staged(staged, b"partial", 0)

    assert mode(root) == mode(root / ".staged") == mode(root / published[:2]) == 0o700
    assert mode(root / published[:2] / published) == 0o600
    assert mode(root / ".staged" / staged) == 0o600


def test_a_failed_write_leaves_no_file_behind(data_dir: Path) -> None:
    store = FileBlobStore(data_dir / "blobs")
    with pytest.raises(OSError, match="disk full"), store.writer(str(uuid.uuid4())) as blob:
        blob.write(os.urandom(100_000))
        raise OSError("disk full")
    assert all_files(data_dir) == []


def test_publishing_leaves_exactly_one_file(data_dir: Path) -> None:
    store = FileBlobStore(data_dir / "blobs")
    name = str(uuid.uuid4())
    store.append_staged(name, b"a", 0)
    store.append_staged(name, b"b", 1)
    store.publish(name)
    assert all_files(data_dir) == [data_dir / "blobs" / name[:2] / name]


def test_modification_times_say_only_the_day(data_dir: Path) -> None:
    """A precise mtime would record when a tipster uploaded (DESIGN §2.3)."""
    store = FileBlobStore(data_dir / "blobs")
    published, staged = str(uuid.uuid4()), str(uuid.uuid4())
    with store.writer(published) as blob:
        blob.write(b"ciphertext")
    store.append_staged(staged, b"partial", 0)
    root = data_dir / "blobs"
    for path in (root / published[:2] / published, root / ".staged" / staged, root / published[:2]):
        assert path.stat().st_mtime % DAY == 0, path


def test_reading_does_not_follow_a_planted_symlink(data_dir: Path, tmp_path: Path) -> None:
    store = FileBlobStore(data_dir / "blobs")
    name = str(uuid.uuid4())
    secret = tmp_path / "elsewhere"
    secret.write_bytes(b"not a blob")
    (data_dir / "blobs" / name[:2]).mkdir()
    (data_dir / "blobs" / name[:2] / name).symlink_to(secret)
    with pytest.raises(OSError):
        b"".join(store.open(name))


def test_check_fails_without_revealing_the_path(data_dir: Path) -> None:
    store = FileBlobStore(data_dir / "blobs")
    (data_dir / "blobs" / ".staged").rmdir()
    with pytest.raises(BlobStoreUnavailable) as failure:
        store.check()
    assert str(data_dir) not in str(failure.value)
    assert failure.value.__cause__ is None and failure.value.__suppress_context__


def test_check_leaves_nothing_behind(data_dir: Path) -> None:
    store = FileBlobStore(data_dir / "blobs")
    store.check()
    assert all_files(data_dir) == []


# --- appends written as their pieces arrive ---------------------------------------------------


def run_briefly(action: Callable[[], None]) -> None:
    """Run ``action`` on a thread; fail instead of hanging if it deadlocks."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            action()
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the append deadlocked"
    if errors:
        raise errors[0]


def test_a_stalled_append_neither_blocks_its_retry_nor_touches_what_the_retry_stored(
    data_dir: Path,
) -> None:
    """A request still receiving its body when the client gave up and resumed elsewhere."""
    root = data_dir / "blobs"
    stale, retry = FileBlobStore(root), FileBlobStore(root)
    name = str(uuid.uuid4())
    head, rest = os.urandom(MiB), os.urandom(3 * MiB)

    def stalled_body() -> Iterator[bytes]:
        yield head
        # The client timed out here, read the stored size and resumed from it, while this
        # request still held its connection (and would hold the lock, if it kept it).
        assert retry.staged_size(name) == len(head)
        assert retry.append_staged(name, rest, len(head)) == len(head) + len(rest)
        yield os.urandom(MiB)  # the stale request's next piece must not land anywhere

    def stale_append() -> None:
        with pytest.raises(StagedOffsetMismatch):
            stale.append_staged_pieces(name, stalled_body(), 0)

    run_briefly(stale_append)
    assert retry.staged_size(name) == len(head) + len(rest)
    retry.publish(name)
    assert b"".join(retry.open(name)) == head + rest


def test_a_stale_append_cannot_touch_a_blob_published_meanwhile(data_dir: Path) -> None:
    root = data_dir / "blobs"
    stale, other = FileBlobStore(root), FileBlobStore(root)
    name = str(uuid.uuid4())
    whole = os.urandom(2 * MiB)

    def stalled_body() -> Iterator[bytes]:
        yield whole[:MiB]
        other.append_staged(name, whole[MiB:], MiB)
        other.publish(name)
        yield os.urandom(MiB)

    def stale_append() -> None:
        with pytest.raises(BlobExists):
            stale.append_staged_pieces(name, stalled_body(), 0)

    run_briefly(stale_append)
    assert b"".join(other.open(name)) == whole
    assert other.staged_size(name) == 0


def broken_off(data: bytes, piece: int) -> Iterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start : start + piece]
    raise ConnectionResetError("client went away")


def test_a_broken_off_append_keeps_exactly_its_resume_point(data_dir: Path) -> None:
    store, name, sent = FileBlobStore(data_dir / "blobs"), str(uuid.uuid4()), os.urandom(MiB + 9)
    with pytest.raises(ConnectionResetError):
        store.append_staged_pieces(name, broken_off(sent, 4096), 0, resume_point=lambda end: 5000)
    assert store.staged_size(name) == 5000
    assert store.append_staged_pieces(name, iter([sent[5000:]]), 5000) == len(sent)
    store.publish(name)
    assert b"".join(store.open(name)) == sent


def test_kept_bytes_that_cannot_be_made_durable_are_not_kept(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, name = FileBlobStore(data_dir / "blobs"), str(uuid.uuid4())
    store.append_staged(name, b"acknowledged", 0)

    def body_then_failing_disk() -> Iterator[bytes]:
        yield os.urandom(MiB)

        def fsync(fd: int) -> None:
            raise OSError(5, "Input/output error")  # the disk fails as the body breaks off

        monkeypatch.setattr("app.storage.files.os.fsync", fsync)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.append_staged_pieces(name, body_then_failing_disk(), 12, resume_point=lambda end: end)
    monkeypatch.undo()
    assert store.staged_size(name) == 12


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> set[tuple[int, int]]:
    """The (device, inode) of everything fsynced from now on."""
    done: set[tuple[int, int]] = set()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        status = os.fstat(fd)
        done.add((status.st_dev, status.st_ino))

    monkeypatch.setattr("app.storage.files.os.fsync", fsync)
    return done


def identity(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_dev, status.st_ino


def test_a_written_blob_and_its_directory_are_synced_before_the_writer_returns(
    data_dir: Path, synced: set[tuple[int, int]]
) -> None:
    store, name = FileBlobStore(data_dir / "blobs"), str(uuid.uuid4())
    with store.writer(name) as blob:
        blob.write(b"ciphertext")
    published = data_dir / "blobs" / name[:2] / name
    assert {identity(published), identity(published.parent)} <= synced


def test_deferred_blobs_are_synced_only_by_make_durable_with_their_directories(
    data_dir: Path, synced: set[tuple[int, int]]
) -> None:
    store, names = FileBlobStore(data_dir / "blobs"), [str(uuid.uuid4()) for _ in range(3)]
    for name in names:
        with store.writer(name, durable=False) as blob:
            blob.write(os.urandom(1000))
    paths = [data_dir / "blobs" / name[:2] / name for name in names]
    assert not {identity(path) for path in paths} & synced
    store.make_durable(names)
    assert {identity(path) for path in paths} | {identity(path.parent) for path in paths} <= synced


def test_a_blob_that_cannot_be_made_durable_is_not_published(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, name = FileBlobStore(data_dir / "blobs"), str(uuid.uuid4())

    def fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("app.storage.files.os.fsync", fsync)
    with pytest.raises(OSError, match="Input/output error"), store.writer(name) as blob:
        blob.write(b"ciphertext")
    assert not store.exists(name)
    assert all_files(data_dir) == []
