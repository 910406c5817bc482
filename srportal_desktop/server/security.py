"""Passwords (argon2id, and the policy for new ones) and opaque tokens (stored as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from srportal_desktop.api.schema import MIN_PASSWORD_LENGTH

MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 defaults


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why `password` cannot be chosen as a new password, as a sentence; None when it can.

    Length is what makes a password strong (NIST SP 800-63B), so beyond a minimum length only
    the choices an attacker tries first are refused; any characters, spaces included, are fine.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Must be at most {MAX_PASSWORD_LENGTH} characters long."
    if not password.strip():
        return "Must not be only spaces."
    if len(set(password)) == 1:
        return "Must not be one character repeated."
    if email:
        address = email.strip().casefold()
        guess = password.strip().casefold()
        if guess in (address, address.partition("@")[0]):
            return "Must not be your email address."
    return None


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
