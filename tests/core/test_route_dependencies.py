"""Route handlers name what they need and are given it: ``ctx`` (the app's Context) and ``actor`` (the signed-in
user, the one the sign-in guard read, no query of its own). A route needing sign-in still sends a stranger to
sign in; a public route asking for ``actor`` stops start-up; and no core web module reaches into the request for
either any more."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest
from litestar import Controller, get
from litestar.di import Provide

from caseframe import api
from caseframe.api import Actor, Context, hookimpl
from caseframe.core.errors import AreaError
from caseframe.core.settings import Settings
from caseframe.core.testing import TEST_PASSWORD, make_agency, make_context, make_user, sign_in, web_client
from caseframe.core.web.app import create_app
from tests.fixtures.areas import noise_plugin

ROOT = Path(__file__).resolve().parents[2]


async def provide_agency_name(actor: Actor) -> str:
    """A plugin's own dependency built on ``actor``."""
    return actor.agency_name


@get("/extra/who", sync_to_thread=False)
def who(ctx: Context, actor: Actor) -> dict:
    return {
        "areas": sorted(a.slug for a in ctx.areas),
        "actor": actor.id,
        "email": actor.email,
        "same_context": ctx is CURRENT["ctx"],
    }


@get("/extra/agency", dependencies={"agency_name": Provide(provide_agency_name)})
async def agency(agency_name: str) -> dict:
    return {"agency": agency_name}


@get("/api/v1/extra/who", sync_to_thread=False)
def who_api(actor: Actor) -> dict:
    return {"actor": actor.id}


@get("/extra/open", opt={"public": True}, sync_to_thread=False)
def public_with_ctx(ctx: Context) -> dict:
    return {"areas": len(ctx.areas.areas)}


CURRENT: dict = {}


class RoutesPlugin:
    @hookimpl
    def register_routes(self):
        return [who, agency, who_api, public_with_ctx]


@pytest.fixture
def ctx():
    context = make_context(noise_plugin, RoutesPlugin())
    CURRENT["ctx"] = context
    return context


async def test_a_handler_is_given_the_app_context_and_the_signed_in_user(db, ctx):
    async with web_client(ctx, db) as browser:
        agency_row = await make_agency(ctx, "deps-council")
        actor = await make_user(agency_row)
        await sign_in(browser, actor)
        shown = await browser.get("/extra/who")
        assert shown.status_code == 200, shown.text
        assert shown.json() == {
            "areas": ["noise"],
            "actor": actor.id,
            "email": actor.email,
            "same_context": True,
        }
        # a plugin's own dependency may be built on actor
        assert (await browser.get("/extra/agency")).json() == {"agency": actor.agency_name}
        # a public route may ask for the context: no one need be signed in
        browser.cookies.clear()
        assert (await browser.get("/extra/open")).json() == {"areas": 1}


async def test_a_stranger_is_still_sent_to_sign_in_or_refused(db, ctx):
    async with web_client(ctx, db) as browser:
        page = await browser.get("/extra/who")
        assert page.status_code == 303 and page.headers["location"].startswith("/sign-in")
        htmx = await browser.get("/extra/who", headers={"HX-Request": "true"})
        assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/sign-in")
        api_call = await browser.get("/api/v1/extra/who")
        assert api_call.status_code == 401
        assert (await browser.get("/persons/")).status_code == 303  # core routes too
        assert (await browser.get("/api/v1/areas")).status_code == 401


async def test_the_api_is_given_the_token_holder(db, ctx):
    async with web_client(ctx, db) as browser:
        actor = await make_user(await make_agency(ctx, "deps-api"))
        session = await browser.post(
            "/api/v1/session", json={"email": actor.email, "password": TEST_PASSWORD}
        )
        token = session.json()["token"]
        answer = await browser.get("/api/v1/extra/who", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"actor": actor.id}


