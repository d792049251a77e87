"""A scratch buffer for one uploaded file whose size and hash are known only at its end.

DESIGN §4 puts a file's metadata (size, SHA-256) *before* its body inside the encrypted object,
but a no-JavaScript upload reveals both only after the last byte. The spool holds the bytes in
the meantime — encrypted under a random key that exists only in this process's memory, so what
touches the disk is useless once the object is gone — and replays the plaintext in bounded
pieces.

The spool is never part of the stored format, so it uses the fastest sound AEAD at hand:
AES-256-GCM (hardware-accelerated), one random key per spool and the piece number as nonce.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PIECE_SIZE = 1024 * 1024
_TAG_BYTES = 16
_NONCE_BYTES = 12


class SpoolDamaged(Exception):
    """The spool file changed under us (it never should): the upload cannot be trusted."""


class EncryptedSpool:
    """Write plaintext pieces, ``finish()``, then ``replay()``; the file goes on ``close()``.

    Memory is bounded by about two pieces (1 MiB each) whatever the upload's size.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = directory / f"{os.urandom(16).hex()}.spool"
        self._cipher = AESGCM(AESGCM.generate_key(bit_length=256))
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb", buffering=0)
        self._pending = bytearray()
        self._sha256 = hashlib.sha256()
        self._pieces = 0
        self._piece_lengths: list[int] = []
        self.size = 0
        self._finished = False

    def write(self, data: bytes) -> None:
        self._sha256.update(data)
        self.size += len(data)
        if not self._pending and len(data) == PIECE_SIZE:
            self._push(data)  # the common case for large uploads: no copy
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
        self._file.close()
        self._finished = True
        return self._sha256.hexdigest()

    def replay(self) -> Iterator[bytes]:
        """The plaintext again, piece by piece.

        :raises SpoolDamaged: a piece fails authentication or is missing.
        :raises RuntimeError: called before :meth:`finish`.
        """
        if not self._finished:
            raise RuntimeError("spool replayed before finish()")
        with self.path.open("rb", buffering=0) as spool_file:
            for number, length in enumerate(self._piece_lengths):
                sealed = spool_file.read(length + _TAG_BYTES)
                try:
                    yield self._cipher.decrypt(self._nonce(number), sealed, None)
                except Exception as error:  # InvalidTag, or a short read
                    raise SpoolDamaged("an upload spool was altered or truncated") from error

    def close(self) -> None:
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
        self._file.write(self._cipher.encrypt(self._nonce(self._pieces), piece, None))
        self._piece_lengths.append(len(piece))
        self._pieces += 1
