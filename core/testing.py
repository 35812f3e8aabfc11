"""Helpers for testing Caseframe and its plugins: a database, a context, users, factories and the service calls.

Plugin authors import them from ``caseframe.testing`` (the same names)::

    from caseframe.testing import make_context, fresh_database, make_user

Every helper is described, with examples that a test runs, in docs/testing.md.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pluggy

from caseframe.core import permissions
from caseframe.core.agencies import service as agencies
from caseframe.core.areas import build_registry
from caseframe.core.auth.actor import Actor
from caseframe.core.context import Context
from caseframe.core.db.engine import bind, close, engine_from_url, is_sqlite, migrate
from caseframe.core.db.piccolo_app import TABLES
from caseframe.core.errors import AreaError, Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from caseframe.core.persons import service as persons
from caseframe.core.plugins import get_plugin_manager, register

TEST_PASSWORD = "correct horse battery staple"


def make_context(*plugins: Any, builtins: bool = False, entrypoints: bool = False) -> Context:
    """A context with the given plugin modules/objects registered (and optionally the built-ins)."""
    pm: pluggy.PluginManager = get_plugin_manager("", builtins=builtins, entrypoints=entrypoints)
    for plugin in plugins:
        register(pm, plugin)
    return Context(pm=pm, areas=build_registry(pm))


async def use_new_schema(engine, prefix: str) -> None:
    """Point a PostgreSQL engine at a new, empty schema named ``<prefix>_<random>``, so a run shares nothing."""
    import asyncpg

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    con = await asyncpg.connect(engine.config["dsn"], timeout=5)
    try:
        await con.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await con.close()
    engine.config["server_settings"] = {"search_path": schema}


async def fresh_database(url: str | None = None):
    """Create (or empty) a test database and bind every table to it; return the engine.

    With no URL: ``CASEFRAME_TEST_DATABASE_URL``, else a new SQLite file in a temporary folder.
    A PostgreSQL database gets a schema of its own for the run.
    """
    url = url or os.environ.get("CASEFRAME_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='caseframe-test-')) / 'test.sqlite'}"
    engine = engine_from_url(url)
    if not is_sqlite(engine):
        await use_new_schema(engine, "cf_test")
    await migrate(engine)
    if not is_sqlite(engine):
        await engine.start_connection_pool(min_size=1, max_size=8)
    bind(engine)
    return engine


async def drop_database(engine) -> None:
    if is_sqlite(engine):
        await close(engine)
        Path(engine.path).unlink(missing_ok=True)
        return
    await engine.close_connection_pool()
    import asyncpg

    con = await asyncpg.connect(engine.config["dsn"], timeout=5)
    try:
        schema = engine.config["server_settings"]["search_path"]
        await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await con.close()


async def empty_tables() -> None:
    """Delete every row, children first, so each test starts from nothing (nor from a cache of the last).

    One statement names the tables holding rows, and one transaction empties only those: a test fills a few of
    the 80-odd tables, and a DELETE each, every test, was a fifth of a simple test's time."""
    from caseframe.core.cache import forget_everything
    from caseframe.core.db.tx import transaction

    names = [table._meta.tablename for table in TABLES]
    held = " UNION ALL ".join(
        f"SELECT {i} AS i WHERE EXISTS (SELECT 1 FROM {n})" for i, n in enumerate(names)
    )
    filled = {int(row["i"]) for row in await TABLES[0].raw(held)}
    if filled:
        async with transaction():
            for i in sorted(filled, reverse=True):
                await TABLES[i].delete(force=True)
    forget_everything()


