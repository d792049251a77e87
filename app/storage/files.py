"""Blobs as files in a local (or shared) directory: the embedded default.

Layout under ``<data_dir>/blobs``::

    .staged/<name>        being written or uploaded; never read
    <name[:2]>/<name>     published; read-only from then on

A blob becomes visible by hard-linking its staged file into place (atomic, and unlike a
rename it cannot replace an existing blob), and durable by an fsync of the file and of its
directory, made at the same time so that the filesystem commits both at once (one journal
commit and cache flush instead of two in turn; ``file_ops.fsync_together``). A writer opened
with ``durable=False`` leaves those fsyncs to :meth:`FileBlobStore.make_durable`, which makes
all the blobs of a submission durable at once. Linking before the fsyncs is safe because nothing
refers to a blob before it is durable (the contract in ``base.py``): a crash in between can
only leave an unreferenced name, perhaps with part of its ciphertext. Files are 0600,
directories 0700.

Modification times are set to the start of the current UTC day: a blob's mtime would
otherwise record to the second when a tipster uploaded it (DESIGN §2.3). The kernel's ctime
cannot be set; deployments that need more use the database backend or a filesystem mounted
with a coarse clock.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from app.storage.base import (
    READ_CHUNK_BYTES,
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
from app.storage.file_ops import DIR_FLAGS
from app.storage.file_ops import blur_mtime as _blur_mtime
from app.storage.file_ops import fsync_dir as _fsync_dir
from app.storage.file_ops import fsync_together as _fsync_together
from app.storage.file_ops import locked as _locked
from app.storage.file_ops import start_writeback as _start_writeback
from app.storage.file_ops import write_all as _write_all

STAGED_DIR = ".staged"
FILE_MODE = 0o600
DIR_MODE = 0o700
_OPEN_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC


class FileBlobStore(BlobStore):
    writes_off_thread = True  # a write is an os.write on our descriptor, nothing more

    def __init__(self, root: Path) -> None:
        """Use (and create, 0700) the directory ``root`` and its staging area.

        :raises OSError: the directories cannot be created (at startup, so the path is shown).
        """
        self.root = root
        self._staged_dir = root / STAGED_DIR
        root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        self._staged_dir.mkdir(mode=DIR_MODE, exist_ok=True)

    # --- paths -------------------------------------------------------------------------------

    def _published_path(self, name: str) -> Path:
        return self.root / name[:2] / name

    def _staged_path(self, name: str) -> Path:
        return self._staged_dir / name

    # --- writing ---------------------------------------------------------------------------

    def writer(self, name: str, *, durable: bool = True) -> BlobWriter:
        return _FileWriter(self, check_name(name), durable=durable)

    def make_durable(self, names: Iterable[str]) -> None:
        """fsync every blob and every directory they were linked into, all at once."""
        blobs = [self._published_path(check_name(name)) for name in names]
        shards = sorted({blob.parent for blob in blobs})
        to_open = [(blob, os.O_RDONLY | _OPEN_FLAGS) for blob in blobs]
        fds: list[int] = []
        try:
            for path, flags in [*to_open, *((shard, DIR_FLAGS) for shard in shards)]:
                try:
                    fds.append(os.open(path, flags))
                except FileNotFoundError:
                    raise BlobNotFound("no such blob") from None
            if fds:
                _fsync_together(fds)
        finally:
            for fd in fds:
                os.close(fd)

    def append_staged(self, name: str, data: bytes | bytearray, offset: int) -> int:
        return self.append_staged_pieces(name, (memoryview(data),), offset)

    def append_staged_pieces(
        self,
        name: str,
        pieces: Iterable[bytes | memoryview],
        offset: int,
        *,
        resume_point: Callable[[int], int] | None = None,
    ) -> int:
        """Write each piece as it comes, then fsync once: receiving and writing overlap.

        The blob's lock is held per piece, never while waiting for the next one, so a client
        that stalls mid-body cannot block its own retry. Every piece is appended only where
        the file ends *and* where this append left it (see :meth:`_append_piece`), so a
        stale request still writing after a retry took over can never touch bytes below the
        end of the file: once a retry has appended past it, it fails.
        """
        check_name(name)
        if offset < 0:
            raise StagedOffsetMismatch(self.staged_size(name), offset)
        if self.exists(name):
            raise BlobExists("blob already published")
        staged = self._staged_path(name)
        flags = os.O_WRONLY | os.O_APPEND | _OPEN_FLAGS | (os.O_CREAT if offset == 0 else 0)
        try:
            fd = os.open(staged, flags, FILE_MODE)
        except FileNotFoundError:
            raise StagedOffsetMismatch(0, offset) from None
        try:
            with _locked(fd):  # a replay or a gap is refused before its body is received
                self._check_append_position(fd, name, offset)
            end = offset
            try:
                for piece in pieces:
                    end = self._append_piece(fd, name, piece, end)
                os.fsync(fd)  # the client is told these bytes are safe
            except BaseException:
                kept = offset if resume_point is None else min(max(resume_point(end), offset), end)
                self._take_back(fd, name, offset, kept, end)
                raise
            _blur_mtime(fd)
        finally:
            os.close(fd)
        if offset == 0:
            _blur_mtime(self._staged_dir)
        return end

    def _append_piece(self, fd: int, name: str, piece: bytes | memoryview, at: int) -> int:
        """Append ``piece`` if the staged file still ends at ``at``; returns its new end.

        Under the lock: the file must still be the staged one and end exactly where this
        append's previous piece did (or at the requested offset). A piece that fails halfway
        is cut off again before the lock is released.
        :raises StagedOffsetMismatch: / :raises BlobExists: another request got there first.
        """
        if not piece:
            return at
        with _locked(fd):
            self._check_append_position(fd, name, at)
            try:
                _write_all(fd, piece)
            except BaseException:
                os.ftruncate(fd, at)
                raise
        _start_writeback(fd, at, len(piece))
        return at + len(piece)

    def _take_back(self, fd: int, name: str, offset: int, keep: int, end: int) -> None:
        """After a failed append from ``offset`` that reached ``end``, remove its bytes from
        ``keep`` on if nothing came after them, and make those it keeps durable.

        If another request appended beyond them (a retry that resumed from what it was told
        is stored), they stay: they are what the client sent for those offsets, and below
        someone else's data. Never acknowledged, so removing or keeping them is equally safe.
        Kept bytes are fsynced before the lock is released, so a client told (by
        :meth:`staged_size`) that they are stored can rely on it as on an acknowledgement.
        """
        if end == offset:
            return
        with _locked(fd):
            try:
                self._check_append_position(fd, name, end)
            except (StagedOffsetMismatch, BlobExists):
                return
            if keep < end:
                os.ftruncate(fd, keep)
            if keep > offset:
                try:
                    os.fsync(fd)
                except OSError:  # not durable, so not kept; the original error is raised
                    os.ftruncate(fd, offset)
            _blur_mtime(fd)

    def _check_append_position(self, fd: int, name: str, at: int) -> None:
        """Under the lock: ``fd`` is still the staged file and ends exactly at ``at``.

        :raises StagedOffsetMismatch: it ends elsewhere (or was discarded).
        :raises BlobExists: it was published.
        """
        self._check_still_staged(fd, name, at)
        size = os.fstat(fd).st_size
        if size != at:
            raise StagedOffsetMismatch(size, at)

    def staged_size(self, name: str) -> int:
        try:
            return os.stat(self._staged_path(check_name(name)), follow_symlinks=False).st_size
        except FileNotFoundError:
            return 0

    def publish(self, name: str) -> None:
        check_name(name)
        staged = self._staged_path(name)
        try:
            fd = os.open(staged, os.O_RDONLY | _OPEN_FLAGS)
        except FileNotFoundError:
            if self.exists(name):
                raise BlobExists("blob already published") from None
            raise BlobNotFound("nothing staged under this name") from None
        try:
            with _locked(fd):
                self._check_still_staged(fd, name, None)
                self._make_visible(fd, name)
        finally:
            os.close(fd)

    def _check_still_staged(self, fd: int, name: str, offset: int | None) -> None:
        """After taking the lock: is our file still the staged one (not published/discarded)?"""
        opened = os.fstat(fd)
        try:
            current = os.stat(self._staged_path(name), follow_symlinks=False)
        except FileNotFoundError:
            current = None
        if current is not None and (current.st_dev, current.st_ino) == (
            opened.st_dev,
            opened.st_ino,
        ):
            return
        if self.exists(name):
            raise BlobExists("blob already published")
        if offset is None:
            raise BlobNotFound("nothing staged under this name")
        raise StagedOffsetMismatch(self.staged_size(name), offset)

    def _make_visible(self, fd: int, name: str, *, durable: bool = True) -> None:
        """Publish the staged file open as ``fd``: link it into place, then (if ``durable``)
        fsync it and its directory together; unlink the stage.

        :raises BlobExists: a blob of that name is already published.
        :raises OSError: it could not be made durable (and is not published).
        """
        _blur_mtime(fd)
        published = self._published_path(name)
        shard = published.parent
        try:
            shard.mkdir(mode=DIR_MODE)
            _blur_mtime(self.root)
            _fsync_dir(self.root)
        except FileExistsError:
            pass
        try:
            os.link(self._staged_path(name), published, follow_symlinks=False)
        except FileExistsError:
            raise BlobExists("blob already published") from None
        _blur_mtime(shard)
        if durable:
            try:
                shard_fd = os.open(shard, DIR_FLAGS)
                try:
                    _fsync_together([fd, shard_fd])
                finally:
                    os.close(shard_fd)
            except BaseException:
                published.unlink(missing_ok=True)  # never durable, never acknowledged
                raise
        self._unlink_staged(name)

    def discard_staged(self, name: str) -> None:
        self._unlink_staged(check_name(name))

    def _unlink_staged(self, name: str) -> None:
        try:
            os.unlink(self._staged_path(name))
        except FileNotFoundError:
            return
        _blur_mtime(self._staged_dir)

    def list_staged(self) -> Iterable[StagedBlob]:
        staged = []
        with os.scandir(self._staged_dir) as entries:
            for entry in entries:
                try:
                    name = check_name(entry.name)
                    modified = entry.stat(follow_symlinks=False).st_mtime
                except (ValueError, FileNotFoundError):
                    continue  # not a blob (e.g. a health probe), or just published
                staged.append(StagedBlob(name, datetime.fromtimestamp(modified, UTC).date()))
        return staged

    # --- reading and deleting -----------------------------------------------------------------

    def open(self, name: str) -> BlobReader:
        path = self._published_path(check_name(name))
        try:
            fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
        except FileNotFoundError:
            raise BlobNotFound("no such blob") from None
        handle = os.fdopen(fd, "rb", buffering=0)
        return BlobReader(iter(partial(handle.read, READ_CHUNK_BYTES), b""), handle.close)

    def size(self, name: str) -> int:
        try:
            return os.stat(self._published_path(check_name(name)), follow_symlinks=False).st_size
        except FileNotFoundError:
            raise BlobNotFound("no such blob") from None

    def exists(self, name: str) -> bool:
        return self._published_path(check_name(name)).is_file()

    def delete(self, name: str) -> None:
        path = self._published_path(check_name(name))
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        else:
            _blur_mtime(path.parent)
            _fsync_dir(path.parent)  # a deletion (retention, purge) must survive a crash
        self._unlink_staged(name)

    def check(self) -> None:
        try:
            if not (self.root.is_dir() and self._staged_dir.is_dir()):
                raise FileNotFoundError
            # An unnamed temporary file where possible (O_TMPFILE): proves we can write.
            with tempfile.TemporaryFile(dir=self._staged_dir):
                pass
        except OSError:
            raise BlobStoreUnavailable("blob directory is missing or not writable") from None


class _FileWriter(BlobWriter):
    def __init__(self, store: FileBlobStore, name: str, *, durable: bool) -> None:
        super().__init__(name)
        self._store = store
        self._durable = durable
        self._fd: int | None = None
        self._written = 0

    def _begin(self) -> None:
        if self._store.exists(self.name):
            raise BlobExists("blob already published")
        try:
            self._fd = os.open(
                self._store._staged_path(self.name),
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS,
                FILE_MODE,
            )
        except FileExistsError:
            raise BlobExists("blob is already being written") from None
        # Held until published or removed: a stray append_staged waits, then sees BlobExists.
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        _blur_mtime(self._store._staged_dir)

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        _write_all(self._fd, data)
        # As for appends: the disk starts on these bytes now, so publishing a large object
        # does not wait for all of it at the final fsync.
        _start_writeback(self._fd, self._written, len(data))
        self._written += len(data)
        _blur_mtime(self._fd)

    def _commit(self) -> None:
        assert self._fd is not None
        self._store._make_visible(self._fd, self.name, durable=self._durable)
        self._close()

    def _abort(self) -> None:
        self._close()
        self._store._unlink_staged(self.name)

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
