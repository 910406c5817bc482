"""Offline verification of license key files: genuine files pass, anything altered is refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from srportal_desktop.api.schema import KeyFile
from srportal_desktop.keyfile import KeyFileError, canonical_json, key_id, verify_key_file

PAYLOAD: dict[str, object] = {
    "version": 1,
    "license_id": "0b7c6a2e-4f1d-4d8e-9b7a-2f0c1e5d6a7b",
    "name": "Gate Zürich 1",
    "machine_id": "HOST-42",
    "sensor_models": ["ouster-os1-64", "velodyne-vlp-16"],
    "sensor_count": 3,
    "gpu_preset": True,
    "issued_at": "2025-01-02T03:04:05Z",
    "activated_at": "2025-02-01T00:00:00Z",
    "expires_at": "2026-02-01T00:00:00Z",
}


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def signed(key: Ed25519PrivateKey, payload: object, **overrides: str) -> dict[str, object]:
    """A key file made the way the portal makes one, independently of the server code."""
    kid = key_id(raw_public(key))
    if isinstance(payload, dict):
        payload = {**payload, "key_id": kid}
    text = payload if isinstance(payload, str) else canonical_json(payload)
    file: dict[str, object] = {
        "payload": text,
        "signature": b64(key.sign(text.encode("utf-8"))),
        "algorithm": "Ed25519",
        "key_id": kid,
    }
    return file | overrides


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def public_b64(key: Ed25519PrivateKey) -> str:
    return b64(raw_public(key))


def test_a_genuine_key_file_yields_its_payload(key: Ed25519PrivateKey, public_b64: str) -> None:
    file = signed(key, PAYLOAD)
    payload = verify_key_file(file, public_b64)
    assert payload == PAYLOAD | {"key_id": file["key_id"]}
    # The wire model works the same as the plain JSON object.
    assert verify_key_file(KeyFile.model_validate(file), public_b64) == payload
    assert verify_key_file(file, public_b64, machine_id="HOST-42") == payload


def test_the_payload_is_canonical_json() -> None:
    text = canonical_json({"b": 1, "a": ["ü", 2], "c": {"z": None, "y": True}})
    assert text == '{"a":["ü",2],"b":1,"c":{"y":true,"z":null}}'


def test_key_id_is_a_short_stable_fingerprint(key: Ed25519PrivateKey) -> None:
    kid = key_id(raw_public(key))
    assert len(kid) == 16
    assert int(kid, 16) >= 0
    assert kid == key_id(raw_public(key))
    assert kid != key_id(raw_public(Ed25519PrivateKey.generate()))


@pytest.mark.parametrize("position", [0, 20, -2])
def test_one_changed_byte_in_the_payload_is_refused(
    key: Ed25519PrivateKey, public_b64: str, position: int
) -> None:
    file = signed(key, PAYLOAD)
    data = bytearray(str(file["payload"]).encode("utf-8"))
    data[position] ^= 0x01
    file["payload"] = data.decode("utf-8")
    with pytest.raises(KeyFileError, match="signature does not match"):
        verify_key_file(file, public_b64)


def test_a_changed_expiry_is_refused(key: Ed25519PrivateKey, public_b64: str) -> None:
    file = signed(key, PAYLOAD)
    file["payload"] = str(file["payload"]).replace("2026-02-01", "2036-02-01")
    with pytest.raises(KeyFileError, match="signature does not match"):
        verify_key_file(file, public_b64)


def test_a_changed_signature_is_refused(key: Ed25519PrivateKey, public_b64: str) -> None:
    file = signed(key, PAYLOAD)
    signature = bytearray(base64.b64decode(str(file["signature"])))
    signature[10] ^= 0x80
    file["signature"] = b64(bytes(signature))
    with pytest.raises(KeyFileError, match="signature does not match"):
        verify_key_file(file, public_b64)


def test_a_file_from_another_key_is_refused(key: Ed25519PrivateKey, public_b64: str) -> None:
    other = Ed25519PrivateKey.generate()
    file = signed(other, PAYLOAD)
    with pytest.raises(KeyFileError, match="signed by key"):
        verify_key_file(file, public_b64)
    # Claiming our key id does not help: the signature is still someone else's.
    forged = file | {"key_id": key_id(raw_public(key))}
    with pytest.raises(KeyFileError, match="signature does not match"):
        verify_key_file(forged, public_b64)


def test_the_payload_must_name_the_same_key(key: Ed25519PrivateKey, public_b64: str) -> None:
    file = signed(key, canonical_json({**PAYLOAD, "key_id": "0000000000000000"}))
    with pytest.raises(KeyFileError, match="different signing key"):
        verify_key_file(file, public_b64)


def test_a_file_for_another_machine_is_refused(key: Ed25519PrivateKey, public_b64: str) -> None:
    with pytest.raises(KeyFileError, match="another machine"):
        verify_key_file(signed(key, PAYLOAD), public_b64, machine_id="HOST-43")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.pop("signature"), "lacks signature"),
        (lambda f: f.update(algorithm="RS256"), "Unsupported signature algorithm"),
        (lambda f: f.update(signature="not base64!"), "signature is not standard base64"),
        (lambda f: f.update(signature=b64(b"short")), "signature has 5 bytes"),
        (lambda f: f.update(payload=42), "malformed"),
    ],
)
def test_malformed_files_are_refused_clearly(
    key: Ed25519PrivateKey,
    public_b64: str,
    mutate: Callable[[dict[str, object]], object],
    message: str,
) -> None:
    file = signed(key, PAYLOAD)
    mutate(file)
    with pytest.raises(KeyFileError, match=message):
        verify_key_file(file, public_b64)


def test_a_signed_payload_that_is_not_an_object_is_refused(
    key: Ed25519PrivateKey, public_b64: str
) -> None:
    with pytest.raises(KeyFileError, match="not JSON"):
        verify_key_file(signed(key, "not json"), public_b64)
    with pytest.raises(KeyFileError, match="not a JSON object"):
        verify_key_file(signed(key, json.dumps([1, 2])), public_b64)


def test_a_malformed_public_key_is_refused(key: Ed25519PrivateKey) -> None:
    file = signed(key, PAYLOAD)
    with pytest.raises(KeyFileError, match="public key has 3 bytes"):
        verify_key_file(file, b64(b"abc"))
    with pytest.raises(KeyFileError, match="public key is not standard base64"):
        verify_key_file(file, "%%%")
    with pytest.raises(KeyFileError, match="JSON object"):
        verify_key_file([file], b64(raw_public(key)))  # type: ignore[arg-type]
