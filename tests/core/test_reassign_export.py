"""Handing work over and taking lists away: a case's lead officer, a task's owner and due date, a leaver's caseload
moved in one go from an area list, and the area list and a person search as CSV. Services and HTTP."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import Case, CaseEvent
from caseframe.core.errors import CaseClosed, Conflict, Forbidden, NotFound, ValidationFailed
from caseframe.core.tasks import service as tasks
from caseframe.core.tasks.tables import Task
from caseframe.core.testing import csrf_token_of, make_agency, make_person, make_user, sign_in, web_client

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


@pytest.fixture
async def team(db, ctx):
    """Ashdown's team (a leaver, a colleague, a supervisor, a local admin, a deactivated officer) and a partner."""
    from caseframe.core.agencies import service as agencies

    council = await make_agency(ctx, "ashdown-test", name="Ashdown Test")
    partner = await make_agency(ctx, "harbour-test", name="Harbour Test")
    t = {
        "ctx": ctx,
        "council": council,
        "partner": partner,
        "leaver": await make_user(council, ("caseworker",), name="Lena Leaver"),
        "colleague": await make_user(council, ("caseworker",), name="Cole Colleague"),
        "supervisor": await make_user(council, ("supervisor",), name="Sue Supervisor"),
        "admin": await make_user(council, ("local_admin",), name="Ada Admin"),
        "gone": await make_user(council, ("caseworker",), name="Gus Gone"),
        "outsider": await make_user(partner, ("caseworker",), name="Otto Outsider"),
        "outsider_boss": await make_user(partner, ("supervisor", "local_admin"), name="Olga Outsider"),
    }
    await agencies.set_user_active(t["admin"], t["gone"].id, False)
    return t


async def _case(t, who="leaver", **answers):
    return await cases.open_case(t["ctx"], t[who], "noise", {**REPORT, **answers})


async def _events(case_id, kind):
    return (
        await CaseEvent.select()
        .where((CaseEvent.case == case_id) & (CaseEvent.kind == kind))
        .output(load_json=True)
    )


async def _audit(action):
    return await AuditEvent.select().where(AuditEvent.action == action).output(load_json=True)


# --- one case's lead officer ---------------------------------------------------------------------------


async def test_reassigning_the_lead_officer_is_on_the_timeline_and_audited(team):
    case = await _case(team)
    moved = await cases.reassign_lead(
        team["ctx"], team["leaver"], case["id"], team["colleague"].id, expected_version=case["version"]
    )
    assert moved["lead_officer_id"] == team["colleague"].id and moved["version"] == case["version"] + 1
    [event] = await _events(case["id"], "lead")
    assert event["summary"] == "Lead officer changed: Lena Leaver \u2192 Cole Colleague"
    [audited] = await _audit("case.lead_changed")
    assert (audited["object_id"], audited["detail"]["from"], audited["detail"]["to"]) == (
        case["id"],
        team["leaver"].id,
        team["colleague"].id,
    )


async def test_a_stale_version_changes_nothing(team):
    case = await _case(team)
    # someone else's change
    await cases.add_subject(
        team["ctx"], team["leaver"], case["id"], (await make_person(team["leaver"]))["id"], "subject"
    )
    with pytest.raises(Conflict):
        await cases.reassign_lead(
            team["ctx"],
            team["supervisor"],
            case["id"],
            team["colleague"].id,
            expected_version=case["version"],
        )
    row = await Case.select(Case.lead_officer).where(Case.id == case["id"]).first()
    assert row["lead_officer"] == team["leaver"].id and not await _events(case["id"], "lead")


@pytest.mark.parametrize("who", ["outsider", "admin", "gone", "nobody"])
async def test_the_new_lead_must_work_cases_in_the_owning_agency(team, who):
    case = await _case(team)
    lead = 999999 if who == "nobody" else team[who].id
    with pytest.raises(ValidationFailed) as refused:
        await cases.reassign_lead(
            team["ctx"], team["leaver"], case["id"], lead, expected_version=case["version"]
        )
    assert refused.value.errors[0]["field"] == "/lead_officer_id"
    assert (await Case.select(Case.lead_officer).where(Case.id == case["id"]).first())[
        "lead_officer"
    ] == team["leaver"].id


