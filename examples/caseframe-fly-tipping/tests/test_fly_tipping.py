"""Fly tipping: the area loads, the hotspot and hazardous-waste rules fire (and not on near misses)."""
import pytest

from core.cases import service as cases
from core.errors import Forbidden
from core.testing import drop_database, fire, fresh_database, make_agency, make_context, make_user

import caseframe_fly_tipping

BASE = {"date_seen": "2026-11-01", "location": "Quarry Lane lay-by", "location_reference": "QL-1",
        "land_type": "highway", "waste_types": ["household_bags"], "size": "small_van", "risk": "low"}


@pytest.fixture(scope="session")
async def database():
    engine = await fresh_database()
    yield engine
    await drop_database(engine)


@pytest.fixture
def ctx():
    return make_context(caseframe_fly_tipping)


@pytest.fixture
async def worker(database, ctx):
    from core.testing import empty_tables

    await empty_tables()
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
    fired = await fire(ctx, worker, "fly_tipping", {**BASE, "location_reference": "A", "waste_types": ["asbestos"]})
    assert [f["rule"] for f in fired] == ["fly_tipping:hazardous-waste"]
    fired = await fire(ctx, worker, "fly_tipping", {**BASE, "location_reference": "B", "size": "significant"})
    assert [f["rule"] for f in fired] == ["fly_tipping:hazardous-waste"]
    assert await fire(ctx, worker, "fly_tipping", {**BASE, "location_reference": "C", "waste_types": ["tyres"]}) == []


async def test_clearance_is_needed_before_clearing(ctx, worker):
    case = await cases.open_case(ctx, worker, "fly_tipping", BASE)
    with pytest.raises(Forbidden, match="Record when and by whom"):
        await cases.transition_case(ctx, worker, case["id"], "clear")


def test_demo_answers_are_valid(ctx):
    area = ctx.area("fly_tipping")
    for case in caseframe_fly_tipping.CASES:
        for name, answers in case["forms"].items():
            assert area.forms[name].errors(answers) == [], (case["key"], name)


async def test_an_unpaid_fixed_penalty_is_prosecuted_only_after_the_14_days_to_pay(ctx, worker):
    import datetime as dt

    from core import clock

    issued = clock.today()
    case = await cases.open_case(ctx, worker, "fly_tipping", BASE)
    await cases.transition_case(ctx, worker, case["id"], "investigate")
    penalty = {"outcome": "fixed_penalty", "date": issued.isoformat(), "penalty_amount": 400, "paid": False}
    await cases.save_form(ctx, worker, case["id"], "enforcement", penalty, expected_version=None)
    await cases.transition_case(ctx, worker, case["id"], "take_action")
    ends = issued + dt.timedelta(days=14)
    with clock.travel(days=13), pytest.raises(Forbidden) as refused:
        await cases.transition_case(ctx, worker, case["id"], "prosecute")
    assert str(refused.value) == ("The 14 days to pay the fixed penalty have not ended. "
                                  f"Possible from {ends.day} {ends:%B %Y}.")
    await cases.save_form(ctx, worker, case["id"], "enforcement", {**penalty, "paid": True}, expected_version=None)
    with clock.travel(days=20), pytest.raises(Forbidden, match="Only an unpaid fixed penalty"):
        await cases.transition_case(ctx, worker, case["id"], "prosecute")
    await cases.save_form(ctx, worker, case["id"], "enforcement", penalty, expected_version=None)
    with clock.travel(days=14):
        assert (await cases.transition_case(ctx, worker, case["id"], "prosecute"))["state"] == "prosecution"


async def test_a_hazardous_load_is_one_referral_however_many_people_are_on_the_case(ctx, worker):
    from core.referrals.tables import Referral
    from core.testing import make_person

    people = [await make_person(worker, given_name=n, family_name="Hart") for n in ("Ivy", "Joe")]
    case = await cases.open_case(ctx, worker, "fly_tipping", {**BASE, "location_reference": "A", "waste_types": ["asbestos"]},
                                 subjects=[(people[0]["id"], "reporter"), (people[1]["id"], "witness")])
    rows = await Referral.select(Referral.target, Referral.person).where(Referral.from_case == case["id"])
    assert rows == [{"target": "environment_regulator", "person": None}]
