"""A scratch buffer for one uploaded file whose size and hash are known only at its end.

DESIGN §4 puts a file's metadata (size, SHA-256) *before* its body inside the encrypted object,
but a no-JavaScript upload reveals both only after the last byte. The spool holds the bytes in
the meantime — encrypted under a random key that exists only in this process's memory, so what
touches the disk is useless once the object is gone — and replays the plaintext in bounded
pieces.

The spool is never part of the stored format, so it uses the fastest sound AEAD at hand:
AES-256-GCM (hardware-accelerated), one random key per spool and the piece number as nonce.

Work that releases the GIL runs beside the caller on one helper thread (a :class:`Lane`): the
SHA-256 of each piece while the caller encrypts and writes it, and the reading and decrypting
of the next piece while the caller encrypts the current one into its object. A lane holds at
most a couple of pieces (plaintext, in memory only), re-raises a job's exception in the caller
and is always shut down, so its thread ends with the upload, whether it succeeds or not.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PIECE_SIZE = 1024 * 1024
# A write of at least this much becomes a spool record as it is, without being re-cut: the
# multipart parser hands over pieces of just under 1 MiB, and copying them costs time.
_MIN_RECORD = 256 * 1024
_TAG_BYTES = 16
_NONCE_BYTES = 12

T = TypeVar("T")


class SpoolDamaged(Exception):
    """The spool file changed under us (it never should): the upload cannot be trusted."""


class Lane:
    """One helper thread that runs jobs in the order given, with at most ``depth`` unfinished.

    :meth:`submit` waits for the oldest job once ``depth`` are pending, so memory stays
    bounded; :meth:`drain` waits for all of them; either re-raises the first failure. The
    thread starts with the first job and ends on :meth:`close` (or leaving a ``with`` block),
    which cancels jobs not yet started and waits for the one running.
    """

    def __init__(self, name: str, depth: int = 2) -> None:
        self._name = name
        self._depth = depth
        self._executor: ThreadPoolExecutor | None = None
        self._pending: deque[Future[Any]] = deque()

    @property
    def started(self) -> bool:
        """Whether a job was ever submitted (the thread exists)."""
        return self._executor is not None

    def submit(self, job: Callable[..., T], *args: Any) -> Future[T]:
        while len(self._pending) >= self._depth:
            self._pending.popleft().result()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        future = self._executor.submit(job, *args)
        self._pending.append(future)
        return future

    def drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        self._pending.clear()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Lane:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class EncryptedSpool:
    """Write plaintext pieces, ``finish()``, then ``replay()``; the file goes on ``close()``.

    Memory is bounded by a few pieces (1 MiB each) whatever the upload's size.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = directory / f"{os.urandom(16).hex()}.spool"
        self._cipher = AESGCM(AESGCM.generate_key(bit_length=256))
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb", buffering=0)
        self._pending = bytearray()
        self._sha256 = hashlib.sha256()
        self._hasher = Lane("spool-hash")
        self._sealed = bytearray(PIECE_SIZE + _TAG_BYTES)  # ciphertext only, reused
        self._pieces = 0
        self._piece_lengths: list[int] = []
        self.size = 0
        self._finished = False

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if not self._pending and _MIN_RECORD <= len(data) <= PIECE_SIZE:
            # The common case for large uploads: the piece becomes a record, uncopied.
            self._push(data if isinstance(data, bytes) else bytes(data))
            return
        self._pending += data
        while len(self._pending) >= PIECE_SIZE:
            self._push(bytes(self._pending[:PIECE_SIZE]))
            del self._pending[:PIECE_SIZE]

    def finish(self) -> str:
        """Seal the spool; returns the hex SHA-256 of everything written."""
        if self._pending:
            self._push(bytes(self._pending))
            self._pending = bytearray()
        self._hasher.drain()
        self._hasher.close()
        self._file.close()
        self._finished = True
        return self._sha256.hexdigest()

    def replay(self) -> Iterator[bytearray]:
        """The plaintext again, piece by piece (the next one is decrypted ahead).

        Each piece is a new buffer, the caller's to keep.

        :raises SpoolDamaged: a piece fails authentication or is missing.
        :raises RuntimeError: called before :meth:`finish`.
        """
        if not self._finished:
            raise RuntimeError("spool replayed before finish()")
        lengths = self._piece_lengths
        # One sealed-piece buffer serves every load: the lane runs one load at a time.
        sealed = bytearray(max(lengths, default=0) + _TAG_BYTES)
        with self.path.open("rb", buffering=0) as spool_file, Lane("spool-replay") as lane:

            def load(number: int, plain: bytearray) -> bytearray:
                with memoryview(sealed)[: len(plain) + _TAG_BYTES] as view:
                    try:
                        if spool_file.readinto(view) != len(view):
                            raise SpoolDamaged("an upload spool was truncated")
                        self._cipher.decrypt_into(self._nonce(number), view, None, plain)
                    except InvalidTag as error:
                        raise SpoolDamaged("an upload spool was altered") from error
                return plain

            # Buffers are allocated on this thread, not the lane's: memory that one thread
            # allocates and another frees makes glibc give pages back and fault them in again.
            if len(lengths) == 1:  # nothing to overlap: no thread
                yield load(0, bytearray(lengths[0]))
                return
            ahead: deque[Future[bytearray]] = deque()
            for number, length in enumerate(lengths):
                ahead.append(lane.submit(load, number, bytearray(length)))
                if len(ahead) > 1:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()

    def close(self) -> None:
        self._hasher.close()
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> EncryptedSpool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @staticmethod
    def _nonce(number: int) -> bytes:
        return number.to_bytes(_NONCE_BYTES, "big")

    def _push(self, piece: bytes) -> None:
        # Hashed on the lane (in order) while this thread encrypts and writes the same bytes.
        self._hasher.submit(self._sha256.update, piece)
        with memoryview(self._sealed)[: len(piece) + _TAG_BYTES] as sealed:
            self._cipher.encrypt_into(self._nonce(self._pieces), piece, None, sealed)
            if self._file.write(sealed) != len(sealed):
                raise OSError("short write to an upload spool")
        self._piece_lengths.append(len(piece))
        self._pieces += 1
