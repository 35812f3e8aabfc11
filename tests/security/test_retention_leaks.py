"""Restricted and erased cases in every list: retention's rule (core.retention.service.withheld_from) held by a walk.

The world is test_leaks' (a council case shared with the police under an official ISA, referred by a rule to the
youth service, on a running panel meeting the police attend, with a police action, documents and notifications).
The local admin *restricts* that case (UK GDPR Art. 18: kept, not processed) and *erases* a second, older council
case that was shared with the police too. Each case holds a marker answer and a marker person found nowhere else.

Then every reader walks every page, htmx fragment, CSV, API answer and PDF pack they can reach: the council's
caseworker and its panel chair, the police officer and their local admin, the youth worker the referral went to.
No marker and no reference of either case may show, except where retention allows: the case's own address (which
says it is restricted, or erased, to the owning agency's staff) and the audit trail. The council's local admin is the
control: it sees the restricted case listed, marked "Restricted", and its marker on the case page; the erased case
nowhere but the retention pages and the audit.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import Case, CaseEvent
from caseframe.core.errors import Forbidden
from caseframe.core.retention import service as retention
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.tables import CaseShare
from caseframe.core.tasks import service as tasks
from caseframe.core.tasks.tables import Task
from caseframe.core.testing import make_person, make_user, sign_in, web_client
from tests.security.test_leaks import _found, _marker, _reachable, _walk_pages, world  # noqa: F401

R_STREET = _marker("rstreet")  # an answer on the restricted case
R_GIVEN = _marker("rgiven")  # a person the police know of only through the restricted case
E_STREET = _marker("estreet")  # an answer on the erased case (erasure removes it)
E_GIVEN = _marker("egiven")  # a person only on the erased case (anonymised)
MARKERS = (R_STREET, R_GIVEN, E_STREET, E_GIVEN)
YEAR = 365.25


@pytest.fixture
async def retained(world):
    ctx, owner, chair = world["ctx"], world["owner"], world["chair"]
    local_admin = await make_user(world["council"], ("local_admin",), name="Lou Localadmin")
    restricted = world["case"]
    person = await make_person(owner, given_name=R_GIVEN, family_name="Hidden")
    await cases.add_subject(ctx, owner, restricted["id"], person["id"], "subject")
    restricted = await cases.save_form(
        ctx,
        owner,
        restricted["id"],
        "report",
        {
            "date_of_incident": "2026-11-01",
            "street": R_STREET,
            "kind": "music",
            "details": "Music after midnight",
        },
        expected_version=(await cases.get_case(ctx, owner, restricted["id"], audit_view=False))["version"],
    )
    # the erased case: opened and closed seven years ago, shared with the police (today: a closed case is shared
    # with no one new, so before its closing is recorded, dated as it was), then erased
    gone_person = await make_person(owner, given_name=E_GIVEN, family_name="Gone")
    with clock.travel(-7 * YEAR):
        erased = await cases.open_case(
            ctx,
            owner,
            "noise",
            {"date_of_incident": "2019-11-01", "street": E_STREET, "kind": "dog"},
            subjects=[(gone_person["id"], "subject")],
        )
    await sharing.share_case(owner, erased["id"], agency_id=world["police"]["id"], purpose="crime_prevention")
    with clock.travel(-7 * YEAR + 1):
        await cases.transition_case(ctx, chair, erased["id"], "close")
    # a task of the council's own on the restricted case, due: My work and the sweep would name it
    await tasks.add_task(ctx, owner, restricted["id"], title="Chase the landlord", due_date=clock.today())
    await retention.set_restricted(ctx, local_admin, restricted["id"], True, "Subject contests accuracy")
    await retention.erase(ctx, local_admin, erased["id"], "Seven years after closure, reviewed")
    return {
        "restricted": restricted,
        "erased": erased,
        "local_admin": local_admin,
        "r_person": person,
        "e_person": gone_person,
    }


async def _everything(client, world, retained, who, token: str) -> dict[str, str]:
    """test_leaks' walk and the newer routes, both cases' own addresses, and their people."""
    actor = retained["local_admin"] if who == "local_admin" else world[who]
    bodies = await _reachable(client, world, actor, token)
    r_id, e_id = retained["restricted"]["id"], retained["erased"]["id"]
    start = [
        "/",
        "/dashboard",
        f"/dashboard/panels/{world['panel']['id']}",
        "/areas/noise",
        "/areas/noise?state=open",
        "/notifications",
        "/admin/retention",
        f"/admin/retention/{r_id}",
        f"/admin/retention/{e_id}",
        f"/persons/{retained['r_person']['id']}",
        f"/persons/{retained['e_person']['id']}",
        f"/cases/{r_id}/lead",
        f"/cases/{e_id}/lead",
        f"/meetings/{world['meeting']['id']}/pack",
    ]
    start += [
        f"/dashboard/export/{f}"
        for f in (
            "open-by-state",
            "new-and-closed",
            "tasks",
            "referrals-sent",
            "referrals-decided",
            "panel-actions",
        )
    ]
    more = await _walk_pages(client, [s for s in start if s not in bodies], limit=150)
    bodies.update({k: v for k, v in more.items() if k not in bodies})
    for path in ("/areas/noise/export.csv", "/areas/noise/export.csv?state=closed"):
        bodies[path] = (await client.get(path)).text
    for name in (R_GIVEN, E_GIVEN, "Kit Youngling"):
        for path in ("/persons/search", "/persons/search/export.csv"):
            r = await client.post(path, data={"name": name, "csrf_token": token})
            bodies[f"POST {path} {name}"] = r.text.replace(name, "")  # the searcher's own words are no leak
        r = await client.post(
            "/search/national", data={"name": name, "purpose": "crime_prevention", "csrf_token": token}
        )
        bodies[f"POST /search/national {name}"] = r.text.replace(name, "")
    r = await client.post(
        "/areas/noise/reassign",
        data={"csrf_token": token, "case": [str(r_id), str(e_id)], "lead_officer_id": str(world["owner"].id)},
    )
    bodies["POST /areas/noise/reassign"] = r.text
    r = await client.post(
        "/areas/noise/reassign",
        data={"csrf_token": token, "scope": "all", "lead_officer_id": str(world["owner"].id)},
    )
    bodies["POST /areas/noise/reassign all"] = r.text
    return bodies


def _allowed(path: str, who: str, world, retained) -> set[str]:
    """Which references a response may hold: the case's own address tells the owning agency's staff why it is
    refused; the audit trail is never edited; the retention pages are the local admin's."""
    r, e = retained["restricted"], retained["erased"]
    ok: set[str] = set()
    owner_side = who in ("owner", "chair", "local_admin")
    own_address = re.match(r"^(API )?/(api/v1/)?cases/(\d+)", path)
    if owner_side and own_address and int(own_address.group(3)) in (r["id"], e["id"]):
        ok |= {r["reference"], e["reference"]}
    if path.startswith("/audit"):
        ok |= {r["reference"], e["reference"]}
    if who == "local_admin":
        ok.add(r["reference"])
        if path.startswith("/admin/retention"):
            ok.add(e["reference"])
    return ok


