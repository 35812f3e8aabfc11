"""The confidential panel pack: marking and recipient on every page, only what the recipient may see, audit, permissions.

PDFs are read back with poppler's pdftotext, page by page, as a reader of the printed pack would see them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from caseframe.core import clock, hookimpl
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.auth.actor import Actor
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import Case
from caseframe.core.errors import ValidationFailed
from caseframe.core.panels import pack
from caseframe.core.panels.tables import AgendaItem, Meeting, MeetingAttendee, Minute, Panel
from caseframe.core.sharing.policy import case_access
from caseframe.core.sharing.tables import CaseShare, SharingAgreement
from caseframe.core.tasks.tables import Task
from caseframe.core.testing import make_agency, make_context, make_person, make_user, web_client
from caseframe.core.testing import sign_in as sign_in_as

AREA_TOML = """
slug = "casework"
title = "Neighbourhood casework"
summary = "A test area whose key answers sit at each sensitivity level."
version = "1.0.0"
reference_prefix = "CWK"

[case]
opening_form = "report"
forms = ["report", "visit"]
risk_levels = ["standard", "medium", "high"]
risk_from = { form = "visit", field = "/risk_level" }

[[roles]]
name = "complainant"
label = "Complainant"

[[roles]]
name = "subject"
label = "Alleged source"

[workflow]
initial = "open"

[[workflow.states]]
name = "open"
label = "Open"

[[workflow.states]]
name = "closed"
label = "Closed"
terminal = true

