"""Server configuration, read from `SRPORTAL_*` environment variables or passed in directly.

`SRPORTAL_SETTINGS_FILE` may name a file of `SRPORTAL_*=value` lines (the .env format, the same
names as the environment); the environment wins over it, and arguments over both.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

APP_DIR_NAME = "srportal-server"
SETTINGS_FILE_VARIABLE = "SRPORTAL_SETTINGS_FILE"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))


def default_database_url() -> str:
    return f"sqlite:///{(default_data_dir() / 'portal.sqlite3').as_posix()}"


class ServerSettings(BaseSettings):
    """Everything the portal server needs to know; one instance per app."""

    model_config = SettingsConfigDict(env_prefix="SRPORTAL_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)

    # Mail: SMTP when smtp_host is set, else .eml files in outbox_dir, else nothing is sent
    # (and the API says so).
    outbox_dir: Path | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    # TLS to the SMTP server is verified against the system's CAs, or this PEM bundle when set;
    # smtp_verify=False turns verification off (a relay on loopback, never across a network).
    smtp_ca_file: Path | None = None
    smtp_verify: bool = True
    mail_from: str = "SR License Portal <license-portal@localhost>"

    # Where people open the portal; invite links point here.
    public_url: str = "http://127.0.0.1:8000"

    access_token_ttl_seconds: int = Field(default=900, ge=1)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=1)
    invite_ttl_hours: int = Field(default=72, ge=1)
    # How long an Idempotency-Key is remembered (its first answer replayed); never under a day,
    # so a client's retries for a whole working day are safe.
    idempotency_key_ttl_hours: int = Field(default=24, ge=24)

    @property
    def idempotency_key_ttl(self) -> timedelta:
        return timedelta(hours=self.idempotency_key_ttl_hours)

    # Sign-in throttling: failed attempts within a sliding window, counted per email address
    # and per client IP (login; accept-invite and refresh per IP), then 429 with Retry-After.
    auth_attempts_per_email: int = Field(default=10, ge=1)
    auth_attempts_per_ip: int = Field(default=50, ge=1)
    auth_attempts_window_seconds: int = Field(default=900, ge=1)

    # Larger request bodies are refused with 413 before they are read.
    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    # The Ed25519 key that signs license key files: a secret (standard base64 of the 32-byte
    # raw private key) wins over a PEM file; without either, a PEM file next to the SQLite
    # database (else in the data directory) is created on first start, readable by owner only.
    signing_key_path: Path | None = None
    signing_key_b64: SecretStr | None = None
    # Rehosts allowed per license within any 365 days.
    max_deactivations_per_year: int = Field(default=3, ge=0)

    # Logs of `srportal-server serve`: one JSON object per line on stderr, or plain text.
    log_level: str = Field(default="INFO", pattern=r"(?i)^(debug|info|warning|error|critical)$")
    log_format: Literal["json", "text"] = "json"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_settings = settings_file_source(settings_cls)
        return (init_settings, env_settings, dotenv_settings, file_settings, file_secret_settings)

    def invite_link(self, token: str) -> str:
        return f"{self.public_url.rstrip('/')}/accept-invite?token={token}"


def settings_file_source(settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource:
    """The file named by $SRPORTAL_SETTINGS_FILE (nothing when unset; an error when missing)."""
    name = os.environ.get(SETTINGS_FILE_VARIABLE, "").strip()
    path = Path(name).expanduser() if name else None
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"{SETTINGS_FILE_VARIABLE} names no readable file: {name}")
    return DotEnvSettingsSource(settings_cls, env_file=path, env_file_encoding="utf-8")
