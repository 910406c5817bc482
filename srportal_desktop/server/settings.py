"""Server configuration, read from `SRPORTAL_*` environment variables or passed in directly."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_DIR_NAME = "srportal-server"


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
    mail_from: str = "SR License Portal <license-portal@localhost>"

    # Where people open the portal; invite links point here.
    public_url: str = "http://127.0.0.1:8000"

    access_token_ttl_seconds: int = Field(default=900, ge=1)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=1)
    invite_ttl_hours: int = Field(default=72, ge=1)

    def invite_link(self, token: str) -> str:
        return f"{self.public_url.rstrip('/')}/accept-invite?token={token}"
