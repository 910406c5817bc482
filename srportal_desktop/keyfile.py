"""License key files: check offline that the portal signed one, with nothing but its public key.

A key file is `{payload, signature, algorithm: "Ed25519", key_id}`: `payload` is a string of
canonical JSON (sorted keys, no spaces, UTF-8), `signature` the standard base64 of the Ed25519
signature over the UTF-8 bytes of `payload`, and `key_id` names the signing key (see `key_id`).
This module is deliberately small and light so the desktop app can use it without the server.
"""

from __future__ import annotations

import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from srportal_desktop.api.schema import KeyFile

ALGORITHM = "Ed25519"
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_HEX_DIGITS = 16
_FIELDS = ("payload", "signature", "algorithm", "key_id")


class KeyFileError(ValueError):
    """The key file cannot be trusted: malformed, signed by another key, or altered."""


def canonical_json(value: object) -> str:
    """The one text form of `value` that is signed: sorted keys, no spaces, raw UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def key_id(public_key_raw: bytes) -> str:
    """A short stable fingerprint of a raw Ed25519 public key: SHA-256, first 16 hex digits."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(public_key_raw)
    return digest.finalize().hex()[:KEY_ID_HEX_DIGITS]


def verify_key_file(
    key_file: KeyFile | dict[str, object], public_key_b64: str, *, machine_id: str | None = None
) -> dict[str, object]:
    """The payload of `key_file` if the holder of `public_key_b64` signed it; else KeyFileError.

    `public_key_b64` is the standard base64 of the 32-byte raw public key, as published at
    `GET /v1/signing-key`. With `machine_id`, the file must also be bound to that machine.
    Expiry is the caller's to judge: the payload's `expires_at` is ISO 8601 UTC.
    """
    file = _parse_file(key_file)
    if file.algorithm != ALGORITHM:
        raise KeyFileError(f"Unsupported signature algorithm {file.algorithm!r}; expected Ed25519.")
    public_raw = _b64(public_key_b64, PUBLIC_KEY_SIZE, "public key")
    expected_id = key_id(public_raw)
    if file.key_id != expected_id:
        raise KeyFileError(
            f"The key file was signed by key {file.key_id!r}, not by this portal's key "
            f"{expected_id!r}."
        )
    signature = _b64(file.signature, SIGNATURE_SIZE, "signature")
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            signature, file.payload.encode("utf-8")
        )
    except InvalidSignature:
        raise KeyFileError(
            "The signature does not match: the key file was altered or not issued by this portal."
        ) from None

    try:
        payload = json.loads(file.payload)
    except ValueError:
        raise KeyFileError("The signed payload is not JSON.") from None
    if not isinstance(payload, dict):
        raise KeyFileError("The signed payload is not a JSON object.")
    if payload.get("key_id", file.key_id) != file.key_id:
        raise KeyFileError("The payload names a different signing key than the key file.")
    if machine_id is not None and payload.get("machine_id") != machine_id:
        raise KeyFileError("This key file is bound to another machine.")
    return payload


def _parse_file(key_file: KeyFile | dict[str, object]) -> KeyFile:
    if isinstance(key_file, KeyFile):
        return key_file
    if not isinstance(key_file, dict):
        raise KeyFileError("A key file is a JSON object.")
    missing = [name for name in _FIELDS if name not in key_file]
    if missing:
        raise KeyFileError(f"The key file lacks {', '.join(missing)}.")
    try:
        return KeyFile.model_validate(key_file, strict=True)
    except ValueError:  # pydantic's ValidationError
        raise KeyFileError(
            "The key file is malformed: payload, signature, algorithm and key_id are strings."
        ) from None


def _b64(text: str, size: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise KeyFileError(f"The {what} is not standard base64.") from None
    if len(raw) != size:
        raise KeyFileError(f"The {what} has {len(raw)} bytes; Ed25519 uses {size}.")
    return raw
