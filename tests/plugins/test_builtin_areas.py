"""The five built-in areas: they load, their content is rich enough, and their demo scenario fires every rule."""

from __future__ import annotations

import pytest

from caseframe.core.context import build_context
from caseframe.core.demo import load_demo
from caseframe.core.plugins import DEFAULT_PLUGINS
from caseframe.core.referrals.tables import RuleFiring

BUILTIN = ["asb", "iom", "hate_crime", "rough_sleepers", "licensing"]


@pytest.fixture(scope="module")
def ctx():
    return build_context(",".join(DEFAULT_PLUGINS))


def test_every_builtin_area_is_loaded_through_the_plugin_path(ctx):
    assert sorted(ctx.areas.areas) == sorted(BUILTIN)
    for slug in BUILTIN:
        assert ctx.area(slug).source == f"caseframe.areas.{slug}"


@pytest.mark.parametrize("slug", BUILTIN)
def test_area_has_real_content(ctx, slug):
    area = ctx.area(slug)
    assert len(area.forms) >= 2, "an opening form and at least one later form"
    assert len(area.workflow.states) >= 5
    assert any(t.guards for t in area.workflow.transitions.values()), "at least one guarded transition"
    assert len(area.rules) >= 2
    assert any(s.terminal for s in area.workflow.states.values())


@pytest.mark.parametrize("slug", BUILTIN)
def test_demo_answers_are_valid_for_their_forms(ctx, slug):
    area = ctx.area(slug)
    cases = [c for d in ctx.pm.hook.demo_data() if d for c in d.get("cases", []) if c["area"] == slug]
    assert len(cases) >= 3
    for case in cases:
        assert area.opening_form in case["forms"], case["key"]
        for name, answers in case["forms"].items():
            assert area.forms[name].errors(answers) == [], (case["key"], name)
            assert area.forms[name].validator.is_valid(answers)
        for t in case.get("transitions", []):
            assert t in area.workflow.transitions, (case["key"], t)


async def test_demo_scenario_fires_every_rule_of_every_area(ctx, db):
    counts = await load_demo(ctx)
    assert counts["cases"] >= 15
    fired = {r["rule_id"] for r in await RuleFiring.select(RuleFiring.rule_id)}
    expected = {r.qualified_id for slug in BUILTIN for r in ctx.area(slug).rules}
    assert expected - fired == set(), f"rules no demo case triggers: {sorted(expected - fired)}"
