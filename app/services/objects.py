"""Encrypted objects of a tip: writing them to the blob store all-or-nothing, reading them back.

The blob store holds ciphertext under each object's id; the ``objects`` rows that make an
object part of a tip are added in the same database transaction as the rest of the change, so
a failure before the commit leaves nothing a reader can reach — and :meth:`ObjectBatch.discard`
removes the blobs already written. The rows are built from :meth:`ObjectBatch.durable`, which
makes every blob of the batch safe on disk first, all at once (one round of fsyncs per
submission rather than per object).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from app.models import EncryptedObject, ObjectKind, Scope
from app.services.lane import Lane
from app.storage import BlobStore
from crypto.errors import BadMetadata
from crypto.ids import id_from_str
from crypto.metadata import detached_body_id, file_metadata
from crypto.object_reader import DecryptedObject, decrypt_object
from crypto.objects import encrypt_detached_body, encrypt_object

WRITE_BATCH_BYTES = 1024 * 1024


@dataclass(frozen=True)
class WrittenObject:
    object_id: str
    scope: Scope
    kind: ObjectKind
    ciphertext_size: int


@dataclass
class ObjectBatch:
    """Objects encrypted for one tip in one transaction; all of them land, or none.

    Rows may refer only to what :meth:`durable` returns: ``written`` lists blobs that a crash
    could still take away.
    """

    blob_store: BlobStore
    tip_id: str
    data_keys: Mapping[Scope, bytes]
    written: list[WrittenObject] = field(default_factory=list)

    def add(
        self,
        scope: Scope,
        kind: ObjectKind,
        metadata: Mapping[str, Any],
        body: Iterable[bytes] | Iterable[bytearray] = (),
    ) -> WrittenObject:
        """Encrypt one object straight into the blob store (memory: about one chunk)."""
        object_id = str(uuid.uuid4())
        # encrypt_object takes any bytes-like pieces (it reads them through memoryviews).
        pieces = cast(Iterable[bytes], body)
        ciphertext = encrypt_object(self.data_keys[scope], id_from_str(object_id), metadata, pieces)
        written = self._store(object_id, scope, kind, ciphertext)
        self.written.append(written)
        return written

    def add_file(
        self, scope: Scope, *, name: str, content_type: str, body: Iterable[bytes]
    ) -> WrittenObject:
        """Encrypt a file whose size and SHA-256 are known only after its last byte.

        The body becomes a detached ``body`` object as it arrives; then the ``file`` object
        names it with its size and hash. Nothing is held back or written twice, whatever
        the file's size. Helper threads hash each piece and (inside :meth:`_store`) write
        the ciphertext while this thread encrypts and reads the next piece. Encryption
        stays here: secretstream works in 64 KiB calls, and handing each call's GIL back
        and forth with a parsing thread cost more than it saved (measured; see
        docs/PERFORMANCE.md). ``body`` pieces must be immutable ``bytes``, as the hashing
        thread reads them after they are handed on.
        """
        body_id = str(uuid.uuid4())
        digest = hashlib.sha256()
        size = 0

        def hashed(hashing: Lane) -> Iterator[bytes]:
            nonlocal size
            for piece in body:
                size += len(piece)
                hashing.submit(digest.update, piece)  # in order, on the lane's thread
                yield piece

        with Lane("file-hash", depth=2) as hashing:
            key = self.data_keys[scope]
            ciphertext = encrypt_detached_body(key, id_from_str(body_id), hashed(hashing))
            self.written.append(self._store(body_id, scope, ObjectKind.BODY, ciphertext))
            hashing.drain()
        metadata = file_metadata(name, content_type, size, digest.hexdigest(), body=body_id)
        return self.add(scope, ObjectKind.FILE, metadata)

    def _store(
        self, object_id: str, scope: Scope, kind: ObjectKind, ciphertext: Iterable[bytes]
    ) -> WrittenObject:
        """Write one object's ciphertext to its blob (published only if all of it arrived)."""
        size = 0
        pending: list[bytes] = []
        pending_bytes = 0
        # Where the store allows, ciphertext is written ~1 MiB at a time on a helper thread
        # (the write releases the GIL) while this one encrypts the next megabyte; the lane
        # keeps writes in order, and leaving the block waits for them (or, after a failure,
        # for the one running) before the blob is published or removed.
        off_thread = self.blob_store.writes_off_thread
        writer = self.blob_store.writer(object_id, durable=False)  # see durable()
        with writer as blob, Lane("blob-write", depth=1) as lane:
            for piece in ciphertext:
                pending.append(piece)
                pending_bytes += len(piece)
                size += len(piece)
                if pending_bytes >= WRITE_BATCH_BYTES:  # fewer, larger writes
                    if off_thread:
                        lane.submit(blob.write, b"".join(pending))
                    else:
                        blob.write(b"".join(pending))
                    pending.clear()
                    pending_bytes = 0
            if pending and lane.started:
                lane.submit(blob.write, b"".join(pending))
            elif pending:  # a small object: no thread for one write
                blob.write(b"".join(pending))
            lane.drain()
        return WrittenObject(object_id, scope, kind, size)

    def durable(self) -> list[WrittenObject]:
        """Every object written, in order, once all of them are safe from a crash.

        :raises OSError: they could not be made durable (:meth:`discard` them).
        """
        self.blob_store.make_durable(written.object_id for written in self.written)
        return list(self.written)

    def discard(self) -> None:
        """Delete every blob written so far (after a failure, before anything was committed)."""
        for written in self.written:
            self.blob_store.delete(written.object_id)
        self.written.clear()


