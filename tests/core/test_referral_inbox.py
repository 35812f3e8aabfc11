"""The referral inbox: who sees a referral, why it was made in plain words, and every way to decide it."""

from __future__ import annotations

import pytest

from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import CaseEvent, CaseSubject
from caseframe.core.errors import Conflict, NotFound, ValidationFailed
from caseframe.core.panels.tables import Panel, PanelCase
from caseframe.core.referrals import inbox
from caseframe.core.referrals import service as referrals
from caseframe.core.referrals.tables import Referral
from caseframe.core.testing import (
    TEST_PASSWORD,
    make_agency,
    make_person,
    make_user,
    sign_in,
    web_client,
)

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


@pytest.fixture
async def world(db, ctx):
    from caseframe.core import clock

    council = await make_agency(ctx, "ashdown-council")
    youth = await make_agency(ctx, "ashdown-youth", agency_type="youth_service")
    youth2 = await make_agency(ctx, "wealden-youth", agency_type="youth_service")
    police = await make_agency(ctx, "wealden-police", agency_type="police")
    owner = await make_user(council, ("caseworker",), name="Olive Owner")
    chair = await make_user(council, ("supervisor", "panel_chair"), name="Chris Chair")
    worker = await make_user(youth, ("caseworker",), name="Yas Youthworker")
    other = await make_user(youth2, ("caseworker",), name="Wendy Wealden")
    officer = await make_user(police, ("caseworker",), name="Pat Police")
    await Panel.insert(
        Panel(
            slug="complex-case-panel",
            name="Complex Case Panel",
            chair_agency=council["id"],
            member_agencies=[council["id"], police["id"]],
            areas=["noise"],
            created_at=clock.now(),
        )
    )
    child = await make_person(owner, given_name="Tia", family_name="Marsh", date_of_birth="2012-05-01")
    case = await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(child["id"], "complainant")])
    referral = await Referral.select().where(Referral.from_case == case["id"]).first()
    return {
        "ctx": ctx,
        "owner": owner,
        "chair": chair,
        "worker": worker,
        "other": other,
        "officer": officer,
        "case": case,
        "child": child,
        "referral": referral,
        "youth": youth,
    }


async def test_a_rule_referral_reaches_every_agency_of_its_type_and_explains_itself(world):
    ctx, r = world["ctx"], world["referral"]
    assert r["target_kind"] == "agency_type" and r["target"] == "youth_service"
    for who in ("worker", "other"):
        waiting = await inbox.inbox(ctx, world[who])
        assert [x["id"] for x in waiting] == [r["id"]]
    assert await inbox.inbox(ctx, world["officer"]) == []
    seen = await inbox.get_referral(ctx, world["worker"], r["id"])
    assert seen["can_decide"] and not seen["is_referrer"]
    why = {w["question"]: w for w in seen["firings"][0]["why"]}
    assert why["Their role on the case"]["answer"] == "complainant"
    assert why["Their age"]["answer"] == "14" and "17 or fewer" in why["Their age"]["looks_for"]
    # the referrer follows it from the case; the police (not addressed) cannot read it at all
    assert (await inbox.get_referral(ctx, world["owner"], r["id"]))["is_referrer"]
    with pytest.raises(NotFound):
        await inbox.get_referral(ctx, world["officer"], r["id"])
    assert await AuditEvent.count().where(AuditEvent.action == "referral.view") == 2


async def test_decline_needs_a_reason_and_tells_the_referring_case(world):
    ctx, r = world["ctx"], world["referral"]
    with pytest.raises(ValidationFailed):
        await inbox.decline(ctx, world["worker"], r["id"], version=r["version"], reason="  ")
    assert (await Referral.select(Referral.status).where(Referral.id == r["id"]).first())["status"] == "open"
    await inbox.decline(
        ctx, world["worker"], r["id"], version=r["version"], reason="Already known to our team"
    )
    row = await Referral.select().where(Referral.id == r["id"]).first()
    assert row["status"] == "declined" and row["decision_note"] == "Already known to our team"
    events = await CaseEvent.select(CaseEvent.summary).where(CaseEvent.case == world["case"]["id"])
    assert any("declined by Ashdown Youth: Already known to our team" in e["summary"] for e in events)
    # it now belongs to the agency that decided it: the other youth service no longer sees it
    assert await inbox.inbox(ctx, world["other"], box="decided") == []
    assert [x["id"] for x in await inbox.inbox(ctx, world["worker"], box="decided")] == [r["id"]]