@pytest.mark.parametrize("who", ["owner", "chair", "officer", "police_admin", "youth_worker", "local_admin"])
async def test_no_list_count_or_page_shows_a_restricted_or_erased_case_except_where_retention_allows(
    world, retained, db, who
):
    ctx = world["ctx"]
    actor = retained["local_admin"] if who == "local_admin" else world[who]
    async with web_client(ctx, db) as client:
        token = await sign_in(client, actor)
        bodies = await _everything(client, world, retained, who, token)
    r, e = retained["restricted"], retained["erased"]
    # the restricted case's person is the council's own record (restriction is of the case, not of them): its
    # staff still find the person, never the case; another agency no longer finds them through the case
    # its local admin reads the restricted case (and its answers in the audit trail): the erased one is gone
    markers = (
        MARKERS
        if who in ("officer", "police_admin", "youth_worker")
        else ((E_STREET, E_GIVEN) if who == "local_admin" else (R_STREET, E_STREET, E_GIVEN))
    )
    leaked = _found(bodies, markers)
    assert leaked == [], who
    for path, body in bodies.items():
        for reference in (r["reference"], e["reference"]):
            if reference in body:
                assert reference in _allowed(path, who, world, retained), f"{who}: {reference} in {path}"
    if who == "local_admin":
        # the control: the walk looks where the cases would be
        listed = bodies["/areas/noise"]
        assert r["reference"] in listed and "Restricted" in listed and e["reference"] not in listed
        assert r["reference"] in bodies["/areas/noise/export.csv"]
        assert '"restricted":true' in bodies["API /api/v1/cases"].replace(" ", "")
        assert R_STREET in bodies[f"/cases/{r['id']}"]
        assert (
            e["reference"] in bodies[f"/admin/retention/{e['id']}"]
            or bodies[f"/admin/retention/{e['id']}"].count("erased") >= 1
        )
    if who in ("owner", "chair"):
        assert "is restricted while it is reviewed" in bodies[f"/cases/{r['id']}"]
    if who in ("officer", "police_admin", "youth_worker"):
        # another agency is told nothing about either: as for a case never shared
        assert r["reference"] not in bodies[f"/cases/{r['id']}"]