def _app_with(*handlers):
    class Plugin:
        @hookimpl
        def register_routes(self):
            return list(handlers)

    return create_app(Settings(), make_context(noise_plugin, Plugin()))


def test_a_public_route_asking_for_the_signed_in_user_stops_start_up():
    @get("/extra/public-who", opt={"public": True}, sync_to_thread=False)
    def public_who(actor: Actor) -> dict:
        return {"actor": actor.id}

    with pytest.raises(AreaError) as failed:
        _app_with(public_who)
    message = str(failed.value)
    assert "test_route_dependencies.py" in message
    assert "GET /extra/public-who (public_who) is public" in message and "asks for 'actor'" in message


def test_a_public_route_asking_for_it_through_a_dependency_stops_start_up_too():
    class PublicPages(Controller):
        path = "/extra/public"
        opt = {"public": True}
        dependencies = {"agency_name": Provide(provide_agency_name)}

        @get("/agency")
        async def agency(self, agency_name: str) -> dict:
            return {"agency": agency_name}

    with pytest.raises(AreaError, match=r"GET /extra/public/agency \(agency\) is public"):
        _app_with(PublicPages)


def test_every_core_route_starts_and_public_routes_ask_for_no_actor():
    create_app(Settings(), make_context(noise_plugin, builtins=True))  # the check runs in create_app


def test_the_context_is_opaque_to_litestar():
    """Litestar validates a dependency against its annotation: a dataclass's fields (a plugin manager) would be
    converted, and fail, on every request; a plain class is passed through as it is."""
    import dataclasses

    assert not dataclasses.is_dataclass(Context)


def test_the_old_helpers_still_work_warned():
    class Connection:
        class state:  # noqa: N801
            actor = "the actor"

        class app:  # noqa: N801
            class state:  # noqa: N801
                ctx = "the context"

    with pytest.warns(DeprecationWarning, match="declare a parameter 'actor: Actor'"):
        assert api.actor_of(Connection) == "the actor"
    with pytest.warns(DeprecationWarning, match="declare a parameter 'ctx: Context'"):
        assert api.context_of(Connection) == "the context"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert set(api.ROUTE_DEPENDENCIES) == {"ctx", "actor"}


def _web_modules() -> list[Path]:
    core = ROOT / "core"
    return sorted({*core.glob("*/web.py"), *core.glob("*/*_web.py"), *(core / "web").glob("*.py")})


#: the helpers handlers used to reach into the request with
OLD_HELPERS = {"ctx_of", "current_actor", "_ctx", "actor_of", "context_of"}
#: what handlers are not: the sign-in guard, route guards and the page layout are given no dependencies, so they
#: (and only they) read the request's actor and context through core/web/dependencies.py
READS_THE_REQUEST = {"core/web/dependencies.py", "core/web/auth.py", "core/web/pages.py"}


def _calls(path: Path, names: set[str]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}()")
        if isinstance(node, ast.ImportFrom):
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} imports {a.name}"
                for a in node.names
                if a.name in names
            ]
    return found


def _reads_state(path: Path) -> bool:
    """``….state.actor`` or ``….state.ctx`` read (not set: the app factory and the sign-in guard set them)."""
    return any(
        isinstance(node, ast.Attribute)
        and node.attr in ("actor", "ctx")
        and isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "state"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
    )


def test_no_core_web_module_reaches_into_the_request_for_the_context_or_the_actor():
    modules = _web_modules()
    assert len(modules) >= 25
    offenders = [hit for path in modules for hit in _calls(path, OLD_HELPERS)]
    assert not offenders, "declare ctx: Context / actor: Actor on the handler instead: " + ", ".join(
        offenders
    )
    readers = {
        str(path.relative_to(ROOT))
        for path in modules
        if _calls(path, {"signed_in_actor", "app_context"}) or _reads_state(path)
    }
    assert readers <= READS_THE_REQUEST, (
        f"only guards and the layout read the request: {readers - READS_THE_REQUEST}"
    )
