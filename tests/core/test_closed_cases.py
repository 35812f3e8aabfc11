"""A closed case is read-only, for every area, by one rule of the core (``cases.view.refuse_closed``): each write on
it is refused with ``CaseClosed`` (409, "This case is closed: reopen it to change it"), changes nothing and writes
no audit event of a change; reading it, stopping a share, completing a task, retention and the area's reopen step
still work. Services, the pages (CSRF still asked first) and the JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.documents import service as documents
from caseframe.core.documents.samples import tiny_pdf
from caseframe.core.errors import CaseClosed, ValidationFailed
from caseframe.core.panels import service as panels
from caseframe.core.referrals import service as referrals
from caseframe.core.retention import service as retention
from caseframe.core.sharing import requests as access_requests
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.policy import Access
from caseframe.core.tasks import service as tasks
from caseframe.core.testing import (
    TEST_PASSWORD,
    make_agency,
    make_context,
    make_person,
    make_user,
    sign_in,
    web_client,
)

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
CLOSED = "This case is closed: reopen it to change it."
#: what a refused write may still store: the audit trail's reads and refusals, sessions and the throttle
MAY_CHANGE = {"cf_audit", "cf_audit_checkpoint", "cf_session", "cf_sign_in_throttle"}
#: audit actions of the changes refused here: none may be written by a refused attempt
CHANGES = {
    "case.note_added",
    "case.subject_added",
    "case.subject_removed",
    "case.form_saved",
    "case.lead_changed",
    "case.share",
    "task.create",
    "task.update",
    "document.upload",
    "referral.merged",
    "document.remove",
    "referral.create",
    "meeting.minute",
    "access.grant",
}


async def _stored() -> dict[str, str]:
    """A digest of every table a refused write must leave alone."""
    from caseframe.core.db.piccolo_app import TABLES

    out = {}
    for table in TABLES:
        name = table._meta.tablename
        if name not in MAY_CHANGE:
            rows = await table.raw(f"SELECT * FROM {name} ORDER BY id")
            out[name] = hashlib.sha256(repr([sorted(r.items()) for r in rows]).encode()).hexdigest()
    return out


async def _audit_actions_after(last_id: int) -> list[str]:
    return [r["action"] for r in await AuditEvent.select(AuditEvent.action).where(AuditEvent.id > last_id)]


async def _last_audit_id() -> int:
    row = await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id, ascending=False).first()
    return row["id"] if row else 0


@pytest.fixture
async def world(db, ctx):
    """A council case with a person, an open task, a document and a share with the police, then closed."""
    council = await make_agency(ctx, "ashdown-closed", name="Ashdown Council")
    police = await make_agency(ctx, "wealden-closed", agency_type="police", name="Wealden Police")
    owner = await make_user(council, ("caseworker", "supervisor"), name="Olive Owner")
    colleague = await make_user(council, ("caseworker",), name="Colin Colleague")
    admin = await make_user(council, ("system_admin",), name="Sam Sysadmin")
    local_admin = await make_user(council, ("local_admin",), name="Lou Localadmin")
    partner = await make_user(police, ("caseworker",), name="Pat Partner")
    person = await make_person(owner, given_name="Jordan", family_name="Reilly")
    other = await make_person(owner, given_name="Casey", family_name="Marsh")
    case = await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(person["id"], "subject")])
    task = await tasks.add_task(ctx, owner, case["id"], title="Visit the street")
    done_later = await tasks.add_task(ctx, owner, case["id"], title="Phone the complainant")
    document = await documents.add_document(
        ctx, owner, case["id"], io.BytesIO(tiny_pdf(["Noise diary"])), "diary.pdf", "official"
    )
    today = clock.today()
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-CLOSED-01",
        title="Community safety partnership",
        parties=[council["id"], police["id"]],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=300),
        max_sensitivity="official",
    )
    share = await sharing.share_case(owner, case["id"], agency_id=police["id"], purpose="crime_prevention")
    closed = await cases.transition_case(ctx, owner, case["id"], "close")
    subject = (await cases.subjects_of(case["id"]))[0]
    return {
        "ctx": ctx,
        "council": council,
        "police": police,
        "owner": owner,
        "colleague": colleague,
        "admin": admin,
        "local_admin": local_admin,
        "partner": partner,
        "person": person,
        "other": other,
        "case": closed,
        "subject": subject,
        "task": task,
        "done_later": done_later,
        "document": document,
        "share": share,
    }


def _refused_writes(w):
    """Each write on a case, as its service is called: all must be refused on the closed case."""
    ctx, owner, case_id = w["ctx"], w["owner"], w["case"]["id"]
    return {
        "note": lambda: cases.add_note(ctx, owner, case_id, "After closing"),
        "subject added": lambda: cases.add_subject(ctx, owner, case_id, w["other"]["id"], "witness"),
        "subject removed": lambda: cases.remove_subject(ctx, owner, case_id, w["subject"]["id"]),
        "new task": lambda: tasks.add_task(ctx, owner, case_id, title="One more thing"),
        "task changed": lambda: tasks.edit_task(
            ctx,
            owner,
            w["task"]["id"],
            title="Visit the street again",
            due_date=None,
            assignee_id=owner.id,
            expected_state=tasks.task_state(w["task_row"]),
        ),
        "document": lambda: documents.add_document(
            ctx, owner, case_id, io.BytesIO(tiny_pdf(["Late"])), "late.pdf", "official"
        ),
        "document removed": lambda: documents.remove_document(
            ctx, owner, case_id, w["document"]["id"], "Added to the wrong case"
        ),
        "answers": lambda: cases.save_form(
            ctx, owner, case_id, "visit", {"risk_level": "high"}, expected_version=w["case"]["version"]
        ),
        "referral": lambda: referrals.raise_referral(
            ctx,
            owner,
            target_kind="agency",
            target="wealden-closed",
            reason="Please look at this",
            case=cases.case_dict(ctx, w["row"], Access.owner()),
        ),
        "new share": lambda: sharing.share_case(
            owner, case_id, agency_id=w["police"]["id"], purpose="crime_prevention", isa_id=None
        ),
        "lead officer": lambda: cases.reassign_lead(
            ctx, owner, case_id, w["colleague"].id, expected_version=w["case"]["version"]
        ),
    }


WRITES = [
    "note",
    "subject added",
    "subject removed",
    "new task",
    "task changed",
    "document",
    "document removed",
    "answers",
    "referral",
    "new share",
    "lead officer",
]


@pytest.mark.parametrize("write", WRITES)
async def test_each_write_on_a_closed_case_is_refused_changes_nothing_and_audits_no_change(world, write):
    from caseframe.core.tasks.tables import Task

    world["task_row"] = await Task.select().where(Task.id == world["task"]["id"]).first()
    world["row"] = (await cases.visible_case(world["owner"], world["case"]["id"]))[0]
    if write == "new share":  # a share with the police stands: stop it, so a new one would be new
        await sharing.revoke_share(world["owner"], world["case"]["id"], world["share"]["id"])
    before, last = await _stored(), await _last_audit_id()
    with pytest.raises(CaseClosed, match=CLOSED) as refused:
        await _refused_writes(world)[write]()
    assert refused.value.status == 409
    assert await _stored() == before
    assert not set(await _audit_actions_after(last)) & CHANGES


async def test_a_panel_action_on_a_closed_case_is_refused_but_a_discussion_is_minuted(db, ctx):
    from tests.fixtures.partnership import make_panel_world

    w = await make_panel_world(ctx)
    m = w["meeting"]
    await panels.add_agenda_item(w["chair"], m["id"], kind="referral", case_id=w["case"]["id"])
    await panels.set_status(w["chair"], m["id"], "published")
    await panels.set_status(w["chair"], m["id"], "in_progress")
    from caseframe.core.panels.tables import AgendaItem

    item = await AgendaItem.select().where(AgendaItem.meeting == m["id"]).first()
    boss = await make_user(w["council"], ("caseworker", "supervisor"))
    await cases.transition_case(ctx, boss, w["case"]["id"], "close")
    before, last = await _stored(), await _last_audit_id()
    with pytest.raises(CaseClosed, match=CLOSED):
        await panels.add_minute(
            ctx,
            w["chair"],
            m["id"],
            item_id=item["id"],
            kind="action",
            text="Visit again",
            owner_agency_id=w["police"]["id"],
            due_date=clock.today() + dt.timedelta(days=7),
        )
    assert await _stored() == before
    assert "meeting.minute" not in await _audit_actions_after(last)
    # the meeting's record of what was said about it is kept
    await panels.add_minute(
        ctx, w["chair"], m["id"], item_id=item["id"], kind="discussion", text="The case closed last week"
    )


async def test_reading_stopping_a_share_and_completing_a_task_still_work_on_a_closed_case(world):
    ctx, owner, case_id = world["ctx"], world["owner"], world["case"]["id"]
    seen = await cases.get_case(ctx, owner, case_id)
    assert seen["closed_at"] and seen["state"] == "closed"
    partner_view = await cases.get_case(ctx, world["partner"], case_id)
    assert partner_view["closed_at"]
    await sharing.revoke_share(owner, case_id, world["share"]["id"])
    assert await sharing.shares_of(case_id) == []
    done = await tasks.complete_task(ctx, owner, world["done_later"]["id"])
    assert done["status"] == "done"
    assert [d["filename"] for d in await documents.list_documents(owner, case_id)] == ["diary.pdf"]


async def test_retention_restricts_and_erases_a_closed_case(world):
    ctx, case_id = world["ctx"], world["case"]["id"]
    await retention.set_restricted(ctx, world["local_admin"], case_id, True, "Accuracy contested")
    await retention.set_restricted(ctx, world["local_admin"], case_id, False, "Resolved")


async def test_a_closed_case_with_no_reopen_step_offers_none(world):
    row, access = await cases.visible_case(world["owner"], world["case"]["id"])
    assert await cases.available_transitions(world["ctx"], world["owner"], row, access) == []


# -- reopening: an area's own transition out of its terminal state ------------------------------------------------


@pytest.fixture
async def asb(db):
    ctx = make_context(builtins=True)
    council = await make_agency(ctx, "ashdown-reopen", areas=["asb"])
    boss = await make_user(council, ("caseworker", "supervisor"), name="Bea Boss")
    worker = await make_user(council, ("caseworker",), name="Wes Worker")
    return {"ctx": ctx, "council": council, "boss": boss, "worker": worker}


async def _closed_asb_case(w) -> dict:
    from caseframe.core.cases.tables import Case

    ctx = w["ctx"]
    area = ctx.area("asb")
    answers = _asb_opening(area)
    case = await cases.open_case(ctx, w["boss"], "asb", answers)
    # straight to closed, as a finished case's row would be (its forms and guards are not this test's subject)
    await Case.update({Case.state: "closed", Case.closed_at: clock.now()}).where(Case.id == case["id"])
    return await cases.get_case(ctx, w["boss"], case["id"], audit_view=False)


def _asb_opening(area) -> dict:
    from caseframe.core.demo import demo_contributions

    for _, data in demo_contributions(make_context(builtins=True)):
        for spec in data.get("cases", []):
            if spec["area"] == "asb":
                return spec["forms"][area.opening_form]
    raise AssertionError("the ASB demo has a case")


async def test_a_supervisor_reopens_a_closed_case_through_the_areas_own_step_and_may_change_it_again(asb):
    ctx = asb["ctx"]
    case = await _closed_asb_case(asb)
    with pytest.raises(CaseClosed):
        await cases.add_note(ctx, asb["boss"], case["id"], "Before reopening")
    row, access = await cases.visible_case(asb["worker"], case["id"])
    assert await cases.available_transitions(ctx, asb["worker"], row, access) == []  # a supervisor's step
    offered = await cases.available_transitions(ctx, asb["boss"], row, access)
    assert [t.name for t, refusal in offered if refusal is None] == ["reopen"]
    reopened = await cases.transition_case(ctx, asb["boss"], case["id"], "reopen")
    assert reopened["state"] == "review" and reopened["closed_at"] is None
    await cases.add_note(ctx, asb["boss"], case["id"], "Reported again: reopened for review")


def test_a_transition_leaving_a_terminal_state_must_lead_to_an_open_one():
    from caseframe.core.areas.loader import _Collector, _transition
    from caseframe.core.workflows.engine import State

    states = {"open": State("open", "Open"), "closed": State("closed", "Closed", True)}
    col = _Collector("area.toml")
    _transition(
        {"name": "reopen", "label": "Reopen", "from": ["closed"], "to": "open"},
        "/t/0",
        {},
        {},
        set(),
        set(),
        states,
        col,
    )
    assert not col.problems
    _transition(
        {"name": "again", "label": "Again", "from": ["closed"], "to": "closed"},
        "/t/1",
        {},
        {},
        set(),
        set(),
        states,
        col,
    )
    assert any("must lead to a state that is not terminal" in p.reason for p in col.problems)


# -- access requests -------------------------------------------------------------------------------------------------


async def _police_ask_for_access(world):
    """The police's request for access to the council's records of the person, waiting for a decision."""
    from caseframe.core.sharing.tables import AccessRequest

    request = AccessRequest(
        person=world["person"]["id"],
        requested_by=world["partner"].id,
        requesting_agency=world["police"]["id"],
        holding_agency=world["council"]["id"],
        purpose="crime_prevention",
        reason="Same person in our records",
        status="pending",
        created_at=clock.now(),
    )
    await request.save()
    return request


async def test_granting_access_shares_open_cases_only_and_says_so_when_every_case_is_closed(world):
    from caseframe.core.sharing.tables import CaseShare

    ctx, owner = world["ctx"], world["owner"]
    await sharing.revoke_share(owner, world["case"]["id"], world["share"]["id"])
    request = await _police_ask_for_access(world)
    before, last = await _stored(), await _last_audit_id()
    with pytest.raises(ValidationFailed) as refused:
        await access_requests.grant_access(owner, request.id)
    assert (
        "closed" in refused.value.errors[0]["message"]
        and "Nothing has been shared" in (refused.value.errors[0]["message"])
    )
    assert await _stored() == before and "access.grant" not in await _audit_actions_after(last)
    # an open case about the person is shared; the closed one is not
    open_case = await cases.open_case(
        ctx, owner, "noise", REPORT, subjects=[(world["person"]["id"], "subject")]
    )
    assert await access_requests.grant_access(owner, request.id) == 1
    live = await CaseShare.select(CaseShare.case).where(CaseShare.revoked_at.is_null())
    assert {r["case"] for r in live} == {open_case["id"]}


# -- pages: 409 with the message, nothing changed, CSRF still asked first --------------------------------------


@pytest.fixture
async def browser(world, db):
    async with web_client(world["ctx"], db) as client:
        yield client


def _posts(w) -> dict[str, tuple[str, dict]]:
    case_id = w["case"]["id"]
    return {
        "note": (f"/cases/{case_id}/notes", {"text": "After closing"}),
        "subject": (f"/cases/{case_id}/subjects", {"person_id": str(w["other"]["id"]), "role": "witness"}),
        "subject removed": (f"/cases/{case_id}/subjects/{w['subject']['id']}/remove", {}),
        "task": (f"/cases/{case_id}/tasks", {"title": "One more thing"}),
        "task changed": (
            f"/tasks/{w['task']['id']}/edit",
            {"title": "Again", "assignee_id": str(w["owner"].id), "state": "x"},
        ),
        "answers": (
            f"/cases/{case_id}/forms/visit",
            {"risk_level": "high", "version": str(w["case"]["version"])},
        ),
        "referral": (f"/cases/{case_id}/referrals", {"target": "agency:wealden-closed", "reason": "Look"}),
        "share": (
            f"/cases/{case_id}/shares",
            {"agency_id": str(w["police"]["id"]), "purpose": "crime_prevention"},
        ),
        "lead": (f"/cases/{case_id}/lead", {"lead_officer_id": str(w["colleague"].id), "version": "9"}),
        "document removed": (
            f"/cases/{case_id}/documents/{w['document']['id']}/remove",
            {"reason": "Wrong case"},
        ),
    }


async def test_each_page_write_on_a_closed_case_is_a_409_saying_so_and_changes_nothing(world, browser):
    token = await sign_in(browser, world["owner"])
    for name, (url, fields) in _posts(world).items():
        before, last = await _stored(), await _last_audit_id()
        no_csrf = await browser.post(url, data=fields)
        assert no_csrf.status_code == 403, name  # CSRF is still asked first
        refused = await browser.post(url, data={"csrf_token": token, **fields})
        assert refused.status_code == 409, (name, refused.status_code, refused.text[:500])
        assert "This case is closed" in refused.text and CLOSED in refused.text, name
        fragment = await browser.post(
            url, data={"csrf_token": token, **fields}, headers={"HX-Request": "true"}
        )
        assert fragment.status_code == 409 and CLOSED in fragment.text, name
        assert await _stored() == before, name
        assert not set(await _audit_actions_after(last)) & CHANGES, name
    upload = await browser.post(
        f"/cases/{world['case']['id']}/documents",
        data={"csrf_token": token, "sensitivity": "official"},
        files={"file": ("late.pdf", tiny_pdf(["Late"]), "application/pdf")},
    )
    assert upload.status_code == 409 and CLOSED in upload.text


async def test_the_closed_case_page_has_a_banner_and_no_form_that_would_be_refused(world, browser):
    await sign_in(browser, world["owner"])
    case_id = world["case"]["id"]
    page = await browser.get(f"/cases/{case_id}")
    assert page.status_code == 200
    html = page.text
    assert "This case is closed." in html and "It was closed on" in html
    for refused in (
        f"/cases/{case_id}/notes",
        f"/cases/{case_id}/tasks",
        f"/cases/{case_id}/subjects",
        f'/cases/{case_id}/documents"',
        f"/cases/{case_id}/referrals",
        f'/cases/{case_id}/shares"',
        f"/cases/{case_id}/lead",
        f"/cases/{case_id}/forms/",
        f"/tasks/{world['task']['id']}/edit",
        "/remove",
    ):
        assert refused not in html, refused
    # what stays allowed is still offered: stopping the share, completing a task
    assert f"/cases/{case_id}/shares/{world['share']['id']}/revoke" in html
    assert f"/tasks/{world['task']['id']}/complete" in html
    # the forms' own pages say so too
    for url in (
        f"/cases/{case_id}/forms/visit",
        f"/cases/{case_id}/lead",
        f"/tasks/{world['task']['id']}/edit",
    ):
        got = await browser.get(url)
        assert got.status_code == 409 and CLOSED in got.text, url


async def test_stopping_a_share_and_completing_a_task_work_through_the_pages(world, browser):
    token = await sign_in(browser, world["owner"])
    case_id = world["case"]["id"]
    stopped = await browser.post(
        f"/cases/{case_id}/shares/{world['share']['id']}/revoke", data={"csrf_token": token}
    )
    assert stopped.status_code == 303
    done = await browser.post(f"/tasks/{world['task']['id']}/complete", data={"csrf_token": token})
    assert done.status_code == 303


# -- the JSON API: a 409 problem body --------------------------------------------------------------------------------


async def test_the_api_refuses_writes_on_a_closed_case_with_a_409_problem(world, browser):
    login = await browser.post(
        "/api/v1/session", json={"email": world["owner"].email, "password": TEST_PASSWORD}
    )
    bearer = {"Authorization": f"Bearer {login.json()['token']}"}
    case_id = world["case"]["id"]
    calls = [
        ("post", f"/api/v1/cases/{case_id}/notes", {"text": "After closing"}),
        ("post", f"/api/v1/cases/{case_id}/subjects", {"person_id": world["other"]["id"], "role": "witness"}),
        ("post", f"/api/v1/cases/{case_id}/tasks", {"title": "One more thing"}),
        (
            "put",
            f"/api/v1/cases/{case_id}/forms/visit",
            {"answers": {"risk_level": "high"}, "version": world["case"]["version"]},
        ),
        (
            "post",
            f"/api/v1/cases/{case_id}/referrals",
            {"target_kind": "agency", "target": "wealden-closed", "reason": "Look"},
        ),
    ]
    for method, url, body in calls:
        before = await _stored()
        got = await getattr(browser, method)(url, json=body, headers=bearer)
        assert got.status_code == 409, (url, got.text[:300])
        assert got.headers["content-type"].startswith("application/problem+json")
        problem = got.json()
        assert problem["status"] == 409 and problem["title"] == "This case is closed"
        assert problem["detail"] == CLOSED
        assert await _stored() == before, url
    read = await browser.get(f"/api/v1/cases/{case_id}", headers=bearer)
    assert read.status_code == 200 and read.json()["closed_at"]
    completed = await browser.post(f"/api/v1/tasks/{world['task']['id']}/complete", headers=bearer)
    assert completed.status_code in (200, 201)


# -- workflow steps: only the reopen step; any other is refused as every write is ---------------------------------


@pytest.mark.parametrize("step", ["close", "record_visit", "no_such_step"])
async def test_a_step_other_than_reopening_is_refused_on_a_closed_case_with_the_closed_409(world, step):
    before, last = await _stored(), await _last_audit_id()
    with pytest.raises(CaseClosed, match=CLOSED) as refused:
        await cases.transition_case(world["ctx"], world["owner"], world["case"]["id"], step)
    assert refused.value.status == 409 and refused.value.case_id == world["case"]["id"]
    assert await _stored() == before
    assert "case.transition" not in await _audit_actions_after(last)


async def test_the_reopen_step_keeps_the_workflows_own_refusal_and_other_steps_get_the_closed_one(asb):
    from caseframe.core.errors import Forbidden

    ctx = asb["ctx"]
    case = await _closed_asb_case(asb)
    before = await _stored()
    with pytest.raises(Forbidden, match="Only a supervisor"):  # a reopen step, not theirs to take
        await cases.transition_case(ctx, asb["worker"], case["id"], "reopen")
    with pytest.raises(CaseClosed, match=CLOSED):  # not a reopen step: closed, whoever asks
        await cases.transition_case(ctx, asb["boss"], case["id"], "close")
    with pytest.raises(CaseClosed, match=CLOSED):
        await cases.transition_case(ctx, asb["worker"], case["id"], "investigate")
    assert await _stored() == before
    assert (await cases.transition_case(ctx, asb["boss"], case["id"], "reopen"))["closed_at"] is None


def test_a_reopen_step_is_one_out_of_a_terminal_state_into_an_open_one():
    area = make_context(builtins=True).area("asb")
    assert area.workflow.reopens("reopen", "closed")
    assert not area.workflow.reopens("close", "closed")
    assert not area.workflow.reopens("reopen", "review")  # not from where the case is
    assert not area.workflow.reopens("no_such_step", "closed")


async def test_a_step_on_a_closed_case_is_a_409_page_and_problem_not_the_workflows_403(world, browser):
    case_id = world["case"]["id"]
    token = await sign_in(browser, world["owner"])
    login = await browser.post(
        "/api/v1/session", json={"email": world["owner"].email, "password": TEST_PASSWORD}
    )
    before = await _stored()
    page = await browser.post(f"/cases/{case_id}/transitions/close", data={"csrf_token": token})
    assert page.status_code == 409 and CLOSED in page.text
    assert f'href="/cases/{case_id}"' in page.text and "Back to the case" in page.text
    api = await browser.post(
        f"/api/v1/cases/{case_id}/transitions",
        json={"transition": "close"},
        headers={"Authorization": f"Bearer {login.json()['token']}"},
    )
    assert api.status_code == 409 and api.json()["detail"] == CLOSED
    assert await _stored() == before


# -- the 409 page leads back to the case, where the reader may see it ------------------------------------------------


async def test_the_closed_409_page_links_back_to_the_case(world, browser):
    token = await sign_in(browser, world["owner"])
    case_id = world["case"]["id"]
    for url, fields in _posts(world).values():
        refused = await browser.post(url, data={"csrf_token": token, **fields})
        assert refused.status_code == 409
        assert f'<a class="govuk-link" href="/cases/{case_id}">Back to the case</a>' in refused.text, url
        assert "Go to My work" not in refused.text
    form = await browser.get(f"/cases/{case_id}/lead")
    assert form.status_code == 409 and "Back to the case" in form.text


async def _panel_actions_on_a_closed_case(ctx):
    """A panel's actions on a council case for the police (live ISA: they read the case) and for a charity (no
    ISA: it does not), then the case closed."""
    from caseframe.core.panels.tables import AgendaItem
    from caseframe.core.tasks.tables import Task
    from tests.fixtures.partnership import make_panel_world

    w = await make_panel_world(ctx)
    m = w["meeting"]
    await panels.add_agenda_item(w["chair"], m["id"], kind="referral", case_id=w["case"]["id"])
    await panels.set_status(w["chair"], m["id"], "published")
    await panels.set_status(w["chair"], m["id"], "in_progress")
    item = await AgendaItem.select().where(AgendaItem.meeting == m["id"]).first()
    for agency in (w["police"], w["charity"]):
        await panels.add_minute(
            ctx,
            w["chair"],
            m["id"],
            item_id=item["id"],
            kind="action",
            text=f"Visit with {agency['name']}",
            owner_agency_id=agency["id"],
            due_date=clock.today() + dt.timedelta(days=7),
        )
    boss = await make_user(w["council"], ("caseworker", "supervisor"))
    await cases.transition_case(ctx, boss, w["case"]["id"], "close")
    actions = {
        r["owner_agency"]: r
        for r in await Task.select().where(Task.case == w["case"]["id"]).order_by(Task.id)
    }
    return w, actions[w["police"]["id"]], actions[w["charity"]["id"]]


async def test_the_closed_409_names_the_case_only_to_a_reader_who_may_see_it(db, ctx):
    w, police_task, charity_task = await _panel_actions_on_a_closed_case(ctx)
    with pytest.raises(CaseClosed) as seen:
        await tasks.editable_task(w["officer"], police_task["id"])
    assert seen.value.case_id == w["case"]["id"]
    with pytest.raises(CaseClosed) as unseen:
        await tasks.editable_task(w["helper"], charity_task["id"])
    assert unseen.value.case_id is None and unseen.value.message == CLOSED
    async with web_client(ctx, db) as client:
        await sign_in(client, w["officer"])
        page = await client.get(f"/tasks/{police_task['id']}/edit")
        assert page.status_code == 409 and CLOSED in page.text
        assert f'href="/cases/{w["case"]["id"]}">Back to the case' in page.text
    async with web_client(ctx, db) as client:
        await sign_in(client, w["helper"])
        page = await client.get(f"/tasks/{charity_task['id']}/edit")
        assert page.status_code == 409 and CLOSED in page.text
        assert f"/cases/{w['case']['id']}" not in page.text and w["case"]["reference"] not in page.text
        assert '<a class="govuk-link" href="/">Go to My work</a>' in page.text


# -- panels: a closed case gets no new panel work (an agenda place, a place on the list) ------------------------------


@pytest.fixture
async def panel_world(db, ctx):
    """The panel's world with its case on the list but not yet on an agenda, then closed."""
    from tests.fixtures.partnership import make_panel_world

    w = await make_panel_world(ctx)
    w["boss"] = await make_user(w["council"], ("caseworker", "supervisor"), name="Bea Boss")
    await cases.transition_case(ctx, w["boss"], w["case"]["id"], "close")
    return w


