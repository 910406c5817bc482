"""Errors as RFC 9457 problem details: one exception family, one JSON shape for every refusal.

Services raise the `ProblemError` subclasses; the handlers installed by
`install_problem_handlers` turn them, FastAPI's validation errors, unknown routes and unexpected
crashes into `application/problem+json` answers with the stable `code` of the wire schema.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any, Self

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from srportal_desktop.api.schema import ErrorCode, FieldError, Problem

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

_TITLES: dict[ErrorCode, str] = {
    ErrorCode.VALIDATION_FAILED: "Invalid input",
    ErrorCode.UNAUTHENTICATED: "Not signed in",
    ErrorCode.FORBIDDEN: "Not allowed",
    ErrorCode.NOT_FOUND: "Not found",
    ErrorCode.QUOTA_EXCEEDED: "Not enough quota",
    ErrorCode.NAME_TAKEN: "Name already in use",
    ErrorCode.EMAIL_TAKEN: "Email already in use",
    ErrorCode.INVALID_STATE: "Not possible in the current state",
    ErrorCode.RATE_LIMITED: "Too many requests",
    ErrorCode.METHOD_NOT_ALLOWED: "Method not allowed",
    ErrorCode.MAIL_UNAVAILABLE: "Email could not be sent",
    ErrorCode.INTERNAL_ERROR: "Internal server error",
}


class ProblemError(Exception):
    """A refusal the client should show: `detail` is a sentence for a person."""

    code: ErrorCode = ErrorCode.INTERNAL_ERROR
    status: int = 500

    def __init__(
        self,
        detail: str,
        *,
        errors: Iterable[FieldError] = (),
        code: ErrorCode | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}

    @classmethod
    def on_field(cls, field: str, message: str, detail: str | None = None) -> Self:
        return cls(detail or message, errors=[FieldError(field=field, message=message)])

    def to_problem(self) -> Problem:
        return Problem(
            type=f"urn:srportal:problem:{self.code.value}",
            title=_TITLES.get(self.code, HTTPStatus(self.status).phrase),
            status=self.status,
            detail=self.detail,
            code=self.code,
            errors=self.errors,
        )


class ValidationFailedError(ProblemError):
    code = ErrorCode.VALIDATION_FAILED
    status = 422


class UnauthenticatedError(ProblemError):
    code = ErrorCode.UNAUTHENTICATED
    status = 401

    def __init__(self, detail: str, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class ForbiddenError(ProblemError):
    code = ErrorCode.FORBIDDEN
    status = 403


class NotFoundError(ProblemError):
    code = ErrorCode.NOT_FOUND
    status = 404


class QuotaExceededError(ProblemError):
    code = ErrorCode.QUOTA_EXCEEDED
    status = 409


class NameTakenError(ProblemError):
    code = ErrorCode.NAME_TAKEN
    status = 409


class EmailTakenError(ProblemError):
    code = ErrorCode.EMAIL_TAKEN
    status = 409


class InvalidStateError(ProblemError):
    code = ErrorCode.INVALID_STATE
    status = 409


class RateLimitedError(ProblemError):
    code = ErrorCode.RATE_LIMITED
    status = 429


class MailUnavailableError(ProblemError):
    code = ErrorCode.MAIL_UNAVAILABLE
    status = 503


def problem_response(error: ProblemError) -> JSONResponse:
    return JSONResponse(
        error.to_problem().model_dump(mode="json"),
        status_code=error.status,
        headers=error.headers or None,
        media_type=PROBLEM_MEDIA_TYPE,
    )


# --- request validation --------------------------------------------------------------------

_LOCATION_PREFIXES = ("body", "query", "path", "header", "cookie")


def _field_path(loc: Sequence[Any]) -> tuple[str, int | None]:
    """`("body", "template", "name")` → `template.name`; list indexes are reported apart."""
    parts = list(loc)
    if parts and parts[0] in _LOCATION_PREFIXES:
        parts = parts[1:]
    names = [str(p) for p in parts if not isinstance(p, int)]
    indexes = [p for p in parts if isinstance(p, int)]
    return ".".join(names) or "body", (indexes[-1] if indexes else None)


def _human_message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    match kind:
        case "missing":
            return "This field is required."
        case "extra_forbidden":
            return "This field is not accepted here."
        case "string_too_short":
            n = ctx.get("min_length", 1)
            return "Must not be empty." if n == 1 else f"Must be at least {n} characters long."
        case "string_too_long":
            return f"Must be at most {ctx.get('max_length')} characters long."
        case "too_short":
            n = ctx.get("min_length", 1)
            return "Choose at least one." if n == 1 else f"Choose at least {n}."
        case "too_long":
            return f"Choose at most {ctx.get('max_length')}."
        case "greater_than_equal":
            return f"Must be at least {ctx.get('ge')}."
        case "less_than_equal":
            return f"Must be at most {ctx.get('le')}."
        case "greater_than":
            return f"Must be more than {ctx.get('gt')}."
        case "less_than":
            return f"Must be less than {ctx.get('lt')}."
        case "int_type" | "int_parsing" | "int_from_float":
            return "Must be a whole number."
        case "bool_type" | "bool_parsing":
            return "Must be true or false."
        case "string_type":
            return "Must be text."
        case "string_unicode":
            return "Must be valid Unicode text."
        case "list_type":
            return "Must be a list."
        case "enum" | "literal_error":
            return f"Must be one of: {ctx.get('expected', '')}."
        case "json_invalid":
            return "The request body is not valid JSON."
        case "model_attributes_type" | "dict_type" | "model_type":
            return "Must be a JSON object."
        case "value_error":
            message = str(error.get("msg", "")).removeprefix("Value error, ")
            if message.startswith("value is not a valid email address"):
                reason = message.partition(": ")[2]
                return f"Not a valid email address. {reason}".strip()
            return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
    return str(error.get("msg", "Invalid value."))


def field_errors_from_validation(raw_errors: Sequence[Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    for raw in raw_errors:
        field, index = _field_path(raw.get("loc", ()))
        message = _human_message(raw)
        # A JSON syntax error's location is a character position, not an item of a list.
        if index is not None and raw.get("type") != "json_invalid":
            message = f"Item {index + 1}: {message}"
        errors.append(FieldError(field=field, message=message))
    return errors


def validation_detail(errors: Sequence[FieldError]) -> str:
    shown = "; ".join(f"{e.field}: {e.message}" for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"Please correct the request: {shown}{more}"


# --- handlers --------------------------------------------------------------------------------

_CODE_BY_STATUS: dict[int, ErrorCode] = {
    400: ErrorCode.VALIDATION_FAILED,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.INVALID_STATE,
    413: ErrorCode.VALIDATION_FAILED,
    415: ErrorCode.VALIDATION_FAILED,
    422: ErrorCode.VALIDATION_FAILED,
    429: ErrorCode.RATE_LIMITED,
}


async def _on_problem(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc)


async def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors_from_validation(exc.errors())
    return problem_response(ValidationFailedError(validation_detail(errors), errors=errors))


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _CODE_BY_STATUS.get(status, ErrorCode.INTERNAL_ERROR)
    errors: list[FieldError] = []
    if status == 404:
        detail = f"There is nothing at {request.url.path}."
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    elif status == 400:
        # The framework could not parse the body (bad UTF-8, JSON nested too deep): that is
        # invalid input like any other, so it is answered the same way.
        status, detail = 422, "The request body is not valid JSON."
        errors = [FieldError(field="body", message="Send one JSON object, UTF-8 encoded.")]
    else:
        detail = str(exc.detail)
        if status == 413:
            errors = [FieldError(field="body", message=detail)]
    headers = dict(exc.headers or {})
    return problem_response(
        ProblemError(detail, code=code, status=status, headers=headers, errors=errors)
    )


async def _on_crash(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(ProblemError("The server failed to handle this request."))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_crash)
