"""Facts a plugin adds to the referral facts reach a partner only up to the level the plugin declares for them.

They were shown to a referral's addressee and to partners unfiltered, because no level was known for them. Now a
plugin declares each fact's level (extra_referral_facts_sensitivity), and one it never declares counts as special
category. The walk of test_leaks reads every page, API answer and pack a partner and an addressee can reach.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from caseframe.core import hookimpl
from caseframe.core.errors import AreaError
from caseframe.core.referrals import inbox
from caseframe.core.referrals import service as referrals
from caseframe.core.referrals.explain import REFERRAL_ACCESS, explain, filter_facts
from caseframe.core.sharing.policy import Access
from caseframe.core.testing import make_context, sign_in, web_client
from tests.fixtures import fact_plugin
from tests.fixtures.fact_plugin import INTEL, NOTE, SECRET
from tests.security.test_leaks import _found, _reachable, world  # noqa: F401  (world is a fixture)

NOISE = Path(__file__).resolve().parents[1] / "fixtures/areas/noise"
#: the noise area's rule for a young complainant also needs the plugin's three facts
RULE_TESTS_EXTRA = (
    "maximum = 17 } } } } }",
    'maximum = 17 } } }, extra = { required = ["intel_feed"], properties = '
    '{ intel_feed = { required = ["note", "intel", "undeclared"] } } } } }',
)


@pytest.fixture
def ctx(tmp_path):
    area = tmp_path / "noise"
    shutil.copytree(NOISE, area)
    text = (area / "area.toml").read_text(encoding="utf-8")
    assert RULE_TESTS_EXTRA[0] in text, "the noise fixture changed: update RULE_TESTS_EXTRA"
    (area / "area.toml").write_text(text.replace(*RULE_TESTS_EXTRA), encoding="utf-8")

    class Noise:
        @hookimpl
        def register_areas(self):
            return [area]

    return make_context(Noise(), fact_plugin)


async def test_a_plugin_fact_above_a_reader_s_level_is_in_no_response(world, db):  # noqa: F811
    ctx, case = world["ctx"], world["case"]
    fired = await referrals.firings_of((await inbox.inbox(ctx, world["youth_worker"]))[0]["id"])
    assert fired[0]["facts"]["extra"] == {"intel_feed": {"note": NOTE, "intel": INTEL, "undeclared": SECRET}}
    async with web_client(
        ctx, db
    ) as client:  # the owner reads every fact: the walk can see what it looks for
        token = await sign_in(client, world["owner"])
        mine = await _reachable(client, world, world["owner"], token)
        assert all(m in mine[f"API /api/v1/cases/{case['id']}/referrals"] for m in (NOTE, INTEL, SECRET))
    # an official-level partner, its admin, the addressee
    for who in (
        "officer",
        "police_admin",
        "youth_worker",
    ):
        async with web_client(ctx, db) as client:
            token = await sign_in(client, world[who])
            bodies = await _reachable(client, world, world[who], token)
        assert _found(bodies, (INTEL, SECRET)) == [], who
        if who == "youth_worker":
            page = next(v for k, v in bodies.items() if re.fullmatch(r"/referrals/\d+", k))
            assert NOTE in page, "the official fact is shown to the addressee"
            assert page.count("Not shared with your agency") >= 2, "the why names the withheld facts"
        if who == "officer":
            # the rule tests the sensitive fact, so that it fired says something of it: the partner is not told
            # of the firing at all (tests/security/test_derived_leaks.py), official fact and all
            api = bodies[f"API /api/v1/cases/{case['id']}/referrals"]
            assert "young-complainant" not in api and "intel_feed" not in api and NOTE not in api


def test_each_fact_is_filtered_by_its_declared_level(ctx):
    facts = {
        "area": "noise",
        "extra": {
            "intel_feed": {"note": NOTE, "intel": INTEL, "undeclared": SECRET},
            "uninstalled_plugin": {"anything": "x"},
        },
    }
    sensitive = Access(kind="share", max_sensitivity="sensitive")
    special = Access(kind="share", max_sensitivity="special_category")
    assert filter_facts(ctx, facts, REFERRAL_ACCESS)["extra"] == {"intel_feed": {"note": NOTE}}
    assert filter_facts(ctx, facts, sensitive)["extra"] == {"intel_feed": {"note": NOTE, "intel": INTEL}}
    assert filter_facts(ctx, facts, special) == facts  # whoever may see everything sees an undeclared fact
    when = {
        "properties": {"extra": {"properties": {"intel_feed": {"required": ["note", "intel", "undeclared"]}}}}
    }
    why = {w["question"]: w["answer"] for w in explain(ctx, None, when, facts, sensitive)}
    assert why == {
        "Intel feed Note": NOTE,
        "Intel feed Intel": INTEL,
        "Intel feed Undeclared": "Not shared with your agency",
    }


def test_an_unknown_level_stops_start_up_with_the_plugin_name():
    class Careless:
        CASEFRAME_PLUGIN_NAME = "careless"

        @hookimpl
        def extra_referral_facts_sensitivity(self):
            return {"intel": "secret"}

    with pytest.raises(AreaError) as exc:
        make_context(Careless())
    assert [str(p) for p in exc.value.problems] == [
        "plugin careless#/intel: 'secret' is not a sensitivity level; use one of official, sensitive, special_category"
    ]


def test_the_stored_facts_hold_the_plugin_under_its_declared_name(ctx):
    assert json.dumps(ctx.areas.fact_levels) == json.dumps(
        {"intel_feed": {"note": "official", "intel": "sensitive"}}
    )


@pytest.fixture
def sensitive_street_ctx(tmp_path):
    """The noise area with its report's street above official: the same_street_90d count is grouped by it."""
    area = tmp_path / "noise"
    shutil.copytree(NOISE, area)
    schema_file = area / "forms" / "report.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    schema["properties"]["street"]["x-sensitivity"] = "sensitive"
    schema_file.write_text(json.dumps(schema), encoding="utf-8")

    class Noise:
        @hookimpl
        def register_areas(self):
            return [area]

    return make_context(Noise())


def test_a_count_grouped_by_a_question_above_the_reader_s_level_is_withheld(sensitive_street_ctx):
    """A count "reports in the same street" is worked out from the street: a reader who may not see the street is
    told neither the number (in the facts an API gives) nor it in "why the rule fired"; a count by person is not
    grouped by any answer and stays."""
    ctx = sensitive_street_ctx
    facts = {"area": "noise", "counts": {"same_street_90d": 4, "reports_180d": 3}}
    when = {"properties": {"counts": {"properties": {"same_street_90d": {"minimum": 2}, "reports_180d": {}}}}}
    sensitive = Access(kind="share", max_sensitivity="sensitive")
    owner = Access(kind="owner")

    assert filter_facts(ctx, facts, REFERRAL_ACCESS)["counts"] == {"reports_180d": 3}
    why = explain(ctx, None, when, facts, REFERRAL_ACCESS)
    street = next(w for w in why if "same street" in w["question"].lower())
    assert street == {
        "question": street["question"],
        "answer": "Not shared with your agency",
        "looks_for": "",
    }
    assert any(w["answer"] == "3" for w in why)  # the count by person is still shown
    assert not any("4" in w["answer"] or "2 or more" in w["looks_for"] for w in why)

    for reader in (sensitive, owner):
        assert filter_facts(ctx, facts, reader)["counts"] == facts["counts"]
        answers = [w["answer"] for w in explain(ctx, None, when, facts, reader)]
        assert "4" in answers and "Not shared with your agency" not in answers
