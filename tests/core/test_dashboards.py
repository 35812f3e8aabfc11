"""Dashboards: an agency's own figures, a panel chair's partnership view counting only visible cases, CSV, audit."""

from __future__ import annotations

import csv
import io

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import Case
from caseframe.core.dashboards import service as figures
from caseframe.core.panels import service as panels
from caseframe.core.referrals import inbox
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.policy import case_access, visible_case_ids
from caseframe.core.testing import make_user, sign_in
from tests.fixtures.partnership import REPORT, make_panel_world, refer_to_panel


@pytest.fixture
async def world(db, ctx):
    """The panel partnership, plus: the council's own cases (one closed), a police case shared with the council,
    one not shared, one the panel takes on and puts on its published agenda, and a charity case."""
    world = await make_panel_world(ctx)
    council, chair, owner, officer = world["council"], world["chair"], world["owner"], world["officer"]
    police_chair = await make_user(world["police"], ("supervisor", "panel_chair"), name="Petra Police")
    own = [await cases.open_case(ctx, owner, "noise", REPORT) for _ in range(3)]
    await cases.transition_case(ctx, chair, own[0]["id"], "close", expected_version=own[0]["version"])
    shared = await cases.open_case(ctx, officer, "noise", REPORT)
    await sharing.share_case(officer, shared["id"], agency_id=council["id"], purpose="crime_prevention")
    private = await cases.open_case(ctx, officer, "noise", REPORT)
    on_panel, made = await refer_to_panel(ctx, officer, world["panel"]["slug"], "Reece", "Dunmore")
    await inbox.accept_to_panel(ctx, chair, made["id"], version=1)
    await panels.add_agenda_item(chair, world["meeting"]["id"], kind="referral", case_id=on_panel["id"])
    await panels.set_status(chair, world["meeting"]["id"], "published")
    charity_case = await cases.open_case(ctx, world["helper"], "noise", REPORT)
    return {
        **world,
        "police_chair": police_chair,
        "shared": shared,
        "private": private,
        "on_panel": on_panel,
        "charity_case": charity_case,
    }


def _rows(found, key):
    return {r[0]: r[1:] for r in next(f for f in found if f.key == key).rows}


async def test_visible_case_ids_agrees_with_case_access_for_every_case_and_agency(world):
    rows = await Case.select(Case.id, Case.owning_agency, Case.area)
    for actor in (world["chair"], world["officer"], world["helper"], world["police_chair"]):
        expected = {r["id"] for r in rows if await case_access(actor, r) is not None}
        assert await visible_case_ids(actor, rows) == expected, actor.name
    seen = await visible_case_ids(world["chair"], rows)
    assert world["shared"]["id"] in seen and world["on_panel"]["id"] in seen
    assert world["private"]["id"] not in seen and world["charity_case"]["id"] not in seen


async def test_an_agency_dashboard_counts_its_own_cases_tasks_and_referrals(world):
    filters, _, errors = figures.parse_filters({}, {"noise": "Noise"})
    assert not errors
    found = await figures.agency_figures(world["ctx"], world["chair"], filters)
    assert [f.key for f in found] == [
        "open-by-state",
        "new-and-closed",
        "tasks",
        "referrals-sent",
        "referrals-decided",
        "panel-actions",
    ]
    assert sum(v[0] for v in _rows(found, "open-by-state").values()) == 3  # 4 opened, 1 closed
    month = clock.today().strftime("%b %Y")
    assert _rows(found, "new-and-closed")[month] == [4, 1]
    assert len(_rows(found, "new-and-closed")) == 12
    # the council's and the police's referrals to the panel were decided (taken on) by the council's chair
    decided = {k: v for k, v in _rows(found, "referrals-decided").items() if v[0]}
    assert decided == {"Accepted (case opened)": [2]}
    police = await figures.agency_figures(world["ctx"], world["officer"], filters)
    assert sum(v[0] for v in _rows(police, "open-by-state").values()) == 3
    assert sum(v[0] for v in _rows(police, "referrals-sent").values()) == 1


