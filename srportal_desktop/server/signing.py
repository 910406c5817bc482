"""The portal's Ed25519 signing key: found or created once at start; it signs license key files.

Where the key comes from, first match wins:
1. `signing_key_b64` (a secret: standard base64 of the 32-byte raw private key);
2. the PEM file at `signing_key_path`;
3. `signing-key.pem` next to the SQLite database file, else in the server's data directory.

A missing file is created, readable by its owner only. Several workers starting at once all end
up with the same key: each writes a complete private temporary file and hard-links it into
place, which succeeds for exactly one of them; the others read the winner's file.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import make_url

from srportal_desktop import keyfile
from srportal_desktop.api import schema
from srportal_desktop.server.settings import ServerSettings, default_data_dir

log = logging.getLogger(__name__)

KEY_FILE_NAME = "signing-key.pem"
_PRIVATE_KEY_SIZE = 32
# Only where hard links are unsupported can a reader meet a file still being written.
_PARTIAL_READ_ATTEMPTS = 50
_PARTIAL_READ_PAUSE_SECONDS = 0.02


class Signer:
    """Signs key-file payloads with one Ed25519 private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        public_raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = keyfile.key_id(public_raw)
        self.public_key_b64 = base64.b64encode(public_raw).decode("ascii")

    def public(self) -> schema.SigningKey:
        return schema.SigningKey(
            key_id=self.key_id, algorithm=keyfile.ALGORITHM, public_key=self.public_key_b64
        )

    def sign(self, payload: dict[str, object]) -> schema.KeyFile:
        """A key file for `payload`; the payload also names the key that signed it."""
        text = keyfile.canonical_json({**payload, "key_id": self.key_id})
        signature = self._private_key.sign(text.encode("utf-8"))
        return schema.KeyFile(
            payload=text,
            signature=base64.b64encode(signature).decode("ascii"),
            algorithm=keyfile.ALGORITHM,
            key_id=self.key_id,
        )


def load_signer(settings: ServerSettings) -> Signer:
    if settings.signing_key_b64 is not None:
        return Signer(_from_secret(settings.signing_key_b64.get_secret_value()))
    return Signer(load_or_create(settings.signing_key_path or default_key_path(settings)))


def default_key_path(settings: ServerSettings) -> Path:
    url = make_url(settings.database_url)
    database = url.database or ""
    if (
        url.get_backend_name() == "sqlite"
        and database
        and not database.startswith(("file:", ":memory:"))
    ):
        return Path(database).expanduser().parent / KEY_FILE_NAME
    return default_data_dir() / KEY_FILE_NAME


def load_or_create(path: Path) -> Ed25519PrivateKey:
    """The key in the PEM file at `path`, created (mode 0600) when there is none yet."""
    if path.exists():
        return _read(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    if _publish(path, pem):
        log.info("created the signing key %s", path)
        return key
    return _read(path)  # another worker got there first: its key is the key


def _publish(path: Path, pem: bytes) -> bool:
    """Put `pem` at `path` unless a file is already there; True when this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    _write_new(temporary, pem)
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    except OSError:
        # No hard links on this file system: create the final name exclusively instead.
        try:
            _write_new(path, pem)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _write_new(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _read(path: Path) -> Ed25519PrivateKey:
    _warn_if_exposed(path)
    for attempt in range(_PARTIAL_READ_ATTEMPTS):
        data = path.read_bytes()
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except ValueError:
            if b"-----END" in data or attempt == _PARTIAL_READ_ATTEMPTS - 1:
                raise ValueError(f"{path} does not hold a PEM private key") from None
            time.sleep(_PARTIAL_READ_PAUSE_SECONDS)
            continue
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
        return key
    raise AssertionError("unreachable")


def _warn_if_exposed(path: Path) -> None:
    if os.name == "posix" and path.stat().st_mode & 0o077:
        log.warning("the signing key %s is readable by other users; chmod 600 it", path)


def _from_secret(text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip().encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("signing_key_b64 is not standard base64") from None
    if len(raw) != _PRIVATE_KEY_SIZE:
        raise ValueError(
            f"signing_key_b64 holds {len(raw)} bytes; an Ed25519 private key has "
            f"{_PRIVATE_KEY_SIZE}"
        )
    return Ed25519PrivateKey.from_private_bytes(raw)