async def test_only_the_owning_agencys_caseworkers_reassign_a_case(team):
    case = await _case(team)
    with pytest.raises(NotFound):
        await cases.reassign_lead(
            team["ctx"], team["outsider"], case["id"], team["colleague"].id, expected_version=case["version"]
        )
    with pytest.raises(Forbidden):
        await cases.reassign_lead(
            team["ctx"], team["admin"], case["id"], team["colleague"].id, expected_version=case["version"]
        )


# --- tasks -------------------------------------------------------------------------------------------


async def test_editing_a_task_changes_title_due_date_and_owner(team):
    case = await _case(team)
    task = await tasks.add_task(team["ctx"], team["leaver"], case["id"], title="Visit the street")
    row = await Task.select().where(Task.id == task["id"]).first()
    due = clock.today() + dt.timedelta(days=7)
    edited = await tasks.edit_task(
        team["ctx"],
        team["leaver"],
        task["id"],
        title="Visit Kestrel Way again",
        due_date=due.isoformat(),
        assignee_id=team["colleague"].id,
        expected_state=tasks.task_state(row),
    )
    assert (edited["title"], edited["due_date"], edited["assignee_id"]) == (
        "Visit Kestrel Way again",
        due.isoformat(),
        team["colleague"].id,
    )
    [event] = [e for e in await _events(case["id"], "task") if e["summary"].startswith("Task changed")]
    assert "was \u2018Visit the street\u2019" in event["summary"] and "Cole Colleague" in event["summary"]
    [audited] = await _audit("task.update")
    assert set(audited["detail"]["changes"]) == {"title", "due_date", "assignee"}


async def test_a_task_edit_refuses_a_past_date_a_stranger_and_a_stale_form(team):
    case = await _case(team)
    task = await tasks.add_task(team["ctx"], team["leaver"], case["id"], title="Visit the street")
    state = tasks.task_state(await Task.select().where(Task.id == task["id"]).first())
    yesterday = (clock.today() - dt.timedelta(days=1)).isoformat()
    with pytest.raises(ValidationFailed) as refused:
        await tasks.edit_task(
            team["ctx"],
            team["leaver"],
            task["id"],
            title="Visit",
            due_date=yesterday,
            assignee_id=team["outsider"].id,
            expected_state=state,
        )
    assert {e["field"] for e in refused.value.errors} == {"/due_date", "/assignee_id"}
    await tasks.edit_task(
        team["ctx"],
        team["colleague"],
        task["id"],
        title="Visit soon",
        due_date=None,
        assignee_id=team["colleague"].id,
        expected_state=state,
    )
    with pytest.raises(Conflict):  # the first form, sent after the colleague's change
        await tasks.edit_task(
            team["ctx"],
            team["leaver"],
            task["id"],
            title="Visit",
            due_date=None,
            assignee_id=team["leaver"].id,
            expected_state=state,
        )
    assert (await Task.select(Task.title).where(Task.id == task["id"]).first())["title"] == "Visit soon"
    with pytest.raises(NotFound):
        await tasks.edit_task(
            team["ctx"],
            team["outsider"],
            task["id"],
            title="Mine",
            due_date=None,
            assignee_id=team["outsider"].id,
            expected_state=state,
        )
    with pytest.raises(Forbidden):
        await tasks.edit_task(
            team["ctx"],
            team["admin"],
            task["id"],
            title="Mine",
            due_date=None,
            assignee_id=team["admin"].id,
            expected_state=state,
        )


