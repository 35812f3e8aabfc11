"""The reads and writes that page handlers used to run themselves, now service functions taking the actor: each
answers only within the actor's reach, as the page did (the pages' own tests show the same results in HTML)."""

from __future__ import annotations

import pytest

from caseframe.core.auth import mfa
from caseframe.core.auth import service as auth
from caseframe.core.errors import NotFound
from caseframe.core.testing import TEST_PASSWORD, make_agency, make_user


async def test_recent_sign_ins_are_the_actors_own_newest_first(db, ctx):
    agency = await make_agency(ctx, "ashdown-council")
    alex, robin = await make_user(agency), await make_user(agency)
    for _ in range(2):
        await auth.sign_in(alex.email, TEST_PASSWORD)
    await auth.sign_in(robin.email, TEST_PASSWORD)
    mine = await auth.recent_sign_ins(alex)
    assert len(mine) == 2 and mine[0]["at"] >= mine[1]["at"]
    assert len(await auth.recent_sign_ins(alex, limit=1)) == 1


async def test_a_password_reset_names_only_a_user_of_the_admins_own_agency(db, ctx):
    ours, theirs = await make_agency(ctx, "ashdown-council"), await make_agency(ctx, "county")
    admin = await make_user(ours, ("local_admin",))
    colleague, stranger = await make_user(ours, name="Robin Colleague"), await make_user(theirs)
    assert (await auth.user_for_password_reset(admin, colleague.id))["name"] == "Robin Colleague"
    for user_id in (stranger.id, admin.id, 10**9):
        with pytest.raises(NotFound):
            await auth.user_for_password_reset(admin, user_id)


async def test_mfa_settings_list_the_agencies_the_actor_may_configure(db, ctx):
    ours, theirs = await make_agency(ctx, "ashdown-council"), await make_agency(ctx, "county")
    local = await make_user(ours, ("local_admin",))
    system = await make_user(theirs, ("system_admin",))
    assert [a["id"] for a in await mfa.configurable_agencies(local)] == [ours["id"]]
    assert {a["id"] for a in await mfa.configurable_agencies(system)} == {ours["id"], theirs["id"]}


async def test_the_audit_viewer_reads_within_the_actors_reach(db, ctx):
    from caseframe.core.audit import service as audit
    from caseframe.core.db.tx import transaction
    from caseframe.core.errors import Forbidden, ValidationFailed

    ours, theirs = await make_agency(ctx, "ashdown-council"), await make_agency(ctx, "county")
    local, system = await make_user(ours, ("local_admin",)), await make_user(theirs, ("system_admin",))
    worker = await make_user(theirs)
    async with transaction():
        await audit.record("test.ours", local, object_type="thing", object_id=7)
        await audit.record("test.theirs", worker, object_type="thing", object_id=8)
    seen = await audit.list_events(local, {"action": "test."})
    assert [e["action"] for e in seen["events"]] == ["test.ours"] and seen["total"] == 1
    assert seen["events"][0]["user"] == local.name
    assert {e["action"] for e in (await audit.list_events(system, {"action": "test."}))["events"]} == {
        "test.ours",
        "test.theirs",
    }
    bad = await audit.list_events(local, {"user": "forty", "from": "2026-02-30"})
    assert bad["events"] == [] and {e["field"] for e in bad["errors"]} == {"/audit-user", "/audit-from"}
    with pytest.raises(ValidationFailed):
        await audit.export_events(local, {"object_id": "-1"})
    exported = await audit.export_events(local, {"object_id": "7"})
    assert [e["action"] for e in exported] == ["test.ours"]
    assert (await audit.list_events(local, {"action": "audit.export"}))["total"] == 1
    with pytest.raises(Forbidden):
        await audit.list_events(worker, {})


async def test_agreements_are_listed_for_their_parties_with_status_and_names(db, ctx):
    import datetime as dt

    from caseframe.core import clock
    from caseframe.core.sharing import service as sharing

    council, police = await make_agency(ctx, "ashdown-council"), await make_agency(ctx, "police")
    charity = await make_agency(ctx, "charity")
    admin = await make_user(council, ("system_admin",))
    today = clock.today()
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-1",
        title="Partnership",
        parties=[council["id"], police["id"]],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=3),
        ends_on=today + dt.timedelta(days=3),
    )
    seen = await sharing.agreements_for(ctx, await make_user(police))
    assert [(a["reference"], a["status"]) for a in seen["agreements"]] == [("ISA-1", "live")]
    assert seen["agreements"][0]["party_names"] == ["Ashdown Council", "Police"]
    assert seen["agreements"][0]["area_titles"] == [ctx.areas.get("noise").title]
    assert (await sharing.agreements_for(ctx, await make_user(charity)))["agreements"] == []
    assert len(seen["agencies"]) == 3


