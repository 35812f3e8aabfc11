"""How often a rule fires: once per person on a case (default), once per case, only for some roles, and no
repeats when a later event (a person added, a form saved again) evaluates every rule again."""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import CaseEvent
from caseframe.core.referrals import inbox
from caseframe.core.referrals.tables import Referral, RuleFiring
from caseframe.core.sharing.policy import OWNER
from caseframe.core.testing import make_agency, make_context, make_person, make_user
from tests.fixtures.areas import notices_plugin

REPORT = {"address": "4 Linden Row"}
URGENT = {**REPORT, "urgent": True}


@pytest.fixture
def ctx():
    return make_context(notices_plugin)


@pytest.fixture
async def world(db, ctx):
    council = await make_agency(ctx, "ashdown-test")
    worker = await make_user(council, ("caseworker", "supervisor"))
    people = {
        name: await make_person(worker, given_name=name, family_name="Example")
        for name in ("Ada", "Ben", "Cal", "Dee")
    }
    return {"council": council, "worker": worker, "people": people}


async def firings(rule: str) -> list[dict]:
    return await RuleFiring.select().where(RuleFiring.rule_id == f"notices:{rule}").order_by(RuleFiring.id)


async def referral_events(case_id: int) -> list[str]:
    rows = await CaseEvent.select(CaseEvent.summary).where(
        (CaseEvent.case == case_id) & (CaseEvent.kind == "referral")
    )
    return [r["summary"] for r in rows]


async def test_a_once_per_case_rule_raises_one_referral_whoever_is_on_the_case(ctx, world):
    worker, p = world["worker"], world["people"]
    case = await cases.open_case(
        ctx,
        worker,
        "notices",
        REPORT,
        subjects=[
            (p["Ada"]["id"], "recipient"),
            (p["Ben"]["id"], "recipient"),
            (p["Cal"]["id"], "complainant"),
        ],
    )
    served = (clock.today() - dt.timedelta(days=20)).isoformat()
    await cases.save_form(ctx, worker, case["id"], "notice", {"served_on": served}, expected_version=None)
    fired = await firings("period-over-to-police")
    assert len(fired) == 1 and fired[0]["person"] is None
    referral = await Referral.select().where(Referral.rule_id == "notices:period-over-to-police").first()
    assert referral["person"] is None and referral["from_case"] == case["id"]
    # later events and a person added later do not say it again
    await cases.add_subject(ctx, worker, case["id"], p["Dee"]["id"], "recipient")
    await cases.transition_case(ctx, worker, case["id"], "serve")
    assert len(await firings("period-over-to-police")) == 1
    assert await Referral.count().where(Referral.rule_id == "notices:period-over-to-police") == 1


async def test_a_role_only_rule_fires_for_that_role_and_then_only_for_new_people(ctx, world):
    worker, p = world["worker"], world["people"]
    case = await cases.open_case(
        ctx,
        worker,
        "notices",
        REPORT,
        subjects=[(p["Ada"]["id"], "recipient"), (p["Cal"]["id"], "complainant")],
    )
    assert [f["person"] for f in await firings("recipient-support")] == [p["Ada"]["id"]]
    await cases.add_subject(ctx, worker, case["id"], p["Dee"]["id"], "complainant")  # not a recipient
    assert [f["person"] for f in await firings("recipient-support")] == [p["Ada"]["id"]]
    await cases.add_subject(ctx, worker, case["id"], p["Ben"]["id"], "recipient")
    assert [f["person"] for f in await firings("recipient-support")] == [p["Ada"]["id"], p["Ben"]["id"]]
    assert not [s for s in await referral_events(case["id"]) if "fired again" in s]


async def test_a_role_only_rule_never_fires_on_a_case_with_no_one_on_it(ctx, world):
    await cases.open_case(ctx, world["worker"], "notices", REPORT)
    assert await firings("recipient-support") == []


