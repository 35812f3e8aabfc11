"""No answer above an agency's information-sharing agreement reaches it, in any response: a walk of every GET route.

The world is the demo (every built-in area), and the council's caseworker writes unique markers into answers its
forms mark ``x-sensitivity``: a *special category* one (an ASB victim's health) and a *sensitive* one (a licensing
complaint's safeguarding concern). Both cases are shared with a new partner under an ISA of level ``official``, and
with the demo's police under the partnership's ``sensitive`` ISA; both go to a panel the two sit on, whose running
meeting is minuted with an action for each; the licensing rule refers the safeguarding case on (its facts hold the
answer); the partner is notified. The council also adds a document at each level, its name and text a marker: a
document above the reader's level does not exist for them, its name included.

Each partner's caseworker and local admin (and the official partner's system admin, who reads every agency's audit
events) then read every GET route of the app's own table (ids filled from stored
rows, the planted cases' and meeting's among them), every page their pages link to, the JSON API with a bearer token,
the CSV exports, the panel pack for each attendee, their notifications and the e-mails they would be sent. The
official partner reads neither marker anywhere; the police read the sensitive one (the walk reaches them) and never
the special one. The owner's caseworker walks the same and reads both (the walk is not vacuous).
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from caseframe.core import clock
from caseframe.core.agencies import service as agencies
from caseframe.core.cases import service as cases
from caseframe.core.panels import service as panels
from caseframe.core.panels.tables import AgendaItem
from caseframe.core.referrals import inbox
from caseframe.core.referrals import service as referrals
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import (
    TEST_PASSWORD,
    demo_answers,
    make_agency,
    make_context,
    make_user,
    sign_in,
)
from tests.security.test_leaks import _marker, _walk_pages, pdf_text
from tests.security.test_route_walk import SKIP_GET_WALK, _ids, _routes, _user

SPECIAL = _marker("special")  # an ASB victim's health: special category
SENSITIVE = _marker("sensitive")  # a licensing complaint's safeguarding concern: sensitive
OFFICIAL = _marker("official")  # an official answer beside them: every partner reads it
#: documents' names and contents at each level: a document above the reader's level does not exist for them
SPECIAL_DOC = _marker("specialdoc")
SENSITIVE_DOC = _marker("sensitivedoc")
OFFICIAL_DOC = _marker("officialdoc")
#: a hate crime's perceived hostility as any page says it (special category, and a summary answer)
STRAND = "Alternative subculture"
#: where the strand's words are the form's choices, not an answer: the area's schema
CHOICES = re.compile(r"^(API )?/api/v1/areas")
DEMO_PASSWORD = "demo-password-2026"
#: planted ids tried first for each parameter, then a sample of the table's other rows
PLANTED_PARAMS = {
    "case_id": "cases",
    "meeting_id": "meetings",
    "panel_id": "panels",
    "person_id": "persons",
    "referral_id": "referrals",
    "notification_id": "notifications",
    "task_id": "tasks",
    "document_id": "documents",
}


async def _actor(email: str):
    return await agencies.actor_for((await _user(email))["id"])


@pytest.fixture
async def planted(db):
    from caseframe.core.cases.tables import CaseSubject
    from caseframe.core.demo import load_demo
    from caseframe.core.documents import service as documents
    from caseframe.core.documents.samples import tiny_pdf
    from caseframe.core.notifications.tables import Notification
    from caseframe.core.referrals.tables import Referral
    from caseframe.core.tasks.tables import Task

    ctx = make_context(builtins=True)
    await load_demo(ctx)
    owner = await _actor("casey.morgan@ashdown-council.example")
    chair = await _actor("priya.shah@ashdown-council.example")
    admin = await _actor("sysadmin@northshire-county.example")
    council, police = owner.agency_id, (await _actor("sam.okafor@northshire-police.example")).agency_id
    # the partner opens no cases: a new-case form's choices are no answer
    partner = await make_agency(
        ctx, "marker-partner", agency_type="housing_provider", name="Marker Housing", areas=[]
    )
    partner_worker = await make_user(partner, ("caseworker",), name="Petra Partner")
    partner_admin = await make_user(partner, ("local_admin",), name="Piet Partneradmin")
    # a system admin reads every agency's audit events: the partner's reads them under its official ISA
    partner_sysadmin = await make_user(partner, ("system_admin",), name="Sy Partnersys")
    police_worker = await _actor("sam.okafor@northshire-police.example")
    police_admin = await make_user(
        {"id": police, "slug": "northshire-police"}, ("local_admin",), name="Pola Policeadmin"
    )
    today = clock.today()
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-MARKER",
        title="Council and Marker Housing",
        parties=[council, partner["id"]],
        purposes=["crime_prevention", "safeguarding"],
        areas=["asb", "licensing"],
        legal_basis="Housing Act 1996",
        starts_on=today - dt.timedelta(days=10),
        ends_on=today + dt.timedelta(days=100),
        max_sensitivity="official",
    )
    report = {**demo_answers(ctx, "asb"), "description": f"Shouting in the stairwell {OFFICIAL}"}
    asb = await cases.open_case(ctx, owner, "asb", report)
    risk = {**demo_answers(ctx, "asb", "risk_assessment"), "health_impact": True, "health_details": SPECIAL}
    asb = await cases.save_form(
        ctx,
        owner,
        asb["id"],
        "risk_assessment",
        {**risk, "health_details": "Poor sleep"},
        expected_version=asb["version"],
    )
    asb = await cases.save_form(
        ctx, owner, asb["id"], "risk_assessment", risk, expected_version=asb["version"]
    )
    # a police hate crime case: the hostility perceived is special category and a summary answer (lists, the pack)
    hate = await cases.open_case(
        ctx,
        police_worker,
        "hate_crime",
        {**demo_answers(ctx, "hate_crime"), "strands": ["alternative_subculture"]},
    )
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-MARKER-2",
        title="Police and Marker Housing",
        parties=[police, partner["id"]],
        purposes=["crime_prevention"],
        areas=["hate_crime"],
        legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=10),
        ends_on=today + dt.timedelta(days=100),
        max_sensitivity="official",
    )
    await sharing.share_case(police_worker, hate["id"], agency_id=partner["id"], purpose="crime_prevention")
    complaint = {
        **demo_answers(ctx, "licensing"),
        "description": f"Rude to a passenger {OFFICIAL}",
        "safeguarding_concern": True,
        "safeguarding_details": SENSITIVE,
    }
    lic = await cases.open_case(ctx, owner, "licensing", complaint)
    for case in (asb, lic):
        for agency in (partner["id"], police):
            await sharing.share_case(owner, case["id"], agency_id=agency, purpose="crime_prevention")
    panel = await panels.save_panel(
        ctx,
        chair,
        name="Marker Panel",
        member_agency_ids=[partner["id"], police],
        areas=["asb", "licensing", "hate_crime"],
        frequency="monthly",
    )
    for case, by in ((asb, owner), (lic, owner), (hate, police_worker)):
        made = await referrals.raise_referral(
            ctx, by, target_kind="panel", target=panel["slug"], reason="Escalating", case=case
        )
        await inbox.accept_to_panel(ctx, chair, made["id"], version=1)
    starts = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(10), tzinfo=dt.UTC)
    meeting = await panels.schedule_meeting(chair, panel["id"], starts_at=starts, location="Room 4")
    for user in (partner_worker, police_worker):
        await panels.add_attendee(chair, meeting["id"], user_id=user.id)
    for case in (asb, lic, hate):
        await panels.add_agenda_item(chair, meeting["id"], kind="referral", case_id=case["id"])
    await panels.set_status(chair, meeting["id"], "published")
    await panels.set_status(chair, meeting["id"], "in_progress")
    items = await AgendaItem.select().where(AgendaItem.meeting == meeting["id"])
    for item, agency in zip(items, (partner["id"], police, partner["id"]), strict=True):
        await panels.add_minute(
            ctx,
            chair,
            meeting["id"],
            item_id=item["id"],
            kind="action",
            text="Visit together",
            owner_agency_id=agency,
            due_date=today + dt.timedelta(days=7),
        )
    case_ids = [asb["id"], lic["id"], hate["id"]]
    document_ids = []
    for case, name, level in (
        (asb, SPECIAL_DOC, "special_category"),
        (lic, SENSITIVE_DOC, "sensitive"),
        (asb, OFFICIAL_DOC, "official"),
    ):
        added = await documents.add_document(
            ctx, owner, case["id"], io.BytesIO(tiny_pdf([f"Text of {name}"])), f"{name}.pdf", level
        )
        document_ids.append(added["id"])
    ids = {
        "cases": case_ids,
        "meetings": [meeting["id"]],
        "panels": [panel["id"]],
        "persons": sorted(
            {
                s["person"]
                for s in await CaseSubject.select(CaseSubject.person).where(CaseSubject.case.is_in(case_ids))
            }
        ),
        "documents": document_ids,
        "referrals": [
            r["id"] for r in await Referral.select(Referral.id).where(Referral.from_case.is_in(case_ids))
        ],
        "notifications": [
            n["id"]
            for n in await Notification.select(Notification.id).where(Notification.case_id.is_in(case_ids))
        ],
        "tasks": [t["id"] for t in await Task.select(Task.id).where(Task.case.is_in(case_ids))],
    }
    return {
        "ctx": ctx,
        "owner": owner,
        "partner_worker": partner_worker,
        "partner_admin": partner_admin,
        "partner_sysadmin": partner_sysadmin,
        "police_worker": police_worker,
        "police_admin": police_admin,
        "asb": asb,
        "lic": lic,
        "hate": hate,
        "meeting": meeting,
        "panel": panel,
        "ids": ids,
    }


async def _urls(app, ctx, planted) -> list[str]:
    """Every GET route of the app, ids filled from the planted rows first, then a sample of every table's."""
    from tests.security.test_route_walk import ID_SOURCES

    slugs = sorted(ctx.areas.areas)
    forms = sorted({f for area in ctx.areas.areas.values() for f in area.forms})
    out: list[str] = []
    for method, template in sorted(set(_routes(app))):
        if method != "GET" or SKIP_GET_WALK.search(template):
            continue
        urls = [template]
        for name, kind in re.findall(r"\{(\w+):(\w+)\}", template):
            if kind == "int":
                own = [str(i) for i in planted["ids"].get(PLANTED_PARAMS.get(name, ""), [])]
                values = own + [i for i in await _ids(ID_SOURCES[name]) if i not in own][: 2 if own else 4]
            else:
                values = slugs if name == "slug" else forms if name == "form_name" else ["x"]
            urls = [u.replace(f"{{{name}:{kind}}}", v, 1) for u in urls for v in values]
        out += urls
    return out


