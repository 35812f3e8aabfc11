"""Leaks in the newer outputs: dashboards, area and person-search CSV exports, lead and task pages.

The world is test_leaks' (a council case with a special-category answer shared with the police under an
official ISA, on a panel the police sit on, with a police action). To it this adds what only the owner may
know: a second council case, never shared, whose subject's names are markers, and a police case in the
panel's area that the council may not see. Each partner (its caseworker and its local admin) and the
addressee read every new route and download; none may hold a marker. The owner's control run reads the
same routes and must find them, so the walk is known to look where they are.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.db.tx import transaction
from caseframe.core.sharing.tables import SharingAgreement
from caseframe.core.tasks.tables import Task
from caseframe.core.testing import make_person, sign_in, web_client
from tests.security.test_leaks import DOCUMENT, HIDDEN, _found, _marker, _walk_pages, world  # noqa: F401

SECRET_GIVEN = _marker("given")  # a person only the council knows of, on a case it never shared
SECRET_FAMILY = _marker("family")
SECRET_STREET = _marker("street")  # an answer on that case
#: the sensitive document's name and content too: above the partner's official ISA, on any new page
MARKERS = (*HIDDEN, DOCUMENT, SECRET_GIVEN, SECRET_FAMILY, SECRET_STREET)

FIGURES = ("open-by-state", "new-and-closed", "tasks", "referrals-sent", "referrals-decided", "panel-actions")
PANEL_FIGURES = ("by-agency", "open-by-state", "new-and-closed", "referrals", "panel-actions")


@pytest.fixture
async def more(world):
    """The council's unshared case about a person only it knows, and a police case the council may not see."""
    ctx, owner = world["ctx"], world["owner"]
    hidden = await cases.open_case(
        ctx, owner, "noise", {"date_of_incident": "2026-11-03", "street": SECRET_STREET, "kind": "music"}
    )
    secret = await make_person(owner, given_name=SECRET_GIVEN, family_name=SECRET_FAMILY)
    await cases.add_subject(ctx, owner, hidden["id"], secret["id"], "complainant")
    police_case = await cases.open_case(
        ctx,
        world["officer"],
        "noise",
        {"date_of_incident": "2026-11-04", "street": "Heron Row", "kind": "dog"},
    )
    action = await Task.select().where(Task.source == "panel").first()
    return {"hidden": hidden, "secret": secret, "police_case": police_case, "action": action}


async def _new_routes(client, world, more, token: str) -> dict[str, str]:
    """Every new page and download, from the addresses no link may lead to and the links they hold."""
    panel_id = world["panel"]["id"]
    start = [
        "/dashboard",
        f"/dashboard/panels/{panel_id}",
        "/areas/noise",
        "/areas/noise?state=open",
        f"/areas/noise?owner={world['owner'].id}",
        f"/cases/{world['case']['id']}/lead",
        f"/cases/{more['hidden']['id']}/lead",
        f"/tasks/{more['action']['id']}/edit",
        f"/persons/{more['secret']['id']}",
        "/notifications",
        "/admin/retention",
        f"/admin/retention/{world['case']['id']}",
        f"/admin/retention/{more['hidden']['id']}",
        f"/persons/{world['child']['id']}/edit",
        f"/persons/{world['child']['id']}/merge",
        f"/persons/{more['secret']['id']}/edit",
        "/admin/person-merges",
        "/sharing/agreements",
        "/mou",
        f"/cases/{world['case']['id']}/documents/1",
        f"/cases/{world['case']['id']}/documents/2",
    ]
    start += [f"/dashboard/export/{f}" for f in FIGURES]
    start += [f"/dashboard/panels/{panel_id}/export/{f}" for f in PANEL_FIGURES]
    bodies = await _walk_pages(client, start, limit=120)
    for path in (
        "/areas/noise/export.csv",
        "/areas/noise/export.csv?state=open",
        f"/areas/noise/export.csv?owner={world['owner'].id}",
    ):
        bodies[path] = (await client.get(path)).text
    for name in (SECRET_FAMILY, "Kit Youngling"):
        for path in ("/persons/search", "/persons/search/export.csv"):
            r = await client.post(path, data={"name": name, "csrf_token": token})
            # the page says again what was searched for: the searcher's own words are no leak
            bodies[f"POST {path} {name}"] = r.text.replace(name, "")
    # the bulk reassignment's confirmation page, asked for the owner's cases by id
    ids = [world["case"]["id"], more["hidden"]["id"]]
    r = await client.post(
        "/areas/noise/reassign",
        data={"csrf_token": token, "case": [str(i) for i in ids], "lead_officer_id": str(world["owner"].id)},
    )
    bodies["POST /areas/noise/reassign"] = r.text
    return bodies


