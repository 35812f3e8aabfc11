"""Unauthorised encampments: welfare before decisions, and referrals for welfare, health and police powers."""

import caseframe_unauthorised_encampments as plugin
import pytest

from caseframe import api
from caseframe.api import Forbidden, clock
from caseframe.testing import make_agency, make_person, make_user, notifications_of, referrals_from

WELFARE = {
    "visited_on": "2026-11-16",
    "health_needs": False,
    "pregnancy": False,
    "children_schooling": False,
    "older_or_disabled": False,
    "welfare_needs_identified": False,
}


# database, db and ctx (with this package's plugin: see conftest.py) come from caseframe.testing.pytest_plugin
@pytest.fixture
async def workers(db, ctx):
    agency = await make_agency(ctx, "ue-council")
    return await make_user(agency), await make_user(agency, ("supervisor",))


async def targets(case):
    return sorted(r["target"] for r in await referrals_from(case))


async def unread(actor):
    return sum(1 for n in await notifications_of(actor) if n["unread"])


async def test_welfare_needs_and_health_are_referred(ctx, workers):
    worker, _ = workers
    case = await api.open_case(ctx, worker, "unauthorised_encampments", plugin.REPORT)
    await api.save_form(ctx, worker, case["id"], "welfare", WELFARE, expected_version=None)
    assert await targets(case) == []  # no needs: no referral
    await api.save_form(
        ctx,
        worker,
        case["id"],
        "welfare",
        {**WELFARE, "welfare_needs_identified": True, "pregnancy": True},
        expected_version=None,
    )
    assert await targets(case) == ["health", "social_care"]


async def test_decision_needs_welfare_first_and_police_powers_are_referred(ctx, workers):
    worker, supervisor = workers
    case = await api.open_case(ctx, worker, "unauthorised_encampments", plugin.REPORT)
    with pytest.raises(Forbidden, match="welfare enquiries first"):
        await api.transition_case(ctx, worker, case["id"], "assess_welfare")
    await api.save_form(ctx, worker, case["id"], "welfare", WELFARE, expected_version=None)
    await api.transition_case(ctx, worker, case["id"], "assess_welfare")
    with pytest.raises(Forbidden, match="Record the decision path"):
        await api.transition_case(ctx, supervisor, case["id"], "decide")
    decision = {
        "path": "negotiated_stopping",
        "decided_on": "2026-11-18",
        "reasons": "Welfare needs weighed.",
    }
    await api.save_form(ctx, worker, case["id"], "decision", decision, expected_version=None)
    await api.transition_case(ctx, supervisor, case["id"], "decide")
    assert await targets(case) == []  # negotiated stopping: no police referral
    with pytest.raises(Forbidden, match="Choose an enforcement path"):
        await api.transition_case(ctx, worker, case["id"], "enforce")
    await api.save_form(
        ctx, worker, case["id"], "decision", {**decision, "path": "s61_police"}, expected_version=None
    )
    assert await targets(case) == ["police"]
    moved = await api.transition_case(ctx, worker, case["id"], "enforce")
    assert moved["state"] == "enforcement"


async def test_children_at_the_encampment_tell_education_without_a_referral(ctx, workers):
    worker, _ = workers
    education = await make_agency(ctx, "ue-education", agency_type="education", areas=[])
    teacher = await make_user(education)
    case = await api.open_case(ctx, worker, "unauthorised_encampments", {**plugin.REPORT, "children": 3})
    assert await targets(case) == []  # told, not referred
    assert [n["text"] for n in await notifications_of(teacher)] == [
        f"For information: children are living at a new encampment: {case['reference']}"
    ]
    await api.save_form(ctx, worker, case["id"], "welfare", WELFARE, expected_version=None)
    assert await unread(teacher) == 1  # once per case, however often the rule fires
    none = await api.open_case(ctx, worker, "unauthorised_encampments", {**plugin.REPORT, "children": 0})
    assert await unread(teacher) == 1 and none


def test_demo_answers_are_valid(ctx):
    area = ctx.area("unauthorised_encampments")
    for case in plugin.CASES:
        for name, answers in case["forms"].items():
            assert area.forms[name].errors(answers) == [], (case["key"], name)


