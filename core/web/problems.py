"""Errors as RFC 9457 problem details: a clear title and detail, field errors, never a traceback."""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.exceptions import ValidationException as LitestarValidation

from caseframe.core.errors import ServiceError

log = logging.getLogger("caseframe.web")

TITLES = {
    400: "Bad request",
    401: "Sign in required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Changed by someone else",
    413: "Too large",
    415: "Unsupported media type",
    422: "There is a problem",
    429: "Too many requests",
    500: "Something went wrong",
}


def problem(
    status: int,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    *,
    retry_after: int | None = None,
    title: str | None = None,
) -> Response:
    body = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return Response(body, status_code=status, media_type="application/problem+json", headers=headers)


def service_error_handler(request: Request, exc: ServiceError) -> Response:
    return problem(exc.status, exc.message, exc.errors, retry_after=exc.retry_after, title=exc.title)


def http_error_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if isinstance(exc, LitestarValidation):
        return problem(400, "The request could not be read: check the address and the body are well formed")
    if isinstance(exc, NotAuthorizedException):
        return problem(401, "Sign in to continue")
    if isinstance(exc, PermissionDeniedException):
        return problem(403, exc.detail or "You are not allowed to do that")
    if status == 404:
        return problem(404, "There is nothing at this address")
    if status == 405:
        return problem(405, "This address does not accept that kind of request")
    return problem(status, exc.detail if status < 500 else "Something went wrong. Try again later.")


def internal_error_handler(request: Request, exc: Exception) -> Response:
    # the class name only: messages and tracebacks may carry case content
    log.error("unhandled %s on %s %s", exc.__class__.__name__, request.method, request.url.path)
    return problem(500, "Something went wrong. Try again later.")