async def test_no_new_page_or_download_shows_a_partner_what_it_may_not_see(world, more, db):
    ctx = world["ctx"]
    async with web_client(ctx, db) as client:
        token = await sign_in(client, world["owner"])
        mine = await _new_routes(client, world, more, token)
    # the control: the owner's own exports name the unshared case's person and the area list its reference
    assert (
        SECRET_GIVEN in mine["/areas/noise/export.csv"] and SECRET_FAMILY in mine["/areas/noise/export.csv"]
    )
    assert more["hidden"]["reference"] in mine["/areas/noise/export.csv"]
    assert SECRET_GIVEN in mine[f"POST /persons/search/export.csv {SECRET_FAMILY}"]
    assert SECRET_GIVEN in mine[f"/persons/{more['secret']['id']}"]
    assert any(DOCUMENT in body for path, body in mine.items() if "/documents/" in path)  # the sensitive one
    for who in ("officer", "police_admin", "youth_worker"):
        async with web_client(ctx, db) as client:
            token = await sign_in(client, world[who])
            bodies = await _new_routes(client, world, more, token)
        assert _found(bodies, MARKERS) == [], who
        leaked = [k for k, v in bodies.items() if more["hidden"]["reference"] in v]
        assert leaked == [], f"{who}: the unshared case's reference in {leaked}"


async def test_the_partnership_dashboard_counts_no_case_the_chairs_agency_may_not_see(world, more, db):
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["chair"])
        page = await client.get(f"/dashboard/panels/{world['panel']['id']}")
        csv = await client.get(f"/dashboard/panels/{world['panel']['id']}/export/by-agency")
    assert page.status_code == 200 and csv.status_code == 200
    # the police case is in the panel's area and the police sit on the panel, but it is neither shared nor
    # on an agenda: no row, no count
    assert "Wealden Police" not in csv.text and "Ashdown Council" in csv.text


async def test_a_task_page_names_no_case_its_agency_can_no_longer_see(world, more, db):
    """The police action's edit page and My work (the police still own the action) named the council case's
    reference, and linked to it, after the ISA ended, though the case page is 404 and the panel page says only
    that it is not shared."""
    await SharingAgreement.update({SharingAgreement.ends_on: clock.today() - dt.timedelta(days=1)}).where(
        SharingAgreement.id == world["isa"]["id"]
    )
    reference = world["case"]["reference"]
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, world["officer"])
        assert (await client.get(f"/cases/{world['case']['id']}")).status_code == 404
        # My work lists the action (it is still the police's to do), not the case it is on
        home = await client.get("/")
        assert "Joint visit" in home.text and reference not in home.text
        assert "A case not shared with your agency" in home.text
        page = await client.get(f"/tasks/{more['action']['id']}/edit")
        assert page.status_code == 200 and "Joint visit" in page.text
        assert reference not in page.text and f"/cases/{world['case']['id']}" not in page.text
        state = re.search(r'name="state" value="([0-9a-f]+)"', page.text).group(1)
        due = clock.today() + dt.timedelta(days=9)
        bad = await client.post(
            f"/tasks/{more['action']['id']}/edit",
            data={
                "csrf_token": token,
                "state": state,
                "assignee_id": "999999",
                "due-day": str(due.day),
                "due-month": str(due.month),
                "due-year": str(due.year),
            },
        )
        assert bad.status_code == 400 and reference not in bad.text
    # the owner still sees where the action sits
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["owner"])
        assert (await client.get(f"/tasks/{more['action']['id']}/edit")).status_code == 404