async def test_the_owners_caseworker_no_longer_finds_the_restricted_case_in_my_work_or_its_person(
    world, retained, db
):
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["owner"])
        home = await client.get("/")
        person = await client.get(f"/persons/{retained['r_person']['id']}")
    assert home.status_code == 200 and "Chase the landlord" not in home.text
    assert retained["restricted"]["reference"] not in home.text
    assert person.status_code == 200 and retained["restricted"]["reference"] not in person.text


async def test_no_write_goes_through_on_a_restricted_or_erased_case(world, retained):
    ctx, owner = world["ctx"], world["owner"]
    admin_worker = await make_user(
        world["council"], ("local_admin", "caseworker", "supervisor"), name="Dual Role"
    )
    for case in (retained["restricted"], retained["erased"]):
        before = await Case.select().where(Case.id == case["id"]).first()
        events = await CaseEvent.count().where(CaseEvent.case == case["id"])
        shares = await CaseShare.count().where(CaseShare.case == case["id"])
        task_count = await Task.count().where(Task.case == case["id"])
        for actor in (owner, admin_worker):
            attempts = [
                cases.save_form(
                    ctx, actor, case["id"], "visit", {"risk_level": "low"}, expected_version=before["version"]
                ),
                cases.transition_case(ctx, actor, case["id"], "close"),
                cases.add_note(ctx, actor, case["id"], "A note"),
                cases.add_subject(ctx, actor, case["id"], world["child"]["id"], "subject"),
                cases.reassign_lead(ctx, actor, case["id"], actor.id, expected_version=before["version"]),
                tasks.add_task(ctx, actor, case["id"], title="Do it"),
                sharing.share_case(
                    actor, case["id"], agency_id=world["police"]["id"], purpose="crime_prevention"
                ),
            ]
            for attempt in attempts:
                with pytest.raises(Exception) as caught:
                    await attempt
                assert caught.value.__class__.__name__ in ("Forbidden", "Gone", "NotFound"), caught.value
                if actor is admin_worker and case is retained["restricted"]:
                    assert "restricted under the retention policy" in str(caught.value.message)
        after = await Case.select().where(Case.id == case["id"]).first()
        assert after["version"] == before["version"] and after["lead_officer"] == before["lead_officer"]
        assert await CaseEvent.count().where(CaseEvent.case == case["id"]) == events
        assert await CaseShare.count().where(CaseShare.case == case["id"]) == shares
        assert await Task.count().where(Task.case == case["id"]) == task_count
    # nor a bulk reassignment that includes it, nor merging away a person on it (their case rows would move)
    restricted = retained["restricted"]
    version = (await Case.select(Case.version).where(Case.id == restricted["id"]).first())["version"]
    with pytest.raises(Forbidden, match="restricted under the retention policy"):
        await cases.reassign_cases(ctx, admin_worker, [(restricted["id"], version)], admin_worker.id)
    from caseframe.core.persons import service as persons

    twin = await make_person(owner, given_name=R_GIVEN, family_name="Hidden")
    on_case = await persons.get_person(admin_worker, retained["r_person"]["id"], audit_view=False)
    with pytest.raises(Forbidden, match="restricted under the retention policy"):
        await persons.merge_persons(
            ctx,
            admin_worker,
            twin["id"],
            on_case["id"],
            versions={twin["id"]: twin["version"], on_case["id"]: on_case["version"]},
        )
    # the police action on the restricted case cannot be worked either, and the words name no case
    action = await Task.select().where(Task.source == "panel").first()
    with pytest.raises(Forbidden) as caught:
        await tasks.complete_task(ctx, world["officer"], action["id"])
    assert retained["restricted"]["reference"] not in caught.value.message
    assert (await Task.select().where(Task.id == action["id"]).first())["status"] == "open"


