"""Typed errors the PortalClient raises, carrying the server's problem+json details.

Nothing here imports httpx, so the UI can catch these without speaking HTTP itself.
"""

from __future__ import annotations

from srportal_desktop.api.schema import ErrorCode, FieldError, Problem


class PortalError(Exception):
    """The portal refused a request: `detail` is the human sentence to show."""

    def __init__(
        self,
        detail: str,
        *,
        status: int = 0,
        code: ErrorCode | str | None = None,
        title: str = "",
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code
        self.title = title
        self.errors: list[FieldError] = list(errors or [])

    def field_messages(self) -> dict[str, str]:
        """Field path (`template.name`, `lpu`) → message, first message per field."""
        messages: dict[str, str] = {}
        for error in self.errors:
            messages.setdefault(error.field, error.message)
        return messages

    @classmethod
    def from_problem(cls, problem: Problem) -> PortalError:
        error_class = _CLASS_BY_CODE.get(problem.code, PortalError)
        return error_class(
            problem.detail,
            status=problem.status,
            code=problem.code,
            title=problem.title,
            errors=problem.errors,
        )


class PortalUnavailableError(PortalError):
    """The portal could not be reached at all (offline, refused, timed out)."""


class AuthenticationError(PortalError):
    """Signed out, wrong credentials, or the session ran out."""


class ForbiddenError(PortalError):
    pass


class NotFoundError(PortalError):
    pass


class InputRejectedError(PortalError):
    """422: the request failed validation; `errors` names the fields."""


class ConflictError(PortalError):
    """409: quota exceeded, name or email taken, or an invalid state change."""


class RateLimitedError(PortalError):
    def __init__(self, detail: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


_CLASS_BY_CODE: dict[str, type[PortalError]] = {
    ErrorCode.UNAUTHENTICATED: AuthenticationError,
    ErrorCode.FORBIDDEN: ForbiddenError,
    ErrorCode.NOT_FOUND: NotFoundError,
    ErrorCode.VALIDATION_FAILED: InputRejectedError,
    ErrorCode.QUOTA_EXCEEDED: ConflictError,
    ErrorCode.NAME_TAKEN: ConflictError,
    ErrorCode.EMAIL_TAKEN: ConflictError,
    ErrorCode.INVALID_STATE: ConflictError,
    ErrorCode.RATE_LIMITED: RateLimitedError,
    # The portal is up but cannot send mail right now: like being offline, try again later.
    ErrorCode.MAIL_UNAVAILABLE: PortalUnavailableError,
}
