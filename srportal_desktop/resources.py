"""Where the shipped resources (sensor catalog, icons) live, installed or in a checkout."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def resources_dir() -> Path:
    # A wheel carries them inside the package; a checkout keeps them at the top level.
    for candidate in (_PACKAGE_DIR / "resources", _PACKAGE_DIR.parent / "resources"):
        if (candidate / "sensors.json").is_file():
            return candidate
    raise FileNotFoundError("the resources folder (sensors.json, icons) was not found")


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def load_sensor_catalog() -> list[dict[str, str]]:
    """The default lidar catalog: `[{id, make, model}]`."""
    with resource_path("sensors.json").open(encoding="utf-8") as f:
        data: list[dict[str, str]] = json.load(f)
    return data
