"""Leaks: nothing reaches an agency that it may not see, in any response it can get.

The walk seeds a case with answers above a partner's ISA level, each a unique marker string, lets a
referral rule fire on it (so its facts hold them), changes them (so the timeline holds old and new values),
puts the case to a panel and minutes it, then signs in as the partner and as the agency the referral is
addressed to and reads every page, htmx fragment, JSON API answer, PDF pack and CSV they can reach,
grepping each body for the markers. The other tests are one hole each, found by a hostile tester: each
failed before its fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import re
import shutil
import subprocess
import uuid
from urllib.parse import urlparse

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.auth import service as auth
from caseframe.core.cases import service as cases
from caseframe.core.panels import service as panels
from caseframe.core.panels.tables import AgendaItem
from caseframe.core.referrals import inbox
from caseframe.core.referrals import service as referrals
from caseframe.core.referrals.explain import REFERRAL_ACCESS, explain
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.mou import publish_mou
from caseframe.core.sharing.policy import OWNER, Access
from caseframe.core.testing import TEST_PASSWORD, make_agency, make_person, make_user, sign_in, web_client
from tests.fixtures.counting import decided_in_batches, refuse


def _marker(what: str) -> str:
    # letters and digits only: no escaping (HTML, JSON, CSV, PDF text) can change or split it
    return f"zq{what}{uuid.uuid4().hex[:8]}"


HEALTH = _marker("health")  # special category: above the partner's official ISA
OLD_HEALTH = _marker("oldhealth")  # the value it had before, on the timeline
HIDDEN = (HEALTH, OLD_HEALTH)
#: a sensitive document's name and content: above the partner's official ISA, so never listed nor downloadable
DOCUMENT = _marker("document")


@pytest.fixture
async def world(db, ctx):
    today = clock.today()
    council = await make_agency(ctx, "ashdown-council")
    police = await make_agency(ctx, "wealden-police", agency_type="police")
    youth = await make_agency(ctx, "northshire-youth", agency_type="youth_service")
    owner = await make_user(council, ("caseworker",), name="Olive Owner")
    chair = await make_user(council, ("supervisor", "panel_chair"), name="Chris Chair")
    admin = await make_user(council, ("system_admin",), name="Sam Sysadmin")
    officer = await make_user(police, ("caseworker",), name="Pat Police")
    police_admin = await make_user(police, ("local_admin",), name="Paula Policeadmin")
    youth_worker = await make_user(youth, ("caseworker",), name="Yan Youth")
    isa = await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-1",
        title="Partnership",
        parties=[council["id"], police["id"]],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=10),
        ends_on=today + dt.timedelta(days=100),
        max_sensitivity="official",
    )
    await publish_mou(admin, "We share only what the agreement allows, for its purposes, and keep it safe.")
    # the case: official answers the partner may read, a special-category one it may not, changed once
    case = await cases.open_case(
        ctx,
        owner,
        "noise",
        {
            "date_of_incident": "2026-11-01",
            "street": "Kestrel Way",
            "kind": "music",
            "details": "Music after midnight",
        },
    )
    case = await cases.save_form(
        ctx,
        owner,
        case["id"],
        "visit",
        {"risk_level": "high", "health_impact": OLD_HEALTH},
        expected_version=case["version"],
    )
    case = await cases.save_form(
        ctx,
        owner,
        case["id"],
        "visit",
        {"risk_level": "high", "health_impact": HEALTH},
        expected_version=case["version"],
    )
    # a child complainant: the rule refers to the youth service, and the facts it keeps hold every answer
    child = await make_person(
        owner,
        given_name="Kit",
        family_name="Youngling",
        date_of_birth=(today - dt.timedelta(days=365 * 10)).isoformat(),
    )
    await cases.add_subject(ctx, owner, case["id"], child["id"], "complainant")
    fired = await referrals.firings_of((await inbox.inbox(ctx, youth_worker))[0]["id"])
    assert HEALTH in json.dumps(fired[0]["facts"]), "the rule's facts hold the special-category answer"
    await sharing.share_case(owner, case["id"], agency_id=police["id"], purpose="crime_prevention")
    import io

    from caseframe.core.documents import service as documents
    from caseframe.core.documents.samples import tiny_pdf

    for name, level in ((f"{DOCUMENT}.pdf", "sensitive"), ("Letter to the complainant.pdf", "official")):
        await documents.add_document(
            ctx,
            owner,
            case["id"],
            io.BytesIO(
                tiny_pdf([f"Text of {name}", DOCUMENT])
                if level == "sensitive"
                else tiny_pdf(["An official letter"])
            ),
            name,
            level,
        )
    # the case goes to a panel the police are members of; its meeting is running, minuted, with an action
    panel = await panels.save_panel(
        ctx,
        chair,
        name="Ashdown Complex Case Panel",
        member_agency_ids=[police["id"]],
        areas=["noise"],
        frequency="monthly",
    )
    made = await referrals.raise_referral(
        ctx,
        owner,
        target_kind="panel",
        target=panel["slug"],
        reason="Escalating",
        person_id=child["id"],
        case=case,
    )
    await inbox.accept_to_panel(ctx, chair, made["id"], version=1)
    starts = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(10), tzinfo=dt.UTC)
    meeting = await panels.schedule_meeting(chair, panel["id"], starts_at=starts, location="Committee Room 2")
    await panels.add_attendee(chair, meeting["id"], user_id=officer.id)
    await panels.add_agenda_item(chair, meeting["id"], kind="referral", case_id=case["id"])
    await panels.set_status(chair, meeting["id"], "published")
    await panels.set_status(chair, meeting["id"], "in_progress")
    item = await AgendaItem.select().where(AgendaItem.meeting == meeting["id"]).first()
    await panels.add_minute(
        ctx,
        chair,
        meeting["id"],
        item_id=item["id"],
        kind="action",
        text="Joint visit",
        owner_agency_id=police["id"],
        due_date=today + dt.timedelta(days=7),
    )
    return {
        "ctx": ctx,
        "council": council,
        "police": police,
        "youth": youth,
        "owner": owner,
        "chair": chair,
        "admin": admin,
        "officer": officer,
        "police_admin": police_admin,
        "youth_worker": youth_worker,
        "isa": isa,
        "case": case,
        "child": child,
        "panel": panel,
        "meeting": meeting,
        "item": item,
    }


# -- reading every response -------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.fail("pdftotext (Debian package poppler-utils) is needed: run ./dev test, which installs it")
    return subprocess.run([exe, "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


#: not pages to read: assets, signing out (it would end the walk), the live stream (read on its own)
SKIP = re.compile(r"^/(static|assets|sign-out)|/events$")


async def _walk_pages(client, start: list[str], limit: int = 250) -> dict[str, str]:
    """Every page (and htmx fragment) a link on a page leads to, from ``start``: address -> body."""
    bodies: dict[str, str] = {}
    frontier = list(start)
    while frontier and len(bodies) < limit:
        path = frontier.pop(0)
        if path in bodies or SKIP.search(urlparse(path).path):
            continue
        response = await client.get(path)
        bodies[path] = response.text
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        for link in re.findall(r'(?:href|hx-get|sse-connect)="(/[^"#]*)', response.text):
            link = link.replace("&amp;", "&")
            if link not in bodies:
                frontier.append(link)
    return bodies


async def _reachable(client, world, actor, token: str) -> dict[str, str]:
    """What ``actor`` (signed in on ``client``) can read: pages by following links, then what no link leads to."""
    case, meeting, child = world["case"], world["meeting"], world["child"]
    waiting = await inbox.inbox(world["ctx"], actor)
    sent_or_decided = await inbox.inbox(world["ctx"], actor, box="decided")
    referral_ids = sorted({r["id"] for r in waiting + sent_or_decided})
    start = [
        "/",
        "/referrals",
        "/referrals?box=decided",
        "/referrals?box=sent",
        "/panels",
        f"/cases/{case['id']}",
        f"/cases/{case['id']}/forms/visit",
        f"/cases/{case['id']}/forms/report",
        f"/meetings/{meeting['id']}",
        f"/meetings/{meeting['id']}/pack",
        f"/panels/{world['panel']['id']}",
        f"/persons/{child['id']}",
        "/audit",
        "/sharing/requests",
        "/account",
    ]
    start += [f"/referrals/{r}" for r in referral_ids] + [f"/referrals/{r}/accept" for r in referral_ids]
    bodies = await _walk_pages(client, start)
    # forms that answer with data
    for path, data in (
        ("/persons/search", {"name": "Kit Youngling"}),
        ("/search/national", {"name": "Kit Youngling", "purpose": "crime_prevention"}),
    ):
        bodies[f"POST {path}"] = (await client.post(path, data={**data, "csrf_token": token})).text
    pack = await client.get(f"/meetings/{meeting['id']}/pack")
    for attendee in re.findall(r'name="attendee_id" value="(\d+)"', pack.text):
        response = await client.post(
            f"/meetings/{meeting['id']}/pack", data={"csrf_token": token, "attendee_id": attendee}
        )
        if response.headers.get("content-type", "").startswith("application/pdf"):
            bodies[f"pack for attendee {attendee}"] = pdf_text(response.content)
    bodies["/audit/export.csv"] = (await client.get("/audit/export.csv")).text
    # the JSON API, with a token of its own
    api = await client.post("/api/v1/session", json={"email": actor.email, "password": TEST_PASSWORD})
    bearer = {"authorization": f"Bearer {api.json()['token']}"}
    for path in [
        "/api/v1/cases",
        f"/api/v1/cases/{case['id']}",
        f"/api/v1/cases/{case['id']}/referrals",
        "/api/v1/referrals",
        "/api/v1/referrals?box=decided",
        "/api/v1/referrals?box=sent",
        f"/api/v1/persons/{child['id']}",
        "/api/v1/persons?name=Kit+Youngling",
        "/api/v1/areas/noise",
    ]:
        bodies[f"API {path}"] = (await client.get(path, headers=bearer)).text
    for r in referral_ids:
        bodies[f"API /api/v1/referrals/{r}"] = (
            await client.get(f"/api/v1/referrals/{r}", headers=bearer)
        ).text
    return bodies


def _found(bodies: dict[str, str], markers: tuple[str, ...]) -> list[str]:
    return [f"{marker} in {where}" for where, body in bodies.items() for marker in markers if marker in body]


async def test_a_partner_and_an_addressee_read_no_answer_above_their_level_anywhere(world, db):
    ctx, case = world["ctx"], world["case"]
    async with web_client(ctx, db) as client:
        # the walk can see what it looks for: the owner reads the markers on the case, its timeline and referral
        token = await sign_in(client, world["owner"])
        mine = await _reachable(client, world, world["owner"], token)
        assert _found({k: v for k, v in mine.items() if k == f"/cases/{case['id']}"}, HIDDEN) == [
            f"{HEALTH} in /cases/{case['id']}",
            f"{OLD_HEALTH} in /cases/{case['id']}",
        ]
        assert HEALTH in mine[f"API /api/v1/cases/{case['id']}/referrals"]
        assert (
            DOCUMENT in mine[f"/cases/{case['id']}"] and DOCUMENT in mine[f"API /api/v1/cases/{case['id']}"]
        )
    for who in ("officer", "police_admin", "youth_worker"):
        async with web_client(ctx, db) as client:
            token = await sign_in(client, world[who])
            bodies = await _reachable(client, world, world[who], token)
            assert _found(bodies, HIDDEN + (DOCUMENT,)) == [], who
            if who == "officer":
                # and it did read the case, its timeline, its referrals, the meeting and its pack
                assert "Kestrel Way" in bodies[f"/cases/{case['id']}"]
                assert "Kestrel Way" in bodies[f"API /api/v1/cases/{case['id']}/referrals"]
                assert any(
                    k.startswith("pack for attendee") and "Kestrel Way" in v for k, v in bodies.items()
                )
                assert "Joint visit" in bodies[f"/meetings/{world['meeting']['id']}"]
                # the official document is listed and was downloaded by the walk (its link is followed)
                assert "Letter to the complainant.pdf" in bodies[f"/cases/{case['id']}"]
                assert any(
                    k.startswith(f"/cases/{case['id']}/documents/") and v.startswith("%PDF")
                    for k, v in bodies.items()
                )
            if who == "youth_worker":
                # the addressee reads why the referral was made, official answers only
                page = next(v for k, v in bodies.items() if re.fullmatch(r"/referrals/\d+", k))
                assert "The complainant is under 18" in page and "Their age" in page


async def test_the_referral_facts_api_filters_answers_as_the_case_does(world, db):
    """``GET /api/v1/cases/{id}/referrals`` gave a partner the facts a rule saw, every answer in them."""
    async with web_client(world["ctx"], db) as client:
        api = await client.post(
            "/api/v1/session", json={"email": world["officer"].email, "password": TEST_PASSWORD}
        )
        r = await client.get(
            f"/api/v1/cases/{world['case']['id']}/referrals",
            headers={"authorization": f"Bearer {api.json()['token']}"},
        )
    assert r.status_code == 200
    facts = [f["facts"] for ref in r.json() for f in ref["firings"]]
    assert facts and all(f["case"]["forms"]["visit"] == {"risk_level": "high"} for f in facts)
    assert HEALTH not in r.text


def test_an_explanation_says_an_answer_above_the_level_is_not_shared(world):
    ctx = world["ctx"]
    when = {
        "properties": {
            "case": {
                "properties": {
                    "forms": {
                        "properties": {
                            "visit": {
                                "properties": {
                                    "health_impact": {"const": HEALTH},
                                    "risk_level": {"const": "high"},
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    facts = {"area": "noise", "case": {"forms": {"visit": {"health_impact": HEALTH, "risk_level": "high"}}}}
    owner = {w["question"]: w for w in explain(ctx, None, when, facts, OWNER)}
    assert owner["Visit: Effect on the complainant’s health"]["answer"] == HEALTH
    seen = {w["question"]: w for w in explain(ctx, None, when, facts, REFERRAL_ACCESS)}
    assert seen["Visit: Effect on the complainant’s health"] == {
        "question": "Visit: Effect on the complainant’s health",
        "answer": "Not shared with your agency",
        "looks_for": "",
    }
    assert seen["Visit: Risk to the complainant"]["answer"] == "High"
    special = Access(kind="share", max_sensitivity="special_category")
    assert HEALTH in json.dumps(explain(ctx, None, when, facts, special))


def test_carried_answers_never_include_a_more_sensitive_answer_nested_in_an_official_one():
    from types import SimpleNamespace

    household = {
        "type": "object",
        "properties": {
            "size": {"type": "integer"},
            "diagnosis": {"type": "string", "x-sensitivity": "special_category"},
        },
    }
    form = SimpleNamespace(schema={"type": "object", "properties": {"household": household}})
    area = SimpleNamespace(opening_form="intake", forms={"intake": form})
    ctx = SimpleNamespace(areas={"support": area})
    source = {"area": "support", "data": {"intake": {"household": {"size": 3, "diagnosis": HEALTH}}}}
    assert inbox.carried_answers(ctx, {"person_id": None}, source, "support") == {"household": {"size": 3}}


async def test_the_audit_csv_gives_old_and_new_answers_only_to_the_agency_that_changed_them(world, db):
    county = await make_agency(world["ctx"], "northshire-county")
    county_admin = await make_user(county, ("system_admin",), name="Cora County")
    council_admin = await make_user(world["council"], ("local_admin",), name="Lou Localadmin")
    exports = {}
    for who in (council_admin, county_admin):
        async with web_client(world["ctx"], db) as client:
            await sign_in(client, who)
            exports[who.name] = (await client.get("/audit/export.csv")).text
    assert HEALTH in exports["Lou Localadmin"] and OLD_HEALTH in exports["Lou Localadmin"]
    assert HEALTH not in exports["Cora County"] and OLD_HEALTH not in exports["Cora County"]
    assert "/health_impact" in exports["Cora County"]  # which question changed is still on the record


# -- outstanding actions ---------------------------------------------------------------------


async def _closed_meeting_with_an_action_on_an_unshared_case(world) -> dict:
    """An earlier meeting of the panel discussed a second case and left the council an action on it."""
    ctx, chair, owner = world["ctx"], world["chair"], world["owner"]
    other = await cases.open_case(
        ctx, owner, "noise", {"date_of_incident": "2026-11-02", "street": "Plover Lane", "kind": "dog"}
    )
    made = await referrals.raise_referral(
        ctx, owner, target_kind="panel", target=world["panel"]["slug"], reason="Neighbour dispute", case=other
    )
    await inbox.accept_to_panel(ctx, chair, made["id"], version=1)
    starts = dt.datetime.combine(clock.today(), dt.time(9), tzinfo=dt.UTC)
    earlier = await panels.schedule_meeting(chair, world["panel"]["id"], starts_at=starts, location="Room 1")
    await panels.add_attendee(chair, earlier["id"], user_id=world["officer"].id)
    await panels.add_agenda_item(chair, earlier["id"], kind="referral", case_id=other["id"])
    await panels.set_status(chair, earlier["id"], "published")
    await panels.set_status(chair, earlier["id"], "in_progress")
    item = await AgendaItem.select().where(AgendaItem.meeting == earlier["id"]).first()
    await panels.add_minute(
        ctx,
        chair,
        earlier["id"],
        item_id=item["id"],
        kind="action",
        text="Serve the Plover Lane warning letter",
        owner_agency_id=world["council"]["id"],
        due_date=clock.today() + dt.timedelta(days=5),
    )
    await panels.set_status(chair, earlier["id"], "closed")
    return {"case": other, "meeting": earlier}


async def test_outstanding_actions_on_a_case_the_reader_cannot_see_show_only_that_it_is_not_shared(world, db):
    other = await _closed_meeting_with_an_action_on_an_unshared_case(world)
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["officer"])
        assert (await client.get(f"/cases/{other['case']['id']}")).status_code == 404
        panel_page = await client.get(f"/panels/{world['panel']['id']}")
        meeting_page = await client.get(f"/meetings/{world['meeting']['id']}")
    for page in (panel_page, meeting_page):
        assert page.status_code == 200
        assert "Plover Lane" not in page.text and other["case"]["reference"] not in page.text
        assert "An action on a case not shared with your agency" in page.text
    assert "A case not shared with your agency" in panel_page.text  # the panel's list, its sibling
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["chair"])
        page = await client.get(f"/panels/{world['panel']['id']}")
        assert "Serve the Plover Lane warning letter" in page.text and other["case"]["reference"] in page.text


async def test_completing_a_panel_action_on_a_case_no_longer_shared_answers_with_its_words_redacted(
    world, db
):
    """A police panel action names the council's case and its person; the agreement ends. My work and the task's
    edit page already redacted its words, but completing it through the API answered with them as written, and the
    case page's form (htmx, from a page open since) marked it done and answered with the case page's 404. Now the
    API's answer is redacted and the form goes to My work."""
    from caseframe.core.tasks.tables import Task

    ctx, chair, reference = world["ctx"], world["chair"], world["case"]["reference"]
    await panels.add_minute(
        ctx,
        chair,
        world["meeting"]["id"],
        item_id=world["item"]["id"],
        kind="action",
        text=f"Visit Kit Youngling about {reference}",
        owner_agency_id=world["police"]["id"],
        due_date=clock.today() + dt.timedelta(days=7),
    )
    action = await Task.select().where(Task.title.like("Visit Kit%")).first()
    joint = await Task.select().where(Task.title == "Joint visit").first()
    await sharing.end_isa(world["admin"], world["isa"]["id"], "The agreement was not renewed")
    async with web_client(ctx, db) as client:
        token = await sign_in(client, world["officer"])
        api = await client.post(
            "/api/v1/session", json={"email": world["officer"].email, "password": TEST_PASSWORD}
        )
        bearer = {"authorization": f"Bearer {api.json()['token']}"}
        completed = await client.post(f"/api/v1/tasks/{action['id']}/complete", headers=bearer)
        form = await client.post(
            f"/tasks/{joint['id']}/complete", data={"csrf_token": token}, headers={"hx-request": "true"}
        )
    assert completed.status_code == 201
    assert completed.json()["status"] == "done"
    assert "Kit Youngling" not in completed.text and reference not in completed.text
    assert form.status_code == 200 and form.headers["hx-redirect"] == "/?done=task-done"
    assert {
        t["status"] for t in await Task.select(Task.status).where(Task.id.is_in([action["id"], joint["id"]]))
    } == {"done"}