async def test_a_panel_action_is_changed_by_the_agency_that_owns_it_not_the_case_owner(team):
    """A panel gave the partner an action on the council's case: the partner hands it on and moves its date,
    among its own people; the council cannot touch it; its words stay as the panel minuted them."""
    case = await _case(team)
    task = Task(
        case=case["id"],
        title="Offer a support worker",
        owner_agency=team["partner"]["id"],
        assignee=team["outsider"].id,
        due_date=clock.today(),
        source="panel",
        created_at=clock.now(),
    )
    await task.save()
    row = await Task.select().where(Task.id == task.id).first()
    with pytest.raises(NotFound):
        await tasks.edit_task(
            team["ctx"],
            team["leaver"],
            task.id,
            title=None,
            due_date=None,
            assignee_id=team["leaver"].id,
            expected_state=tasks.task_state(row),
        )
    with pytest.raises(ValidationFailed):  # the council's people cannot be given the partner's action
        await tasks.edit_task(
            team["ctx"],
            team["outsider_boss"],
            task.id,
            title=None,
            due_date=clock.today().isoformat(),
            assignee_id=team["leaver"].id,
            expected_state=tasks.task_state(row),
        )
    later = clock.today() + dt.timedelta(days=3)
    edited = await tasks.edit_task(
        team["ctx"],
        team["outsider_boss"],
        task.id,
        title="Something else",
        due_date=later.isoformat(),
        assignee_id=team["outsider_boss"].id,
        expected_state=tasks.task_state(row),
    )
    assert edited["title"] == "Offer a support worker" and edited["assignee_id"] == team["outsider_boss"].id


# --- bulk -----------------------------------------------------------------------------------------------


async def test_a_leavers_caseload_moves_in_one_go_with_their_tasks(team):
    mine = [await _case(team) for _ in range(3)]
    other = await _case(team, "colleague")
    task = await tasks.add_task(team["ctx"], team["leaver"], mine[0]["id"], title="Phone the complainant")
    theirs = await tasks.add_task(team["ctx"], team["colleague"], mine[0]["id"], title="Colleague's own")
    done = await cases.reassign_cases(
        team["ctx"],
        team["supervisor"],
        [(c["id"], c["version"]) for c in mine],
        team["colleague"].id,
        move_tasks=True,
    )
    assert sorted(done["cases"]) == sorted(c["id"] for c in mine) and done["tasks"] == [task["id"]]
    leads = {r["id"]: r["lead_officer"] for r in await Case.select(Case.id, Case.lead_officer)}
    assert (
        all(leads[c["id"]] == team["colleague"].id for c in mine)
        and leads[other["id"]] == team["colleague"].id
    )
    assert (await Task.select(Task.assignee).where(Task.id == task["id"]).first())["assignee"] == team[
        "colleague"
    ].id
    assert (await Task.select(Task.assignee).where(Task.id == theirs["id"]).first())["assignee"] is None
    assert len(await _audit("case.lead_changed")) == 3
    for c in mine:
        [event] = await _events(c["id"], "lead")
        assert event["detail"]["bulk"] is True


async def test_a_bulk_reassignment_is_all_or_nothing(team):
    mine = [await _case(team) for _ in range(3)]
    await cases.add_note(team["ctx"], team["leaver"], mine[1]["id"], "A note does not change the version")
    await cases.transition_case(team["ctx"], team["supervisor"], mine[2]["id"], "close")  # this one does
    with pytest.raises(Conflict) as stale:
        await cases.reassign_cases(
            team["ctx"], team["admin"], [(c["id"], c["version"]) for c in mine], team["colleague"].id
        )
    assert (
        mine[2]["reference"] in stale.value.message and "Nothing has been reassigned" in stale.value.message
    )
    assert {r["lead_officer"] for r in await Case.select(Case.lead_officer)} == {team["leaver"].id}
    assert not await _audit("case.lead_changed")