async def test_a_closed_case_on_the_panels_list_is_not_offered_for_the_agenda_and_is_refused(panel_world):
    w, m = panel_world, panel_world["meeting"]
    assert [s for s in await panels.agenda_suggestions(m) if s["case"] == w["case"]["id"]] == []
    assert [(c["case"], c["reference"]) for c in await panels.closed_on_list(m)] == [
        (w["case"]["id"], w["case"]["reference"])
    ]
    before, last = await _stored(), await _last_audit_id()
    for kind in ("referral", "review"):
        with pytest.raises(CaseClosed, match=CLOSED) as refused:
            await panels.add_agenda_item(w["chair"], m["id"], kind=kind, case_id=w["case"]["id"])
        assert refused.value.status == 409 and refused.value.case_id == w["case"]["id"]
    assert await _stored() == before
    assert "meeting.agenda_item_added" not in await _audit_actions_after(last)
    # something else still goes on the agenda; reopened (not in this area), the case would be offered again
    await panels.add_agenda_item(w["chair"], m["id"], kind="other", title="Any other business")


async def test_the_agenda_picker_says_why_a_closed_case_is_not_offered_and_the_post_is_a_409(panel_world, db):
    w, m = panel_world, panel_world["meeting"]
    async with web_client(w["ctx"], db) as client:
        token = await sign_in(client, w["chair"])
        page = await client.get(f"/meetings/{m['id']}")
        assert page.status_code == 200
        assert f'value="referral:{w["case"]["id"]}"' not in page.text
        assert 'id="agenda-closed"' in page.text and w["case"]["reference"] in page.text
        assert "a closed case gets no new panel work" in page.text
        panel_page = await client.get(f"/panels/{w['panel']['id']}")
        assert "Case closed" in panel_page.text
        before, last = await _stored(), await _last_audit_id()
        refused = await client.post(
            f"/meetings/{m['id']}/agenda",
            data={"csrf_token": token, "item": f"referral:{w['case']['id']}", "version": str(m["version"])},
        )
        assert refused.status_code == 409 and CLOSED in refused.text
        assert f'href="/cases/{w["case"]["id"]}">Back to the case' in refused.text
        assert await _stored() == before
        assert "meeting.agenda_item_added" not in await _audit_actions_after(last)


