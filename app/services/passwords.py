"""Staff passwords: strength rules and argon2id hashing (the login verifier, never a key)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.config import StaffKdf
from app.errors import InvalidInput

MIN_PASSWORD_LENGTH = 12
# The most common passwords and keyboard walks; anything containing one is refused.
KNOWN_WEAK_FRAGMENTS = frozenset(
    {
        "password", "passw0rd", "p@ssword", "123456", "12345678", "123456789", "1234567890",
        "qwerty", "qwertz", "azerty", "abc123", "111111", "000000", "letmein", "welcome",
        "iloveyou", "admin", "monkey", "dragon", "football", "baseball", "sunshine",
        "princess", "trustno1", "master", "shadow", "superman", "changeme", "secret",
        "tipline", "prosecutor", "asdfgh", "zxcvbn", "qazwsx", "1q2w3e", "987654321",
    }
)  # fmt: skip


class WeakPassword(InvalidInput):
    code = "weak_password"


def check_password_strength(password: str, username: str) -> None:
    """:raises WeakPassword: too short, built on a known-weak word, or on the username."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    lowered = password.lower()
    if any(fragment in lowered for fragment in KNOWN_WEAK_FRAGMENTS):
        raise WeakPassword("This password is built on a commonly used word; choose another.")
    if username and username.lower() in lowered:
        raise WeakPassword("A password must not contain the user name.")
    if len(set(password)) < 6:
        raise WeakPassword("This password repeats too few different characters.")


def password_hasher(kdf: StaffKdf) -> PasswordHasher:
    return PasswordHasher(time_cost=kdf.opslimit, memory_cost=kdf.memlimit // 1024, parallelism=1)


def hash_password(password: str, kdf: StaffKdf) -> str:
    return password_hasher(kdf).hash(password)


def verify_password(password_hash: str, password: str, kdf: StaffKdf) -> bool:
    try:
        return password_hasher(kdf).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