async def test_a_bulk_reassignment_holding_a_closed_case_moves_none_and_names_it(team):
    mine = [await _case(team) for _ in range(3)]
    closed = await cases.transition_case(
        team["ctx"], team["supervisor"], mine[1]["id"], "close", expected_version=mine[1]["version"]
    )
    # chosen as they are now: not stale
    chosen = [(c["id"], c["version"]) for c in (mine[0], closed, mine[2])]
    with pytest.raises(CaseClosed) as refused:
        await cases.reassign_cases(
            team["ctx"], team["supervisor"], chosen, team["colleague"].id, move_tasks=True
        )
    assert refused.value.message == (
        f"{closed['reference']} is closed, so its lead officer cannot be changed. "
        "Nothing has been reassigned: choose open cases only."
    )
    assert {r["lead_officer"] for r in await Case.select(Case.lead_officer)} == {team["leaver"].id}
    assert not await _audit("case.lead_changed") and not await _events(mine[0]["id"], "lead")
    # two closed: both named
    other = await cases.transition_case(
        team["ctx"], team["supervisor"], mine[2]["id"], "close", expected_version=mine[2]["version"]
    )
    with pytest.raises(
        CaseClosed, match=f"{closed['reference']} and {other['reference']} are closed, so their"
    ):
        await cases.reassign_cases(
            team["ctx"],
            team["admin"],
            [(closed["id"], closed["version"]), (other["id"], other["version"])],
            team["colleague"].id,
        )


async def test_bulk_reassignment_is_for_supervisors_and_local_admins_of_the_owning_agency(team):
    case = await _case(team)
    with pytest.raises(Forbidden):
        await cases.reassign_cases(
            team["ctx"], team["colleague"], [(case["id"], case["version"])], team["colleague"].id
        )
    with pytest.raises(NotFound):  # another agency's supervisor and local admin
        await cases.reassign_cases(
            team["ctx"], team["outsider_boss"], [(case["id"], case["version"])], team["outsider"].id
        )
    with pytest.raises(ValidationFailed):
        await cases.reassign_cases(team["ctx"], team["admin"], [], team["colleague"].id)
    assert (await Case.select(Case.lead_officer).first())["lead_officer"] == team["leaver"].id


# --- over HTTP ------------------------------------------------------------------------------------------


@pytest.fixture
async def browser(db, ctx):
    async with web_client(ctx, db) as client:
        yield client


async def test_the_case_page_changes_its_lead_and_the_new_lead_sees_it_in_my_work(db, team, browser):
    case = await _case(team)
    await sign_in(browser, team["leaver"])
    page = await browser.get(f"/cases/{case['id']}")
    assert f'href="/cases/{case["id"]}/lead"' in page.text
    form = await browser.get(f"/cases/{case['id']}/lead")
    assert form.status_code == 200 and "Cole Colleague" in form.text and "Ada Admin" not in form.text
    token = csrf_token_of(form.text)
    forged = await browser.post(
        f"/cases/{case['id']}/lead",
        data={"lead_officer_id": team["colleague"].id, "version": case["version"]},
    )
    assert forged.status_code == 403
    empty = await browser.post(
        f"/cases/{case['id']}/lead", data={"csrf_token": token, "version": case["version"]}
    )
    assert empty.status_code == 400 and "Select someone in your agency who works cases" in empty.text
    stale = await browser.post(
        f"/cases/{case['id']}/lead",
        data={"csrf_token": token, "lead_officer_id": team["colleague"].id, "version": case["version"] - 1},
    )
    assert stale.status_code == 409 and "Someone else changed this case" in stale.text
    done = await browser.post(
        f"/cases/{case['id']}/lead",
        data={"csrf_token": token, "lead_officer_id": team["colleague"].id, "version": case["version"]},
    )
    assert done.status_code == 303 and done.headers["location"] == f"/cases/{case['id']}?done=lead-changed"
    async with web_client(team["ctx"], db) as other:
        await sign_in(other, team["colleague"])
        assert case["reference"] in (await other.get("/")).text


async def test_a_partner_and_a_non_caseworker_are_refused_the_lead_page(team, browser):
    case = await _case(team)
    await sign_in(browser, team["outsider"])
    assert (await browser.get(f"/cases/{case['id']}/lead")).status_code == 404
    token = csrf_token_of((await browser.get("/")).text)
    refused = await browser.post(
        f"/cases/{case['id']}/lead",
        data={"csrf_token": token, "lead_officer_id": team["outsider"].id, "version": case["version"]},
    )
    assert refused.status_code == 404