# -- packs after the meeting -------------------------------------------------------------------


async def test_a_pack_of_a_closed_meeting_holds_only_what_the_attendee_may_see_when_it_is_downloaded(
    world, db
):
    other = await _closed_meeting_with_an_action_on_an_unshared_case(world)
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, world["officer"])
        page = await client.get(f"/meetings/{other['meeting']['id']}/pack")
        attendee = re.search(r'name="attendee_id" value="(\d+)"', page.text).group(1)
        r = await client.post(
            f"/meetings/{other['meeting']['id']}/pack", data={"csrf_token": token, "attendee_id": attendee}
        )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/pdf")
    text = pdf_text(r.content)
    assert "Plover Lane" not in text and "Not shared with your agency" in text
    audit = (
        await AuditEvent.select().where(AuditEvent.action == "pack.generate").output(load_json=True).first()
    )
    assert audit["detail"]["withheld_case_ids"] == [other["case"]["id"]] and audit["detail"]["case_ids"] == []


async def test_the_agenda_and_the_pack_ask_about_all_their_cases_at_once_with_the_same_answers(
    world, monkeypatch
):
    """agenda_for and a pack after the meeting decide every agenda case in one visible_among (fixed queries), never
    case by case; the answers are case_access's, as before."""
    from caseframe.core.panels import pack
    from caseframe.core.sharing import policy

    ctx, officer, youth = world["ctx"], world["officer"], world["youth_worker"]
    other = await _closed_meeting_with_an_action_on_an_unshared_case(world)
    case_id, other_id = world["case"]["id"], other["case"]["id"]
    expected = {
        who.id: {
            cid: await policy.case_access(
                who, {"id": cid, "owning_agency": world["council"]["id"], "area": "noise"}
            )
            is not None
            for cid in (case_id, other_id)
        }
        for who in (officer, youth)
    }
    asked = decided_in_batches(monkeypatch, "an agenda case was decided on its own")
    for who in (officer, youth):
        for meeting_id, cid in ((world["meeting"]["id"], case_id), (other["meeting"]["id"], other_id)):
            [item] = await panels.agenda_for(who, meeting_id)
            assert item["visible"] is expected[who.id][cid]
            assert (item["reference"] == "") is (not expected[who.id][cid])
    assert asked == [1, 1, 1, 1]
    # the pack of the closed meeting, for the police: the case is not theirs to see, and is withheld
    asked.clear()
    monkeypatch.setattr(policy, "sharing_access", refuse("an agenda case was decided on its own"))
    recipient = pack.Recipient(name="Pat Police", agency_id=world["police"]["id"], user_id=officer.id)
    data = await pack.gather_pack(ctx, other["meeting"]["id"], recipient)
    assert asked == [1] and data.access == {other_id: None}
    # for the council, its own case: the owner's access, with no question asked of a share
    council = pack.Recipient(name="Chris Chair", agency_id=world["council"]["id"], user_id=world["chair"].id)
    data = await pack.gather_pack(ctx, other["meeting"]["id"], council)
    assert data.access == {other_id: policy.OWNER}


