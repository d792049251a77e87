"""Passphrase wrapping of X25519 secret keys (staff keys, protected key files).

``blob = nonce(24) || crypto_secretbox_easy(sk, nonce, wrap_key)`` (72 bytes: nonce, 16-byte
MAC, 32-byte ciphertext) with ``wrap_key = Argon2id(passphrase, salt16, opslimit, memlimit)``
(32 bytes, one lane). The parameters travel beside the blob so they can be raised later.
"""

from __future__ import annotations

from dataclasses import dataclass

import nacl.exceptions
import nacl.pwhash.argon2id
from nacl.secret import SecretBox
from nacl.utils import random

from crypto.errors import WrongPassphrase
from crypto.keys import KEY_BYTES

SALT_BYTES: int = nacl.pwhash.argon2id.SALTBYTES  # 16
NONCE_BYTES: int = SecretBox.NONCE_SIZE  # 24
WRAPPED_KEY_BYTES = NONCE_BYTES + SecretBox.MACBYTES + KEY_BYTES  # 72
#: libsodium's MODERATE argon2id preset (3 passes, 256 MiB): about a second per unwrap,
#: which a staff login or an offline decryption pays once.
DEFAULT_STAFF_OPSLIMIT: int = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
DEFAULT_STAFF_MEMLIMIT: int = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
MIN_OPSLIMIT: int = nacl.pwhash.argon2id.OPSLIMIT_MIN  # 1
MIN_MEMLIMIT: int = nacl.pwhash.argon2id.MEMLIMIT_MIN  # 8 KiB
MAX_OPSLIMIT: int = nacl.pwhash.argon2id.OPSLIMIT_MAX
MAX_MEMLIMIT = 64 * 1024 * 1024 * 1024  # a sanity cap well above any real setting


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters of a wrapped key; ``memlimit`` in bytes, as libsodium counts."""

    salt: bytes
    opslimit: int
    memlimit: int

    def __post_init__(self) -> None:
        check_kdf_limits(self.opslimit, self.memlimit)
        if len(self.salt) != SALT_BYTES:
            raise ValueError("An Argon2id salt must be 16 bytes long.")


@dataclass(frozen=True)
class WrappedKey:
    """A passphrase-wrapped secret key and the parameters that unwrap it."""

    blob: bytes
    kdf: KdfParams


def check_kdf_limits(opslimit: int, memlimit: int) -> None:
    """Check Argon2id limits are integers libsodium accepts (and below a sanity cap).

    :raises ValueError: otherwise.
    """
    if type(opslimit) is not int or not MIN_OPSLIMIT <= opslimit <= MAX_OPSLIMIT:
        raise ValueError("The Argon2id opslimit is out of range.")
    if type(memlimit) is not int or not MIN_MEMLIMIT <= memlimit <= MAX_MEMLIMIT:
        raise ValueError("The Argon2id memlimit is out of range.")


def derive_wrap_key(passphrase: bytes, kdf: KdfParams) -> bytes:
    """Return the 32-byte Argon2id wrap key for ``passphrase`` under ``kdf``."""
    return nacl.pwhash.argon2id.kdf(
        SecretBox.KEY_SIZE,
        bytes(passphrase),
        kdf.salt,
        opslimit=kdf.opslimit,
        memlimit=kdf.memlimit,
    )


def wrap_secret_key(
    secret_key: bytes,
    passphrase: bytes,
    *,
    opslimit: int = DEFAULT_STAFF_OPSLIMIT,
    memlimit: int = DEFAULT_STAFF_MEMLIMIT,
) -> WrappedKey:
    """Wrap ``secret_key`` under ``passphrase`` with a fresh salt and nonce.

    :raises ValueError: if the key is not 32 bytes, the passphrase is empty, or the limits
        are out of range.
    """
    if len(secret_key) != KEY_BYTES:
        raise ValueError("A secret key must be 32 bytes long.")
    if not passphrase:
        raise ValueError("A passphrase must not be empty.")
    kdf = KdfParams(random(SALT_BYTES), opslimit, memlimit)
    nonce = random(NONCE_BYTES)
    # SecretBox.encrypt returns nonce || MAC || ciphertext: exactly the v1 blob.
    blob = bytes(SecretBox(derive_wrap_key(passphrase, kdf)).encrypt(bytes(secret_key), nonce))
    return WrappedKey(blob, kdf)


def unwrap_secret_key(wrapped: WrappedKey, passphrase: bytes) -> bytes:
    """Return the secret key inside ``wrapped``.

    :raises WrongPassphrase: if the passphrase is wrong or the blob was altered.
    :raises ValueError: if the blob does not have the 72-byte v1 length.
    """
    if len(wrapped.blob) != WRAPPED_KEY_BYTES:
        raise ValueError("A wrapped key blob must be 72 bytes long.")
    box = SecretBox(derive_wrap_key(passphrase, wrapped.kdf))
    try:
        return bytes(box.decrypt(bytes(wrapped.blob)))
    except nacl.exceptions.CryptoError:
        raise WrongPassphrase("The passphrase is wrong or the wrapped key is damaged.") from None