async def test_filters_are_checked_and_explained(world):
    choices = {"noise": "Noise"}
    for params, message in (
        ({"area": "asb"}, "Choose an area"),
        ({"from": "31/01/2026"}, "Enter the start date"),
        ({"from": "2026-05-01", "to": "2026-01-01"}, "on or before"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "36 months or less"),
    ):
        _, _, errors = figures.parse_filters(params, choices)
        assert errors and message in errors[0]["message"], params


async def test_the_partnership_view_counts_only_what_the_chairs_agency_may_see(world):
    filters, _, _ = figures.parse_filters({}, {"noise": "Noise"})
    chaired = await figures.chaired_panels(world["chair"])
    assert [p["id"] for p in chaired] == [world["panel"]["id"]]
    assert await figures.chaired_panels(world["police_chair"]) == []
    found = await figures.partnership_figures(world["ctx"], world["chair"], chaired[0], filters)
    by_agency = _rows(found, "by-agency")
    # the council's 3 open cases; of the police's 3, the shared one and the panel's one; none of the charity's
    assert by_agency == {world["council"]["name"]: [3, 4], world["police"]["name"]: [2, 2]}
    assert sum(v[0] for v in _rows(found, "referrals").values()) == 2


async def test_a_supervisor_reads_the_dashboard_and_downloads_a_figure(world, client):
    await sign_in(client, world["chair"])
    page = await client.get("/dashboard")
    assert page.status_code == 200
    assert "Open cases by state" in page.text and "<svg" in page.text and 'role="img"' in page.text
    assert 'href="/dashboard"' in page.text  # in the menu
    assert f"/dashboard/panels/{world['panel']['id']}" in page.text
    export = await client.get("/dashboard/export/open-by-state?area=noise")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.headers["cache-control"] == "no-store"
    assert "attachment" in export.headers["content-disposition"]
    assert export.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert rows[0] == ["Area and state", "Open cases"] and sum(int(r[1]) for r in rows[1:]) == 3
    actions = [
        e["action"]
        for e in await AuditEvent.select(AuditEvent.action).where(AuditEvent.action.like("dashboard.%"))
    ]
    assert actions.count("dashboard.view") == 1 and actions.count("dashboard.export") == 1


async def test_bad_filters_and_unknown_figures_get_a_clear_answer(world, client):
    await sign_in(client, world["chair"])
    page = await client.get("/dashboard?from=yesterday&area=%3Cscript%3E")
    assert page.status_code == 400
    assert "Enter the start date as a date" in page.text and "Choose an area from the list" in page.text
    assert "<script>" not in page.text
    export = await client.get("/dashboard/export/open-by-state?to=2026-13-45")
    assert export.status_code == 400 and "Nothing was exported" in export.text
    missing = await client.get("/dashboard/export/nothing-here")
    assert missing.status_code == 404


async def test_caseworkers_and_other_agencies_chairs_are_refused(world, client):
    await sign_in(client, world["owner"])
    assert (await client.get("/dashboard")).status_code == 403
    assert (await client.get("/dashboard/export/tasks")).status_code == 403
    page = await client.get("/")
    assert 'href="/dashboard"' not in page.text
    client.cookies.clear()
    await sign_in(client, world["police_chair"])
    assert (await client.get(f"/dashboard/panels/{world['panel']['id']}")).status_code == 404
    assert (await client.get(f"/dashboard/panels/{world['panel']['id']}/export/by-agency")).status_code == 404


async def test_the_chair_reads_the_partnership_view_and_its_csv(world, client):
    await sign_in(client, world["chair"])
    url = f"/dashboard/panels/{world['panel']['id']}"
    page = await client.get(url)
    assert page.status_code == 200 and "Cases by member agency" in page.text
    assert "brightwell" not in page.text.lower()
    export = await client.get(url + "/export/by-agency")
    rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert sum(int(r[1]) for r in rows[1:]) == 5
    view = await AuditEvent.select().where(AuditEvent.action == "dashboard.view").first()
    assert view["object_type"] == "panel" and view["object_id"] == world["panel"]["id"]