async def test_a_closed_case_keeps_its_lead_officer_and_its_page_offers_no_change(team, browser):
    case = await _case(team)
    closed = await cases.transition_case(
        team["ctx"], team["supervisor"], case["id"], "close", expected_version=case["version"]
    )
    with pytest.raises(CaseClosed, match="This case is closed: reopen it to change it"):
        await cases.reassign_lead(
            team["ctx"], team["leaver"], case["id"], team["colleague"].id, expected_version=closed["version"]
        )
    assert (await Case.select(Case.lead_officer).first())["lead_officer"] == team["leaver"].id
    assert not await _events(case["id"], "lead")
    await sign_in(browser, team["leaver"])
    page = await browser.get(f"/cases/{case['id']}")
    assert page.status_code == 200 and "Lena Leaver" in page.text
    assert f"/cases/{case['id']}/lead" not in page.text
    form = await browser.get(f"/cases/{case['id']}/lead")
    assert form.status_code == 409 and "This case is closed: reopen it to change it" in form.text
    refused = await browser.post(
        f"/cases/{case['id']}/lead",
        data={
            "csrf_token": csrf_token_of(page.text),
            "lead_officer_id": team["colleague"].id,
            "version": closed["version"],
        },
    )
    assert refused.status_code == 409 and "This case is closed: reopen it to change it" in refused.text
    assert (await Case.select(Case.lead_officer).first())["lead_officer"] == team["leaver"].id


async def test_the_task_page_edits_a_task_and_escapes_its_title(team, browser):
    case = await _case(team)
    task = await tasks.add_task(
        team["ctx"], team["leaver"], case["id"], title="<script>alert(1)</script> visit"
    )
    await sign_in(browser, team["leaver"])
    page = await browser.get(f"/cases/{case['id']}")
    assert f'href="/tasks/{task["id"]}/edit"' in page.text
    form = await browser.get(f"/tasks/{task['id']}/edit")
    assert form.status_code == 200 and "<script>alert(1)</script>" not in form.text
    assert "&lt;script&gt;" in form.text
    state = re.search(r'name="state" value="([^"]+)"', form.text).group(1)
    body = {
        "csrf_token": csrf_token_of(form.text),
        "state": state,
        "title": "Visit the street",
        "assignee_id": str(team["colleague"].id),
        "due-day": "1",
        "due-month": "1",
        "due-year": str(clock.today().year - 1),
    }
    past = await browser.post(f"/tasks/{task['id']}/edit", data=body)
    assert past.status_code == 400 and "today or later" in past.text
    later = clock.today() + dt.timedelta(days=10)
    body.update({"due-day": str(later.day), "due-month": str(later.month), "due-year": str(later.year)})
    assert (
        await browser.post(
            f"/tasks/{task['id']}/edit", data={k: v for k, v in body.items() if k != "csrf_token"}
        )
    ).status_code == 403
    saved = await browser.post(f"/tasks/{task['id']}/edit", data=body)
    assert (
        saved.status_code == 303
        and saved.headers["location"] == f"/cases/{case['id']}?done=task-changed#tasks"
    )
    again = await browser.post(f"/tasks/{task['id']}/edit", data=body)
    assert again.status_code == 409 and "Someone else changed this task" in again.text
    row = await Task.select().where(Task.id == task["id"]).first()
    assert (row["title"], row["assignee"], row["due_date"]) == (
        "Visit the street",
        team["colleague"].id,
        later,
    )
    assert any(e["action"] == "task.view" for e in await _audit("task.view"))


async def _list(browser, query=""):
    return await browser.get(f"/areas/noise{query}")