async def test_mou_acceptances_are_for_the_publisher_only(db, ctx):
    from caseframe.core.errors import Forbidden
    from caseframe.core.sharing.mou import accept_mou, acceptances, publish_mou

    agency = await make_agency(ctx, "ashdown-council")
    admin, worker = await make_user(agency, ("system_admin",)), await make_user(agency, name="Robin Worker")
    assert (await acceptances(admin))["mou"] is None
    mou = await publish_mou(admin, "We share only what we must, and say why.")
    await accept_mou(worker, None, mou["version"])
    found = await acceptances(admin)
    assert [a["name"] for a in found["accepted"]] == ["Robin Worker"] and found["users"] == 2
    with pytest.raises(Forbidden):
        await acceptances(worker)


REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


async def test_a_persons_page_lists_the_readers_own_cases_with_their_risk(db, ctx):
    from caseframe.core.persons import service as persons
    from caseframe.core.testing import make_person, open_case

    council = await make_agency(ctx, "ashdown-council")
    ours = await make_user(council)
    person = await make_person(ours)
    case = await open_case(ctx, ours, "noise", REPORT, subjects=[(person["id"], "subject")])
    mine, others = await persons.person_case_links(ours, person["id"])
    assert [(m["case_id"], m["reference"], m["role"]) for m in mine] == [
        (case["id"], case["reference"], "subject")
    ]
    assert mine[0]["risk_level"] == case["risk_level"] and others == 0


async def test_a_panels_case_list_names_cases_only_to_those_who_may_see_them(db, ctx):
    from caseframe.core.panels import service as panels
    from tests.fixtures.partnership import make_panel_world

    world = await make_panel_world(ctx)
    panel = await panels.visible_panel(world["chair"], world["panel"]["id"])
    chaired = await panels.listed_cases(world["chair"], panel)
    assert [(c["case"], c["reference"], c["visible"]) for c in chaired] == [
        (world["case"]["id"], world["case"]["reference"], True)
    ]
    member = await panels.listed_cases(
        world["helper"], await panels.visible_panel(world["helper"], panel["id"])
    )
    assert [(c["reference"], c["owner"], c["visible"]) for c in member] == [("", "", False)]
    assert {a["id"] for a in await panels.member_agencies(panel)} == panel["members"]
    assert len(await panels.active_agencies()) == 4
    assert await panels.meeting_status(world["meeting"]["id"]) == "planned"
    assert await panels.meeting_status(10**9) == "closed"


async def test_an_area_list_export_and_bulk_choice_hold_only_the_actors_agencys_cases(db, ctx):
    from caseframe.core.audit.tables import AuditEvent
    from caseframe.core.cases import lists
    from caseframe.core.cases import service as cases
    from caseframe.core.referrals.queries import referral_targets
    from caseframe.core.testing import open_case

    council, police = await make_agency(ctx, "ashdown-council"), await make_agency(ctx, "police")
    worker, supervisor = await make_user(council), await make_user(council, ("supervisor",))
    stranger = await make_user(police)
    ours = [await open_case(ctx, worker, "noise", REPORT) for _ in range(2)]
    theirs = await open_case(ctx, stranger, "noise", REPORT)
    area = ctx.areas.get("noise")
    listed = await lists.area_list(ctx, worker, area, {"sort": "reference", "owner": "nobody", "page": "9"})
    assert sorted(i["id"] for i in listed["items"]) == sorted(c["id"] for c in ours)
    assert listed["total"] == 2 and listed["number"] == 1 and listed["filters"]["sort"] == "reference"
    assert listed["filters"]["owner"] == ""
    ids, _ = await lists.export_ids(worker, area, {})
    assert sorted(ids) == sorted(c["id"] for c in ours)
    assert await AuditEvent.count().where(AuditEvent.action == "case.export") == 1
    rows, _ = await lists.export_rows(worker, [*ids, theirs["id"]])
    assert set(rows) == set(ids)
    chosen, _ = await lists.reassign_candidates(
        supervisor, area, {"case": [str(ours[0]["id"]), str(theirs["id"])]}
    )
    assert [r["id"] for r in chosen] == [ours[0]["id"]]
    everything, _ = await lists.reassign_candidates(supervisor, area, {"scope": "all"})
    assert len(everything) == 2
    assert {u["id"] for u in await lists.colleagues(worker)} == {worker.id, supervisor.id}
    assert await cases.visible_reference(worker, ours[0]["id"]) == ours[0]["reference"]
    assert await cases.visible_reference(worker, theirs["id"]) == ""
    targets = {group["label"]: group["options"] for group in await referral_targets(ctx, worker)}
    assert targets["Agencies"] == [("agency:police", "Police")]
