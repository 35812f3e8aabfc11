"""Fly tipping: the area loads, the hotspot and hazardous-waste rules fire (and not on near misses)."""

import caseframe_fly_tipping
import pytest

from caseframe import api
from caseframe.api import Forbidden, clock
from caseframe.testing import (
    fire,
    make_agency,
    make_person,
    make_user,
    notifications_of,
    referrals_from,
    why_it_fired,
)

BASE = {
    "date_seen": "2026-11-01",
    "location": "Quarry Lane lay-by",
    "location_reference": "QL-1",
    "land_type": "highway",
    "waste_types": ["household_bags"],
    "size": "small_van",
    "risk": "low",
}


async def unread(actor):
    return sum(1 for n in await notifications_of(actor) if n["unread"])


# database, db and ctx (with this package's plugin: see conftest.py) come from caseframe.testing.pytest_plugin
@pytest.fixture
async def worker(db, ctx):
    return await make_user(await make_agency(ctx, "ft-council"))


async def test_area_loads_with_its_agency_types(ctx):
    assert "fly_tipping" in ctx.areas.areas
    assert ctx.areas.agency_types["environment_regulator"] == "Environment regulator"


async def test_third_report_at_one_place_is_a_hotspot(ctx, worker):
    assert await fire(ctx, worker, "fly_tipping", BASE) == []
    assert await fire(ctx, worker, "fly_tipping", {**BASE, "location_reference": "ELSEWHERE"}) == []
    assert await fire(ctx, worker, "fly_tipping", BASE) == []  # two at QL-1: not yet
    fired = await fire(ctx, worker, "fly_tipping", BASE)
    assert [f["rule"] for f in fired] == ["fly_tipping:hotspot"]
    assert fired[0]["target"] == "environmental_enforcement"


async def test_hazardous_or_huge_loads_go_to_the_regulator(ctx, worker):
    fired = await fire(
        ctx, worker, "fly_tipping", {**BASE, "location_reference": "A", "waste_types": ["asbestos"]}
    )
    assert [f["rule"] for f in fired] == ["fly_tipping:hazardous-waste"]
    fired = await fire(ctx, worker, "fly_tipping", {**BASE, "location_reference": "B", "size": "significant"})
    assert [f["rule"] for f in fired] == ["fly_tipping:hazardous-waste"]
    assert (
        await fire(ctx, worker, "fly_tipping", {**BASE, "location_reference": "C", "waste_types": ["tyres"]})
        == []
    )


async def test_clearance_is_needed_before_clearing(ctx, worker):
    case = await api.open_case(ctx, worker, "fly_tipping", BASE)
    with pytest.raises(Forbidden, match="Record when and by whom"):
        await api.transition_case(ctx, worker, case["id"], "clear")


def test_demo_answers_are_valid(ctx):
    area = ctx.area("fly_tipping")
    for case in caseframe_fly_tipping.CASES:
        for name, answers in case["forms"].items():
            assert area.forms[name].errors(answers) == [], (case["key"], name)


async def test_an_unpaid_fixed_penalty_is_prosecuted_only_after_the_14_days_to_pay(ctx, worker):
    import datetime as dt

    issued = clock.today()
    case = await api.open_case(ctx, worker, "fly_tipping", BASE)
    await api.transition_case(ctx, worker, case["id"], "investigate")
    penalty = {"outcome": "fixed_penalty", "date": issued.isoformat(), "penalty_amount": 400, "paid": False}
    await api.save_form(ctx, worker, case["id"], "enforcement", penalty, expected_version=None)
    await api.transition_case(ctx, worker, case["id"], "take_action")
    ends = issued + dt.timedelta(days=14)
    with clock.travel(days=13), pytest.raises(Forbidden) as refused:
        await api.transition_case(ctx, worker, case["id"], "prosecute")
    assert str(refused.value) == (
        f"The 14 days to pay the fixed penalty have not ended. Possible from {ends.day} {ends:%B %Y}."
    )
    await api.save_form(
        ctx, worker, case["id"], "enforcement", {**penalty, "paid": True}, expected_version=None
    )
    with clock.travel(days=20), pytest.raises(Forbidden, match="Only an unpaid fixed penalty"):
        await api.transition_case(ctx, worker, case["id"], "prosecute")
    await api.save_form(ctx, worker, case["id"], "enforcement", penalty, expected_version=None)
    with clock.travel(days=14):
        assert (await api.transition_case(ctx, worker, case["id"], "prosecute"))["state"] == "prosecution"