async def _recent_by_the_rule(actor, withheld) -> list[int]:
    """My work's "recently viewed" as its rule says, read the long way: the actor's last 50 case views, each case
    once (newest view first), without those retention withholds from them, the first 5, and of those their
    agency's own."""
    views = (
        await AuditEvent.select(AuditEvent.object_id)
        .where((AuditEvent.actor_id == actor.id) & (AuditEvent.action == "case.view"))
        .order_by(AuditEvent.id, ascending=False)
        .limit(50)
    )
    ids = [i for i in dict.fromkeys(v["object_id"] for v in views) if withheld.keep(i)][:5]
    own = {
        r["id"]
        for r in await Case.select(Case.id).where(
            Case.id.is_in(ids or [0]) & (Case.owning_agency == actor.agency_id)
        )
    }
    return [i for i in ids if i in own]


async def test_my_work_lists_the_cases_viewed_last_and_its_three_lists_in_one_read(world, ctx, monkeypatch):
    """The cases the user viewed last: newest first, each once, none retention withholds from them (a restricted
    one stays in its own local admin's, marked), only their agency's own (a partner's case viewed is not listed),
    five at most. The three lists' cases come in one statement, and the tasks' cases with the tasks (the
    redactor reads none again)."""
    from caseframe.core.dashboards.my_work import my_work
    from caseframe.core.retention import service as retention
    from caseframe.core.tasks import service as tasks
    from tests.fixtures.counting import count_selects

    owner = world["owner"]
    local_admin = await make_user(world["council"], ("local_admin", "caseworker"), name="Lou Localadmin")
    own = [await cases.open_case(ctx, owner, "noise", REPORT) for _ in range(6)]
    restricted = own[2]
    await tasks.add_task(ctx, owner, own[0]["id"], title="Call the neighbour")
    for reader in (owner, local_admin):
        for case in (own[0], own[1], world["shared"], own[3], own[2], own[4], own[1], own[5]):
            await cases.record_view(reader, case["id"])
    await retention.set_restricted(ctx, local_admin, restricted["id"], True, "Subject contests accuracy")

    reads = count_selects(monkeypatch, Case)
    work = await my_work(ctx, owner)
    assert len(reads) == 1
    recent = [c["id"] for c in work["recent"]]
    assert recent == await _recent_by_the_rule(owner, await retention.withheld_from(owner))
    # newest first: 5, 1, 4, (2 restricted), 3, the partner's shared case (it takes the fifth place), 0
    assert recent == [own[i]["id"] for i in (5, 1, 4, 3)]
    assert all(c["access"] == "owner" for c in work["recent"])
    assert "restricted_cases" not in work
    assert [t["title"] for t in work["my_tasks"]] == ["Call the neighbour"]
    assert work["my_tasks"][0]["reference"] == own[0]["reference"] and work["my_tasks"][0]["case_seen"]

    admins = await my_work(ctx, local_admin)
    recent = [c["id"] for c in admins["recent"]]
    assert recent == await _recent_by_the_rule(local_admin, await retention.withheld_from(local_admin))
    assert recent == [own[i]["id"] for i in (5, 1, 4, 2, 3)]  # the restricted one listed, marked
    assert admins["restricted_cases"] == frozenset({restricted["id"]})


async def test_the_home_page_lists_the_cases_viewed_last(world, ctx, client):
    owner = world["owner"]
    own = [await cases.open_case(ctx, owner, "noise", REPORT) for _ in range(2)]
    for case in (own[0], world["shared"], own[1]):
        await cases.record_view(owner, case["id"])
    await sign_in(client, owner)
    page = (await client.get("/")).text
    viewed = page.split("Recently viewed")[1]
    assert viewed.index(own[1]["reference"]) < viewed.index(own[0]["reference"])
    assert world["shared"]["reference"] not in viewed