# -- the access-request form -------------------------------------------------------------------


async def test_the_access_request_form_names_only_a_person_the_asker_may_know_of_and_is_audited(world, db):
    stranger = await make_person(world["owner"], given_name="Rowena", family_name="Quillfeather")
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, world["youth_worker"])
        form = {
            "person_id": stranger["id"],
            "agency_id": world["council"]["id"],
            "purpose": "safeguarding",
            "csrf_token": token,
        }
        guessed = await client.post("/sharing/requests/new", data=form)
        assert guessed.status_code == 404 and "Quillfeather" not in guessed.text
        no_reason = await client.post("/sharing/requests", data=form)
        assert no_reason.status_code == 404 and "Quillfeather" not in no_reason.text
        assert await AuditEvent.count().where(AuditEvent.action == "access.request_form") == 0
        # once their own national search has shown the person, they may ask about them
        found = await client.post(
            "/search/national",
            data={"name": "Rowena Quillfeather", "purpose": "safeguarding", "csrf_token": token},
        )
        assert "Quillfeather" in found.text
        asked = await client.post("/sharing/requests/new", data=form)
        assert asked.status_code == 200 and "Rowena Quillfeather" in asked.text
    shown = await AuditEvent.select().where(AuditEvent.action == "access.request_form").output(load_json=True)
    assert [(e["actor_id"], e["object_id"]) for e in shown] == [(world["youth_worker"].id, stranger["id"])]
    # someone else's search is not theirs
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, world["officer"])
        other = await client.post("/sharing/requests/new", data={**form, "csrf_token": token})
        assert other.status_code == 404 and "Quillfeather" not in other.text