async def test_welfare_referrals_are_one_per_encampment_not_one_per_occupant(ctx, workers):
    worker, _ = workers
    people = [
        await make_person(worker, given_name=name, family_name="Lovell") for name in ("Mary", "John", "Rose")
    ]
    case = await api.open_case(
        ctx,
        worker,
        "unauthorised_encampments",
        plugin.REPORT,
        subjects=[(p["id"], "occupant") for p in people[:2]],
    )
    await api.save_form(
        ctx,
        worker,
        case["id"],
        "welfare",
        {**WELFARE, "welfare_needs_identified": True},
        expected_version=None,
    )
    await api.add_subject(ctx, worker, case["id"], people[2]["id"], "occupant")
    assert [(r["target"], r["person_id"]) for r in await referrals_from(case)] == [("social_care", None)]


async def test_a_removal_order_waits_for_the_day_in_the_direction_and_then_the_police_are_told(ctx, workers):
    import datetime as dt

    worker, supervisor = workers
    today = clock.today()
    case = await api.open_case(ctx, worker, "unauthorised_encampments", plugin.REPORT)
    await api.save_form(ctx, worker, case["id"], "welfare", WELFARE, expected_version=None)
    await api.transition_case(ctx, worker, case["id"], "assess_welfare")
    direction = {
        "path": "s77_direction",
        "decided_on": today.isoformat(),
        "reasons": "No welfare needs; damage to the field.",
        "direction_given_on": today.isoformat(),
        "leave_by": (today + dt.timedelta(days=2)).isoformat(),
    }
    await api.save_form(ctx, worker, case["id"], "decision", direction, expected_version=None)
    await api.transition_case(ctx, supervisor, case["id"], "decide")
    await api.transition_case(ctx, worker, case["id"], "enforce")
    leave_by = today + dt.timedelta(days=2)
    with pytest.raises(Forbidden) as refused:
        await api.transition_case(ctx, worker, case["id"], "seek_removal_order")
    day_after = leave_by + dt.timedelta(days=1)
    assert str(refused.value) == (
        "The group still has until the date in the direction to leave. "
        f"Possible from {day_after.day} {day_after:%B %Y}."
    )
    assert await targets(case) == []
    with clock.travel(days=3):
        moved = await api.transition_case(ctx, worker, case["id"], "seek_removal_order")
    assert moved["state"] == "removal_order"
    assert await targets(case) == ["police"]  # the direction was not complied with


async def test_closing_needs_the_departure_date_and_a_return_counts_for_three_months(ctx, workers):
    worker, supervisor = workers
    today = clock.today()
    case = await api.open_case(ctx, worker, "unauthorised_encampments", plugin.REPORT)
    decision = {
        "path": "s61_police",
        "decided_on": today.isoformat(),
        "reasons": "Six vehicles and damage.",
        "direction_given_on": today.isoformat(),
    }
    await api.save_form(ctx, worker, case["id"], "decision", decision, expected_version=None)
    await api.transition_case(ctx, worker, case["id"], "record_departure")
    with pytest.raises(
        Forbidden,
        match="Record the date the group left. \u2018Date the group left\u2019 in Decision is not recorded yet",
    ):
        await api.transition_case(ctx, worker, case["id"], "close")
    await api.save_form(
        ctx,
        worker,
        case["id"],
        "decision",
        {**decision, "departure_date": today.isoformat()},
        expected_version=None,
    )
    with clock.travel(days=91):  # back on the land within three months: enforcement again
        assert (await api.transition_case(ctx, worker, case["id"], "record_return"))["state"] == "enforcement"
        await api.transition_case(ctx, worker, case["id"], "record_departure")
    with clock.travel(days=92), pytest.raises(Forbidden, match="only an offence within three months"):
        await api.transition_case(ctx, worker, case["id"], "record_return")
    assert (await api.transition_case(ctx, worker, case["id"], "close"))["state"] == "closed"


async def test_an_older_occupant_is_referred_to_social_care_but_not_an_older_complainant(ctx, workers):
    worker, _ = workers
    year = clock.today().year
    nellie = await make_person(
        worker, given_name="Nellie", family_name="Price", date_of_birth=f"{year - 81}-01-01"
    )
    neighbour = await make_person(
        worker, given_name="Arthur", family_name="Mills", date_of_birth=f"{year - 80}-01-01"
    )
    son = await make_person(worker, given_name="Sam", family_name="Price", date_of_birth=f"{year - 50}-01-01")
    case = await api.open_case(
        ctx,
        worker,
        "unauthorised_encampments",
        plugin.REPORT,
        subjects=[(neighbour["id"], "complainant"), (son["id"], "occupant")],
    )
    assert await targets(case) == []
    await api.add_subject(ctx, worker, case["id"], nellie["id"], "occupant")
    # about her, the one older occupant
    assert [(r["target"], r["person_id"]) for r in await referrals_from(case)] == [
        ("social_care", nellie["id"])
    ]
