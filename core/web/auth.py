"""Deny by default: every route needs a signed-in user unless its handler says ``opt={"public": True}``."""
from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler

from core.auth import service as auth
from core.auth.actor import Actor


def session_token(connection: ASGIConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    settings = connection.app.state.settings
    return connection.cookies.get(settings.session_cookie)


async def require_user(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    if handler.opt.get("public"):
        return
    actor = await auth.actor_for_token(session_token(connection))
    if actor is None:
        raise NotAuthorizedException("Sign in to continue")
    connection.state.actor = actor


def current_actor(connection: ASGIConnection) -> Actor:
    return connection.state.actor
