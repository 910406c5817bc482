"""How a license reads in a dialog: its sensors and its status in words."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from srportal_desktop.api.schema import License, LicenseStatus, Sensor
from srportal_desktop.ui.widgets.quota_line import plural

EXPIRING_SOON_DAYS = 30


def model_labels(license: License, catalog: Sequence[Sensor] = ()) -> list[str]:
    """The license's sensor models as "make model" (the id where the catalog has no label)."""
    labels = {sensor.id: sensor.label.strip() for sensor in catalog}
    return [labels.get(model, model) for model in license.sensor_models]


def sensors_text(license: License, catalog: Sequence[Sensor] = (), *, most: int = 3) -> str:
    """E.g. "4 sensors · Ouster OS1-64, Velodyne VLP-16", naming at most `most` models."""
    models = model_labels(license, catalog)
    named = ", ".join(models[:most])
    if len(models) > most:
        named += f" and {len(models) - most} more"
    return f"{plural(license.sensor_count, 'sensor')} · {named}"


def status_text(license: License, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    expires = license.expires_at
    if license.status is LicenseStatus.NOT_ACTIVATED:
        return "Not activated"
    if license.status is LicenseStatus.REVOKED:
        return "Revoked"
    if license.status is LicenseStatus.EXPIRED or (expires is not None and expires <= now):
        return f"Expired on {expires:%Y-%m-%d}" if expires else "Expired"
    if expires is None:
        return "Active"
    days = (expires - now).days
    if days <= EXPIRING_SOON_DAYS:
        return f"Active, expires in {plural(days, 'day')} ({expires:%Y-%m-%d})"
    return f"Active until {expires:%Y-%m-%d}"
