"""Bits every router shares."""

from __future__ import annotations

from typing import Any

from srportal_desktop.api.schema import Problem
from srportal_desktop.server.errors import PROBLEM_MEDIA_TYPE


# `model` puts Problem into the document's components; the explicit schema makes the
# problem+json content (what the server really sends) say so, not only application/json.
def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries saying these statuses answer with problem+json."""
    return {
        code: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "description": "Problem",
        }
        for code in statuses
    }
