"""Bits every router shares."""

from __future__ import annotations

from typing import Any

from srportal_desktop.api.schema import Problem
from srportal_desktop.server.errors import PROBLEM_MEDIA_TYPE


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries saying these statuses answer with problem+json."""
    return {
        code: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": "Problem"}
        for code in statuses
    }