async def test_asking_for_information_and_answering_it(world):
    ctx, r = world["ctx"], world["referral"]
    await inbox.request_info(ctx, world["worker"], r["id"], version=1, question="Is a parent aware?")
    with pytest.raises(NotFound):  # only the referring agency answers
        await inbox.give_info(ctx, world["other"], r["id"], version=2, answer="yes")
    await inbox.give_info(ctx, world["owner"], r["id"], version=2, answer="Yes, her mother made the call")
    seen = await inbox.get_referral(ctx, world["worker"], r["id"], audit_view=False)
    assert seen["status"] == "open" and [m["kind"] for m in seen["messages"]] == [
        "info_requested",
        "info_given",
    ]
    summaries = [
        e["summary"]
        for e in await CaseEvent.select(CaseEvent.summary).where(CaseEvent.case == world["case"]["id"])
    ]
    assert any("asks for more information" in s for s in summaries)


async def test_two_people_deciding_at_once_never_both_win(world):
    ctx, r = world["ctx"], world["referral"]
    await inbox.decline(ctx, world["worker"], r["id"], version=1, reason="Not for us")
    with pytest.raises(Conflict):  # a colleague who read it before the decision
        await inbox.request_info(ctx, world["worker"], r["id"], version=1, question="Who called?")
    with pytest.raises(NotFound):  # another agency of the type: it is no longer theirs to see
        await inbox.decline(ctx, world["other"], r["id"], version=1, reason="Also not for us")
    with pytest.raises(Conflict):
        await inbox.accept_new_case(
            ctx, world["worker"], r["id"], version=1, area_slug="noise", answers=REPORT, role="complainant"
        )


async def test_accepting_opens_a_case_with_the_person_and_carried_answers(world):
    ctx, r = world["ctx"], world["referral"]
    source = await inbox.source_case_row(r)
    carried = inbox.carried_answers(ctx, r, source, "noise")
    assert carried == REPORT
    case = await inbox.accept_new_case(
        ctx, world["worker"], r["id"], version=1, area_slug="noise", answers=carried, role="complainant"
    )
    assert case["owning_agency_id"] == world["youth"]["id"]
    subjects = await CaseSubject.select(CaseSubject.person).where(CaseSubject.case == case["id"])
    assert [s["person"] for s in subjects] == [world["child"]["id"]]
    row = await Referral.select().where(Referral.id == r["id"]).first()
    assert row["status"] == "accepted" and row["resulting_case"] == case["id"]
    summaries = [
        e["summary"]
        for e in await CaseEvent.select(CaseEvent.summary).where(CaseEvent.case == world["case"]["id"])
    ]
    assert any(f"they opened case {case['reference']}" in s for s in summaries)


async def test_linking_to_an_existing_case_and_taking_a_case_onto_a_panel(world):
    ctx = world["ctx"]
    own = await cases.open_case(
        ctx, world["worker"], "noise", REPORT, subjects=[], trusted_person_ids=frozenset()
    )
    with pytest.raises(ValidationFailed):  # not about this person
        await inbox.accept_link(ctx, world["worker"], world["referral"]["id"], version=1, case_id=own["id"])
    made = await referrals.raise_referral(
        ctx,
        world["owner"],
        target_kind="panel",
        target="complex-case-panel",
        reason="Escalating despite two visits",
        person_id=world["child"]["id"],
        case=world["case"],
    )
    assert not made["merged"]
    with pytest.raises(NotFound):  # the panel's chair agency decides, not the youth service
        await inbox.accept_to_panel(ctx, world["worker"], made["id"], version=1)
    await inbox.accept_to_panel(ctx, world["chair"], made["id"], version=1)
    listed = await PanelCase.select().where(PanelCase.case == world["case"]["id"])
    assert len(listed) == 1 and listed[0]["referral_id"] == made["id"]


