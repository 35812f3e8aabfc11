"""What a route handler is given by naming a parameter: ``ctx`` (the app's Context) and ``actor`` (the signed-in user).

Registered once on the app (``create_app``), so every handler, plugins' included (``register_routes``), declares
what it needs::

    @get("/my-area/summary")
    async def summary(ctx: Context, actor: Actor) -> Template: ...

``actor`` costs nothing: the sign-in guard (``caseframe.core.web.auth.require_user``) has already read the session and
keeps the Actor on the request; the dependency hands that one over. A public route (``opt={"public": True}``)
has no signed-in user, so one that asks for ``actor`` stops start-up (``check_public_routes``), never a request.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from types import MappingProxyType

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler

from caseframe.core.auth.actor import Actor
from caseframe.core.context import Context
from caseframe.core.errors import AreaError, Problem

#: the parameter names a handler declares to be given them
CTX = "ctx"
ACTOR = "actor"


def signed_in_actor(connection: ASGIConnection) -> Actor:
    """The Actor the sign-in guard resolved for this request. For what Litestar injects nothing into (guards, the
    page layout); a handler declares ``actor`` instead."""
    actor = getattr(connection.state, "actor", None)
    if actor is None:  # start-up refuses a public route asking for one, so only a mistake in core gets here
        raise NotAuthorizedException("Sign in to continue")
    return actor


def app_context(connection: ASGIConnection) -> Context:
    """The running app's Context, for what Litestar injects nothing into; a handler declares ``ctx`` instead."""
    return connection.app.state.ctx


def provide_ctx(request: Request) -> Context:
    """The running app's Context: its plugins and areas."""
    return app_context(request)


def provide_actor(request: Request) -> Actor:
    """The signed-in user: the one the sign-in guard read from the session, with no query of its own."""
    return signed_in_actor(request)


#: the app's dependencies by parameter name (``create_app`` registers them on the app; ``caseframe.api``
#: exports them as ``ROUTE_DEPENDENCIES`` for a plugin's own app in tests). Plain functions, not run in a thread.
ROUTE_DEPENDENCIES: Mapping[str, Provide] = MappingProxyType(
    {
        CTX: Provide(provide_ctx, sync_to_thread=False),
        ACTOR: Provide(provide_actor, sync_to_thread=False),
    }
)


def _names_asked_for(handler: BaseRouteHandler) -> set[str]:
    """The dependencies a handler asks for, directly or through another dependency it asks for."""
    available = handler.resolve_dependencies()
    wanted = set(handler.parsed_fn_signature.parameters)
    seen: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name in seen or name not in available:
            continue
        seen.add(name)
        provider = available[name]
        signature = getattr(provider, "parsed_fn_signature", None)
        wanted |= set(
            signature.parameters
            if signature is not None
            else inspect.signature(provider.dependency).parameters
        )
    return seen


def _where(handler: BaseRouteHandler) -> str:
    fn = getattr(handler.fn, "__wrapped__", handler.fn)
    try:
        return inspect.getsourcefile(fn) or fn.__module__
    except TypeError:
        return getattr(fn, "__module__", "") or "a route"


def check_public_routes(app: Litestar) -> None:
    """Stop start-up naming every public route that asks for ``actor``, directly or through a dependency: no one
    is signed in on a public route, so the request could only fail."""
    problems = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not handler.opt.get("public") or ACTOR not in _names_asked_for(handler):
                continue
            methods = " ".join(sorted(getattr(handler, "http_methods", ()) or ()))
            problems.append(
                Problem(
                    _where(handler),
                    "",
                    f"the route {methods} {route.path} ({handler.handler_name}) is public "
                    f"(opt={{'public': True}}) but asks for '{ACTOR}': no one is signed in on a public route. Take "
                    f"'{ACTOR}' out of its parameters, or let the route need a signed-in user",
                )
            )
    if problems:
        raise AreaError(problems)