async def test_a_supervisor_moves_a_leavers_caseload_from_the_area_list(team, browser):
    mine = [await _case(team) for _ in range(30)]  # more than a page
    kept = await _case(team, "colleague")
    await tasks.add_task(team["ctx"], team["leaver"], mine[0]["id"], title="Phone the complainant")
    await sign_in(browser, team["supervisor"])
    listed = await _list(browser, f"?owner={team['leaver'].id}")
    assert listed.status_code == 200 and "30 cases" in listed.text and "Lena Leaver" in listed.text
    assert 'action="/areas/noise/reassign"' in listed.text and kept["reference"] not in listed.text
    token = csrf_token_of(listed.text)
    missing = await browser.post(
        "/areas/noise/reassign", data={"csrf_token": token, "owner": team["leaver"].id}
    )
    assert missing.status_code == 400 and "Select the new lead officer" in missing.text
    assert "Select at least one case" in missing.text
    check = await browser.post(
        "/areas/noise/reassign",
        data={
            "csrf_token": token,
            "owner": str(team["leaver"].id),
            "scope": "all",
            "tasks": "yes",
            "lead_officer_id": str(team["colleague"].id),
        },
    )
    assert check.status_code == 200 and "Give 30 cases to Cole Colleague" in check.text
    assert (
        all(c["reference"] in check.text for c in mine)
        and "1 open task of the old lead officer goes" in check.text
    )
    assert await Case.count().where(Case.lead_officer == team["colleague"].id) == 1  # nothing changed yet
    fields = re.findall(r'name="case" value="([^"]+)"', check.text)
    assert len(fields) == 30
    done = await browser.post(
        "/areas/noise/reassign/confirm",
        data={
            "csrf_token": csrf_token_of(check.text),
            "case": fields,
            "lead_officer_id": str(team["colleague"].id),
            "tasks": "yes",
            "owner": str(team["leaver"].id),
        },
    )
    assert done.status_code == 303 and "done=cases-reassigned" in done.headers["location"]
    assert await Case.count().where(Case.lead_officer == team["colleague"].id) == 31
    assert await Task.count().where(Task.assignee == team["colleague"].id) == 1
    assert len(await _audit("case.lead_changed")) == 30


async def test_a_stale_case_stops_a_bulk_reassignment_with_its_reference(team, browser):
    mine = [await _case(team) for _ in range(2)]
    await sign_in(browser, team["admin"])
    listed = await _list(browser)
    check = await browser.post(
        "/areas/noise/reassign",
        data={
            "csrf_token": csrf_token_of(listed.text),
            "case": [str(c["id"]) for c in mine],
            "lead_officer_id": str(team["colleague"].id),
        },
    )
    assert check.status_code == 200
    await cases.transition_case(team["ctx"], team["supervisor"], mine[1]["id"], "close")
    done = await browser.post(
        "/areas/noise/reassign/confirm",
        data={
            "csrf_token": csrf_token_of(check.text),
            "case": re.findall(r'name="case" value="([^"]+)"', check.text),
            "lead_officer_id": str(team["colleague"].id),
        },
    )
    assert (
        done.status_code == 409
        and mine[1]["reference"] in done.text
        and "Nothing has been reassigned" in done.text
    )
    assert await Case.count().where(Case.lead_officer == team["colleague"].id) == 0
    bad = await browser.post(
        "/areas/noise/reassign/confirm",
        data={
            "csrf_token": csrf_token_of(check.text),
            "case": "x:1",
            "lead_officer_id": str(team["colleague"].id),
        },
    )
    assert bad.status_code == 400


async def test_the_area_list_never_moves_a_closed_case(team, browser):
    open_case, closed = await _case(team), await _case(team)
    closed = await cases.transition_case(
        team["ctx"], team["supervisor"], closed["id"], "close", expected_version=closed["version"]
    )
    await sign_in(browser, team["supervisor"])
    listed = await _list(browser)
    # the closed case's box cannot be ticked
    box = re.search(rf'<input[^>]*name="case"[^>]*value="{closed["id"]}"[^>]*>', listed.text).group(0)
    assert "disabled" in box
    token = csrf_token_of(listed.text)
    lead = str(team["colleague"].id)
    # ticked anyway (a crafted form): the check names it and nothing is offered to confirm
    ticked = await browser.post(
        "/areas/noise/reassign",
        data={
            "csrf_token": token,
            "case": [str(open_case["id"]), str(closed["id"])],
            "lead_officer_id": lead,
        },
    )
    assert (
        ticked.status_code == 400
        and f"{closed['reference']} is closed, so its lead officer cannot be changed" in ticked.text
        and "/reassign/confirm" not in ticked.text
    )
    # "all matching the filters" takes the open cases only
    every = await browser.post(
        "/areas/noise/reassign", data={"csrf_token": token, "scope": "all", "lead_officer_id": lead}
    )
    assert (
        every.status_code == 200
        and open_case["reference"] in every.text
        and closed["reference"] not in every.text
    )
    # the confirmation posted with the closed case (a crafted form): refused in words, nothing moved
    done = await browser.post(
        "/areas/noise/reassign/confirm",
        data={
            "csrf_token": token,
            "lead_officer_id": lead,
            "case": [f"{open_case['id']}:{open_case['version']}", f"{closed['id']}:{closed['version']}"],
        },
    )
    assert done.status_code == 409 and "Nothing has been reassigned: choose open cases only" in done.text
    assert await Case.count().where(Case.lead_officer == team["colleague"].id) == 0
    assert not await _audit("case.lead_changed")