async def _everything_as(client, app, planted, actor, password: str) -> dict[str, str]:
    from caseframe.core.notifications.service import email_text, list_for
    from caseframe.core.notifications.tables import Notification

    token = await sign_in(client, actor, password)
    ctx, meeting = planted["ctx"], planted["meeting"]
    api = await client.post("/api/v1/session", json={"email": actor.email, "password": password})
    bearer = {"Authorization": f"Bearer {api.json()['token']}"}
    bodies: dict[str, str] = {}
    for url in await _urls(app, ctx, planted):
        response = await client.get(url, headers=bearer if url.startswith("/api/") else None)
        bodies[url] = (
            pdf_text(response.content)
            if response.headers.get("content-type", "").startswith("application/pdf")
            else response.text
        )
    case_ids = planted["ids"]["cases"]
    start = [
        "/",
        "/notifications",
        "/dashboard",
        "/panels",
        f"/meetings/{meeting['id']}",
        f"/meetings/{meeting['id']}/pack",
        "/audit",
        "/audit/export.csv",
        "/referrals?box=sent",
        "/referrals?box=decided",
    ]
    start += [f"/cases/{c}" for c in case_ids] + [f"/api/v1/cases/{c}/referrals" for c in case_ids]
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
    start += [f"/areas/{a}/export.csv" for a in ("asb", "licensing")]
    linked = await _walk_pages(client, [s for s in start if s not in bodies], limit=200)
    bodies.update({k: v for k, v in linked.items() if k not in bodies})
    # the pack, for each attendee the reader may ask it for
    page = await client.get(f"/meetings/{meeting['id']}/pack")
    for attendee in re.findall(r'name="attendee_id" value="(\d+)"', page.text):
        response = await client.post(
            f"/meetings/{meeting['id']}/pack", data={"csrf_token": token, "attendee_id": attendee}
        )
        if response.headers.get("content-type", "").startswith("application/pdf"):
            bodies[f"pack for attendee {attendee}"] = pdf_text(response.content)
    # the notifications, and each as the e-mail would say it (from the words as stored)
    listed = {n["id"]: n for n in await list_for(actor)}
    for note in await Notification.select().where(Notification.id.is_in(sorted(listed) or [0])):
        bodies[f"notification {note['id']}"] = repr(listed[note["id"]])
        bodies[f"e-mail {note['id']}"] = await email_text(
            actor.id, note["text"], note["case_id"], note["kind"]
        )
    for path in ("/api/v1/cases", "/api/v1/referrals", "/api/v1/referrals?box=sent"):
        bodies[f"API {path}"] = (await client.get(path, headers=bearer)).text
    return bodies


