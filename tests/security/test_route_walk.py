"""Deny by default: every registered route, core and plugin, refuses a request from someone not signed in; and,
signed in, no GET changes anything stored but the audit trail and the session.

The walks read the app's own route table, so a route added later (by the core or by a plugin) is covered
without touching this file; making one public means adding it to PUBLIC below, on purpose.
"""

from __future__ import annotations

import re

import pytest

from caseframe.core import clock
from caseframe.core.testing import make_context, web_client
from tests.fixtures import panel_plugin
from tests.fixtures.areas import noise_plugin

#: (method, path template) pairs anyone may call: sign-in, health, static files, the API's own sign-in
PUBLIC = {
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    ("GET", "/health"),
    ("GET", "/health/ready"),
    ("POST", "/api/v1/session"),
}
PUBLIC_PREFIXES = ("/static/", "/assets")
#: path parameters filled with a real-looking id, a guessed one and text, by converter type
SAMPLES = {"int": ["1", "999999"], "str": ["x"], "path": ["x.css"]}


def _routes(app):
    for route in app.routes:
        for method in sorted(getattr(route, "methods", None) or []):
            if method in ("HEAD", "OPTIONS"):
                continue
            yield method, route.path


def _fill(path: str) -> list[str]:
    urls = [path]
    for name, kind in re.findall(r"\{(\w+):(\w+)\}", path):
        urls = [u.replace(f"{{{name}:{kind}}}", value, 1) for u in urls for value in SAMPLES.get(kind, ["x"])]
    return urls


@pytest.fixture
def ctx():
    return make_context(noise_plugin, panel_plugin, builtins=True)


async def test_every_route_refuses_an_anonymous_request(db, ctx):
    async with web_client(ctx, db) as client:
        app = client._transport.app
        walked, leaks = 0, []
        for method, template in sorted(set(_routes(app))):
            public = (method, template) in PUBLIC or template.startswith(PUBLIC_PREFIXES)
            for url in _fill(template):
                if public:
                    continue
                walked += 1
                response = await client.request(method, url, data={} if method != "GET" else None)
                if url.startswith("/api/"):
                    refused = response.status_code in (401, 404, 405)
                else:
                    location = response.headers.get("location", "")
                    refused = (
                        response.status_code == 303 and location.startswith("/sign-in")
                    ) or response.status_code in (401, 403, 404, 405)
                if not refused:
                    leaks.append(f"{method} {url} -> {response.status_code}")
        assert walked > 40, "the walk found too few routes: is the route table being read?"
        assert not leaks, "routes that answer someone not signed in:\n" + "\n".join(leaks)


async def test_the_walk_covers_plugin_routes(db, ctx):
    async with web_client(ctx, db) as client:
        paths = {path for _, path in _routes(client._transport.app)}
    plugin_paths = {p for p in paths if not p.startswith(("/api", "/static", "/assets", "/schema"))}
    assert any("hello" in p for p in plugin_paths), "the test plugin's route is not in the walk"


async def test_public_routes_are_only_the_short_list(db, ctx):
    from litestar.handlers import HTTPRouteHandler

    async with web_client(ctx, db) as client:
        app = client._transport.app
        declared = set()
        for route in app.routes:
            for handler in getattr(route, "route_handlers", []):
                if isinstance(handler, HTTPRouteHandler) and handler.opt.get("public"):
                    for method in handler.http_methods:
                        if method not in ("HEAD", "OPTIONS"):
                            declared.add((method, route.path))
    unexpected = {(m, p) for m, p in declared if (m, p) not in PUBLIC and not p.startswith(PUBLIC_PREFIXES)}
    assert not unexpected, f"routes marked public that are not on the list: {sorted(unexpected)}"


# -- signed in, a GET changes nothing ---------------------------------------------------------------------

#: what a GET may write: the audit trail (every read is audited, and sealed) and the sign-in session
MAY_CHANGE_ON_GET = {"cf_audit", "cf_audit_checkpoint", "cf_session", "cf_sign_in_throttle"}
#: the demo's people who walk every GET: a caseworker, a supervisor and panel chair, a local admin, a partner
#: agency's caseworker and a system admin (between them every page of the app is theirs to read)
GET_WALKERS = [
    "casey.morgan@ashdown-council.example",
    "priya.shah@ashdown-council.example",
    "admin@ashdown-council.example",
    "sam.okafor@northshire-police.example",
    "sysadmin@northshire-county.example",
]
#: the table whose ids fill each integer path parameter; a new one must be added here (the test says so)
ID_SOURCES = {
    "agency_id": "cf_agency",
    "case_id": "cf_case",
    "document_id": "cf_document",
    "form_name": None,
    "meeting_id": "cf_meeting",
    "merge_id": "cf_person_merge",
    "notification_id": "cf_notification",
    "other_id": "cf_person",
    "panel_id": "cf_panel",
    "person_id": "cf_person",
    "referral_id": "cf_referral",
    "sar_id": "cf_subject_access_request",
    "task_id": "cf_task",
    "user_id": "cf_user",
}
#: never walked: files, the OpenAPI pages, and a meeting's live stream (it does not end)
SKIP_GET_WALK = re.compile(r"^/(static|assets|schema)|/events$")
#: ids tried per parameter (spread over the table), so the walk stays a few thousand requests
IDS_PER_PARAM = 6


async def _fingerprint() -> dict[str, str]:
    """Every stored row of every table a GET must leave alone, as one digest per table."""
    import hashlib

    from caseframe.core.db.piccolo_app import TABLES

    out = {}
    for table in TABLES:
        name = table._meta.tablename
        if name in MAY_CHANGE_ON_GET:
            continue
        rows = await table.raw(f"SELECT * FROM {name} ORDER BY id")
        out[name] = hashlib.sha256(repr([sorted(r.items()) for r in rows]).encode()).hexdigest()
    return out


