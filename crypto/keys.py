"""Recipient key pairs (X25519) and their public identifiers."""

from __future__ import annotations

from dataclasses import dataclass, field

from nacl.public import PrivateKey

from crypto._hashing import blake2b_128

KEY_BYTES = 32


def key_id(public_key: bytes) -> str:
    """Return ``hex(BLAKE2b(pk, digest_size=16))``, the 32-hex-digit id of a public key.

    :raises ValueError: if ``public_key`` is not 32 bytes.
    """
    if len(public_key) != KEY_BYTES:
        raise ValueError("A public key must be 32 bytes long.")
    return blake2b_128(bytes(public_key)).hex()


@dataclass(frozen=True)
class KeyPair:
    """An X25519 key pair. ``repr`` never shows the secret key."""

    public_key: bytes
    secret_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.public_key) != KEY_BYTES or len(self.secret_key) != KEY_BYTES:
            raise ValueError("X25519 keys must be 32 bytes long.")

    @property
    def key_id(self) -> str:
        """The public key's id (see :func:`key_id`)."""
        return key_id(self.public_key)


def generate_keypair() -> KeyPair:
    """Return a fresh random X25519 key pair."""
    private_key = PrivateKey.generate()
    return KeyPair(bytes(private_key.public_key), bytes(private_key))


def keypair_from_secret(secret_key: bytes) -> KeyPair:
    """Return the key pair whose secret key is ``secret_key`` (public key recomputed).

    :raises ValueError: if ``secret_key`` is not 32 bytes.
    """
    if len(secret_key) != KEY_BYTES:
        raise ValueError("An X25519 secret key must be 32 bytes long.")
    private_key = PrivateKey(bytes(secret_key))
    return KeyPair(bytes(private_key.public_key), bytes(private_key))