# -- two kinds of credential ------------------------------------------------------------------

#: the web_client's app is a local demo, whose cookie has no __Host- prefix (it runs without HTTPS)
COOKIE = "caseframe_session"


def _session_cookie(client) -> str:
    return dict(client.cookies.items())[COOKIE]


async def test_an_api_token_is_no_browser_session_and_a_session_cookie_no_api_token(world, db):
    async with web_client(world["ctx"], db) as client:
        api = await client.post(
            "/api/v1/session", json={"email": world["officer"].email, "password": TEST_PASSWORD}
        )
        api_token = api.json()["token"]
        # set as the cookie, the API token skipped the memorandum of understanding and opened every page
        client.cookies.set(COOKIE, api_token)
        home = await client.get("/")
        assert home.status_code == 303 and home.headers["location"].startswith("/sign-in")
        assert (await client.get(f"/cases/{world['case']['id']}")).status_code == 303
        client.cookies.clear()
        assert (
            await client.get("/api/v1/areas", headers={"authorization": f"Bearer {api_token}"})
        ).status_code == 200
        await sign_in(client, world["officer"])
        cookie = _session_cookie(client)
        assert (await client.get("/")).status_code == 200
        client.cookies.clear()
        r = await client.get("/api/v1/areas", headers={"authorization": f"Bearer {cookie}"})
        assert r.status_code == 401
        # signing out through the API ends the API token, and a browser cookie sent there ends nothing
        assert (
            await client.delete("/api/v1/session", headers={"authorization": f"Bearer {api_token}"})
        ).status_code == 204
        assert await auth.session_for_token(api_token, api=True) is None
        assert await auth.session_for_token(cookie) is not None


