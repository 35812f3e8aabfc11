"""Services: opening and working cases, optimistic locking, workflow, rules and audit, on a test area."""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import Case, CaseEvent
from caseframe.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from caseframe.core.referrals.tables import Referral, RuleFiring
from caseframe.core.tasks import service as tasks
from caseframe.core.testing import fire, make_agency, make_person, make_user

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


@pytest.fixture
async def council(db, ctx):
    return await make_agency(ctx, "ashdown-test")


async def test_open_case_gives_reference_state_audit_and_timeline(ctx, council):
    worker = await make_user(council)
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    assert case["reference"] == f"NOI-{clock.now().year}-000001"
    assert case["state"] == "open" and case["version"] == 1
    second = await cases.open_case(ctx, worker, "noise", REPORT)
    assert second["reference"].endswith("000002")
    events = await cases.timeline(case["id"])
    assert events[-1]["kind"] == "created"
    assert await AuditEvent.count().where(AuditEvent.action == "case.create") == 2


async def test_invalid_opening_form_lists_human_errors_and_writes_nothing(ctx, council):
    worker = await make_user(council)
    with pytest.raises(ValidationFailed) as exc:
        await cases.open_case(ctx, worker, "noise", {"kind": "trumpet"})
    messages = {e["field"]: e["message"] for e in exc.value.errors}
    assert messages["/date_of_incident"] == "Enter the date of the incident"
    assert messages["/kind"] == "Select kind of noise from the list"
    assert await Case.count() == 0


async def test_area_must_be_enabled_for_the_agency(ctx, db):
    agency = await make_agency(ctx, "no-areas", areas=[])
    worker = await make_user(agency)
    with pytest.raises(Forbidden, match="not enabled"):
        await cases.open_case(ctx, worker, "noise", REPORT)


async def test_save_form_with_stale_version_is_refused_and_nothing_overwritten(ctx, council):
    worker = await make_user(council)
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    first = await cases.save_form(
        ctx, worker, case["id"], "visit", {"risk_level": "high"}, expected_version=case["version"]
    )
    assert first["risk_level"] == "high" and first["version"] == 2
    with pytest.raises(Conflict, match="Someone else changed this case"):
        await cases.save_form(
            ctx, worker, case["id"], "visit", {"risk_level": "standard"}, expected_version=case["version"]
        )
    again = await cases.get_case(ctx, worker, case["id"])
    assert again["data"]["visit"] == {"risk_level": "high"}
    change = [e for e in await cases.timeline(case["id"]) if e["kind"] == "form"][0]
    assert change["detail"]["changes"] == [{"field": "/risk_level", "from": None, "to": "high"}]


async def test_transition_guard_and_role_refusals_say_why(ctx, council):
    worker = await make_user(council)
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    with pytest.raises(Forbidden, match="Fill in the visit form"):
        await cases.transition_case(ctx, worker, case["id"], "record_visit")
    with pytest.raises(Forbidden, match="Only a supervisor"):
        await cases.transition_case(ctx, worker, case["id"], "close")
    await cases.save_form(ctx, worker, case["id"], "visit", {"risk_level": "medium"}, expected_version=None)
    moved = await cases.transition_case(ctx, worker, case["id"], "record_visit")
    assert moved["state"] == "visited"
    boss = await make_user(council, ("supervisor",))
    closed = await cases.transition_case(ctx, boss, case["id"], "close")
    assert closed["state"] == "closed" and closed["closed_at"]
    kinds = [e["kind"] for e in await cases.timeline(case["id"])]
    assert kinds.count("transition") == 2


async def test_other_agency_cannot_see_or_change_a_case(ctx, council):
    worker = await make_user(council)
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    other = await make_user(await make_agency(ctx, "elsewhere"))
    with pytest.raises(NotFound):
        await cases.get_case(ctx, other, case["id"])
    with pytest.raises(NotFound):
        await cases.add_note(ctx, other, case["id"], "sneaky")


async def test_repeat_subject_rule_fires_once_then_merges_with_facts_kept(ctx, council):
    worker = await make_user(council)
    person = await make_person(worker, given_name="Jordan", family_name="Reilly")
    report = {**REPORT}
    for i in range(2):
        assert (
            await fire(ctx, worker, "noise", {**report, "street": f"Street {i}"}, [(person["id"], "subject")])
            == []
        )
    fired = await fire(ctx, worker, "noise", {**report, "street": "Street 3"}, [(person["id"], "subject")])
    assert [f["rule"] for f in fired] == ["noise:repeat-source-to-panel"]
    assert fired[0]["facts"]["counts"]["reports_180d"] == 3
    assert fired[0]["reason"].startswith("Three or more noise reports")
    fired_again = await fire(
        ctx, worker, "noise", {**report, "street": "Street 4"}, [(person["id"], "subject")]
    )
    assert len(fired_again) == 1
    assert await Referral.count() == 1  # merged into the open referral, not repeated
    assert await RuleFiring.count() == 2


