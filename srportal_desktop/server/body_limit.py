"""A cap on request body size: 413 problem+json instead of reading megabytes of junk."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from srportal_desktop.api.schema import ErrorCode, FieldError
from srportal_desktop.server.errors import ProblemError, problem_response


class BodyTooLargeError(HTTPException):
    """Raised while the body streams in; the problem handlers answer it (status 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


class BodyLimitMiddleware:
    """Refuses bodies over `max_bytes`: by Content-Length up front, else while they stream."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            detail = _too_large(self.max_bytes)
            refusal = ProblemError(
                detail,
                code=ErrorCode.VALIDATION_FAILED,
                status=413,
                errors=[FieldError(field="body", message=detail)],
            )
            await problem_response(refusal)(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Chunked or lying about its length: stop reading here.
                    raise BodyTooLargeError(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> str:
    return f"The request body is too large: at most {limit} bytes are accepted."
