"""What the file blob store does to files and directories, beyond opening them: whole
writes, the per-blob lock, early writeback, day-granular times and fsyncs (one at a time, or
several at once so that the filesystem commits them together).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@contextmanager
def locked(fd: int) -> Iterator[None]:
    """The blob's lock: one append piece, truncation or publication at a time per blob."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing these bytes to disk now, without waiting.

    The disk then works while the next piece of the body arrives, and the fsync before
    the acknowledgement has little left to do; durability still comes only from that
    fsync. POSIX_FADV_DONTNEED starts writeback of dirty pages (and drops clean ones, which
    nobody reads before the blob is published); it is how PostgreSQL's ``pg_flush_data``
    does this where ``sync_file_range`` is missing, as it is from Python's ``os``.
    """
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def blur_mtime(target: int | Path) -> None:
    """Set access and modification times to the start of the UTC day (DESIGN §2.3)."""
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    os.utime(target, (day, day))


def fsync_dir(path: Path) -> None:
    fd = os.open(path, DIR_FLAGS)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_together(fds: Sequence[int]) -> None:
    """fsync every descriptor at the same time, on helper threads (the call releases the GIL).

    Calls in flight together join one filesystem commit (ext4's and XFS's journals batch
    them), so a blob and its directory, or every blob of a submission, cost about one disk
    flush instead of one each in turn. Durability is each fsync's own, as if made in turn.
    :raises OSError: the first failure, once every call has returned.
    """
    failures: list[OSError] = []

    def sync(fd: int) -> None:
        try:
            os.fsync(fd)
        except OSError as error:
            failures.append(error)

    helpers = [threading.Thread(target=sync, args=(fd,), name="blob-fsync") for fd in fds[1:]]
    for helper in helpers:
        helper.start()
    try:
        sync(fds[0])
    finally:
        for helper in helpers:
            helper.join()
    if failures:
        raise failures[0]