async def test_age_and_field_grouped_rules(ctx, council):
    worker = await make_user(council)
    child = await make_person(worker, given_name="Sam", family_name="Young", date_of_birth="2015-05-05")
    fired = await fire(ctx, worker, "noise", REPORT, [(child["id"], "complainant")])
    assert [f["rule"] for f in fired] == ["noise:young-complainant"]
    fired = await fire(ctx, worker, "noise", REPORT)
    assert [f["rule"] for f in fired] == ["noise:street-hotspot"]


async def test_tasks_and_notes_land_on_the_timeline(ctx, council):
    worker = await make_user(council)
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    task = await tasks.add_task(ctx, worker, case["id"], title="Visit complainant", due_date="2026-12-01")
    await tasks.complete_task(ctx, worker, task["id"])
    await cases.add_note(ctx, worker, case["id"], "Phoned the complainant.")
    with pytest.raises(ValidationFailed):
        await cases.add_note(ctx, worker, case["id"], "   ")
    summaries = [e["summary"] for e in await cases.timeline(case["id"])]
    assert summaries[:3] == [
        "Phoned the complainant.",
        "Task completed: Visit complainant",
        "Task added: Visit complainant (due 1 December 2026)",
    ]
    assert await CaseEvent.count().where(CaseEvent.case == case["id"]) == 4


@pytest.mark.parametrize("due", ["9999-12-31", "0001-01-01", "far"])
async def test_a_due_date_years_away_is_refused_naming_the_field(ctx, council, due):
    """A year typed wrong is refused, adding or changing a task, and nothing is stored: PostgreSQL kept 0001-01-01
    as -infinity, and such dates broke later reads and date arithmetic."""
    from caseframe.core import clock
    from caseframe.core.tasks.tables import Task

    if due == "far":
        due = (clock.today() + dt.timedelta(days=11 * 366)).isoformat()
    worker = await make_user(council)
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    message = "The due date must be within 10 years of today: check the year"
    with pytest.raises(ValidationFailed) as refused:
        await tasks.add_task(ctx, worker, case["id"], title="Visit", due_date=due)
    assert refused.value.errors == [{"field": "/due_date", "message": message}]
    assert await Task.count() == 0
    task = await tasks.add_task(ctx, worker, case["id"], title="Visit", due_date=clock.today())
    with pytest.raises(ValidationFailed) as refused:
        await tasks.edit_task(
            ctx,
            worker,
            task["id"],
            title="Visit",
            due_date=due,
            assignee_id=None,
            expected_state=task["status"],
        )
    assert {"field": "/due_date", "message": message} in refused.value.errors
    assert (await Task.select(Task.due_date).first())["due_date"] == clock.today()
    later = clock.today() + dt.timedelta(days=9 * 365)
    assert (await tasks.add_task(ctx, worker, case["id"], title="Review", due_date=later))["due_date"]


async def test_a_task_stored_with_a_far_due_date_can_still_be_edited_keeping_it(ctx, council):
    """A task given a far due date before the bound came in keeps it through an edit of something else (the form
    sends the stored date back), where before it could not be changed at all until its date was corrected; moving
    it to another far date is still refused."""
    from caseframe.core import clock
    from caseframe.core.tasks.tables import Task

    worker = await make_user(council)
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    task = await tasks.add_task(ctx, worker, case["id"], title="Visit", due_date=clock.today())
    await Task.update({Task.due_date: dt.date(9999, 12, 31)}).where(Task.id == task["id"])

    async def edit(due_date: str) -> dict:
        stored = await Task.select().where(Task.id == task["id"]).first()
        return await tasks.edit_task(
            ctx,
            worker,
            task["id"],
            title="Visit the complainant",
            due_date=due_date,
            assignee_id=worker.id,
            expected_state=tasks.task_state(stored),
        )

    edited = await edit("9999-12-31")
    assert (edited["title"], edited["due_date"]) == ("Visit the complainant", "9999-12-31")
    with pytest.raises(ValidationFailed) as refused:
        await edit("9999-12-30")
    assert refused.value.errors == [
        {"field": "/due_date", "message": "The due date must be within 10 years of today: check the year"}
    ]
    stored = await Task.select(Task.due_date).where(Task.id == task["id"]).first()
    assert stored["due_date"] == dt.date(9999, 12, 31)


async def test_event_hooks_are_called_after_commit(ctx, council):
    seen = []

    class Listener:
        from caseframe.core import hookimpl

        @hookimpl
        def case_created(self, case, actor):
            seen.append(("created", case["reference"]))

        @hookimpl
        def referral_made(self, referral, case):
            seen.append(("referral", referral["target"]))

    ctx.pm.register(Listener())
    worker = await make_user(council)
    case = await cases.open_case(ctx, worker, "noise", REPORT)
    await cases.open_case(ctx, worker, "noise", REPORT)
    assert seen[0] == ("created", case["reference"])
    assert ("referral", "police") in seen