async def _referral_of_a_closed_case(w) -> dict:
    """A second case referred to the panel, then closed before the chair decides."""
    ctx = w["ctx"]
    second = await cases.open_case(ctx, w["owner"], "noise", REPORT)
    made = await referrals.raise_referral(
        ctx,
        w["owner"],
        target_kind="panel",
        target=w["panel"]["slug"],
        reason="Escalating again",
        case=second,
    )
    await cases.transition_case(ctx, w["boss"], second["id"], "close")
    return {"case": second, "referral": made}


async def test_a_panel_takes_no_closed_case_onto_its_list_from_a_referral(panel_world):
    from caseframe.core.referrals import inbox

    w = panel_world
    r = await _referral_of_a_closed_case(w)
    shown = await inbox.get_referral(w["ctx"], w["chair"], r["referral"]["id"], audit_view=False)
    assert shown["source_closed_at"]
    before, last = await _stored(), await _last_audit_id()
    with pytest.raises(CaseClosed, match=CLOSED):
        await inbox.accept_to_panel(w["ctx"], w["chair"], r["referral"]["id"], version=1)
    assert await _stored() == before
    assert not {
        a for a in await _audit_actions_after(last) if a.startswith("referral.") and a != "referral.view"
    }
    # declining it stays open to the chair
    await inbox.decline(w["ctx"], w["chair"], r["referral"]["id"], version=1, reason="The case has closed")