async def test_a_hazardous_load_is_one_referral_however_many_people_are_on_the_case(ctx, worker):
    people = [await make_person(worker, given_name=n, family_name="Hart") for n in ("Ivy", "Joe")]
    case = await api.open_case(
        ctx,
        worker,
        "fly_tipping",
        {**BASE, "location_reference": "A", "waste_types": ["asbestos"]},
        subjects=[(people[0]["id"], "reporter"), (people[1]["id"], "witness")],
    )
    assert [(r["target"], r["person_id"]) for r in await referrals_from(case)] == [
        ("environment_regulator", None)
    ]


async def test_a_suspect_under_18_is_referred_to_the_youth_service_but_not_a_witness_of_that_age(ctx, worker):
    year = clock.today().year
    child = await make_person(
        worker, given_name="Kai", family_name="Brennan", date_of_birth=f"{year - 16}-01-01"
    )
    adult = await make_person(
        worker, given_name="Lee", family_name="Brennan", date_of_birth=f"{year - 40}-01-01"
    )
    case = await api.open_case(
        ctx, worker, "fly_tipping", BASE, subjects=[(child["id"], "witness"), (adult["id"], "suspect")]
    )
    assert await referrals_from(case) == []  # a young witness, an adult suspect
    other = await api.open_case(ctx, worker, "fly_tipping", {**BASE, "location_reference": "QL-2"})
    await api.add_subject(ctx, worker, other["id"], child["id"], "suspect")
    assert [(r["target"], r["person_id"], r["rule_id"]) for r in await referrals_from(other)] == [
        ("youth_service", child["id"], "fly_tipping:young-suspect")
    ]


async def test_waste_in_a_watercourse_tells_the_regulator_once_without_a_referral(ctx, worker):
    regulator = await make_user(
        await make_agency(ctx, "ft-regulator", agency_type="environment_regulator", areas=[])
    )
    case = await api.open_case(ctx, worker, "fly_tipping", {**BASE, "land_type": "watercourse"})
    assert await referrals_from(case) == []  # told, not asked to take it on
    assert [n["text"] for n in await notifications_of(regulator)] == [
        f"For information: fly-tipped waste in or beside a watercourse: {case['reference']}"
    ]
    await api.save_form(
        ctx,
        worker,
        case["id"],
        "report",
        {**BASE, "land_type": "watercourse", "risk": "medium"},
        expected_version=None,
    )
    assert await unread(regulator) == 1  # once for the case
    await api.open_case(ctx, worker, "fly_tipping", BASE)  # on the highway: nothing to tell
    assert await unread(regulator) == 1


async def test_hazardous_waste_is_the_plugin_s_fact_and_the_regulator_may_read_it(ctx, worker):
    assert ctx.areas.fact_levels["caseframe_fly_tipping"] == {"hazardous": "official"}
    fired = await fire(
        ctx, worker, "fly_tipping", {**BASE, "location_reference": "A", "waste_types": ["tyres", "clinical"]}
    )
    assert [f["rule"] for f in fired] == ["fly_tipping:hazardous-waste"]
    assert fired[0]["facts"]["extra"] == {"caseframe_fly_tipping": {"hazardous": True}}
    # the addressee reads why at the level a referral gives it: the fact, declared official, is shown
    lines = why_it_fired(ctx, fired[0])
    assert {
        "question": "Caseframe fly tipping Hazardous",
        "answer": "Yes",
        "looks_for": "the rule looks for Yes",
    } in lines
    assert (
        await fire(
            ctx, worker, "fly_tipping", {**BASE, "location_reference": "D", "waste_types": ["tyres", "green"]}
        )
        == []
    )
