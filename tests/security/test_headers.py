"""Every response carries the same protective headers: pages, API, redirects, errors (4xx and 5xx), static
files and addresses nothing answers. Everything but the static files is never stored by a browser or proxy.

The walk reads the app's own route table (as test_route_walk does), so a route added later is covered: each
is requested by someone not signed in, by a signed-in admin's browser and, for the API, with a bearer token.
"""

from __future__ import annotations

import httpx
import pytest
from litestar import get

from caseframe.core import hookimpl
from caseframe.core.auth import service as auth
from caseframe.core.settings import Settings
from caseframe.core.sharing.mou import publish_mou
from caseframe.core.testing import TEST_PASSWORD, make_agency, make_context, make_user, sign_in, web_client
from tests.fixtures import panel_plugin
from tests.fixtures.areas import noise_plugin
from tests.security.test_route_walk import _fill, _routes

REQUIRED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


@get("/extra/broken", sync_to_thread=False)
def broken() -> dict:
    raise RuntimeError("a bug in a plugin")


class BrokenPlugin:
    @hookimpl
    def register_routes(self):
        return [broken]


@pytest.fixture
def ctx():
    return make_context(noise_plugin, panel_plugin, BrokenPlugin(), builtins=True)


def _problems(response: httpx.Response, *, hsts: bool = False) -> list[str]:
    h = response.headers
    url = response.request.url.path
    found = [f"{name}: {h.get(name)!r}" for name, value in REQUIRED.items() if h.get(name) != value]
    if "frame-ancestors 'none'" not in h.get("content-security-policy", ""):
        found.append("no Content-Security-Policy with frame-ancestors 'none'")
    if "camera=()" not in h.get("permissions-policy", ""):
        found.append("no Permissions-Policy")
    if hsts != ("max-age=" in h.get("strict-transport-security", "")):
        found.append(f"Strict-Transport-Security {h.get('strict-transport-security')!r}")
    if not url.startswith(("/static/", "/assets/")) and "no-store" not in h.get("cache-control", ""):
        found.append(f"Cache-Control {h.get('cache-control')!r}")
    return [f"{response.request.method} {url} -> {response.status_code}: {p}" for p in found]


async def _walk(
    client, app, *, api_only: bool = False, headers: dict | None = None
) -> tuple[list[str], set[int]]:
    problems, statuses = [], set()
    for method, template in sorted(set(_routes(app))):
        if api_only and not template.startswith("/api/"):
            continue
        if headers and method != "GET":
            continue  # with a real token only what cannot change anything
        for url in _fill(template):
            if template == "/sign-out" or "sign-out" in template:
                continue  # would end the walk's own session (it is refused without a CSRF token anyway)
            response = await client.request(
                method, url, data={} if method != "GET" else None, headers=headers
            )
            statuses.add(response.status_code)
            problems += _problems(response)
    return problems, statuses


async def test_every_route_answers_with_the_headers_anonymous_signed_in_and_over_the_api(db, ctx):
    agency = await make_agency(ctx, "ashdown-council")
    admin = await make_user(
        agency, ("local_admin", "system_admin", "supervisor", "caseworker"), name="Alex Admin"
    )
    async with web_client(ctx, db) as anonymous, web_client(ctx, db) as browser:
        app = anonymous._transport.app
        problems, statuses = await _walk(anonymous, app)
        await sign_in(browser, admin)
        more, more_statuses = await _walk(browser, app)
        token, _ = await auth.sign_in(admin.email, TEST_PASSWORD, browser=False)
        api, api_statuses = await _walk(
            anonymous, app, api_only=True, headers={"Authorization": f"Bearer {token}"}
        )
    statuses |= more_statuses | api_statuses
    # the walk met every kind of answer: pages, redirects, refusals, missing things and wrong methods
    assert {200, 303, 401, 403, 404} <= statuses, statuses
    assert 500 in statuses, "the broken test route should have answered 500"
    assert not problems + more + api, "\n".join(problems + more + api)


async def test_static_files_unknown_addresses_errors_and_steps_carry_the_headers(db, ctx):
    agency = await make_agency(ctx, "ashdown-council")
    user = await make_user(agency, ("caseworker",))
    await publish_mou(await make_user(agency, ("system_admin",)), "We share only what we must.")
    async with web_client(ctx, db) as client:
        responses = [
            await client.get("/static/cf/caseframe.css"),
            await client.get("/static/cf/no-such-file.css"),
            await client.get("/no/such/page"),
            await client.get("/api/v1/no/such/thing"),
            await client.get("/api/v1/areas"),  # 401
            await client.post("/api/v1/session", json={"email": user.email, "password": "wrong password 1"}),
            await client.post("/api/v1/session", json={"email": user.email, "password": TEST_PASSWORD}),
            await client.post(
                "/api/v1/session", content=b"{not json", headers={"content-type": "application/json"}
            ),
            await client.get("/health"),
            await client.delete("/sign-in"),  # 405
            await client.get("/schema/openapi.json"),
            await client.get("/cases/1"),  # to sign-in
        ]
        async with web_client(ctx, db) as signed_in:
            await sign_in(signed_in, user)
            responses.append(await signed_in.get("/extra/broken"))  # 500
        await sign_in(client, user, accept_mou=False)
        # 403 with HX-Redirect to the MoU
        responses.append(await client.get("/", headers={"HX-Request": "true"}))
        responses.append(await client.get("/"))  # 303 to the MoU
    kinds = {r.status_code for r in responses}
    assert {200, 201, 303, 400, 401, 403, 404, 405, 500} <= kinds, kinds
    assert responses[0].status_code == 200 and responses[-2].headers.get("hx-redirect", "").startswith("/mou")
    problems = [p for r in responses for p in _problems(r)]
    assert not problems, "\n".join(problems)


async def test_https_deployments_send_strict_transport_security_on_every_response(db, ctx):
    from caseframe.core.web.app import create_app

    app = create_app(Settings(local_demo=False, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://localhost"
    ) as client:
        responses = [
            await client.get(u)
            for u in (
                "/sign-in",
                "/",
                "/no/such/page",
                "/api/v1/areas",
                "/static/cf/caseframe.css",
                "/extra/broken",
            )
        ]
    problems = [p for r in responses for p in _problems(r, hsts=True)]
    assert not problems, "\n".join(problems)
