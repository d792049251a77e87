"""Tipline protocol v1 as pure functions over bytes and streams (see docs/PROTOCOL.md).

Imports only the standard library, PyNaCl and ``mnemonic``; never the app. Modules:

- :mod:`crypto.keys` — recipient X25519 key pairs and key ids
- :mod:`crypto.datakeys` — per-tip data keys, commitments, sealing and opening
- :mod:`crypto.objects` — streaming object encryption; :mod:`crypto.object_reader` — decryption
- :mod:`crypto.metadata` — the four metadata kinds
- :mod:`crypto.layout` — padding, chunking and ciphertext lengths (no keys needed)
- :mod:`crypto.codes` — tipster codes, lookup digest, tipster key pair
- :mod:`crypto.wrapping` — passphrase-wrapped secret keys
- :mod:`crypto.keyfile` — ``tipline-key`` files
- :mod:`crypto.bundle` — ``tipline-bundle`` zips and their offline decryption
- :mod:`crypto.filenames` — tipsters' file names made harmless, for every use to build on
- :mod:`crypto.errors` — every error raised on purpose
"""

from crypto.datakeys import SCOPES, commitment, generate_data_key, open_data_key, seal_data_key
from crypto.errors import CryptoError, DecryptionError
from crypto.ids import id_from_str, id_to_str, new_id
from crypto.keys import KeyPair, generate_keypair, key_id, keypair_from_secret
from crypto.object_reader import DecryptedObject, decrypt_object, decrypt_object_bytes
from crypto.objects import CHUNK_SIZE, encrypt_object, object_key

__all__ = [
    "CHUNK_SIZE",
    "SCOPES",
    "CryptoError",
    "DecryptedObject",
    "DecryptionError",
    "KeyPair",
    "commitment",
    "decrypt_object",
    "decrypt_object_bytes",
    "encrypt_object",
    "generate_data_key",
    "generate_keypair",
    "id_from_str",
    "id_to_str",
    "key_id",
    "keypair_from_secret",
    "new_id",
    "object_key",
    "open_data_key",
    "seal_data_key",
]
