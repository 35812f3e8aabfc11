"""Deny by default: every route needs a signed-in user unless its handler says ``opt={"public": True}``.

The JSON API authenticates with a bearer token only, so a browser's cookie can never drive it from
another site; pages use the session cookie, and every unsafe request must carry the session's CSRF
token (a hidden form field, or the header htmx sends).
"""

from __future__ import annotations

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from caseframe.core.auth import service as auth
from caseframe.core.db.engine import quick_reads
from caseframe.core.web import csrf
from caseframe.core.web.dependencies import signed_in_actor

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_FAILED = (
    "This page has expired or the form did not come from Caseframe. Go back, reload the page and try again."
)


def is_api(connection: ASGIConnection) -> bool:
    return connection.url.path.startswith("/api/")


def session_token(connection: ASGIConnection) -> str | None:
    if is_api(connection):
        header = connection.headers.get("authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else None
    return connection.cookies.get(connection.app.state.settings.session_cookie)


async def require_user(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    unsafe = connection.scope.get("method", "GET") not in SAFE_METHODS
    if handler.opt.get("public"):
        if unsafe and not is_api(connection) and isinstance(connection, Request):
            expected = connection.cookies.get(csrf.PRESESSION_COOKIE)
            if not csrf.matches(expected, await csrf.submitted_token(connection)):
                raise PermissionDeniedException(CSRF_FAILED)
        return
    # a cookie is looked up only as a browser session and a bearer token only as an API token
    with quick_reads():  # one indexed lookup on every request
        found = await auth.session_for_token(session_token(connection), api=is_api(connection))
    if found is None:
        raise NotAuthorizedException("Sign in to continue")
    actor, token, pending = found
    connection.state.actor = actor
    connection.state.csrf_token = token
    connection.state.pending = pending
    if pending == "mfa" and not handler.opt.get("before_mfa"):
        # only the password so far: nothing works but the code page and sign-out until the code is right
        raise MfaCodeNeeded()
    if pending == "password" and not handler.opt.get("during_password_change"):
        # an admin set the password: the user chooses their own before anything else
        raise PasswordChangeNeeded()
    if pending == "mfa_setup" and not handler.opt.get("during_mfa_setup"):
        # the user's role must use two-step verification: set it up before anything else
        raise MfaSetupNeeded()
    if pending == "mou" and not handler.opt.get("before_mou"):
        # nothing works until the memorandum of understanding is accepted (sign-out and the MoU page do)
        raise MouNotAccepted()
    if (
        unsafe
        and not is_api(connection)
        and isinstance(connection, Request)
        and not csrf.matches(token, await csrf.submitted_token(connection))
    ):
        raise PermissionDeniedException(CSRF_FAILED)


class SignInStepPending(PermissionDeniedException):
    """A session that has a step of signing in still to do; pages send the browser to ``page``."""

    page = "/"


class MouNotAccepted(SignInStepPending):
    page = "/mou"

    def __init__(self) -> None:
        super().__init__("Accept the memorandum of understanding to continue")


class MfaCodeNeeded(SignInStepPending):
    page = "/sign-in/mfa"

    def __init__(self) -> None:
        super().__init__("Enter the code from your authenticator app to continue")


class MfaSetupNeeded(SignInStepPending):
    page = "/account/security/setup"

    def __init__(self) -> None:
        super().__init__("Set up two-step verification to continue")


class PasswordChangeNeeded(SignInStepPending):
    page = "/account/password"

    def __init__(self) -> None:
        super().__init__("Choose a new password to continue")


def requires(action: str):
    """A route guard: only an actor who may do ``action`` (core/permissions.py) reaches the handlers; anyone
    else gets 403 with the action's refusal. The handler's service checks the object itself."""
    from caseframe.core import permissions

    permissions.action(action)  # an unknown action fails at start-up, not on the first request

    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        denial = permissions.decide(signed_in_actor(connection), action)
        if denial is not None:
            raise PermissionDeniedException(denial.message)

    guard.__name__ = guard.__qualname__ = f"requires_{action.replace('.', '_')}"
    return guard