# -- the live minutes stream ------------------------------------------------------------------


class _Stream:
    """A live-minutes stream read straight from the ASGI app, as a browser would hold it open."""

    def __init__(self, app, path: str, cookies: str):
        self.body: list[str] = []
        self.ended = asyncio.Event()
        self._disconnect = asyncio.Event()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"localhost"),
                (b"cookie", cookies.encode()),
                (b"accept", b"text/event-stream"),
            ],
            "client": ("127.0.0.1", 1234),
            "server": ("localhost", 80),
        }
        self.task = asyncio.create_task(app(scope, self._receive, self._send))

    async def _receive(self):
        await self._disconnect.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message):
        if message["type"] == "http.response.body":
            self.body.append(message.get("body", b"").decode())
            if not message.get("more_body", False):
                self.ended.set()

    @property
    def text(self) -> str:
        return "".join(self.body)

    async def wait_for(self, text: str) -> None:
        for _ in range(200):
            if text in self.text:
                return
            await asyncio.sleep(0.025)
        raise AssertionError(f"{text!r} never arrived: {self.text!r}")

    async def close(self) -> None:
        self._disconnect.set()
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task


def _ends(kind: str):
    """What ends the follower's right to the stream, by kind; returns an async function of the world."""

    async def sign_out(world, cookie):
        await auth.sign_out(cookie, world["officer"])

    async def everywhere(world, cookie):
        await auth.sign_out_everywhere(world["officer"])

    async def expiry(world, cookie):
        # idle past the limit: a stream that keeps checking must not keep the session alive by itself
        travel = clock.travel((auth.IDLE_MINUTES + 1) / (24 * 60))
        travel.__enter__()
        world["undo"] = travel

    async def access(world, cookie):
        # the police leave the panel and the meeting: the meeting is no longer theirs to follow
        await panels.save_panel(
            world["ctx"],
            world["chair"],
            panel_id=world["panel"]["id"],
            name=world["panel"]["name"],
            member_agency_ids=[world["youth"]["id"]],
            areas=["noise"],
            frequency="monthly",
        )
        from caseframe.core.panels.tables import MeetingAttendee

        await MeetingAttendee.delete().where(MeetingAttendee.user == world["officer"].id)

    return {"sign_out": sign_out, "everywhere": everywhere, "expiry": expiry, "access": access}[kind]


