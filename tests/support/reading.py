"""Read a stored tip the way an offline key holder would: sealed key, commitment, objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

from app.storage import BlobStore
from crypto.datakeys import open_data_key
from crypto.ids import id_from_str
from crypto.keys import KeyPair
from crypto.metadata import detached_body_id
from crypto.object_reader import decrypt_object, decrypt_object_bytes


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
    """Every object of the tip this key can open, in thread order; a file's body is read
    from its detached body object when it has one.

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
    bodies = {object_id for object_id, _, kind, _ in object_rows if kind == "body"}
    for object_id, scope, kind, author in object_rows:
        if scope not in keys or kind == "body":
            continue  # a detached body is read through the file that names it
        ciphertext = b"".join(blob_store.open(object_id))
        metadata, body = decrypt_object_bytes(keys[scope], id_from_str(object_id), ciphertext)
        body_id = detached_body_id(metadata)
        if body_id is not None:
            bodies.remove(body_id)  # each body belongs to exactly one file of the tip
            detached = decrypt_object(
                keys[scope],
                id_from_str(body_id),
                blob_store.open(body_id),
                body_size=metadata["size"],
            )
            body = b"".join(detached.body)
        opened.append(OpenedObject(kind, scope, author, metadata, body))
    assert not bodies, "a detached body no file of the tip names"
    return opened
