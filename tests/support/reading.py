"""Read a stored tip the way an offline key holder would: sealed key, commitment, objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

from app.storage import BlobStore
from crypto.datakeys import open_data_key
from crypto.ids import id_from_str
from crypto.keys import KeyPair
from crypto.objects import decrypt_object_bytes


@dataclass(frozen=True)
class OpenedObject:
    kind: str
    scope: str
    author: str
    metadata: dict[str, Any]
    body: bytes


def read_tip_as(
    keypair: KeyPair, engine: Engine, blob_store: BlobStore, tip_id: str
) -> list[OpenedObject]:
    """Every object of the tip this key can open, in thread order.

    :raises crypto.errors.DecryptionError: a sealed key or object is rejected.
    """
    with engine.connect() as connection:
        commitments = connection.execute(
            text("SELECT thread_commitment, internal_commitment FROM tips WHERE id = :tip"),
            {"tip": tip_id},
        ).one()
        sealed_rows = connection.execute(
            text("SELECT scope, sealed FROM sealed_keys WHERE tip_id = :tip AND key_id = :key"),
            {"tip": tip_id, "key": keypair.key_id},
        ).all()
        object_rows = connection.execute(
            text(
                "SELECT id, scope, kind, author FROM objects WHERE tip_id = :tip "
                "AND complete ORDER BY seq"
            ),
            {"tip": tip_id},
        ).all()
    expected = {"thread": bytes(commitments[0]), "internal": bytes(commitments[1])}
    keys = {
        scope: open_data_key(
            bytes(sealed),
            tip_id=id_from_str(tip_id),
            keypair=keypair,
            scope=scope,
            expected_commitment=expected[scope],
        )
        for scope, sealed in sealed_rows
    }
    opened = []
    for object_id, scope, kind, author in object_rows:
        if scope not in keys:
            continue
        ciphertext = b"".join(blob_store.open(object_id))
        metadata, body = decrypt_object_bytes(keys[scope], id_from_str(object_id), ciphertext)
        opened.append(OpenedObject(kind, scope, author, metadata, body))
    return opened