async def test_the_referral_page_offers_no_panel_for_a_closed_case_and_the_post_and_api_are_409s(
    panel_world, db
):
    w = panel_world
    r = await _referral_of_a_closed_case(w)
    rid = r["referral"]["id"]
    async with web_client(w["ctx"], db) as client:
        token = await sign_in(client, w["chair"])
        page = await client.get(f"/referrals/{rid}")
        assert page.status_code == 200
        assert f'action="/referrals/{rid}/panel"' not in page.text
        assert "so it cannot go onto the panel’s list" in page.text
        login = await client.post(
            "/api/v1/session", json={"email": w["chair"].email, "password": TEST_PASSWORD}
        )
        before = await _stored()
        refused = await client.post(f"/referrals/{rid}/panel", data={"csrf_token": token, "version": "1"})
        assert refused.status_code == 409 and CLOSED in refused.text
        api = await client.post(
            f"/api/v1/referrals/{rid}/decisions",
            json={"action": "panel", "version": 1},
            headers={"Authorization": f"Bearer {login.json()['token']}"},
        )
        assert api.status_code == 409 and api.json()["detail"] == CLOSED, api.text[:300]
        assert await _stored() == before


async def test_access_is_not_granted_to_an_agency_deactivated_since_it_asked(world):
    """Its users can no longer sign in: granting would only share the person's open cases with no one to read them
    (and e-mail the news), so it is refused, saying why, and nothing is stored."""
    from caseframe.core.agencies import service as agencies

    ctx, owner = world["ctx"], world["owner"]
    await sharing.revoke_share(owner, world["case"]["id"], world["share"]["id"])
    await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(world["person"]["id"], "subject")])
    request = await _police_ask_for_access(world)
    sysadmin = await make_user(world["council"], ("system_admin",), name="Sue Sysadmin")
    await agencies.set_agency_active(sysadmin, world["police"]["id"], False)
    before, last = await _stored(), await _last_audit_id()
    with pytest.raises(ValidationFailed) as refused:
        await access_requests.grant_access(owner, request.id)
    assert refused.value.errors[0]["message"].startswith("The agency that asked has been deactivated")
    assert await _stored() == before and "access.grant" not in await _audit_actions_after(last)