def _found(bodies: dict[str, str], markers: tuple[str, ...]) -> list[str]:
    return sorted(f"{m} in {where}" for where, body in bodies.items() for m in markers if m in body)


async def _walk(db, planted, who: str, password: str = TEST_PASSWORD) -> dict[str, str]:
    import httpx

    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    app = create_app(
        Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=planted["ctx"], engine=db
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://localhost"
    ) as client:
        return await _everything_as(client, app, planted, planted[who], password)


@pytest.mark.parametrize("who", ["partner_worker", "partner_admin", "partner_sysadmin"])
async def test_an_official_partner_reads_no_sensitive_or_special_answer_anywhere(db, planted, who):
    bodies = await _walk(db, planted, who)
    assert len(bodies) > 250, f"only {len(bodies)} responses read: is the walk reading the route table?"
    assert _found(bodies, (SPECIAL, SENSITIVE, SPECIAL_DOC, SENSITIVE_DOC)) == []
    assert _found({k: v for k, v in bodies.items() if not CHOICES.match(k)}, (STRAND,)) == []
    if who == "partner_worker":
        # the walk reached the cases, the meeting and the pack
        for case in ("asb", "lic"):
            assert OFFICIAL in bodies[f"/cases/{planted[case]['id']}"]
        assert OFFICIAL in bodies[f"/api/v1/cases/{planted['asb']['id']}"]
        assert any(k.startswith("pack for attendee") and "Visit together" in v for k, v in bodies.items())
        assert OFFICIAL_DOC in bodies[f"/cases/{planted['asb']['id']}"]
        assert (
            OFFICIAL_DOC
            in bodies[f"/cases/{planted['asb']['id']}/documents/{planted['ids']['documents'][2]}"]
        )


