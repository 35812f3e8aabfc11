"""Deny by default: every registered route, core and plugin, refuses a request from someone not signed in.

The walk reads the app's own route table, so a route added later (by the core or by a plugin) is covered
without touching this file; making one public means adding it to PUBLIC below, on purpose.
"""
from __future__ import annotations

import re

import pytest

from core.testing import make_context, web_client
from tests.fixtures import panel_plugin
from tests.fixtures.areas import noise_plugin

#: (method, path template) pairs anyone may call: sign-in, health, static files, the API's own sign-in
PUBLIC = {
    ("GET", "/sign-in"), ("POST", "/sign-in"), ("GET", "/health"), ("POST", "/api/v1/session"),
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
                    refused = (response.status_code == 303 and location.startswith("/sign-in")) or \
                        response.status_code in (401, 403, 404, 405)
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