async def _follow(world, db, monkeypatch) -> tuple[_Stream, str]:
    """The police officer follows the running meeting, heartbeats five times a second; returns the stream and
    the session's cookie, once the stream has delivered the minutes so far."""
    from caseframe.core.panels import web as panel_web
    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    monkeypatch.setattr(panel_web, "HEARTBEAT_SECONDS", 0.2)
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["officer"])
        cookie = _session_cookie(client)
    app = create_app(
        Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=world["ctx"], engine=db
    )
    stream = _Stream(app, f"/meetings/{world['meeting']['id']}/events", f"{COOKIE}={cookie}")
    await stream.wait_for("Joint visit")
    return stream, cookie


async def _minute(world, text: str) -> None:
    await panels.add_minute(
        world["ctx"],
        world["chair"],
        world["meeting"]["id"],
        item_id=world["item"]["id"],
        kind="decision",
        text=text,
    )


@pytest.mark.parametrize("kind", ["sign_out", "everywhere", "expiry", "access"])
async def test_a_live_minutes_stream_ends_with_the_session_or_the_access_it_was_opened_with(
    world, db, kind, monkeypatch
):
    stream, cookie = await _follow(world, db, monkeypatch)
    try:
        await _ends(kind)(world, cookie)
        await _minute(world, "Written after the follower lost the meeting")
        await asyncio.wait_for(stream.ended.wait(), 5)
        assert "Written after the follower lost the meeting" not in stream.text
    finally:
        await stream.close()
        if "undo" in world:
            world["undo"].__exit__(None, None, None)


async def test_a_live_minutes_stream_reads_access_to_each_entry_afresh(world, db, monkeypatch):
    """Losing a case (not the meeting) hides its new entries at once, not when the stream is reopened."""
    from caseframe.core.sharing.tables import CaseShare, SharingAgreement
    from caseframe.core.tasks.tables import Task

    stream, _ = await _follow(world, db, monkeypatch)
    try:
        # the ISA ended yesterday: no share, no panel membership and no action lets the police read the case
        await SharingAgreement.update({SharingAgreement.ends_on: clock.today() - dt.timedelta(days=1)}).where(
            SharingAgreement.id == world["isa"]["id"]
        )
        assert await CaseShare.count() == 1 and await Task.count() == 1
        await _minute(world, "Decided after the police lost the case")
        await stream.wait_for("An entry about an item not shared with your agency")
        assert "Decided after the police lost the case" not in stream.text
    finally:
        await stream.close()