async def test_a_document_upload_on_a_restricted_case_is_refused_with_a_clear_message(world, retained, db):
    from caseframe.core.documents.samples import tiny_pdf

    admin_worker = await make_user(world["council"], ("local_admin", "caseworker"), name="Dual Role")
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, admin_worker)
        r = await client.post(
            f"/cases/{retained['restricted']['id']}/documents",
            data={"csrf_token": token, "sensitivity": "official"},
            files={"file": ("letter.pdf", io.BytesIO(tiny_pdf(["A letter"])), "application/pdf")},
        )
        assert r.status_code == 403 and "restricted under the retention policy" in r.text
        note = await client.post(
            f"/cases/{retained['restricted']['id']}/notes", data={"csrf_token": token, "text": "Still here"}
        )
        assert note.status_code == 403 and "restricted under the retention policy" in note.text
    from caseframe.core.documents.tables import Document

    assert await Document.count().where(Document.case == retained["restricted"]["id"]) == 2


async def test_the_due_task_sweep_and_the_rules_leave_restricted_and_erased_cases_alone(world, retained):
    from caseframe.core.notifications import service as notifications
    from caseframe.core.notifications.tables import Notification
    from caseframe.core.referrals import service as referrals

    await notifications.sweep_due_tasks(clock.today() + dt.timedelta(days=30))
    told = await Notification.select().where(Notification.kind == "task_due")
    on = {retained["restricted"]["id"], retained["erased"]["id"]}
    assert not [n for n in told if n["case_id"] in on]
    row = await Case.select().where(Case.id == retained["restricted"]["id"]).output(load_json=True).first()
    assert await referrals.evaluate_rules(world["ctx"], row, "subject_added") == []


async def test_dashboards_count_no_restricted_or_erased_case_even_for_its_local_admin(world, retained):
    from caseframe.core.dashboards import service as dashboards

    filters, _, _ = dashboards.parse_filters({}, {"noise": "Noise"})
    for actor in (world["owner"], retained["local_admin"]):
        figures = {f.key: f for f in await dashboards.agency_figures(world["ctx"], actor, filters)}
        open_now = sum(row[-1] for row in figures["open-by-state"].rows if isinstance(row[-1], int))
        assert open_now == 0, actor.name  # the only open council case is the restricted one
        # the referrals the restricted case made (the rule's to the youth service, the one to the panel) are no
        # more counted than the case itself
        sent = sum(row[-1] for row in figures["referrals-sent"].rows if isinstance(row[-1], int))
        assert sent == 0, actor.name
    panel = (await dashboards.chaired_panels(world["chair"]))[0]
    figures = {
        f.key: f for f in await dashboards.partnership_figures(world["ctx"], world["chair"], panel, filters)
    }
    assert sum(row[-1] for row in figures["referrals"].rows if isinstance(row[-1], int)) == 0


async def test_the_dashboard_exports_count_no_referral_of_a_restricted_case(world, retained, db):
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["chair"])
        sent = await client.get("/dashboard/export/referrals-sent")
        panel = await client.get(f"/dashboard/panels/{world['panel']['id']}/export/referrals")
        hostile = await client.get("/dashboard/export/referrals-sent?from=2026-02-31&to=%00&area=%27")
    assert sent.status_code == 200 and panel.status_code == 200 and hostile.status_code < 500
    for body in (sent.text, panel.text):
        assert [line for line in body.splitlines()[1:] if line.strip()] == [], body


async def test_a_referral_from_a_restricted_case_is_decided_without_touching_it_and_no_more_is_sent(
    world, retained
):
    from caseframe.core.referrals import inbox
    from caseframe.core.referrals.tables import Referral

    ctx, case_id = world["ctx"], retained["restricted"]["id"]
    referral = await Referral.select().where(Referral.target_kind != "panel").first()
    assert referral["from_case"] == case_id
    events = await CaseEvent.count().where(CaseEvent.case == case_id)
    await inbox.request_info(
        ctx,
        world["youth_worker"],
        referral["id"],
        version=referral["version"],
        question="Does the child attend school?",
    )
    assert await CaseEvent.count().where(CaseEvent.case == case_id) == events
    asked = await Referral.select().where(Referral.id == referral["id"]).first()
    with pytest.raises(Forbidden, match="restricted under the retention policy"):
        await inbox.give_info(
            ctx, world["owner"], referral["id"], version=asked["version"], answer="Yes, Year 5"
        )
    assert (await Referral.select().where(Referral.id == referral["id"]).first())[
        "status"
    ] == "info_requested"
