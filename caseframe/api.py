"""The public surface of Caseframe for plugins: everything a business-area plugin imports comes from here.

A plugin written against ``caseframe.api`` keeps working within a major version; ``core.*`` is the
framework's inside and changes without notice (a plugin module importing it is warned when it loads).
The names, their signatures and what each is for are listed in docs/api.md, generated from this module::

    from caseframe.api import ActorPayload, CasePayload, hookimpl

    @hookimpl
    def case_created(case: CasePayload, actor: ActorPayload) -> None:
        ...

The hooks themselves (what to implement and when each is called) are in docs/hooks.md. Service calls
and the types they take are imported on first use, so a plugin that only declares areas loads quickly.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from caseframe.core import __version__, clock, hookimpl
from caseframe.core.errors import (
    AreaError,
    CaseClosed,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    PreconditionRequired,
    Problem,
    ServiceError,
    ValidationFailed,
)
from caseframe.core.payloads import (
    ActorPayload,
    CasePayload,
    FactsCase,
    FactsDocument,
    ReferralPayload,
    SubjectFacts,
    TaskPayload,
)
from caseframe.core.plugins import NAME_ATTRIBUTE, REQUIRES_ATTRIBUTE

if TYPE_CHECKING:
    from caseframe.core.auth.actor import Actor
    from caseframe.core.cases.service import (
        add_note,
        add_subject,
        get_case,
        list_cases,
        open_case,
        save_form,
        transition_case,
    )
    from caseframe.core.context import Context
    from caseframe.core.tasks.service import add_task, complete_task
    from caseframe.core.web.dependencies import ROUTE_DEPENDENCIES

#: the version of Caseframe running, e.g. ``"0.1.0"``
VERSION: str = __version__

#: names imported on first use (the services pull in the database layer): name -> the module defining it
_ON_FIRST_USE = {
    "Actor": "caseframe.core.auth.actor",
    "Context": "caseframe.core.context",
    "ROUTE_DEPENDENCIES": "caseframe.core.web.dependencies",
    **{
        name: "caseframe.core.cases.service"
        for name in (
            "get_case",
            "list_cases",
            "open_case",
            "save_form",
            "transition_case",
            "add_subject",
            "add_note",
        )
    },
    **{name: "caseframe.core.tasks.service" for name in ("add_task", "complete_task")},
}


def __getattr__(name: str) -> Any:
    module = _ON_FIRST_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_ON_FIRST_USE))


def actor_of(request: Any) -> Actor:
    """Deprecated: declare a parameter ``actor: Actor`` on your route handler and it is given the signed-in user
    (``ROUTE_DEPENDENCIES``). Still returns that user, with a ``DeprecationWarning``."""
    warnings.warn(
        "caseframe.api.actor_of(request) is deprecated: declare a parameter 'actor: Actor' on the route "
        "handler instead (docs/api.md, ROUTE_DEPENDENCIES)",
        DeprecationWarning,
        stacklevel=2,
    )
    from caseframe.core.web.dependencies import signed_in_actor

    return signed_in_actor(request)


def context_of(request: Any) -> Context:
    """Deprecated: declare a parameter ``ctx: Context`` on your route handler and it is given the app's Context
    (``ROUTE_DEPENDENCIES``). Still returns it, with a ``DeprecationWarning``."""
    warnings.warn(
        "caseframe.api.context_of(request) is deprecated: declare a parameter 'ctx: Context' on the route "
        "handler instead (docs/api.md, ROUTE_DEPENDENCIES)",
        DeprecationWarning,
        stacklevel=2,
    )
    from caseframe.core.web.dependencies import app_context

    return app_context(request)


#: the names of this module, in the order and under the headings docs/api.md lists them
SECTIONS: dict[str, list[str]] = {
    "Writing a plugin": ["hookimpl", "VERSION", "NAME_ATTRIBUTE", "REQUIRES_ATTRIBUTE"],
    "What hooks are given": [
        "CasePayload",
        "ActorPayload",
        "ReferralPayload",
        "TaskPayload",
        "FactsDocument",
        "FactsCase",
        "SubjectFacts",
    ],
    "What service calls take, and where a plugin's route finds it": [
        "Context",
        "Actor",
        "ROUTE_DEPENDENCIES",
        "context_of",
        "actor_of",
    ],
    "Service calls": [
        "get_case",
        "list_cases",
        "open_case",
        "save_form",
        "transition_case",
        "add_subject",
        "add_note",
        "add_task",
        "complete_task",
    ],
    "The time": ["clock"],
    "Errors": [
        "ServiceError",
        "NotFound",
        "Forbidden",
        "Gone",
        "ValidationFailed",
        "Conflict",
        "CaseClosed",
        "PreconditionRequired",
        "AreaError",
        "Problem",
    ],
}

#: what the names that carry no docstring of their own are for (docs/api.md shows these)
DESCRIPTIONS: dict[str, str] = {
    "hookimpl": "Marks a function of your plugin module as the implementation of the hook of the same name "
    "(docs/hooks.md lists them): `@hookimpl def register_areas(): ...`.",
    "VERSION": 'The version of Caseframe running, e.g. `"0.1.0"`.',
    "NAME_ATTRIBUTE": '`"CASEFRAME_PLUGIN_NAME"`: set this module attribute to the name your plugin\'s facts go '
    "under (`extra.<name>`), so rules keep working if the package is renamed.",
    "REQUIRES_ATTRIBUTE": '`"CASEFRAME_REQUIRES"`: set this module attribute to the Caseframe versions your '
    'plugin supports (`">=0.1,<1"`) if it is not installed as a package whose '
    "`Requires-Dist` on caseframe says so. A plugin whose range leaves out the running "
    "version is refused at start-up, with its name, its range and the running version.",
    "Context": "The loaded plugins (`ctx.pm`) and areas (`ctx.areas`, `ctx.area(slug)`), which every service call "
    "takes first. Tests make one with `caseframe.testing.make_context`; a route handler is given the app's "
    "by declaring a parameter `ctx: Context` (see `ROUTE_DEPENDENCIES`).",
    "Actor": "The user a service call acts for: `id`, `email`, `name`, `agency_id`, `agency_name`, `agency_type`, "
    "`roles` (a frozenset) and `has(*roles)`. A route handler is given the signed-in one by declaring a "
    "parameter `actor: Actor` (see `ROUTE_DEPENDENCIES`); tests make one with `caseframe.testing.make_user`.",
    "ROUTE_DEPENDENCIES": "What a route handler of yours (`register_routes`) is given by naming a parameter, as the app "
    "registers them for every route, yours included (you register nothing): `ctx` (the "
    "`Context`) and `actor` (the signed-in `Actor`, the one the sign-in check already read: "
    "no query of its own). Annotate them with these types (imported from here at run time, "
    "not under `TYPE_CHECKING`: Litestar reads the annotations):\n\n"
    "```python\n"
    "from litestar import get\n"
    "from caseframe.api import Actor, Context\n\n"
    '@get("/noise/summary")\n'
    "async def summary(ctx: Context, actor: Actor) -> dict:\n"
    '    return {"areas": [a.slug for a in ctx.areas], "agency": actor.agency_name}\n'
    "```\n\n"
    'A public route (`opt={"public": True}`) has no signed-in user: one that asks for '
    "`actor`, itself or through a dependency of its own, stops start-up with the route's "
    "file and path. `actor_of(request)` and `context_of(request)` still work, deprecated.",
}

# the same names as SECTIONS, spelled out for type checkers (tests/core/test_public_api.py holds them equal)
__all__ = [
    "hookimpl",
    "VERSION",
    "NAME_ATTRIBUTE",
    "REQUIRES_ATTRIBUTE",
    "CasePayload",
    "ActorPayload",
    "ReferralPayload",
    "TaskPayload",
    "FactsDocument",
    "FactsCase",
    "SubjectFacts",
    "Context",
    "Actor",
    "ROUTE_DEPENDENCIES",
    "context_of",
    "actor_of",
    "get_case",
    "list_cases",
    "open_case",
    "save_form",
    "transition_case",
    "add_subject",
    "add_note",
    "add_task",
    "complete_task",
    "clock",
    "ServiceError",
    "NotFound",
    "Forbidden",
    "Gone",
    "ValidationFailed",
    "Conflict",
    "CaseClosed",
    "PreconditionRequired",
    "AreaError",
    "Problem",
]