async def make_agency(
    ctx: Context,
    slug: str = "test-council",
    agency_type: str = "district_council",
    areas: list[str] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """An agency with the given areas enabled (default: every loaded area)."""
    agency = await agencies.create_agency(
        ctx,
        None,
        slug=slug,
        name=name or slug.replace("-", " ").title(),
        agency_type=agency_type,
        contact_email=f"team@{slug}.example",
    )
    for area in list(ctx.areas.areas) if areas is None else areas:
        await agencies.enable_area(ctx, None, agency["id"], area)
    return agency


async def make_user(
    agency: dict[str, Any],
    roles: tuple[str, ...] = (permissions.CASEWORKER,),
    email: str | None = None,
    name: str = "Test Worker",
) -> Actor:
    """A user of ``agency`` with ``roles``; returns the Actor services take."""
    email = email or f"{'-'.join(roles)}.{uuid.uuid4().hex[:6]}@{agency['slug']}.example"
    user = await agencies.create_user(
        None, email=email, name=name, agency_id=agency["id"], roles=list(roles), password=TEST_PASSWORD
    )
    return await agencies.actor_for(user["id"])


async def make_person(actor: Actor, **fields: Any) -> dict[str, Any]:
    defaults = {"given_name": "Alex", "family_name": "Testperson", "date_of_birth": "1990-01-01"}
    return await persons.create_person(actor, **{**defaults, **fields})


def demo_answers(ctx: Context, area: str, form_name: str | None = None) -> dict[str, Any]:
    """Valid answers to one of an area's forms (its opening form by default), from the first demo case the
    plugins contribute for that area: tests and benchmarks get realistic input without repeating it."""
    form_name = form_name or ctx.area(area).opening_form
    for contribution in ctx.pm.hook.demo_data():
        for case in (contribution or {}).get("cases", []):
            if case["area"] == area and form_name in case["forms"]:
                return case["forms"][form_name]
    raise LookupError(f"no demo case for area {area!r} answers its form {form_name!r}")


async def fire(
    ctx: Context,
    actor: Actor,
    area: str,
    answers: dict[str, Any],
    subjects: list[tuple[int, str]] | None = None,
) -> list[dict[str, Any]]:
    """Open a case and return what the rules did: ``[{"rule", "target", "reason", "facts"}]``."""
    from caseframe.core.cases import service as cases
    from caseframe.core.referrals.tables import RuleFiring

    case = await cases.open_case(ctx, actor, area, answers, subjects=subjects)
    rows = (
        await RuleFiring.select(RuleFiring.all_columns(), RuleFiring.referral.target.as_alias("target"))
        .where(RuleFiring.case == case["id"])
        .output(load_json=True)
    )
    return [
        {"rule": r["rule_id"], "target": r["target"], "reason": r["reason"], "facts": r["facts"]}
        for r in rows
    ]


async def open_case(
    ctx: Context,
    actor: Actor,
    area: str,
    answers: dict[str, Any],
    subjects: list[tuple[int, str]] | None = None,
) -> dict[str, Any]:
    """Open a case in ``area`` with its opening form's ``answers`` and ``(person id, role)`` subjects, as a
    caseworker does; returns the case as the API shows it (a CasePayload). Rules fire as in real use."""
    from caseframe.core.cases import service as cases

    return await cases.open_case(ctx, actor, area, answers, subjects=subjects)


async def save_form(
    ctx: Context, actor: Actor, case: dict[str, Any], form: str, answers: dict[str, Any]
) -> dict[str, Any]:
    """Save one form's answers on ``case`` (as returned by the last call), from the version it has; returns
    the case as it is now. A stale ``case`` raises Conflict, as two people editing at once would."""
    from caseframe.core.cases import service as cases

    return await cases.save_form(ctx, actor, case["id"], form, answers, expected_version=case["version"])


async def transition(ctx: Context, actor: Actor, case: dict[str, Any], name: str) -> dict[str, Any]:
    """Move ``case`` through the workflow transition ``name``; a guard that does not hold raises
    ValidationFailed with its message, a role that may not make it Forbidden."""
    from caseframe.core.cases import service as cases

    return await cases.transition_case(ctx, actor, case["id"], name, expected_version=case["version"])


async def add_subject(
    ctx: Context, actor: Actor, case: dict[str, Any], person: dict[str, Any], role: str
) -> dict[str, Any]:
    """Put ``person`` on ``case`` with ``role`` (rules on subject_added fire); returns the case as it is now."""
    from caseframe.core.cases import service as cases

    await cases.add_subject(ctx, actor, case["id"], person["id"], role)
    return await cases.get_case(ctx, actor, case["id"])


async def referrals_from(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The referrals raised from ``case`` (by its rules or by hand), oldest first, each with ``target_kind``,
    ``target``, ``person_id`` (None for a referral about the case rather than a person on it), ``rule_id``,
    ``reason`` and ``status``."""
    from caseframe.core.referrals.tables import Referral

    return (
        await Referral.select(
            Referral.target_kind,
            Referral.target,
            Referral.person.as_alias("person_id"),
            Referral.rule_id,
            Referral.reason,
            Referral.status,
        )
        .where(Referral.from_case == case["id"])
        .order_by(Referral.id)
    )


def why_it_fired(ctx: Context, firing: dict[str, Any]) -> list[dict[str, str]]:
    """What a referral's addressee reads of why a rule fired (``firing`` is one of :func:`fire`'s results): a line
    per fact the rule tested, ``{"question", "answer", "looks_for"}``, with a fact above the level a referral
    carries (official) read as "Not shared with your agency"."""
    from caseframe.core.referrals.explain import REFERRAL_ACCESS, explain

    return explain(ctx, firing["rule"], None, firing["facts"], REFERRAL_ACCESS)


async def notifications_of(actor: Actor) -> list[dict[str, Any]]:
    """The notifications ``actor`` sees under the bell, newest first, each with ``text``, ``link`` and ``unread``."""
    from caseframe.core.notifications import service as notifications

    return await notifications.list_for(actor)


def csrf_token_of(html: str) -> str:
    """The CSRF token a page carries in its forms (tests post it back as a browser would)."""
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if match is None:
        raise AssertionError("the page has no CSRF token")
    return match.group(1)


@contextlib.asynccontextmanager
async def web_client(ctx: Context, engine):
    """An HTTP client (``httpx.AsyncClient``) for the whole web app, run on the test's own event loop and
    database; use it as ``async with web_client(ctx, engine) as client:``."""
    import httpx

    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    app = create_app(
        Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=engine
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as client:
        yield client


async def sign_in(client, actor: Actor, password: str = TEST_PASSWORD, *, accept_mou: bool = True) -> str:
    """Sign ``client`` in as ``actor`` through the sign-in page, accepting the memorandum of understanding
    if one is published (unless ``accept_mou=False``); returns the session's CSRF token."""
    page = await client.get("/sign-in")
    response = await client.post(
        "/sign-in", data={"email": actor.email, "password": password, "csrf_token": csrf_token_of(page.text)}
    )
    if response.status_code != 303:
        raise AssertionError(f"sign-in failed with {response.status_code}")
    home = await client.get("/")
    if home.status_code == 303 and home.headers.get("location", "").startswith("/mou") and accept_mou:
        mou = await client.get("/mou")
        import re

        version = re.search(r'name="version" value="(\d+)"', mou.text).group(1)
        await client.post(
            "/mou", data={"accept": "yes", "version": version, "csrf_token": csrf_token_of(mou.text)}
        )
        home = await client.get("/")
    return csrf_token_of(home.text if home.status_code == 200 else (await client.get("/mou")).text)


__all__ = [
    "TEST_PASSWORD",
    "AreaError",
    "Conflict",
    "Forbidden",
    "NotFound",
    "ServiceError",
    "ValidationFailed",
    "add_subject",
    "csrf_token_of",
    "demo_answers",
    "drop_database",
    "empty_tables",
    "fire",
    "fresh_database",
    "make_agency",
    "make_context",
    "make_person",
    "make_user",
    "notifications_of",
    "open_case",
    "referrals_from",
    "save_form",
    "sign_in",
    "transition",
    "web_client",
    "why_it_fired",
]