def _open_as_recorded(
    blob_store: BlobStore, row: EncryptedObject, data_key: bytes
) -> DecryptedObject:
    """Decrypt an object's metadata and check it is of the kind its row records.

    The server checks only ciphertext lengths at intake (it holds no key), so a hostile API
    client can store a valid object of another kind under a row's id: readers refuse it as
    damaged rather than fail on a field it lacks.

    :raises crypto.errors.DecryptionError: the ciphertext is rejected, or of another kind.
    """
    opened = decrypt_object(data_key, id_from_str(row.id), blob_store.open(row.id))
    if opened.kind != row.kind.value:
        raise BadMetadata("The object is not of the kind its row records.")
    return opened


def read_small_object(
    blob_store: BlobStore, row: EncryptedObject, data_key: bytes, *, max_body: int = 1024 * 1024
) -> tuple[dict[str, Any], bytes]:
    """Decrypt a report, message or note entirely in memory (never a file's body).

    :raises crypto.errors.DecryptionError: the ciphertext is rejected.
    :raises ValueError: the body is larger than ``max_body``.
    """
    opened = _open_as_recorded(blob_store, row, data_key)
    body = bytearray()
    for piece in opened.body:
        body += piece
        if len(body) > max_body:
            raise ValueError("object body larger than expected for its kind")
    return opened.metadata, bytes(body)


def read_metadata(blob_store: BlobStore, row: EncryptedObject, data_key: bytes) -> dict[str, Any]:
    """Decrypt only as much of an object as its metadata needs (a file's name, type, size)."""
    return _open_as_recorded(blob_store, row, data_key).metadata


def open_file(
    blob_store: BlobStore, row: EncryptedObject, data_key: bytes
) -> tuple[dict[str, Any], Iterator[bytes]]:
    """A file's metadata (decrypted now) and its body as a lazy stream, from the file object
    itself or from the detached body it names; the stream raises mid-way if the ciphertext
    is rejected (discard what it gave)."""
    opened = _open_as_recorded(blob_store, row, data_key)
    body_id = detached_body_id(opened.metadata)
    if body_id is None:
        return opened.metadata, opened.body
    return opened.metadata, _detached_body(
        blob_store, data_key, body_id, int(opened.metadata["size"])
    )


def _detached_body(
    blob_store: BlobStore, data_key: bytes, body_id: str, size: int
) -> Iterator[bytes]:
    # The id comes from authenticated metadata, and the body's key is derived from it: a
    # blob swapped in the store fails authentication rather than pass as this file.
    detached = decrypt_object(
        data_key, id_from_str(body_id), blob_store.open(body_id), body_size=size
    )
    yield from detached.body
