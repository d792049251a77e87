"""A public key's fingerprint, for two people to compare aloud (DESIGN §5 "Staff").

Before a prosecutor lets a newcomer read a desk's tips, the two compare the newcomer's key
fingerprint in person or by phone: 12 English words (easy to read out) and the key id in
groups of four hex digits (what the key file and the audit log show). Both are derived from
the public key alone, so the approving prosecutor sees the fingerprint of the key the server
would seal to — an admin who swapped in a key of their own shows a different one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mnemonic import Mnemonic

from crypto.keys import KEY_BYTES, key_id

WORDS = 12  # 132 bits of a 256-bit BLAKE2b digest, 11 bits a word
_LABEL = b"tipline/v1/fingerprint"
_WORDLIST = tuple(Mnemonic("english").wordlist)


@dataclass(frozen=True)
class Fingerprint:
    words: tuple[str, ...]
    hex_groups: tuple[str, ...]

    @property
    def spoken(self) -> str:
        return " ".join(self.words)

    @property
    def hex(self) -> str:
        return " ".join(self.hex_groups)


def fingerprint(public_key: bytes) -> Fingerprint:
    """The fingerprint of an X25519 public key.

    :raises ValueError: if ``public_key`` is not 32 bytes.
    """
    if len(public_key) != KEY_BYTES:
        raise ValueError("A public key must be 32 bytes long.")
    digest = hashlib.blake2b(_LABEL + bytes(public_key), digest_size=32).digest()
    bits = int.from_bytes(digest, "big") >> (256 - 11 * WORDS)
    words = tuple(_WORDLIST[(bits >> (11 * (WORDS - 1 - i))) & 0x7FF] for i in range(WORDS))
    hex_id = key_id(public_key)
    return Fingerprint(words, tuple(hex_id[i : i + 4] for i in range(0, len(hex_id), 4)))
