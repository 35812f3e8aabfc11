"""CSRF tokens bound to the session (or, before sign-in, to a pre-session cookie)."""

from __future__ import annotations

import hmac
import secrets

from litestar import Request

PRESESSION_COOKIE = "caseframe_presession"
FIELD = "csrf_token"
HEADER = "x-csrf-token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def submitted_token(request: Request) -> str:
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        from caseframe.core.web.input_guard import refuse_unreadable_body

        await refuse_unreadable_body(request)  # before parsing: a null, not UTF-8, a multipart stream kept
        form = await request.form()
        value = form.get(FIELD)
        return value if isinstance(value, str) else ""
    return ""


def matches(expected: str | None, given: str | None) -> bool:
    """Compared in constant time as bytes: ``compare_digest`` raises on a string with a character beyond ASCII, which
    anyone may send (a token of "é" in a header, a form or the cookie)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass")
    )
