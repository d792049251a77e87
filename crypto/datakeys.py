"""Per-tip data keys: generation, key commitments, sealing to recipients and opening.

Each tip has one 32-byte data key per scope. A data key is sealed to each recipient as
``crypto_box_seal(DK || tip_id, pk)`` and committed to in cleartext as
``BLAKE2b-256(key=DK, msg="tipline/v1/commit" || tip_id || scope)``.
"""

from __future__ import annotations

import hmac

import nacl.exceptions
from nacl.bindings import crypto_box_seal, crypto_box_seal_open
from nacl.utils import random

from crypto._hashing import COMMIT_LABEL, keyed_blake2b_256
from crypto.errors import CommitmentMismatch, SealedKeyInvalid, WrongTip
from crypto.ids import ID_BYTES, check_id
from crypto.keys import KEY_BYTES, KeyPair

SCOPES = ("thread", "internal")
DATA_KEY_BYTES = 32
COMMITMENT_BYTES = 32
SEAL_OVERHEAD = 48  # ephemeral public key (32) + Poly1305 tag (16)
SEALED_KEY_BYTES = SEAL_OVERHEAD + DATA_KEY_BYTES + ID_BYTES  # 96


def check_scope(scope: str) -> str:
    """Return ``scope`` after checking it is one of :data:`SCOPES`.

    :raises ValueError: otherwise.
    """
    if scope not in SCOPES:
        raise ValueError("A scope must be 'thread' or 'internal'.")
    return scope


def _check_data_key(data_key: bytes) -> bytes:
    if not isinstance(data_key, bytes | bytearray) or len(data_key) != DATA_KEY_BYTES:
        raise ValueError("A data key must be 32 bytes long.")
    return bytes(data_key)


def generate_data_key() -> bytes:
    """Return a fresh random 32-byte data key."""
    return random(DATA_KEY_BYTES)


def commitment(data_key: bytes, tip_id: bytes, scope: str) -> bytes:
    """Return the key commitment ``BLAKE2b-256(key=DK, "tipline/v1/commit" || tip_id || s)``.

    :raises ValueError: on a wrong-length key or id, or an unknown scope.
    """
    message = COMMIT_LABEL + check_id(tip_id, "tip id") + check_scope(scope).encode("ascii")
    return keyed_blake2b_256(_check_data_key(data_key), message)


def seal_data_key(data_key: bytes, tip_id: bytes, recipient_public_key: bytes) -> bytes:
    """Seal ``data_key || tip_id`` to a recipient; returns 96 bytes.

    :raises ValueError: on a wrong-length key or id.
    """
    if len(recipient_public_key) != KEY_BYTES:
        raise ValueError("A public key must be 32 bytes long.")
    plaintext = _check_data_key(data_key) + check_id(tip_id, "tip id")
    return crypto_box_seal(plaintext, bytes(recipient_public_key))


def open_data_key(
    sealed: bytes,
    *,
    tip_id: bytes,
    keypair: KeyPair,
    scope: str,
    expected_commitment: bytes,
) -> bytes:
    """Open a sealed data key, check its tip binding and its commitment; return the key.

    :raises SealedKeyInvalid: if ``sealed`` is not 96 bytes or does not open with ``keypair``.
    :raises WrongTip: if the sealed key is bound to another tip.
    :raises CommitmentMismatch: if the key does not match ``expected_commitment``.
    :raises ValueError: on a wrong-length tip id or an unknown scope.
    """
    tip_id = check_id(tip_id, "tip id")
    check_scope(scope)
    if len(sealed) != SEALED_KEY_BYTES:
        raise SealedKeyInvalid("The sealed data key does not have the length of a v1 sealed key.")
    try:
        opened = crypto_box_seal_open(bytes(sealed), keypair.public_key, keypair.secret_key)
    except nacl.exceptions.CryptoError as exc:
        raise SealedKeyInvalid("The sealed data key cannot be opened with this key.") from exc
    data_key, bound_tip_id = opened[:DATA_KEY_BYTES], opened[DATA_KEY_BYTES:]
    if not hmac.compare_digest(bound_tip_id, tip_id):
        raise WrongTip("The sealed data key belongs to a different tip.")
    if not hmac.compare_digest(commitment(data_key, tip_id, scope), bytes(expected_commitment)):
        raise CommitmentMismatch(f"The {scope} data key does not match the tip's key commitment.")
    return data_key
