"""The built-in areas' warning markers, as a plugin author would test their own: rough sleeping and IOM declare a
prison leaver marker at one level, and rough sleeping refers a care leaver sleeping rough to the leaving care team
(a rule on ``subject.flags``), which the referral's addressee reads without the marker's value."""

from __future__ import annotations

import pytest

from caseframe.core.context import build_context
from caseframe.core.plugins import DEFAULT_PLUGINS
from caseframe.core.referrals.explain import NOT_SHARED
from caseframe.core.testing import demo_answers, fire, make_agency, make_person, make_user, why_it_fired

RULE = "rough_sleepers:care-leaver-to-social-care"


@pytest.fixture(scope="module")
def ctx():
    return build_context(",".join(DEFAULT_PLUGINS))


def test_two_areas_declare_the_prison_leaver_marker_at_one_level(ctx):
    assert (
        ctx.areas.get("iom").person_flags["prison_leaver"]
        == ctx.areas.get("rough_sleepers").person_flags["prison_leaver"]
    )
    assert ctx.areas.flag_levels["prison_leaver"] == "sensitive"
    assert ctx.areas.flag_levels["no_recourse"] == "sensitive"


async def test_a_care_leaver_sleeping_rough_is_referred_to_social_care_and_no_one_else_is(ctx, db):
    council = await make_agency(ctx, "markers-council")
    await make_agency(ctx, "markers-childrens", agency_type="social_care")
    outreach = await make_user(council)
    levels = ctx.areas.flag_levels
    leaver = await make_person(outreach, given_name="Liam", flags=["care_leaver"], flag_levels=levels)
    other = await make_person(outreach, given_name="Kyle", flags=["prison_leaver"], flag_levels=levels)
    answers = demo_answers(ctx, "rough_sleepers")
    fired = await fire(ctx, outreach, "rough_sleepers", answers, subjects=[(leaver["id"], "rough_sleeper")])
    (firing,) = [f for f in fired if f["rule"] == RULE]
    assert firing["target"] == "social_care"
    # the addressee reads the reason the area wrote, not the marker itself (sensitive, above what a referral
    # carries)
    line = next(x for x in why_it_fired(ctx, firing) if x["question"] == "Warning markers on their record")
    assert line["answer"] == NOT_SHARED
    fired = await fire(ctx, outreach, "rough_sleepers", answers, subjects=[(other["id"], "rough_sleeper")])
    assert RULE not in [f["rule"] for f in fired]
