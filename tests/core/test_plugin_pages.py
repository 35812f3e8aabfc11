"""Plugins extend pages: a case panel from their own templates, a menu link, and a route that is deny-by-default."""

from __future__ import annotations

import pytest

from caseframe.api import hookimpl
from caseframe.core.cases import service as cases
from caseframe.core.testing import make_agency, make_context, make_user, sign_in, web_client
from tests.fixtures import panel_plugin
from tests.fixtures.areas import noise_plugin

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


@pytest.fixture
def ctx():
    return make_context(noise_plugin, panel_plugin)


async def test_plugin_panel_menu_and_route(db, ctx):
    async with web_client(ctx, db) as browser:
        assert (await browser.get("/extra/hello")).status_code == 303  # plugin routes need sign-in too
        agency = await make_agency(ctx, "plugin-council")
        actor = await make_user(agency)
        await sign_in(browser, actor)
        case = await cases.open_case(ctx, actor, "noise", REPORT)
        shown = await browser.get(f"/cases/{case['id']}")
        assert f"Panel for {case['reference']} seen by user {actor.id}" in shown.text
        assert 'href="/extra/hello"' in shown.text and "Plugin page" in shown.text
        assert (await browser.get("/extra/hello")).json() == {"hello": "world"}


class _Failing:
    CASEFRAME_PLUGIN_NAME = "failing_routes"

    @staticmethod
    @hookimpl
    def register_routes():
        raise ValueError("the settings file is missing")


class _Text:
    CASEFRAME_PLUGIN_NAME = "text_templates"

    @staticmethod
    @hookimpl
    def template_directories():
        return "templates"


@pytest.mark.parametrize(
    "plugin, words",
    [
        (
            _Failing,
            "plugin failing_routes: register_routes() failed: ValueError: the settings file is missing",
        ),
        (_Text, "plugin text_templates: template_directories() must return a list of folders, not str"),
    ],
)
def test_a_plugin_whose_routes_or_templates_cannot_be_used_stops_the_app_naming_it(plugin, words):
    from caseframe.core.errors import AreaError
    from caseframe.core.web.app import create_app

    with pytest.raises(AreaError) as caught:
        create_app(ctx=make_context(noise_plugin, plugin))
    assert [str(p) for p in caught.value.problems] == [words]
