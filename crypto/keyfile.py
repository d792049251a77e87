"""Key files (``tipline keys generate``): JSON ``tipline-key`` v1, plain or passphrase-wrapped.

Plain: ``{"format":"tipline-key","v":1,"key_id","public_key","secret_key"}``. Wrapped:
``"wrapped_secret_key"`` and ``"kdf":{"alg":"argon2id","salt","opslimit","memlimit"}`` in
place of ``"secret_key"``. Binary values are standard base64; ``memlimit`` is in bytes.
Readers reject unknown or missing fields.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from crypto._encoding import StrictDecodeError, b64decode, b64encode, strict_json_loads
from crypto.errors import BadKeyFile, PassphraseRequired
from crypto.keys import KEY_BYTES, KeyPair, key_id, keypair_from_secret
from crypto.wrapping import (
    DEFAULT_STAFF_MEMLIMIT,
    DEFAULT_STAFF_OPSLIMIT,
    SALT_BYTES,
    WRAPPED_KEY_BYTES,
    KdfParams,
    WrappedKey,
    unwrap_secret_key,
    wrap_secret_key,
)

FORMAT = "tipline-key"
VERSION = 1
MAX_KEY_FILE_BYTES = 64 * 1024
_COMMON_FIELDS = {"format", "v", "key_id", "public_key"}
_PLAIN_FIELDS = _COMMON_FIELDS | {"secret_key"}
_WRAPPED_FIELDS = _COMMON_FIELDS | {"wrapped_secret_key", "kdf"}
_KDF_FIELDS = {"alg", "salt", "opslimit", "memlimit"}
_PLAIN_KEY_FILE_REFUSED = (
    "This key file holds its secret key unprotected: never put it on the server. Use a copy "
    'with only "format", "v", "key_id" and "public_key" (or a passphrase-protected file), '
    "and keep the secret offline."
)


def dump_key_file(
    keypair: KeyPair,
    passphrase: bytes | None = None,
    *,
    opslimit: int = DEFAULT_STAFF_OPSLIMIT,
    memlimit: int = DEFAULT_STAFF_MEMLIMIT,
) -> bytes:
    """Serialise ``keypair`` as a key file, wrapping the secret if a passphrase is given.

    :raises ValueError: if the passphrase is empty or the Argon2id limits are out of range.
    """
    document: dict[str, Any] = {
        "format": FORMAT,
        "v": VERSION,
        "key_id": keypair.key_id,
        "public_key": b64encode(keypair.public_key),
    }
    if passphrase is None:
        document["secret_key"] = b64encode(keypair.secret_key)
    else:
        wrapped = wrap_secret_key(
            keypair.secret_key, passphrase, opslimit=opslimit, memlimit=memlimit
        )
        document["wrapped_secret_key"] = b64encode(wrapped.blob)
        document["kdf"] = {
            "alg": "argon2id",
            "salt": b64encode(wrapped.kdf.salt),
            "opslimit": wrapped.kdf.opslimit,
            "memlimit": wrapped.kdf.memlimit,
        }
    return (json.dumps(document, indent=2) + "\n").encode("ascii")


def _parse_kdf(value: object) -> KdfParams:
    if not isinstance(value, dict) or set(value) != _KDF_FIELDS or value["alg"] != "argon2id":
        raise BadKeyFile("The key file's kdf is not an argon2id parameter set.")
    try:
        return KdfParams(
            b64decode(value["salt"], length=SALT_BYTES), value["opslimit"], value["memlimit"]
        )
    except (StrictDecodeError, ValueError):
        raise BadKeyFile("The key file's kdf parameters are invalid.") from None


def is_wrapped_key_file(data: bytes) -> bool:
    """True if ``data`` looks like a passphrase-protected key file (no validation)."""
    try:
        document = strict_json_loads(data)
    except StrictDecodeError:
        return False
    return isinstance(document, dict) and "wrapped_secret_key" in document


def load_key_file(data: bytes, passphrase: bytes | None = None) -> KeyPair:
    """Parse and check a key file; unwrap its secret with ``passphrase`` if wrapped.

    A passphrase given for an unwrapped file is ignored.

    :raises BadKeyFile: if the document is malformed or its keys and key_id do not match.
    :raises PassphraseRequired: if the file is wrapped and no passphrase was given.
    :raises WrongPassphrase: if the passphrase does not unwrap the secret key.
    """
    if len(data) > MAX_KEY_FILE_BYTES:
        raise BadKeyFile("The key file is too large to be a Tipline key file.")
    try:
        document = strict_json_loads(data)
    except StrictDecodeError:
        raise BadKeyFile("The key file is not valid JSON.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BadKeyFile("The file is not a Tipline key file.")
    if type(document.get("v")) is not int or document["v"] != VERSION:
        raise BadKeyFile("The key file is not version 1.")
    if set(document) not in (_PLAIN_FIELDS, _WRAPPED_FIELDS):
        raise BadKeyFile("The key file has missing or unexpected fields.")
    try:
        public_key = b64decode(document["public_key"], length=KEY_BYTES)
        if "secret_key" in document:
            secret_key = b64decode(document["secret_key"], length=KEY_BYTES)
        else:
            blob = b64decode(document["wrapped_secret_key"], length=WRAPPED_KEY_BYTES)
    except StrictDecodeError:
        raise BadKeyFile("A key in the key file is not base64 of the right length.") from None
    if "secret_key" not in document:
        kdf = _parse_kdf(document["kdf"])
        if passphrase is None:
            raise PassphraseRequired("The key file is protected by a passphrase; none was given.")
        secret_key = unwrap_secret_key(WrappedKey(blob, kdf), passphrase)
    keypair = keypair_from_secret(secret_key)
    if not hmac.compare_digest(keypair.public_key, public_key):
        raise BadKeyFile("The key file's secret key does not belong to its public key.")
    if document["key_id"] != keypair.key_id:
        raise BadKeyFile("The key file's key_id does not match its public key.")
    return keypair


def read_public_key_any(data: bytes) -> bytes:
    """The public key of any valid key file, plain, wrapped or public-only (offline use: the
    secret is neither unwrapped nor returned).

    :raises BadKeyFile: malformed, or a key_id that does not match the public key.
    """
    try:
        return read_public_key(data)
    except BadKeyFile as refused:
        if str(refused) != _PLAIN_KEY_FILE_REFUSED:
            raise
    return load_key_file(data).public_key


def read_public_key(data: bytes) -> bytes:
    """The public key of a key file, for a server that must never hold the secret.

    Accepts a public-only file (``format``, ``v``, ``key_id``, ``public_key``) and a
    passphrase-protected one (its wrapped secret is neither unwrapped nor kept). Refuses a
    file with an unprotected secret key, so such a file is never pasted into or copied onto
    the server, by the web admin or the command line alike.

    :raises BadKeyFile: malformed, a key_id that does not match, or an unprotected secret.
    """
    if len(data) > MAX_KEY_FILE_BYTES:
        raise BadKeyFile("The key file is too large to be a Tipline key file.")
    try:
        document = strict_json_loads(data)
    except StrictDecodeError:
        raise BadKeyFile("The key file is not valid JSON.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BadKeyFile("The file is not a Tipline key file.")
    if "secret_key" in document:
        raise BadKeyFile(_PLAIN_KEY_FILE_REFUSED)
    if type(document.get("v")) is not int or document["v"] != VERSION:
        raise BadKeyFile("The key file is not version 1.")
    if set(document) not in (_COMMON_FIELDS, _WRAPPED_FIELDS):
        raise BadKeyFile("The key file has missing or unexpected fields.")
    try:
        public_key = b64decode(document["public_key"], length=KEY_BYTES)
    except StrictDecodeError:
        raise BadKeyFile("The public key in the key file is not base64 of 32 bytes.") from None
    if document["key_id"] != key_id(public_key):
        raise BadKeyFile("The key file's key_id does not match its public key.")
    return public_key