async def test_a_caseworker_gets_no_bulk_form_and_is_refused(team, browser):
    case = await _case(team)
    await sign_in(browser, team["colleague"])
    listed = await _list(browser)
    assert 'action="/areas/noise/reassign"' not in listed.text and case["reference"] in listed.text
    token = csrf_token_of(listed.text)
    for url in ("/areas/noise/reassign", "/areas/noise/reassign/confirm"):
        refused = await browser.post(
            url,
            data={
                "csrf_token": token,
                "case": f"{case['id']}:{case['version']}",
                "lead_officer_id": str(team["colleague"].id),
            },
        )
        assert refused.status_code == 403, url
    assert (await Case.select(Case.lead_officer).first())["lead_officer"] == team["leaver"].id


async def test_another_agencys_supervisor_cannot_move_or_see_the_cases(team, browser):
    case = await _case(team)
    await sign_in(browser, team["outsider_boss"])
    listed = await _list(browser)
    token = csrf_token_of(listed.text)
    check = await browser.post(
        "/areas/noise/reassign",
        data={"csrf_token": token, "case": str(case["id"]), "lead_officer_id": str(team["outsider"].id)},
    )
    assert check.status_code == 400 and case["reference"] not in check.text
    done = await browser.post(
        "/areas/noise/reassign/confirm",
        data={
            "csrf_token": token,
            "case": f"{case['id']}:{case['version']}",
            "lead_officer_id": str(team["outsider"].id),
        },
    )
    assert done.status_code in (400, 404) and case["reference"] not in done.text
    export = await browser.get("/areas/noise/export.csv")
    assert export.status_code == 200 and case["reference"] not in export.text
    no_csrf = await browser.post(
        "/areas/noise/reassign/confirm",
        data={"case": f"{case['id']}:{case['version']}", "lead_officer_id": str(team["outsider"].id)},
    )
    assert no_csrf.status_code == 403
    assert (await Case.select(Case.lead_officer).first())["lead_officer"] == team["leaver"].id


async def test_the_area_list_exports_as_csv_with_its_filters(team, browser):
    hostile = await make_person(team["leaver"], given_name='=HYPERLINK("http://x")', family_name="Ödegaard")
    case = await cases.open_case(
        team["ctx"], team["leaver"], "noise", REPORT, subjects=[(hostile["id"], "subject")]
    )
    other = await _case(team, "colleague")
    await sign_in(browser, team["supervisor"])
    export = await browser.get(f"/areas/noise/export.csv?owner={team['leaver'].id}&sort=reference")
    assert export.status_code == 200
    assert (
        export.headers["content-type"].startswith("text/csv")
        and export.headers["cache-control"] == "no-store"
    )
    assert export.headers["content-disposition"] == (
        f'attachment; filename="caseframe-noise-cases-{clock.today().isoformat()}.csv"'
    )
    assert export.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Reference", "Area", "People"] and len(rows) == 2
    assert rows[1][0] == case["reference"] and other["reference"] not in export.text
    assert rows[1][2].startswith("'=HYPERLINK") and "Ödegaard" in rows[1][2] and rows[1][5] == "Lena Leaver"
    [audited] = await _audit("case.export")
    assert audited["detail"]["rows"] == 1 and audited["detail"]["ids"] == [case["id"]]
    assert audited["detail"]["filters"] == {"owner": str(team["leaver"].id), "sort": "reference"}
    assert (await browser.get("/areas/noise/export.csv?owner=%C2%B2&page=x")).status_code == 200


