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


async def test_a_suspect_under_18_is_referred_to_the_youth_service_but_not_a_witness_of_that_age(ctx, worker):
    from core import clock
    from core.referrals.tables import Referral
    from core.testing import make_person

    year = clock.today().year
    child = await make_person(worker, given_name="Kai", family_name="Brennan", date_of_birth=f"{year - 16}-01-01")
    adult = await make_person(worker, given_name="Lee", family_name="Brennan", date_of_birth=f"{year - 40}-01-01")
    case = await cases.open_case(ctx, worker, "fly_tipping", BASE, subjects=[(child["id"], "witness"),
                                                                            (adult["id"], "suspect")])
    assert await Referral.count().where(Referral.from_case == case["id"]) == 0  # a young witness, an adult suspect
    other = await cases.open_case(ctx, worker, "fly_tipping", {**BASE, "location_reference": "QL-2"})
    await cases.add_subject(ctx, worker, other["id"], child["id"], "suspect")
    rows = await Referral.select(Referral.target, Referral.person, Referral.rule_id).where(
        Referral.from_case == other["id"])
    assert rows == [{"target": "youth_service", "person": child["id"], "rule_id": "fly_tipping:young-suspect"}]


async def test_waste_in_a_watercourse_tells_the_regulator_once_without_a_referral(ctx, worker):
    from core.notifications import service as notifications
    from core.referrals.tables import Referral

    regulator = await make_user(await make_agency(ctx, "ft-regulator", agency_type="environment_regulator", areas=[]))
    case = await cases.open_case(ctx, worker, "fly_tipping", {**BASE, "land_type": "watercourse"})
    assert await Referral.count().where(Referral.from_case == case["id"]) == 0  # told, not asked to take it on
    assert [n["text"] for n in await notifications.list_for(regulator)] == [
        f"For information: fly-tipped waste in or beside a watercourse: {case['reference']}"]
    await cases.save_form(ctx, worker, case["id"], "report", {**BASE, "land_type": "watercourse", "risk": "medium"},
                          expected_version=None)
    assert await notifications.unread_count(regulator) == 1  # once for the case
    await cases.open_case(ctx, worker, "fly_tipping", BASE)  # on the highway: nothing to tell
    assert await notifications.unread_count(regulator) == 1


async def test_hazardous_waste_is_the_plugin_s_fact_and_the_regulator_may_read_it(ctx, worker):
    from core.referrals.explain import REFERRAL_ACCESS, explain

    assert ctx.areas.fact_levels["caseframe_fly_tipping"] == {"hazardous": "official"}
    fired = await fire(ctx, worker, "fly_tipping", {**BASE, "location_reference": "A",
                                                    "waste_types": ["tyres", "clinical"]})
    assert [f["rule"] for f in fired] == ["fly_tipping:hazardous-waste"]
    assert fired[0]["facts"]["extra"] == {"caseframe_fly_tipping": {"hazardous": True}}
    # the addressee reads why at the level a referral gives it: the fact, declared official, is shown
    lines = explain(ctx, "fly_tipping:hazardous-waste", None, fired[0]["facts"], REFERRAL_ACCESS)
    assert {"question": "Caseframe fly tipping Hazardous", "answer": "Yes", "looks_for": "the rule looks for Yes"} \
        in lines
    assert await fire(ctx, worker, "fly_tipping", {**BASE, "location_reference": "D",
                                                   "waste_types": ["tyres", "green"]}) == []
