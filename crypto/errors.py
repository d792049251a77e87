"""Errors raised by the Tipline crypto package.

Every message is one human sentence that never contains plaintext, key material or a
tipster's code words: messages may reach logs and error pages. The class says *what* was
rejected; callers map classes to user-facing behaviour (see docs/PROTOCOL.md, "Errors").

``DecryptionError`` and its subclasses are rejections of input being read (ciphertext,
sealed keys, key files, bundles). ``InvalidCode`` rejects a typed code. ``EncryptionInputError``
and its subclasses reject what a caller asked us to encrypt.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error this package raises on purpose."""


class DecryptionError(CryptoError):
    """Base class of rejections: the input being read is not a valid Tipline v1 artefact.

    A consumer that was streaming a body when this was raised MUST discard everything it
    received from that object.
    """


class TamperedCiphertext(DecryptionError):
    """A chunk failed authentication, carried an unexpected tag, or the header is bad.

    With the wrong key every chunk fails authentication, so a wrong key also lands here.
    """


class TruncatedStream(DecryptionError):
    """The ciphertext ended before its FINAL chunk (or in the middle of a chunk)."""


class EarlyFinal(DecryptionError):
    """A chunk tagged FINAL arrived before the end the metadata declares."""


class MissingFinal(DecryptionError):
    """The chunk at the end the metadata declares is not tagged FINAL (the stream goes on)."""


class DataAfterFinal(DecryptionError):
    """Bytes follow the FINAL chunk."""


class NonZeroPadding(DecryptionError):
    """A padding byte is not zero."""


class BadMetadata(DecryptionError):
    """The metadata is not valid UTF-8 JSON, not an object, has the wrong ``v``, an unknown
    ``kind``, duplicate keys, or a missing or mistyped field."""


class LengthOutOfRange(DecryptionError):
    """``len(M)`` or ``size`` is out of range, or the object's padded length is not the
    canonical one for them."""


class WrongTip(DecryptionError):
    """A sealed data key opened, but it is bound to a different tip (trailing ``tip_id``)."""


class CommitmentMismatch(DecryptionError):
    """A data key does not match the tip's stored key commitment for that scope."""


class SealedKeyInvalid(DecryptionError):
    """A sealed data key cannot be opened with this key pair (or is not 96 bytes)."""


class WrongPassphrase(DecryptionError):
    """A wrapped secret key did not open: the passphrase is wrong or the blob is damaged."""


class PassphraseRequired(WrongPassphrase):
    """The key file is protected by a passphrase and none was given."""


class BadKeyFile(DecryptionError):
    """A key file is not a valid ``tipline-key`` v1 document, or its keys do not match."""


class BadBundle(DecryptionError):
    """A bundle is not a valid ``tipline-bundle`` v1 zip (manifest, names, members)."""


class NoSealedKey(DecryptionError):
    """A bundle holds no sealed data key for the given key pair."""


class DigestMismatch(DecryptionError):
    """A decrypted file body does not match the SHA-256 recorded in its metadata."""


class InvalidCode(CryptoError, ValueError):
    """A typed tipster code is not 8 words of one supported word list."""


class EncryptionInputError(CryptoError, ValueError):
    """Base class of rejections of what a caller asked to encrypt."""


class InvalidMetadata(EncryptionInputError):
    """Metadata to encrypt is not a valid v1 object of a known kind."""


class SizeMismatch(EncryptionInputError):
    """The body to encrypt does not yield exactly ``metadata["size"]`` bytes.

    Raised while streaming: everything already yielded by ``encrypt_object`` is then
    worthless and MUST be discarded (it never ends with a FINAL chunk).
    """
