"""The sensor catalog as the rules see it: known ids, in catalog order."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from srportal_desktop.api import schema
from srportal_desktop.resources import load_sensor_catalog
from srportal_desktop.server.errors import ValidationFailedError


@cache
def sensors() -> tuple[schema.Sensor, ...]:
    return tuple(schema.Sensor.model_validate(item) for item in load_sensor_catalog())


@cache
def _positions() -> dict[str, int]:
    return {sensor.id: n for n, sensor in enumerate(sensors())}


def all_ids() -> list[str]:
    return [sensor.id for sensor in sensors()]


def label(sensor_id: str) -> str:
    for sensor in sensors():
        if sensor.id == sensor_id:
            return sensor.label
    return sensor_id


def in_catalog_order(ids: Iterable[str]) -> list[str]:
    """Distinct ids, known ones in catalog order first, unknown ones after."""
    positions = _positions()
    unique = set(ids)
    return sorted(unique, key=lambda i: (positions.get(i, len(positions)), i))


def checked_ids(ids: Iterable[str], field: str) -> list[str]:
    """The ids, de-duplicated in catalog order; unknown ones are a field error on `field`."""
    ids = list(ids)
    unknown = sorted({i for i in ids if i not in _positions()})
    if unknown:
        listed = ", ".join(unknown)
        raise ValidationFailedError.on_field(
            field,
            f"Unknown sensor model: {listed}.",
            f"These sensor models are not in the catalog: {listed}.",
        )
    return in_catalog_order(ids)
