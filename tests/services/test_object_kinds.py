"""A stored object must be of the kind its row records (a hostile API client controls both)."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest

from app.models import Author, EncryptedObject, ObjectKind, Scope
from app.services.objects import open_file, read_metadata, read_small_object
from app.storage.files import FileBlobStore
from crypto.errors import BadMetadata
from crypto.ids import id_from_str
from crypto.metadata import message_metadata
from crypto.objects import encrypt_detached_body, encrypt_object

DATA_KEY = bytes(range(32))


def _row(kind: ObjectKind) -> EncryptedObject:
    return EncryptedObject(
        id=str(uuid.uuid4()),
        tip_id=str(uuid.uuid4()),
        scope=Scope.THREAD,
        kind=kind,
        author=Author.TIPSTER,
        seq=0,
        ciphertext_size=0,
        complete=True,
        created_on=date(2026, 3, 2),
    )


def _store(tmp_path: Path, row: EncryptedObject, ciphertext: bytes) -> FileBlobStore:
    store = FileBlobStore(tmp_path / "blobs")
    with store.writer(row.id) as blob:
        blob.write(ciphertext)
    return store


def test_a_message_stored_under_a_report_row_is_refused_as_damaged(tmp_path: Path) -> None:
    row = _row(ObjectKind.REPORT)
    message = b"".join(
        encrypt_object(DATA_KEY, id_from_str(row.id), message_metadata("not a report"), [])
    )
    store = _store(tmp_path, row, message)
    with pytest.raises(BadMetadata):
        read_small_object(store, row, DATA_KEY)
    with pytest.raises(BadMetadata):
        read_metadata(store, row, DATA_KEY)


def test_a_detached_body_stored_under_a_file_or_report_row_is_refused_as_damaged(
    tmp_path: Path,
) -> None:
    for kind in (ObjectKind.REPORT, ObjectKind.FILE):
        row = _row(kind)
        body = b"".join(encrypt_detached_body(DATA_KEY, id_from_str(row.id), [b"evidence"]))
        store = _store(tmp_path / kind.value, row, body)
        with pytest.raises(BadMetadata):
            read_small_object(store, row, DATA_KEY)
        with pytest.raises(BadMetadata):
            open_file(store, row, DATA_KEY)