async def test_a_second_referral_for_the_same_person_and_target_is_merged(world):
    ctx = world["ctx"]
    again = await referrals.raise_referral(
        ctx,
        world["owner"],
        target_kind="agency_type",
        target="youth_service",
        reason="She called again last night",
        person_id=world["child"]["id"],
        case=world["case"],
    )
    assert again["merged"] and again["id"] == world["referral"]["id"]
    assert await Referral.count() == 1
    seen = await inbox.get_referral(ctx, world["worker"], again["id"], audit_view=False)
    assert seen["messages"][0]["text"] == "Also referred: She called again last night"


async def test_manual_referral_refuses_bad_targets_and_people_not_on_the_case(world):
    ctx = world["ctx"]
    stranger = await make_person(world["owner"], given_name="Sol", family_name="Other")
    for kind, target, person in (
        ("agency", "no-such-agency", None),
        ("panel", "nope", None),
        ("area", "noise", stranger["id"]),
        ("bogus", "x", None),
    ):
        with pytest.raises(ValidationFailed):
            await referrals.raise_referral(
                ctx,
                world["owner"],
                target_kind=kind,
                target=target,
                reason="why",
                person_id=person,
                case=world["case"],
            )
    assert await Referral.count() == 1


async def test_inbox_pages_decide_with_csrf_and_escape_what_people_typed(world, db):
    ctx, r = world["ctx"], world["referral"]
    async with web_client(ctx, db) as client:
        token = await sign_in(client, world["owner"])
        case_page = await client.get(f"/cases/{world['case']['id']}")
        assert "Make a referral" in case_page.text
        made = await client.post(
            f"/cases/{world['case']['id']}/referrals",
            data={
                "csrf_token": token,
                "target": "agency:wealden-police",
                "person_id": str(world["child"]["id"]),
                "reason": "<script>alert(1)</script> loud parties",
            },
        )
        assert made.status_code == 303 and "referral-made" in made.headers["location"]
        bad = await client.post(
            f"/cases/{world['case']['id']}/referrals",
            data={"csrf_token": token, "target": "agency:wealden-police", "reason": ""},
        )
        assert bad.status_code == 400 and "Enter why you are making the referral" in bad.text
        assert (
            await client.post(
                f"/cases/{world['case']['id']}/referrals",
                data={"target": "agency:wealden-police", "reason": "no token"},
            )
        ).status_code == 403
    assert await Referral.count() == 2
    async with web_client(ctx, db) as client:
        token = await sign_in(client, world["officer"])
        listing = await client.get("/referrals")
        assert (
            listing.status_code == 200
            and "loud parties" in listing.text
            and "<script>alert(1)" not in listing.text
        )
        assert listing.headers["cache-control"] == "no-store"
        police_ref = await Referral.select().where(Referral.target == "wealden-police").first()
        shown = await client.get(f"/referrals/{police_ref['id']}")
        assert "&lt;script&gt;" in shown.text and "Decline" in shown.text
        assert (await client.get(f"/referrals/{r['id']}")).status_code == 404  # not the police's
        empty = await client.post(
            f"/referrals/{police_ref['id']}/decline", data={"csrf_token": token, "version": "1"}
        )
        assert empty.status_code == 400 and "Enter why you are declining" in empty.text
        done = await client.post(
            f"/referrals/{police_ref['id']}/decline",
            data={"csrf_token": token, "version": "1", "reason": "Not a police matter"},
        )
        assert done.status_code == 303
        stale = await client.post(
            f"/referrals/{police_ref['id']}/ask", data={"csrf_token": token, "version": "1", "question": "?"}
        )
        assert stale.status_code == 409 and "Someone else" in stale.text
    async with web_client(ctx, db) as client:
        token = await sign_in(client, world["worker"])
        form = await client.get(f"/referrals/{r['id']}/accept?area=noise")
        assert (
            form.status_code == 200
            and "carried from the referring case" in form.text
            and "Kestrel Way" in form.text
        )
        missing = await client.post(
            f"/referrals/{r['id']}/accept",
            data={"csrf_token": token, "version": "1", "area": "noise", "f.street": "Kestrel Way"},
        )
        assert missing.status_code == 400
        assert (await Referral.select(Referral.status).where(Referral.id == r["id"]).first())[
            "status"
        ] == "open"
        accepted = await client.post(
            f"/referrals/{r['id']}/accept",
            data={
                "csrf_token": token,
                "version": "1",
                "area": "noise",
                "role": "complainant",
                "f.date_of_incident.day": "1",
                "f.date_of_incident.month": "11",
                "f.date_of_incident.year": "2026",
                "f.street": "Kestrel Way",
                "f.kind": "music",
            },
        )
        assert accepted.status_code == 303, accepted.text[:2000]
        assert "/cases/" in accepted.headers["location"]