async def test_a_due_task_notification_names_no_case_its_agency_can_no_longer_see(world, more, db):
    """The morning sweep told the police their action was overdue 'NOI-…' with a link to the case, after the ISA
    ended (and would e-mail it): the same reference My work no longer shows."""
    from caseframe.core.notifications import service as notifications
    from caseframe.core.notifications.tables import Notification

    await SharingAgreement.update({SharingAgreement.ends_on: clock.today() - dt.timedelta(days=1)}).where(
        SharingAgreement.id == world["isa"]["id"]
    )
    assert await notifications.sweep_due_tasks(clock.today() + dt.timedelta(days=8)) >= 1
    told = await Notification.select().where(Notification.kind == "task_due")
    police = [n for n in told if n["agency"] == world["police"]["id"]]
    assert police and all(world["case"]["reference"] not in n["text"] and n["link"] == "/" for n in police)
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["officer"])
        page = await client.get("/notifications")
        assert (
            "A panel action is overdue<" in page.text
            or "A panel action is overdue</" in page.text
            or "A panel action is overdue" in page.text
        )


async def test_a_notification_written_while_access_was_live_names_no_case_once_it_ends(world, more, db):
    """'Case shared with your agency: NOI-…' and 'Panel action assigned …: NOI-…' are stored words; once the
    ISA ends, reading them must not still name the case or link to it."""
    from caseframe.core.notifications import service as notifications
    from caseframe.core.notifications.tables import Notification

    case_id = world["case"]["id"]
    for kind in ("case_shared", "panel_action"):
        async with transaction():
            await notifications.notify(
                kind=kind,
                text=f"About {world['case']['reference']}",
                link=f"/cases/{case_id}",
                agency_id=world["police"]["id"],
                case_id=case_id,
            )
    await SharingAgreement.update({SharingAgreement.ends_on: clock.today() - dt.timedelta(days=1)}).where(
        SharingAgreement.id == world["isa"]["id"]
    )
    listed = await notifications.list_for(world["officer"])
    ours = [n for n in listed if n["kind"] in ("case_shared", "panel_action")]
    assert len(ours) >= 2
    assert all(world["case"]["reference"] not in n["text"] and n["link"] == "/" for n in ours)
    one = await notifications.get_for(world["officer"], ours[0]["id"])
    assert world["case"]["reference"] not in one["text"] and one["link"] == "/"
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["officer"])
        page = await client.get("/notifications")
        assert page.status_code == 200 and world["case"]["reference"] not in page.text
    # the owner's own agency still reads them as written
    assert await Notification.count().where(Notification.case_id == case_id) >= 2


@pytest.mark.parametrize("who", ["officer", "police_admin"])
async def test_once_the_isa_ends_no_response_names_the_partners_former_case(world, more, db, who):
    """A partner whose ISA has ended read the meeting's agenda titles ("New referral: NOI-…"), the minute form's
    item list and its pack's agenda: the case's reference, which its case page (404) no longer gives. Every page,
    fragment, download, PDF and API answer the walks reach is read; none may name the case."""
    from tests.security.test_leaks import _reachable

    await SharingAgreement.update({SharingAgreement.ends_on: clock.today() - dt.timedelta(days=1)}).where(
        SharingAgreement.id == world["isa"]["id"]
    )
    reference = world["case"]["reference"]
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, world[who])
        bodies = await _reachable(client, world, world[who], token)
        bodies.update(
            {k: v for k, v in (await _new_routes(client, world, more, token)).items() if k not in bodies}
        )
    assert f"/meetings/{world['meeting']['id']}" in bodies
    leaked = sorted(k for k, v in bodies.items() if reference in v and not k.startswith("/audit"))
    assert leaked == [], f"{who}: {reference} in {leaked}"
    assert _found(bodies, MARKERS) == []