#: tables whose every id is tried: each walker reads only their own notifications, so a sample could miss them all
EVERY_ID = {"cf_notification"}


async def _ids(table: str) -> list[str]:
    from caseframe.core.agencies.tables import Agency

    ids = [r["id"] for r in await Agency.raw(f"SELECT id FROM {table} ORDER BY id")]
    step = 1 if table in EVERY_ID else max(1, len(ids) // IDS_PER_PARAM)
    return [str(i) for i in ids[::step][: None if table in EVERY_ID else IDS_PER_PARAM]] + ["999999"]


async def _get_urls(app, ctx) -> dict[str, list[str]]:
    """Each GET route of the app's table, with its parameters filled from the stored rows they name."""
    slugs = sorted(ctx.areas.areas) + ["x"]
    forms = sorted({f for area in ctx.areas.areas.values() for f in area.forms})[:IDS_PER_PARAM]
    out: dict[str, list[str]] = {}
    for method, template in sorted(set(_routes(app))):
        if method != "GET" or SKIP_GET_WALK.search(template):
            continue
        urls = [template]
        for name, kind in re.findall(r"\{(\w+):(\w+)\}", template):
            if kind == "int":
                assert name in ID_SOURCES, f"{template}: say in ID_SOURCES which table fills {{{name}}}"
                values = await _ids(ID_SOURCES[name])
            else:
                values = slugs if name == "slug" else forms if name == "form_name" else ["x"]
            urls = [u.replace(f"{{{name}:{kind}}}", v, 1) for u in urls for v in values]
        out[template] = urls
    return out


async def _linked(client, start: list[str], limit: int) -> list[str]:
    """Pages reached by following the links of the walker's own pages (real pairs of ids, query strings)."""
    seen, frontier, out = set(), list(start), []
    while frontier and len(out) < limit:
        url = frontier.pop(0)
        if url in seen or SKIP_GET_WALK.search(url) or url.endswith("/sign-out"):
            continue
        seen.add(url)
        out.append(url)
        response = await client.get(url)
        if "text/html" in response.headers.get("content-type", ""):
            frontier += [h for h in re.findall(r'href="(/[^"#]*)', response.text) if h not in seen]
    return out


async def _sign_in_demo(app, email: str):
    """A client signed in through the sign-in page as the demo user (memorandum accepted)."""
    import httpx

    from caseframe.core.agencies import service as agencies
    from caseframe.core.testing import sign_in

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")
    await sign_in(client, await agencies.actor_for((await _user(email))["id"]), "demo-password-2026")
    return client


async def _demo_with_one_of_everything(ctx) -> None:
    """The demo, and the rows it does not make that a GET page shows: a person merge and a subject access
    request."""
    from caseframe.core.agencies import service as agencies
    from caseframe.core.demo import load_demo
    from caseframe.core.persons import service as persons
    from caseframe.core.persons.tables import Person
    from caseframe.core.sar import service as sar

    await load_demo(ctx)
    admin = await agencies.actor_for((await _user("admin@ashdown-council.example"))["id"])
    from caseframe.core.demo import DUPLICATE_PAIR

    twins = []
    for fields in DUPLICATE_PAIR[:2]:
        twins.append(
            await Person.select(Person.id, Person.version)
            .where(
                (Person.given_name == fields["given_name"]) & (Person.family_name == fields["family_name"])
            )
            .order_by(Person.id, ascending=False)
            .first()
        )
    first, second = twins
    await persons.merge_persons(
        ctx,
        admin,
        first["id"],
        second["id"],
        versions={first["id"]: first["version"], second["id"]: second["version"]},
    )
    await sar.create_request(
        admin,
        {"person_id": str(first["id"]), "requester": "A Requester", "received_on": clock.today().isoformat()},
    )


async def _user(email: str) -> dict:
    from caseframe.core.auth.tables import User

    return await User.select().where(User.email == email).first()


async def test_no_get_changes_a_stored_row(db):
    """Every GET route, as each kind of user, with ids from the demo's rows, and every page their pages link to:
    nothing stored changes but the audit trail and the session (a GET a prefetch, a link scanner or another
    site's <img> can make must never mark, claim, acknowledge or set anything)."""
    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    ctx = make_context(builtins=True)
    await _demo_with_one_of_everything(ctx)
    app = create_app(Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=db)
    changed: list[str] = []
    walked = api_read = 0
    for email in GET_WALKERS:
        client = await _sign_in_demo(app, email)
        try:
            routes = await _get_urls(app, ctx)
            routes["(linked)"] = await _linked(client, ["/"], limit=60)
            # the JSON API's GETs are read with its own bearer token, as an API client would
            api = await client.post(
                "/api/v1/session", json={"email": email, "password": "demo-password-2026"}
            )
            assert api.status_code == 201, api.text[:300]
            bearer = {"Authorization": f"Bearer {api.json()['token']}"}
            for template, urls in routes.items():
                before = await _fingerprint()
                for url in urls:
                    response = await client.get(url, headers=bearer if url.startswith("/api/") else None)
                    walked += 1
                    assert response.status_code < 500, f"GET {url} as {email} -> {response.status_code}"
                    api_read += url.startswith("/api/") and response.status_code == 200
                after = await _fingerprint()
                tables = sorted(name for name in before if before[name] != after[name])
                if tables:
                    changed.append(f"GET {template} as {email} changed {', '.join(tables)}")
        finally:
            await client.aclose()
    assert walked > 1000, f"only {walked} GETs walked: are the demo's rows there?"
    assert api_read > 50, "the API's GETs were not read: is the walk signed in to the API?"
    assert not changed, "GETs that change stored rows:\n" + "\n".join(changed)
