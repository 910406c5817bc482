"""Password hashing (argon2id) and opaque tokens (random, stored as SHA-256 digests)."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 defaults


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; an account without a password never matches.

    A missing hash is still checked against a dummy one, so answering takes as long for an
    unknown email as for a wrong password.
    """
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def new_token() -> str:
    """A fresh opaque token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    # Tokens are high-entropy, so a plain (unsalted) digest is enough to make a stolen table
    # useless, and it can be looked up by equality.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
