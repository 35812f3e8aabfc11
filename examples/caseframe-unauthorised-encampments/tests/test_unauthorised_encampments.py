"""Unauthorised encampments: welfare before decisions, and referrals for welfare, health and police powers."""
import pytest

from core.cases import service as cases
from core.errors import Forbidden
from core.testing import drop_database, empty_tables, fresh_database, make_agency, make_context, make_user

import caseframe_unauthorised_encampments as plugin

WELFARE = {"visited_on": "2026-11-16", "health_needs": False, "pregnancy": False, "children_schooling": False,
           "older_or_disabled": False, "welfare_needs_identified": False}


@pytest.fixture(scope="session")
async def database():
    engine = await fresh_database()
    yield engine
    await drop_database(engine)


@pytest.fixture
def ctx():
    return make_context(plugin)


@pytest.fixture
async def workers(database, ctx):
    await empty_tables()
    agency = await make_agency(ctx, "ue-council")
    return await make_user(agency), await make_user(agency, ("supervisor",))


async def targets(case_id):
    from core.referrals.tables import Referral

    return sorted(r["target"] for r in await Referral.select(Referral.target).where(Referral.from_case == case_id))


async def test_welfare_needs_and_health_are_referred(ctx, workers):
    worker, _ = workers
    case = await cases.open_case(ctx, worker, "unauthorised_encampments", plugin.REPORT)
    await cases.save_form(ctx, worker, case["id"], "welfare", WELFARE, expected_version=None)
    assert await targets(case["id"]) == []  # no needs: no referral
    await cases.save_form(ctx, worker, case["id"], "welfare", {**WELFARE, "welfare_needs_identified": True,
                                                               "pregnancy": True}, expected_version=None)
    assert await targets(case["id"]) == ["health", "social_care"]


async def test_decision_needs_welfare_first_and_police_powers_are_referred(ctx, workers):
    worker, supervisor = workers
    case = await cases.open_case(ctx, worker, "unauthorised_encampments", plugin.REPORT)
    with pytest.raises(Forbidden, match="welfare enquiries first"):
        await cases.transition_case(ctx, worker, case["id"], "assess_welfare")
    await cases.save_form(ctx, worker, case["id"], "welfare", WELFARE, expected_version=None)
    await cases.transition_case(ctx, worker, case["id"], "assess_welfare")
    with pytest.raises(Forbidden, match="Record the decision path"):
        await cases.transition_case(ctx, supervisor, case["id"], "decide")
    decision = {"path": "negotiated_stopping", "decided_on": "2026-11-18", "reasons": "Welfare needs weighed."}
    await cases.save_form(ctx, worker, case["id"], "decision", decision, expected_version=None)
    await cases.transition_case(ctx, supervisor, case["id"], "decide")
    assert await targets(case["id"]) == []  # negotiated stopping: no police referral
    with pytest.raises(Forbidden, match="Choose an enforcement path"):
        await cases.transition_case(ctx, worker, case["id"], "enforce")
    await cases.save_form(ctx, worker, case["id"], "decision", {**decision, "path": "s61_police"}, expected_version=None)
    assert await targets(case["id"]) == ["police"]
    moved = await cases.transition_case(ctx, worker, case["id"], "enforce")
    assert moved["state"] == "enforcement"


def test_demo_answers_are_valid(ctx):
    area = ctx.area("unauthorised_encampments")
    for case in plugin.CASES:
        for name, answers in case["forms"].items():
            assert area.forms[name].errors(answers) == [], (case["key"], name)