[[workflow.transitions]]
name = "close"
label = "Close the case"
from = ["open"]
to = "closed"
"""

REPORT_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Report",
    "type": "object",
    "additionalProperties": False,
    "required": ["date_of_incident", "street", "kind"],
    "properties": {
        "date_of_incident": {"title": "Date of the incident", "type": "string", "format": "date"},
        "street": {"title": "Street", "type": "string", "minLength": 1, "x-summary": True},
        "kind": {
            "title": "Kind of problem",
            "type": "string",
            "enum": ["music", "dog", "shouting"],
            "x-labels": ["Loud music", "Barking dog", "Shouting"],
            "x-summary": True,
        },
        "details": {"title": "What happened", "type": "string", "x-summary": True},
        "intelligence": {
            "title": "Police intelligence",
            "type": "string",
            "x-summary": True,
            "x-sensitivity": "sensitive",
        },
        "health": {
            "title": "Effect on health",
            "type": "string",
            "x-summary": True,
            "x-sensitivity": "special_category",
        },
        "working_notes": {"title": "Working notes", "type": "string"},
    },
}
VISIT_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Visit",
    "type": "object",
    "additionalProperties": False,
    "required": ["risk_level"],
    "properties": {
        "risk_level": {
            "title": "Risk to the complainant",
            "type": "string",
            "enum": ["standard", "medium", "high"],
            "x-labels": ["Standard", "Medium", "High"],
            "x-summary": True,
        }
    },
}


class CaseworkArea:
    """A plugin for a test area whose x-summary answers are official, sensitive and special category."""

    def __init__(self, folder: Path):
        (folder / "forms").mkdir(parents=True)
        (folder / "area.toml").write_text(AREA_TOML)
        (folder / "forms/report.schema.json").write_text(json.dumps(REPORT_FORM))
        (folder / "forms/visit.schema.json").write_text(json.dumps(VISIT_FORM))
        self.folder = folder

    @hookimpl
    def register_areas(self) -> list[Path]:
        return [self.folder]


@pytest.fixture
def ctx(tmp_path_factory):
    return make_context(CaseworkArea(tmp_path_factory.mktemp("areas") / "casework"))


# -- reading PDFs ----------------------------------------------------------------------------


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.fail(
            f"{name} (Debian package poppler-utils) is needed to read panel packs back: "
            "run ./dev test, which installs it, or apt-get install poppler-utils"
        )
    return exe


def pdf_pages(pdf: bytes, folder: Path) -> list[str]:
    """The text of each page, extracted one page at a time with pdftotext -f N -l N."""
    path = folder / f"pack-{len(list(folder.iterdir()))}.pdf"
    path.write_bytes(pdf)
    info = subprocess.run([_tool("pdfinfo"), str(path)], capture_output=True, text=True, check=True).stdout
    count = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    return [
        subprocess.run(
            [_tool("pdftotext"), "-layout", "-f", str(n), "-l", str(n), str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for n in range(1, count + 1)
    ]


def pdf_text(pdf: bytes, folder: Path) -> str:
    # one line per line of the page: answers are checked as whole phrases, so join wrapped columns loosely
    return "\n".join(pdf_pages(pdf, folder))


def pdf_objects(pdf: bytes) -> bytes:
    """The PDF with its compressed streams (where WeasyPrint puts the catalogue) inflated, to look for keys."""
    out = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            out.append(zlib.decompress(stream))
        except zlib.error:
            continue
    return b"\n".join(out)


def lines_of(page: str) -> list[str]:
    return [line.strip() for line in page.splitlines() if line.strip()]


# -- a panel with partners under different agreements -------------------------------------------


@dataclass
class World:
    council: dict[str, Any]
    police: dict[str, Any]
    housing: dict[str, Any]
    charity: dict[str, Any]
    chair: Actor
    council_worker: Actor
    officer: Actor
    housing_user: Actor
    charity_user: Actor
    meeting_id: int
    other_meeting_id: int
    cases: dict[str, dict[str, Any]]
    attendees: dict[str, int]


def _report(street: str, details: str, **more: str) -> dict[str, Any]:
    return {
        "date_of_incident": "2026-10-02",
        "street": street,
        "kind": "music",
        "details": details,
        "working_notes": "WORKINGNOTES are no key fact",
        **more,
    }


async def _isa(ref: str, parties: list[int], level: str, starts: dt.date, ends: dt.date) -> int:
    now = clock.now()
    isa = SharingAgreement(
        reference=ref,
        title=f"Agreement {ref}",
        parties=parties,
        purposes=["crime_prevention"],
        areas=["casework"],
        legal_basis="Crime and Disorder Act 1998 s115",
        max_sensitivity=level,
        starts_on=starts,
        ends_on=ends,
        created_at=now,
        updated_at=now,
    )
    await isa.save()
    return isa.id


async def build_world(ctx, *, status: str = "published", extra_cases: int = 3) -> World:
    council = await make_agency(ctx, "ashdown-council", name="Ashdown Council")
    police = await make_agency(ctx, "downland-police", "police", name="Downland Police")
    housing = await make_agency(ctx, "weald-housing", "housing_provider", name="Weald Housing")
    charity = await make_agency(ctx, "hope-charity", "charity", name="Hope Charity")
    chair = await make_user(council, ("caseworker", "panel_chair"), name="Priya Chair")
    council_worker = await make_user(council, ("caseworker",), name="Colin Council")
    officer = await make_user(police, ("caseworker",), name="Pat Officer")
    housing_user = await make_user(housing, ("caseworker",), name="Hana Housing")
    charity_user = await make_user(charity, ("caseworker",), name="Charlie Charity")
    today = clock.today()
    year = dt.timedelta(days=365)
    await _isa("ISA-POLICE", [council["id"], police["id"]], "sensitive", today - year, today + year)
    # ended yesterday: housing sees nothing any more
    await _isa(
        "ISA-HOUSING",
        [council["id"], housing["id"]],
        "special_category",
        today - 2 * year,
        today - dt.timedelta(days=1),
    )
    charity_isa = await _isa(
        "ISA-CHARITY", [council["id"], charity["id"]], "official", today - year, today + year
    )

    people = [
        await make_person(chair, given_name=g, family_name=f, date_of_birth=b)
        for g, f, b in (
            ("Maya", "Kestrel", "1990-01-01"),
            ("Tom", "Rookwood", "2000-06-15"),
            ("Leo", "Kestrel", "2012-09-30"),
        )
    ]
    police_person = await make_person(
        officer, given_name="Ada", family_name="Finchley", date_of_birth="1956-03-09"
    )
    found: dict[str, dict[str, Any]] = {}
    found["council"] = await cases.open_case(
        ctx,
        chair,
        "casework",
        _report(
            "Kestrel Way",
            "Music until 3am most nights",
            intelligence="INTELSECRET links to a local group",
            health="HEALTHSECRET anxiety and sleep loss",
        ),
        subjects=[
            (people[0]["id"], "complainant"),
            (people[1]["id"], "subject"),
            (people[2]["id"], "complainant"),
        ],
    )
    row = await Case.select(Case.version).where(Case.id == found["council"]["id"]).first()
    await cases.save_form(
        ctx, chair, found["council"]["id"], "visit", {"risk_level": "high"}, expected_version=row["version"]
    )
    found["police"] = await cases.open_case(
        ctx,
        officer,
        "casework",
        _report("Heron Close", "Parties at weekends", health="POLICEHEALTH migraines"),
        subjects=[(police_person["id"], "complainant")],
    )
    row = await Case.select(Case.version).where(Case.id == found["police"]["id"]).first()
    await cases.save_form(
        ctx,
        officer,
        found["police"]["id"],
        "visit",
        {"risk_level": "medium"},
        expected_version=row["version"],
    )
    found["charity"] = await cases.open_case(
        ctx, charity_user, "casework", _report("Wren Lane", "CHARITYONLY details of the household")
    )
    for i in range(extra_cases):
        found[f"extra{i}"] = await cases.open_case(
            ctx,
            chair,
            "casework",
            _report(f"Extra Street {i}", "Dogs barking at night " * 20),
            subjects=[(p["id"], "complainant") for p in people],
        )
    await CaseShare.insert(
        CaseShare(
            case=found["council"]["id"],
            agency=charity["id"],
            isa=charity_isa,
            purpose="crime_prevention",
            shared_by=chair.id,
            shared_at=clock.now(),
        )
    )

    now = clock.now()
    panel = Panel(
        slug="ashdown-ccp",
        name="Ashdown Complex Case Panel",
        chair_agency=council["id"],
        member_agencies=[council["id"], police["id"], housing["id"]],
        areas=["casework"],
        created_at=now,
    )
    await panel.save()
    earlier = Meeting(
        panel=panel.id,
        starts_at=now - dt.timedelta(days=28),
        location="Ashdown Civic Centre",
        status="closed",
        created_at=now,
    )
    await earlier.save()
    meeting = Meeting(
        panel=panel.id,
        starts_at=dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC),
        location="Ashdown Civic Centre, Room 2",
        status=status,
        created_at=now,
    )
    await meeting.save()

    old_item = AgendaItem(
        meeting=earlier.id,
        position=1,
        kind="review",
        case=found["council"]["id"],
        title="Kestrel Way review",
        created_at=now,
    )
    await old_item.save()
    correction = Minute(
        meeting=earlier.id,
        item=old_item.id,
        kind="decision",
        text="Refer the household to mediation",
        author=chair.id,
        at=now - dt.timedelta(days=28),
    )
    await correction.save()
    await Minute.insert(
        Minute(
            meeting=earlier.id,
            item=old_item.id,
            kind="decision",
            text="OLDDECISION replaced by a correction",
            author=chair.id,
            at=now - dt.timedelta(days=28, minutes=5),
            superseded_by=correction.id,
        ),
        Minute(
            meeting=earlier.id,
            item=old_item.id,
            kind="discussion",
            text="DISCUSSIONTEXT not a decision",
            author=chair.id,
            at=now - dt.timedelta(days=28, minutes=3),
        ),
    )
    await Task.insert(
        Task(
            case=found["council"]["id"],
            title="Install noise monitoring",
            owner_agency=council["id"],
            due_date=today + dt.timedelta(days=14),
            source="panel",
            meeting_id=earlier.id,
            created_at=now,
        ),
        Task(
            case=found["council"]["id"],
            title="Joint visit with neighbourhood officer",
            owner_agency=police["id"],
            due_date=today - dt.timedelta(days=2),
            source="panel",
            meeting_id=earlier.id,
            created_at=now,
        ),
        Task(
            case=found["council"]["id"],
            title="DONETASK already finished",
            owner_agency=council["id"],
            status="done",
            created_at=now,
        ),
    )

    # agenda titles go to everyone at the meeting, so they name no one and no street
    titles = [
        ("council", "Review: repeated loud music"),
        ("police", "Review: weekend parties"),
        ("charity", "Referral from a partner agency"),
    ]
    titles += [(f"extra{i}", f"Review: extra case {i}") for i in range(extra_cases)]
    position = 1
    for key, title in titles:
        await AgendaItem.insert(
            AgendaItem(
                meeting=meeting.id,
                position=position,
                kind="review",
                case=found[key]["id"],
                title=title,
                created_at=now,
            )
        )
        position += 1
    await AgendaItem.insert(
        AgendaItem(
            meeting=meeting.id,
            position=0,
            kind="actions",
            title="Actions from the last meeting",
            created_at=now,
        )
    )

    attendees: dict[str, int] = {}
    for key, fields in {
        "chair": {"user": chair.id, "agency": council["id"], "name": chair.name},
        "officer": {"user": officer.id, "agency": police["id"], "name": officer.name},
        "housing": {"user": housing_user.id, "agency": housing["id"], "name": housing_user.name},
        "charity": {
            "user": charity_user.id,
            "agency": charity["id"],
            "name": charity_user.name,
            "kind": "guest",
        },
        "advocate": {"name": "Gina Advocate", "organisation": "Independent advocacy", "kind": "guest"},
        "police_guest": {
            "name": "Greg Sergeant",
            "organisation": "Downland Police",
            "kind": "guest",
            "agency": police["id"],
        },
    }.items():
        row = MeetingAttendee(meeting=meeting.id, **fields)
        await row.save()
        attendees[key] = row.id
    return World(
        council,
        police,
        housing,
        charity,
        chair,
        council_worker,
        officer,
        housing_user,
        charity_user,
        meeting.id,
        earlier.id,
        found,
        attendees,
    )


async def recipient(
    w: World, key: str, agency_choice: Any = None, actor: Actor | None = None
) -> pack.Recipient:
    meeting = await pack.load_meeting(w.meeting_id)
    return await pack.recipient_for(actor or w.chair, meeting, w.attendees[key], agency_choice)


async def text_for(ctx, w: World, key: str, tmp_path: Path, agency_choice: Any = None) -> str:
    return pdf_text(
        await pack.build_pack(ctx, w.meeting_id, await recipient(w, key, agency_choice)), tmp_path
    )


def today_text() -> str:
    return clock.now().astimezone(pack.LONDON).strftime("%-d %B %Y")


# -- the document --------------------------------------------------------------------------------


async def test_every_page_is_marked_top_and_bottom_with_recipient_date_and_page_number(db, ctx, tmp_path):
    w = await build_world(ctx, extra_cases=4)
    pdf = await pack.build_pack(ctx, w.meeting_id, await recipient(w, "officer"))
    pages = pdf_pages(pdf, tmp_path)
    assert len(pages) >= 5, "each agenda case starts a page, so the pack spans several pages"
    for number, page in enumerate(pages, 1):
        lines = lines_of(page)
        assert lines[0] == "OFFICIAL-SENSITIVE", f"page {number} does not start with the marking: {lines[:2]}"
        # the footer is one printed line: recipient and date, the marking, the page number
        footer = " ".join(lines[-1].split())
        assert footer.count("OFFICIAL-SENSITIVE") == 1, (
            f"page {number} has no marking at the bottom: {lines[-2:]}"
        )
        assert footer.startswith(f"Prepared for Pat Officer on {today_text()}"), f"page {number}: {footer}"
        assert footer.endswith(f"Page {number} of {len(pages)}"), f"page {number}: {footer}"
        assert "OFFICIAL-SENSITIVE" not in " ".join(lines[1:-1]) or number == 1


async def test_pack_has_title_language_and_the_meeting_agenda_in_order(db, ctx, tmp_path):
    w = await build_world(ctx)
    # the chair's agency sees every agenda case, so every item keeps its own title
    pdf = await pack.build_pack(ctx, w.meeting_id, await recipient(w, "chair"))
    path = tmp_path / "meta.pdf"
    path.write_bytes(pdf)
    info = subprocess.run([_tool("pdfinfo"), str(path)], capture_output=True, text=True, check=True).stdout
    fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in info.splitlines())}
    assert fields["Title"] == "Panel pack: Ashdown Complex Case Panel, 3 December 2026"
    assert fields["Tagged"] == "yes"
    assert re.search(rb"/Lang\s*\(en-GB\)", pdf_objects(pdf)), "the PDF does not declare its language"
    text = pdf_text(pdf, tmp_path)
    assert "Ashdown Complex Case Panel" in text and "Ashdown Civic Centre, Room 2" in text
    assert "3 December 2026 at 10:00am" in text  # 10:00 UTC is 10:00 in London in December
    for name in (
        "Priya Chair",
        "Pat Officer",
        "Hana Housing",
        "Charlie Charity",
        "Gina Advocate",
        "Greg Sergeant",
    ):
        assert name in text
    agenda = text.split("Agenda", 1)[1]
    order = [
        "Actions from the last meeting",
        "Review: repeated loud music",
        "Review: weekend parties",
        "Referral from a partner agency",
        "Review: extra case 0",
    ]
    assert [agenda.index(t) for t in order] == sorted(agenda.index(t) for t in order)


async def test_partner_sees_key_facts_only_up_to_the_isa_level(db, ctx, tmp_path):
    w = await build_world(ctx)
    text = await text_for(ctx, w, "officer", tmp_path)
    council_case = w.cases["council"]
    # key facts of the council's case, seen by the police as a panel member under ISA-POLICE (sensitive)
    for fact in (
        council_case["reference"],
        "Kestrel Way",
        "Music until 3am most nights",
        "Maya Kestrel",
        "Tom Rookwood",
        "Alleged source",
        "Complainant",
        "High",
        "Ashdown Council",
        "Install noise monitoring",
        "Joint visit with neighbourhood officer",
        "(overdue)",
        "Refer the household to mediation",
        "Panel member under ISA-POLICE",
        "INTELSECRET links to a local group",
    ):
        assert fact in text, fact
    assert str(pack.age_on("1990-01-01", clock.today())) in text
    # special-category answer above the ISA's level, superseded and non-decision minutes, done tasks: absent
    # answers no key fact (not x-summary) are left out for everyone
    for secret in ("HEALTHSECRET", "OLDDECISION", "DISCUSSIONTEXT", "DONETASK", "WORKINGNOTES"):
        assert secret not in text, secret
    # the police's own case: everything, including its special-category answer
    assert "POLICEHEALTH migraines" in text and "Your agency’s case" in text
    # the charity's case: no ISA between police and charity, so not even its agenda title (titles name cases)
    assert "Referral from a partner agency" not in text and "Not shared with your agency" in text
    assert pack.WITHHELD_ITEM in text
    assert "CHARITYONLY" not in text and "Wren Lane" not in text
    assert w.cases["charity"]["reference"] not in text


async def test_the_owning_agency_sees_everything_and_partner_cases_at_their_isa_level(db, ctx, tmp_path):
    w = await build_world(ctx)
    text = await text_for(ctx, w, "chair", tmp_path)
    assert "HEALTHSECRET anxiety and sleep loss" in text and "INTELSECRET" in text
    assert "WORKINGNOTES" not in text
    # the police case through ISA-POLICE (sensitive): facts yes, special category no
    assert "Heron Close" in text and "POLICEHEALTH" not in text
    # the charity case through ISA-CHARITY (official), the council being a panel member
    assert "Wren Lane" in text and "CHARITYONLY details of the household" in text


async def test_an_expired_isa_shows_nothing_of_partner_cases(db, ctx, tmp_path):
    w = await build_world(ctx)
    text = await text_for(ctx, w, "housing", tmp_path)
    for absent in (
        "Kestrel Way",
        "Heron Close",
        "Wren Lane",
        "Maya Kestrel",
        "Install noise monitoring",
        "Refer the household to mediation",
        w.cases["council"]["reference"],
    ):
        assert absent not in text, absent
    assert text.count("Not shared with your agency") >= 6  # in the agenda list and in each item's section
    # nor the agenda titles, which name or describe the cases ("Review: NOI-…"): an ended ISA shows no case
    assert "Review: repeated loud music" not in text and pack.WITHHELD_ITEM in text


async def test_a_case_shared_with_a_non_member_agency_shows_at_the_share_level(db, ctx, tmp_path):
    w = await build_world(ctx)
    text = await text_for(ctx, w, "charity", tmp_path)
    assert "Kestrel Way" in text and "Shared with your agency under ISA-CHARITY" in text
    assert "HEALTHSECRET" not in text and "INTELSECRET" not in text
    assert "Heron Close" not in text  # the charity is no panel member and has no ISA with the police
    assert "CHARITYONLY details of the household" in text  # its own case


async def test_guest_with_no_agency_gets_official_facts_of_what_the_chair_agency_sees(db, ctx, tmp_path):
    w = await build_world(ctx)
    text = await text_for(ctx, w, "advocate", tmp_path, "none")
    assert "Kestrel Way" in text and "Heron Close" in text and "Wren Lane" in text
    assert "HEALTHSECRET" not in text and "POLICEHEALTH" not in text and "INTELSECRET" not in text
    assert "official-level answers only" in text
    assert "Prepared for Gina Advocate" in text


async def test_guest_attending_for_an_agency_sees_what_its_users_see(db, ctx, tmp_path):
    w = await build_world(ctx)
    text = await text_for(ctx, w, "police_guest", tmp_path, str(w.police["id"]))
    assert "POLICEHEALTH migraines" in text and "Kestrel Way" in text and "INTELSECRET" in text
    assert "HEALTHSECRET" not in text and "CHARITYONLY" not in text
    with pytest.raises(ValidationFailed):
        # an agency that is neither a member nor recorded on the guest cannot be chosen
        await recipient(w, "police_guest", str(w.charity["id"]))
    with pytest.raises(ValidationFailed):
        await recipient(w, "advocate", "")


async def test_pack_access_is_case_access_at_a_published_meeting(db, ctx):
    w = await build_world(ctx)
    meeting = await pack.load_meeting(w.meeting_id)
    rows = (
        await Case.select().where(Case.id.is_in([c["id"] for c in w.cases.values()])).output(load_json=True)
    )
    for key, actor in (
        ("chair", w.chair),
        ("officer", w.officer),
        ("housing", w.housing_user),
        ("charity", w.charity_user),
    ):
        access, _ = await pack.access_for(meeting, rows, await recipient(w, key))
        for row in rows:
            expected = await case_access(actor, row)
            got = access[row["id"]]
            assert (got and (got.kind, got.max_sensitivity, got.isa_id)) == (
                expected and (expected.kind, expected.max_sensitivity, expected.isa_id)
            ), (key, row["reference"])


async def test_names_are_escaped_in_the_pack(db, ctx, tmp_path):
    w = await build_world(ctx, extra_cases=0)
    await MeetingAttendee.update({MeetingAttendee.name: '<b>Gina</b> "Advocate" & Co'}).where(
        MeetingAttendee.id == w.attendees["advocate"]
    )
    text = await text_for(ctx, w, "advocate", tmp_path, "none")
    assert '<b>Gina</b> "Advocate" & Co' in text


# -- the page ------------------------------------------------------------------------------------


@pytest.fixture
async def browser(db, ctx):
    async with web_client(ctx, db) as client:
        yield client


async def pack_audits() -> list[dict[str, Any]]:
    return (
        await AuditEvent.select()
        .where(AuditEvent.action == "pack.generate")
        .order_by(AuditEvent.id)
        .output(load_json=True)
    )


async def test_chair_makes_a_pack_for_an_attendee_as_an_audited_download(browser, ctx, tmp_path):
    w = await build_world(ctx)
    token = await sign_in_as(browser, w.chair)
    page = await browser.get(f"/meetings/{w.meeting_id}/pack")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    for name in ("Pat Officer", "Gina Advocate", "Greg Sergeant", "Make a pack for an attendee"):
        assert name in page.text
    assert "Pat Officer" not in str(page.url)
    r = await browser.post(
        f"/meetings/{w.meeting_id}/pack",
        data={"csrf_token": token, "attendee_id": str(w.attendees["officer"])},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "no-store"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "Officer" not in disposition and ".pdf" in disposition
    assert "Prepared for Pat Officer" in pdf_text(r.content, tmp_path)
    [event] = await pack_audits()
    assert event["actor_id"] == w.chair.id and event["object_type"] == "meeting"
    assert event["object_id"] == w.meeting_id
    detail = event["detail"]
    assert detail["attendee_id"] == w.attendees["officer"] and detail["recipient_user_id"] == w.officer.id
    assert detail["recipient_agency_id"] == w.police["id"] and detail["made_by"] == "chair"
    assert w.cases["council"]["id"] in detail["case_ids"] and w.cases["police"]["id"] in detail["case_ids"]
    assert detail["withheld_case_ids"] == [w.cases["charity"]["id"]]
    assert detail["access"][str(w.cases["council"]["id"])]["max_sensitivity"] == "sensitive"


async def test_chair_must_say_which_agency_a_guest_attends_for(browser, ctx):
    w = await build_world(ctx)
    token = await sign_in_as(browser, w.chair)
    r = await browser.post(
        f"/meetings/{w.meeting_id}/pack",
        data={"csrf_token": token, "attendee_id": str(w.attendees["advocate"]), "agency_id": "999999"},
    )
    assert r.status_code == 400 and "govuk-error-summary" in r.text
    assert "Select the agency the guest represents" in r.text
    assert (
        f'href="#agency-{w.attendees["advocate"]}"' in r.text
        and f'id="agency-{w.attendees["advocate"]}"' in r.text
    )
    assert await pack_audits() == []
    ok = await browser.post(
        f"/meetings/{w.meeting_id}/pack",
        data={"csrf_token": token, "attendee_id": str(w.attendees["advocate"]), "agency_id": "none"},
    )
    assert ok.status_code == 200
    [event] = await pack_audits()
    assert event["detail"]["rule"] == "guest" and event["detail"]["recipient_agency_id"] is None


async def test_a_member_downloads_only_their_own_pack(browser, ctx, tmp_path):
    w = await build_world(ctx)
    token = await sign_in_as(browser, w.officer)
    page = await browser.get(f"/meetings/{w.meeting_id}/pack")
    assert page.status_code == 200 and "Download your pack" in page.text
    assert "Make a pack for an attendee" not in page.text and "Gina Advocate" not in page.text
    someone_else = await browser.post(
        f"/meetings/{w.meeting_id}/pack", data={"csrf_token": token, "attendee_id": str(w.attendees["chair"])}
    )
    assert someone_else.status_code == 404
    own = await browser.post(
        f"/meetings/{w.meeting_id}/pack",
        data={"csrf_token": token, "attendee_id": str(w.attendees["officer"])},
    )
    assert own.status_code == 200 and "Prepared for Pat Officer" in pdf_text(own.content, tmp_path)
    [event] = await pack_audits()
    assert event["actor_id"] == w.officer.id and event["detail"]["made_by"] == "self"


async def test_guessed_ids_outsiders_and_forged_posts_get_nothing(browser, ctx):
    w = await build_world(ctx)
    token = await sign_in_as(browser, w.council_worker)  # chair agency, but neither chair nor attendee
    assert (await browser.get(f"/meetings/{w.meeting_id}/pack")).status_code == 404
    r = await browser.post(
        f"/meetings/{w.meeting_id}/pack", data={"csrf_token": token, "attendee_id": str(w.attendees["chair"])}
    )
    assert r.status_code == 404
    await browser.post("/sign-out", data={"csrf_token": token})
    token = await sign_in_as(browser, w.chair)
    assert (await browser.get("/meetings/999999/pack")).status_code == 404
    for attendee in ("999999", "abc", ""):
        r = await browser.post(
            f"/meetings/{w.meeting_id}/pack", data={"csrf_token": token, "attendee_id": attendee}
        )
        assert r.status_code == 404 and "Traceback" not in r.text
    # an attendee of another meeting, posted to this one
    other = MeetingAttendee(meeting=w.other_meeting_id, user=w.officer.id, name="Pat Officer")
    await other.save()
    r = await browser.post(
        f"/meetings/{w.meeting_id}/pack", data={"csrf_token": token, "attendee_id": str(other.id)}
    )
    assert r.status_code == 404
    forged = await browser.post(
        f"/meetings/{w.meeting_id}/pack", data={"attendee_id": str(w.attendees["officer"])}
    )
    assert forged.status_code == 403
    assert await pack_audits() == []


async def test_members_wait_for_the_agenda_to_be_published_but_the_chair_does_not(browser, ctx):
    w = await build_world(ctx, status="planned")
    token = await sign_in_as(browser, w.officer)
    page = await browser.get(f"/meetings/{w.meeting_id}/pack")
    assert "has not published this meeting’s agenda" in page.text and "Download your pack" not in page.text
    r = await browser.post(
        f"/meetings/{w.meeting_id}/pack",
        data={"csrf_token": token, "attendee_id": str(w.attendees["officer"])},
    )
    assert r.status_code == 403 and "not published" in r.text
    await browser.post("/sign-out", data={"csrf_token": token})
    token = await sign_in_as(browser, w.chair)
    r = await browser.post(
        f"/meetings/{w.meeting_id}/pack",
        data={"csrf_token": token, "attendee_id": str(w.attendees["officer"])},
    )
    assert r.status_code == 200