@pytest.mark.parametrize("who", ["police_worker", "police_admin"])
async def test_a_sensitive_partner_reads_no_special_answer_anywhere(db, planted, who):
    bodies = await _walk(db, planted, who, DEMO_PASSWORD if who == "police_worker" else TEST_PASSWORD)
    assert _found(bodies, (SPECIAL, SPECIAL_DOC)) == []
    if who == "police_worker":
        assert SENSITIVE in bodies[f"/cases/{planted['lic']['id']}"]
        assert SENSITIVE_DOC in bodies[f"/cases/{planted['lic']['id']}"]
        assert SENSITIVE in bodies[f"/api/v1/cases/{planted['lic']['id']}"]
        assert STRAND in bodies[f"/cases/{planted['hate']['id']}"]  # their own case


async def test_the_owner_reads_every_marker_so_the_walk_is_not_vacuous(db, planted):
    bodies = await _walk(db, planted, "owner", DEMO_PASSWORD)
    assert SPECIAL in bodies[f"/cases/{planted['asb']['id']}"]
    assert SENSITIVE in bodies[f"/cases/{planted['lic']['id']}"]
    assert SPECIAL in bodies[f"/api/v1/cases/{planted['asb']['id']}"]
    assert SENSITIVE in bodies[f"/api/v1/cases/{planted['lic']['id']}"]
    assert SPECIAL_DOC in bodies[f"/cases/{planted['asb']['id']}"]
    assert SPECIAL_DOC in bodies[f"/cases/{planted['asb']['id']}/documents/{planted['ids']['documents'][0]}"]
    # and the police's hate crime, which the council reads under the partnership's sensitive ISA: not its strand
    assert (
        _found(
            {k: v for k, v in bodies.items() if not CHOICES.match(k) and "/areas/hate_crime/new" not in k},
            (STRAND,),
        )
        == []
    )
    # the rule that fired on the safeguarding concern kept it in its facts, which the owner reads
    assert SENSITIVE in bodies[f"/api/v1/cases/{planted['lic']['id']}/referrals"]


def test_the_planted_ids_cover_every_parameter_name():
    from tests.security.test_route_walk import ID_SOURCES

    assert set(PLANTED_PARAMS) <= set(ID_SOURCES)