async def test_a_person_search_exports_as_csv_by_post_only(team, browser):
    await make_person(team["leaver"], given_name="@Rowan", family_name="Quennell")
    await make_person(team["outsider"], given_name="Hidden", family_name="Quennell")
    await sign_in(browser, team["colleague"])
    page = await browser.post(
        "/persons/search",
        data={"csrf_token": csrf_token_of((await browser.get("/persons")).text), "name": "Quennell"},
    )
    assert 'action="/persons/search/export.csv"' in page.text
    token = csrf_token_of(page.text)
    assert (await browser.post("/persons/search/export.csv", data={"name": "Quennell"})).status_code == 403
    assert (await browser.get("/persons/search/export.csv")).status_code in (404, 405)
    export = await browser.post("/persons/search/export.csv", data={"csrf_token": token, "name": "Quennell"})
    assert export.status_code == 200 and export.headers["cache-control"] == "no-store"
    assert f"caseframe-person-search-{clock.today().isoformat()}.csv" in export.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["'@Rowan Quennell"] and "Hidden" not in export.text
    [audited] = await _audit("person.export")
    assert audited["detail"]["rows"] == 1 and audited["detail"]["filters"]["name"] is True
    refused = await browser.post("/persons/search/export.csv", data={"csrf_token": token, "name": ""})
    assert refused.status_code == 400 and "Nothing was exported" in refused.text


async def test_the_case_owner_gets_no_buttons_for_a_partners_panel_action(db, team, browser):
    """The panel gave the partner an action on the council's case: the council's page offers neither Change nor
    Mark as done for it (both are the partner's and were refused), while the partner's task page works."""
    case = await _case(team)
    action = Task(
        case=case["id"],
        title="Offer a support worker",
        owner_agency=team["partner"]["id"],
        assignee=team["outsider"].id,
        due_date=clock.today(),
        source="panel",
        created_at=clock.now(),
    )
    await action.save()
    own = await tasks.add_task(team["ctx"], team["leaver"], case["id"], title="Visit the street")
    await sign_in(browser, team["leaver"])
    page = (await browser.get(f"/cases/{case['id']}")).text
    assert "Offer a support worker" in page and f"/tasks/{own['id']}/edit" in page
    assert f"/tasks/{action.id}/edit" not in page and f"/tasks/{action.id}/complete" not in page
    assert (await browser.get(f"/tasks/{action.id}/edit")).status_code == 404
    async with web_client(team["ctx"], db) as partner:
        await sign_in(partner, team["outsider"])
        form = await partner.get(f"/tasks/{action.id}/edit")
        assert form.status_code == 200 and "keeps the words the panel agreed" in form.text
        assert (
            'name="title"' not in form.text
            and "Otto Outsider" in form.text
            and "Lena Leaver" not in form.text
        )


@pytest.mark.parametrize(
    "value",
    ["\u00b2:1", "1:\u00b2", "99999999999999999999:1", "1:99999999999999999999", "x" * 5000, "", ":", "-1:1"],
)
async def test_hostile_case_values_on_the_confirmation_are_refused_and_change_nothing(team, browser, value):
    case = await _case(team)
    await sign_in(browser, team["supervisor"])
    token = csrf_token_of((await _list(browser)).text)
    for lead in (str(team["colleague"].id), "\u00b2", "9" * 5000):
        sent = await browser.post(
            "/areas/noise/reassign/confirm",
            data={
                "csrf_token": token,
                "case": [value, f"{case['id']}:{case['version']}"],
                "lead_officer_id": lead,
            },
        )
        assert 400 <= sent.status_code < 500, (value, lead, sent.status_code)
    assert (await Case.select(Case.lead_officer).first())["lead_officer"] == team["leaver"].id
    assert not await _audit("case.lead_changed")