async def test_a_person_added_later_raises_only_what_is_new(ctx, world):
    worker, p = world["worker"], world["people"]
    case = await cases.open_case(
        ctx,
        worker,
        "notices",
        URGENT,
        subjects=[(p["Ada"]["id"], "recipient"), (p["Cal"]["id"], "complainant")],
    )
    assert sorted(f["person"] for f in await firings("everyone-to-housing")) == sorted(
        [p["Ada"]["id"], p["Cal"]["id"]]
    )
    before = await Referral.count()
    await cases.add_subject(ctx, worker, case["id"], p["Ben"]["id"], "complainant")
    fired = await firings("everyone-to-housing")
    assert [f["person"] for f in fired][-1] == p["Ben"]["id"] and len(fired) == 3
    assert await Referral.count() == before + 1  # Ben's, and nothing for Ada or Cal again
    await cases.save_form(
        ctx, worker, case["id"], "report", {**URGENT, "seen_count": 3}, expected_version=None
    )
    assert len(await firings("everyone-to-housing")) == 3
    summaries = await referral_events(case["id"])
    assert sum("housing provider" in s for s in summaries) == 3 and not [
        s for s in summaries if "fired again" in s
    ]


async def test_a_declined_referral_is_not_raised_again_by_the_same_rule_on_the_same_case(ctx, world):
    worker, p = world["worker"], world["people"]
    housing = await make_agency(ctx, "ashdown-homes", agency_type="housing_provider")
    officer = await make_user(housing)
    case = await cases.open_case(ctx, worker, "notices", URGENT, subjects=[(p["Ada"]["id"], "recipient")])
    ref = await Referral.select().where(Referral.rule_id == "notices:everyone-to-housing").first()
    await inbox.decline(ctx, officer, ref["id"], version=ref["version"], reason="Already known to us")
    await cases.save_form(
        ctx, worker, case["id"], "report", {**URGENT, "seen_count": 4}, expected_version=None
    )
    await cases.add_subject(ctx, worker, case["id"], p["Ben"]["id"], "recipient")
    people = [
        r["person"]
        for r in await Referral.select(Referral.person)
        .where(Referral.rule_id == "notices:everyone-to-housing")
        .order_by(Referral.id)
    ]
    assert people == [p["Ada"]["id"], p["Ben"]["id"]]


async def test_the_same_person_on_another_case_is_merged_into_their_open_referral(ctx, world):
    worker, p = world["worker"], world["people"]
    await cases.open_case(ctx, worker, "notices", URGENT, subjects=[(p["Ada"]["id"], "recipient")])
    await cases.open_case(ctx, worker, "notices", URGENT, subjects=[(p["Ada"]["id"], "recipient")])
    assert len(await firings("everyone-to-housing")) == 2  # one per case
    assert await Referral.count().where(Referral.rule_id == "notices:everyone-to-housing") == 1


async def test_a_rule_only_the_cases_own_agency_answers_still_raises_nothing(ctx, db):
    # a social care team's own case: "recipient-support" targets social care, and no other agency is one
    team = await make_agency(ctx, "ashdown-social-care", agency_type="social_care")
    worker = await make_user(team)
    ada = await make_person(worker, given_name="Ada", family_name="Example")
    ben = await make_person(worker, given_name="Ben", family_name="Example")
    case = await cases.open_case(ctx, worker, "notices", REPORT, subjects=[(ada["id"], "recipient")])
    await cases.add_subject(ctx, worker, case["id"], ben["id"], "recipient")
    assert await Referral.count().where(Referral.target == "social_care") == 0
    said = [s for s in await referral_events(case["id"]) if "recipient-support" in s]
    assert len(said) == 1 and "none was raised" in said[0]


async def test_what_fired_on_a_case_is_read_through_an_index(db):
    # every case event with rules reads the case's firings: the migration indexes them by case and rule
    from caseframe.core.db.engine import is_sqlite

    if is_sqlite(db):
        rows = await RuleFiring.raw(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cf_rule_firing'"
        )
        names = {r["name"] for r in rows}
    else:
        rows = await RuleFiring.raw(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'cf_rule_firing' "
            "AND schemaname = current_schema()"
        )
        names = {r["indexname"] for r in rows}
    assert "cf_rule_firing_case_rule" in names


async def test_why_a_role_only_rule_fired_names_the_role_it_looks_for(ctx, world):
    from caseframe.core.referrals.explain import explain

    await cases.open_case(
        ctx, world["worker"], "notices", REPORT, subjects=[(world["people"]["Ada"]["id"], "recipient")]
    )
    firing = (
        await RuleFiring.select()
        .where(RuleFiring.rule_id == "notices:recipient-support")
        .output(load_json=True)
    )[0]
    assert explain(ctx, firing["rule_id"], None, firing["facts"], OWNER) == [
        {
            "question": "Their role on the case",
            "answer": "person served with the notice",
            "looks_for": "the rule looks for person served with the notice",
        }
    ]