async def test_the_referral_api_lists_explains_and_decides_with_versions(world, db):
    import httpx

    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    ctx, r = world["ctx"], world["referral"]
    app = create_app(Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as client:
        token = (
            await client.post(
                "/api/v1/session", json={"email": world["worker"].email, "password": TEST_PASSWORD}
            )
        ).json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        listed = (await client.get("/api/v1/referrals", headers=headers)).json()
        assert [x["id"] for x in listed] == [r["id"]] and listed[0]["person"]["given_name"] == "Tia"
        one = (await client.get(f"/api/v1/referrals/{r['id']}", headers=headers)).json()
        assert one["why"][0]["facts"] and one["can_decide"]
        assert (await client.get("/api/v1/referrals?box=everything", headers=headers)).status_code == 400
        bad = await client.post(
            f"/api/v1/referrals/{r['id']}/decisions", headers=headers, json={"action": "explode"}
        )
        assert bad.status_code == 422
        stale = await client.post(
            f"/api/v1/referrals/{r['id']}/decisions",
            headers=headers,
            json={"action": "decline", "version": 7, "text": "no"},
        )
        assert stale.status_code == 409
        done = await client.post(
            f"/api/v1/referrals/{r['id']}/decisions",
            headers=headers,
            json={"action": "decline", "version": 1, "text": "Known to us already"},
        )
        assert done.status_code == 200 and done.json()["status"] == "declined"
        assert (await client.get(f"/api/v1/referrals/{r['id'] + 1000}", headers=headers)).status_code == 404


async def test_a_rule_only_the_case_agency_could_receive_raises_no_referral_and_says_so(db, ctx):
    """The noise rule refers a child to youth services; when the only youth service is the case's own agency,
    a referral would wait in its own "sent" list for ever: the timeline says the rule fired instead, once."""
    youth = await make_agency(ctx, "ashdown-youth", agency_type="youth_service")
    worker = await make_user(youth, ("caseworker",), name="Yas Youthworker")
    child = await make_person(worker, given_name="Tia", family_name="Marsh", date_of_birth="2012-05-01")
    case = await cases.open_case(ctx, worker, "noise", REPORT, subjects=[(child["id"], "complainant")])
    assert await Referral.count().where(Referral.from_case == case["id"]) == 0
    assert await inbox.inbox(ctx, worker) == []
    notes = await CaseEvent.select(CaseEvent.summary).where(
        (CaseEvent.case == case["id"]) & (CaseEvent.kind == "referral")
    )
    assert len(notes) == 1 and "so none was raised" in notes[0]["summary"]
    # a second youth service appears: adding a child runs the rule again, and both children are referred to it
    await make_agency(ctx, "wealden-youth", agency_type="youth_service")
    sister = await make_person(worker, given_name="Mia", family_name="Marsh", date_of_birth="2014-02-01")
    await cases.add_subject(ctx, worker, case["id"], sister["id"], "complainant")
    referred = await Referral.select(Referral.person).where(Referral.from_case == case["id"])
    assert sorted(r["person"] for r in referred) == sorted([child["id"], sister["id"]])


async def test_my_works_waiting_referrals_are_the_inboxs_waiting_ones_for_every_kind_of_target(world):
    """My work asks who a referral is for in hand-written SQL (the inbox builds the same rule in the ORM): the two
    must agree on every kind of target, a referral some agency has taken, the referrer's own and a decided one."""
    import datetime as dt
    import itertools

    from caseframe.core import clock
    from caseframe.core.agencies.tables import Agency, AgencyArea
    from caseframe.core.referrals.queries import waiting_for

    ctx, owner = world["ctx"], world["owner"]
    youth = world["youth"]
    await AgencyArea.insert(AgencyArea(agency=youth["id"], area="noise"))
    council = await Agency.select().where(Agency.id == owner.agency_id).first()
    kinds = [
        ("agency_type", "youth_service"),
        ("agency_type", "police"),
        ("area", "noise"),
        ("area", "other"),
        ("agency", "ashdown-youth"),
        ("agency", council["slug"]),
        ("panel", "complex-case-panel"),
        ("panel", "no-such-panel"),
    ]
    raised = [(None, None), (None, world["case"]["id"]), (owner.agency_id, None), (youth["id"], None)]
    taken = [None, youth["id"], owner.agency_id]
    for n, ((kind, target), (by_agency, from_case), target_agency, status) in enumerate(
        itertools.product(kinds, raised, taken, ("open", "info_requested", "declined")), start=1
    ):
        await Referral.insert(
            Referral(
                person=world["child"]["id"] if n % 2 else None,
                from_case=from_case,
                target_kind=kind,
                target=target,
                target_agency=target_agency,
                reason=f"Reason {n}",
                status=status,
                raised_by_agency=by_agency,
                created_at=clock.now() - dt.timedelta(minutes=n),
            )
        )
    for who in ("owner", "chair", "worker", "other", "officer"):
        actor = world[who]
        expected = await inbox.inbox(ctx, actor, box="waiting", limit=50)
        got = await waiting_for(actor)
        assert expected, who
        assert [r["id"] for r in got] == [r["id"] for r in expected], who
        for a, b in zip(got, expected, strict=False):
            assert {
                k: a[k] for k in ("given_name", "family_name", "status", "reason", "target", "created_at")
            } == {
                k: b[k] for k in ("given_name", "family_name", "status", "reason", "target", "created_at")
            }, who


async def test_a_referral_is_not_linked_to_a_closed_case_the_page_offered_before_it_closed(world, db):
    from caseframe.core.errors import CaseClosed

    ctx, child = world["ctx"], world["child"]
    boss = await make_user(world["youth"], ("caseworker", "supervisor"), name="Bea Boss")
    theirs = await cases.open_case(
        ctx,
        world["worker"],
        "noise",
        REPORT,
        subjects=[(child["id"], "complainant")],
        trusted_person_ids=frozenset({child["id"]}),
    )
    rid = world["referral"]["id"]
    assert [c["id"] for c in await inbox.linkable_cases(world["worker"], world["referral"])] == [theirs["id"]]
    await cases.transition_case(ctx, boss, theirs["id"], "close")
    assert await inbox.linkable_cases(world["worker"], world["referral"]) == []
    events, audits = await CaseEvent.count(), await _referral_changes()
    with pytest.raises(CaseClosed) as refused:
        await inbox.accept_link(ctx, world["worker"], rid, version=1, case_id=theirs["id"])
    assert refused.value.status == 409 and refused.value.case_id == theirs["id"]
    async with web_client(ctx, db) as client:
        token = await sign_in(client, world["worker"])
        page = await client.post(
            f"/referrals/{rid}/link", data={"csrf_token": token, "version": "1", "case_id": str(theirs["id"])}
        )
        assert page.status_code == 409 and "This case is closed: reopen it to change it." in page.text
        assert f'href="/cases/{theirs["id"]}">Back to the case' in page.text
    assert await CaseEvent.count() == events
    assert (await Referral.select(Referral.status).where(Referral.id == rid).first())["status"] == "open"
    assert await _referral_changes() == audits


async def _referral_changes() -> int:
    """Audit events of a change to a referral (reading one is not)."""
    return await AuditEvent.count().where(
        AuditEvent.action.like("referral.%") & (AuditEvent.action != "referral.view")
    )
