"""Subject access requests: recording a request and its statutory deadline, what an export holds for a local admin
(their agency's records) and a system admin (what their position may see), third-party marks, restricted and
erased cases, merged and unknown persons, the PDF read back with pdftotext, and the audit trail."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.errors import Forbidden, NotFound, ValidationFailed
from caseframe.core.persons import service as persons
from caseframe.core.retention import service as retention
from caseframe.core.sar import service as sar
from caseframe.core.sar.tables import SubjectAccessRequest
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import make_agency, make_context, make_person, make_user
from tests.core.test_pack import pdf_text
from tests.fixtures.areas import noise_plugin

REPORT = {
    "date_of_incident": "2026-11-01",
    "street": "Kestrel Way",
    "kind": "music",
    "details": "Jane Whitlow says the music from number 4 goes on all night",
}
YEAR = 365.25


@pytest.fixture
def ctx():
    return make_context(noise_plugin)


@pytest.fixture
async def world(db, ctx):
    council = await make_agency(ctx, "sar-council", name="Sar District Council")
    police = await make_agency(ctx, "sar-police", agency_type="police", name="Sar Police")
    worker = await make_user(council, ("caseworker",), name="Casey Worker")
    boss = await make_user(council, ("supervisor",), name="Sue Pervisor")
    admin = await make_user(council, ("local_admin",), name="Alex Admin")
    officer = await make_user(police, ("caseworker",), name="Pat Police")
    police_admin = await make_user(police, ("local_admin",), name="Pip Policeadmin")
    sysadmin = await make_user(police, ("system_admin",), name="Sid Sysadmin")
    today = clock.today()
    isa = await sharing.create_isa(
        ctx,
        sysadmin,
        reference="ISA-SAR",
        title="Partnership",
        parties=[council["id"], police["id"]],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="CDA 1998 s.115",
        starts_on=today - dt.timedelta(days=400),
        ends_on=today + dt.timedelta(days=100),
        max_sensitivity="official",
    )
    reece = await make_person(
        worker,
        given_name="Reece",
        family_name="Dunmore",
        date_of_birth="1988-03-14",
        aliases=["Reese Dunmoor"],
    )
    jane = await make_person(worker, given_name="Jane", family_name="Whitlow", date_of_birth="1970-06-01")
    # shared with the police: Reece is the alleged source, Jane the complainant
    shared = await cases.open_case(
        ctx, worker, "noise", REPORT, subjects=[(reece["id"], "subject"), (jane["id"], "complainant")]
    )
    shared = await cases.save_form(
        ctx,
        worker,
        shared["id"],
        "visit",
        {"risk_level": "high", "health_impact": "Panic attacks most nights"},
        expected_version=shared["version"],
    )
    await cases.add_note(ctx, worker, shared["id"], "Spoke to Ms Whitlow; Reece denies it")
    await cases.add_note(ctx, worker, shared["id"], "Reece agreed to turn the music down")
    await sharing.share_case(worker, shared["id"], agency_id=police["id"], purpose="crime_prevention")
    # the council's alone, restricted while it is reviewed
    restricted = await cases.open_case(
        ctx, worker, "noise", {**REPORT, "details": "A second report"}, subjects=[(reece["id"], "subject")]
    )
    # erased under the retention policy
    with clock.travel(-7 * YEAR):
        old = await cases.open_case(
            ctx, worker, "noise", {**REPORT, "details": "An old report"}, subjects=[(reece["id"], "subject")]
        )
        await cases.transition_case(ctx, boss, old["id"], "close")
    await retention.erase(ctx, admin, old["id"], "Past its retention period")
    await retention.set_restricted(ctx, admin, restricted["id"], True, "Complaint under review")
    # the police's own case about Reece, never shared
    police_case = await cases.open_case(
        ctx,
        officer,
        "noise",
        {**REPORT, "details": "Police-only intelligence"},
        subjects=[(reece["id"], "subject")],
    )
    return {
        "council": council,
        "police": police,
        "worker": worker,
        "boss": boss,
        "admin": admin,
        "officer": officer,
        "police_admin": police_admin,
        "sysadmin": sysadmin,
        "isa": isa,
        "reece": reece,
        "jane": jane,
        "shared": shared,
        "restricted": restricted,
        "old": old,
        "police_case": police_case,
    }


def _days_ago(days: int) -> dt.date:
    return clock.today() - dt.timedelta(days=days)


async def _request(actor, person, received: dt.date | None = None):
    received = received or _days_ago(5)
    return await sar.create_request(
        actor,
        {
            "person_id": str(person["id"]),
            "requester": "The person, by e-mail",
            "received_on": received.isoformat(),
            "notes": "Their ref: RD/1",
        },
    )


def test_the_deadline_is_one_calendar_month_or_three_when_extended():
    assert sar.due_date(dt.date(2026, 1, 31)) == dt.date(2026, 2, 28)
    assert sar.due_date(dt.date(2028, 1, 31)) == dt.date(2028, 2, 29)
    assert sar.due_date(dt.date(2026, 11, 20)) == dt.date(2026, 12, 20)
    assert sar.due_date(dt.date(2026, 11, 30), extended=True) == dt.date(2027, 2, 28)
    assert sar.due_date(dt.date(2026, 12, 15)) == dt.date(2027, 1, 15)


async def test_a_request_is_recorded_with_its_deadline_and_listed_soonest_first(world):
    first = await _request(world["admin"], world["reece"], _days_ago(3))
    second = await _request(world["admin"], world["jane"], _days_ago(40))
    listed = await sar.list_requests(world["admin"])
    assert first["reference"].startswith(f"SAR-{clock.now().year}-")
    assert [r["id"] for r in listed] == [second["id"], first["id"]]
    assert (
        listed[1]["due_on"] == sar.add_months(_days_ago(3), 1) and listed[1]["person_name"] == "Reece Dunmore"
    )
    assert listed[0]["overdue"] and not listed[1]["overdue"]
    created = await AuditEvent.select().where(AuditEvent.action == "sar.create").output(load_json=True)
    assert {e["object_id"] for e in created} == {first["id"], second["id"]}
    assert created[0]["detail"]["person_id"] == world["reece"]["id"]
    # another agency's admin neither lists nor opens it
    assert await sar.list_requests(world["police_admin"]) == []
    with pytest.raises(NotFound):
        await sar.get_request(world["police_admin"], first["id"])


async def test_bad_requests_are_named_and_change_nothing(world):
    cases_ = [
        ({"person_id": "", "requester": "", "received_on": ""}, {"/person_id", "/requester", "/received_on"}),
        ({"person_id": "abc", "requester": "X", "received_on": "2026-02-30"}, {"/person_id", "/received_on"}),
        ({"person_id": "999999", "requester": "X", "received_on": _days_ago(9).isoformat()}, {"/person_id"}),
        (
            {"person_id": "99999999999999999999", "requester": "X", "received_on": _days_ago(9).isoformat()},
            {"/person_id"},
        ),
        (
            {"person_id": str(world["reece"]["id"]), "requester": "X", "received_on": "2099-01-01"},
            {"/received_on"},
        ),
    ]
    for data, fields in cases_:
        with pytest.raises(ValidationFailed) as bad:
            await sar.create_request(world["admin"], data)
        assert {e["field"] for e in bad.value.errors} == fields, data
    # a person held only by another agency is "not found" to this one
    theirs = await make_person(world["officer"], given_name="Only", family_name="Police")
    with pytest.raises(ValidationFailed) as bad:
        await _request(world["admin"], theirs)
    assert "No person with that record number" in bad.value.errors[0]["message"]
    assert await SubjectAccessRequest.count() == 0


async def test_only_admins_handle_requests(world):
    for who in ("worker", "boss", "officer"):
        with pytest.raises(Forbidden):
            await _request(world[who], world["reece"])
        with pytest.raises(Forbidden):
            await sar.list_requests(world[who])
    made = await _request(world["admin"], world["reece"])
    with pytest.raises(Forbidden):
        await sar.export_request(make_context(noise_plugin), world["worker"], made["id"], "json")


async def test_a_local_admins_export_holds_their_agencys_records_with_third_parties_marked(ctx, world):
    made = await _request(world["admin"], world["reece"])
    content, media, filename = await sar.export_request(ctx, world["admin"], made["id"], "json")
    assert media == "application/json" and filename == f"subject-access-request-{made['reference']}.json"
    report = json.loads(content)
    assert report["scope"] == "agency"
    person = report["person"]
    assert (person["given_name"], person["family_name"], person["date_of_birth"]) == (
        "Reece",
        "Dunmore",
        "1988-03-14",
    )
    assert person["other_names"] == ["Reese Dunmoor"]
    refs = [c["reference"] for c in report["cases"]]
    assert refs == [world["shared"]["reference"], world["restricted"]["reference"]]
    # the police's own case is not the council's to disclose
    assert world["police_case"]["reference"] not in content.decode()
    assert "Police-only intelligence" not in content.decode()
    shared, restricted = report["cases"]
    assert restricted["restricted"] and restricted["restriction_reason"] == "Complaint under review"
    assert not shared["restricted"]
    # the council owns the case: every answer, special category included
    answers = {a["question"]: a["answer"] for f in shared["forms"] for a in f["answers"]}
    assert answers["Effect on the complainant’s health"] == "Panic attacks most nights"
    assert [s["agency"] for s in shared["shares"]] == ["Sar Police"]
    notes = [e["text"] for e in shared["timeline"] if e["kind"] == "note"]
    assert notes == ["Spoke to Ms Whitlow; Reece denies it", "Reece agreed to turn the music down"]
    # erased: a tombstone, nothing of its content
    assert [e["reference"] for e in report["erased_cases"]] == [world["old"]["reference"]]
    assert "An old report" not in content.decode()
    # third parties: Jane's entry, the note and the answer naming her, the questions about the complainant
    marks = {m["path"]: m for m in report["redactions"]}
    people = shared["people"]
    jane_at = next(i for i, p in enumerate(people) if p["name"] == "Jane Whitlow")
    assert people[jane_at]["third_party"] and f"/cases/0/people/{jane_at}" in marks
    assert not any(p["third_party"] for p in people if p["name"] == "Reece Dunmore")
    note_at = next(i for i, e in enumerate(shared["timeline"]) if e["text"].startswith("Spoke to"))
    assert marks[f"/cases/0/timeline/{note_at}/text"]["kind"] == "mentions"
    assert "Jane Whitlow" in marks[f"/cases/0/timeline/{note_at}/text"]["reason"]
    other_note = next(i for i, e in enumerate(shared["timeline"]) if e["text"].startswith("Reece agreed"))
    assert f"/cases/0/timeline/{other_note}/text" not in marks
    report_form = next(i for i, f in enumerate(shared["forms"]) if f["form"] == "report")
    details = next(
        i for i, a in enumerate(shared["forms"][report_form]["answers"]) if a["question"] == "What happened"
    )
    assert f"/cases/0/forms/{report_form}/answers/{details}/answer" in marks
    visit = next(i for i, f in enumerate(shared["forms"]) if f["form"] == "visit")
    about = [p for p in marks if p.startswith(f"/cases/0/forms/{visit}/answers/")]
    assert len(about) == 2 and all("complainant" in marks[p]["reason"] for p in about)
    # staff are not third parties
    assert not any("Casey Worker" in json.dumps(m) for m in report["redactions"])
    # who read or changed the record
    actions = {e["action"] for e in report["audit"]}
    assert {"case.create", "case.note_added"} <= actions
    assert all(e["agency"] == "Sar District Council" for e in report["audit"])


async def test_a_system_admin_sees_what_their_position_covers_and_partners_answers_only_to_their_level(
    ctx, world
):
    made = await _request(world["sysadmin"], world["reece"])
    content, _, _ = await sar.export_request(ctx, world["sysadmin"], made["id"], "json")
    report = json.loads(content)
    text = content.decode()
    assert report["scope"] == "partnership"
    refs = {c["reference"] for c in report["cases"]}
    # the police's own case and the council case shared with them; the council's restricted case and its erased
    # case were never shared, so they are not the police's to see
    assert refs == {world["shared"]["reference"], world["police_case"]["reference"]}
    assert world["restricted"]["reference"] not in text and report["erased_cases"] == []
    assert "Panic attacks most nights" not in text
    shared = next(c for c in report["cases"] if c["reference"] == world["shared"]["reference"])
    assert shared["access"] == "share" and shared["answers_up_to"] == "official"
    assert report["withheld_answers"] == 1
    # the audit lists every agency's events on what it may see
    assert {"Sar District Council", "Sar Police"} <= {e["agency"] for e in report["audit"]}


async def test_a_merged_record_leads_to_the_record_kept(ctx, world):
    twin = await make_person(
        world["worker"], given_name="Reese", family_name="Dunmore", date_of_birth="1988-03-14"
    )
    await persons.merge_persons(
        ctx,
        world["boss"],
        world["reece"]["id"],
        twin["id"],
        versions={world["reece"]["id"]: 1, twin["id"]: 1},
    )
    made = await _request(world["admin"], twin)
    assert made["person_id"] == world["reece"]["id"] and made["merged_from"] == twin["id"]
    report = json.loads((await sar.export_request(ctx, world["admin"], made["id"], "json"))[0])
    assert [m["record_number"] for m in report["person"]["merged_records"]] == [twin["id"]]
    assert report["person"]["merged_records"][0]["details_before"]["given_name"] == "Reese"


async def test_an_anonymised_person_gives_their_tombstones(ctx, world):
    lonely = await make_person(world["worker"], given_name="Lonny", family_name="Solo")
    with clock.travel(-7 * YEAR):
        case = await cases.open_case(
            ctx, world["worker"], "noise", REPORT, subjects=[(lonely["id"], "subject")]
        )
        await cases.transition_case(ctx, world["boss"], case["id"], "close")
    await retention.erase(ctx, world["admin"], case["id"], "Past its retention period")
    made = await _request(world["admin"], lonely)
    report = json.loads((await sar.export_request(ctx, world["admin"], made["id"], "json"))[0])
    assert report["person"]["given_name"] == "Erased" and report["cases"] == []
    assert [e["reference"] for e in report["erased_cases"]] == [case["reference"]]


async def test_the_pdf_reads_back_with_the_marks_and_the_export_is_audited(ctx, world, tmp_path):
    made = await _request(world["admin"], world["reece"])
    pdf, media, filename = await sar.export_request(ctx, world["admin"], made["id"], "pdf")
    assert media == "application/pdf" and pdf.startswith(b"%PDF") and "Reece" not in filename
    text = pdf_text(pdf, tmp_path)
    assert "OFFICIAL-SENSITIVE" in text and made["reference"] in text
    assert "Everything held about Reece Dunmore" in text
    assert "REDACT: THIRD PARTY" in text.upper() and "Jane Whitlow" in text
    assert "Restricted case." in text and world["old"]["reference"] in text
    assert "Spoke to Ms Whitlow" in text and "Panic attacks most nights" in text
    event = await AuditEvent.select().where(AuditEvent.action == "sar.export").output(load_json=True).first()
    assert event["actor_id"] == world["admin"].id and event["object_id"] == made["id"]
    detail = event["detail"]
    assert detail["person_id"] == world["reece"]["id"] and detail["format"] == "pdf"
    assert sorted(detail["case_ids"]) == sorted([world["shared"]["id"], world["restricted"]["id"]])
    assert detail["erased_case_ids"] == [world["old"]["id"]] and detail["files"] == [filename]
    assert detail["redactions"] > 0


async def test_the_zip_holds_the_pdf_the_json_and_the_documents(ctx, world, tmp_path):
    from caseframe.core.documents import service as documents

    await documents.add_document(
        ctx,
        world["worker"],
        world["shared"]["id"],
        io.BytesIO(b"%PDF-1.4 letter\n"),
        "letter to Reece.pdf",
        sensitivity="official",
    )
    made = await _request(world["admin"], world["reece"])
    content, media, _ = await sar.export_request(ctx, world["admin"], made["id"], "zip")
    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    stem = f"subject-access-request-{made['reference']}"
    assert f"{stem}.pdf" in names and f"{stem}.json" in names
    assert any(
        n.startswith(f"documents/{world['shared']['reference']}/") and n.endswith("letter to Reece.pdf")
        for n in names
    )
    event = await AuditEvent.select().where(AuditEvent.action == "sar.export").output(load_json=True).first()
    assert len(event["detail"]["document_ids"]) == 1 and set(event["detail"]["files"]) == set(names)


async def test_extending_and_closing_are_audited_and_once_only(world):
    made = await _request(world["admin"], world["reece"], _days_ago(2))
    with pytest.raises(ValidationFailed):
        await sar.extend_request(world["admin"], made["id"], "  ")
    await sar.extend_request(world["admin"], made["id"], "Four agencies' records to review")
    row = await sar.get_request(world["admin"], made["id"])
    assert row["due_on"] == sar.add_months(_days_ago(2), 3) and row["extended"]
    with pytest.raises(Forbidden):
        await sar.extend_request(world["admin"], made["id"], "Again")
    with pytest.raises(ValidationFailed):
        await sar.close_request(world["admin"], made["id"], "")
    await sar.close_request(world["admin"], made["id"], "Sent the redacted PDF by recorded post")
    with pytest.raises(Forbidden):
        await sar.close_request(world["admin"], made["id"], "Again")
    assert [r["id"] for r in await sar.list_requests(world["admin"], status="closed")] == [made["id"]]
    actions = [
        e["action"]
        for e in await AuditEvent.select(AuditEvent.action)
        .where(AuditEvent.object_type == "subject_access_request")
        .order_by(AuditEvent.id)
    ]
    assert actions[:2] == ["sar.create", "sar.extend"] and "sar.close" in actions


# -- the pages -------------------------------------------------------------------------------


def _received(day: dt.date) -> dict[str, str]:
    return {
        "received_on-day": str(day.day),
        "received_on-month": str(day.month),
        "received_on-year": str(day.year),
    }


async def test_the_pages_record_download_extend_and_close_with_csrf(ctx, world, db):
    from caseframe.core.testing import csrf_token_of, sign_in, web_client

    async with web_client(ctx, db) as browser:
        token = await sign_in(browser, world["admin"])
        listing = await browser.get("/admin/sar")
        assert listing.status_code == 200 and "No open requests." in listing.text
        new = await browser.get(f"/admin/sar/new?person_id={world['reece']['id']}")
        assert f'value="{world["reece"]["id"]}"' in new.text
        fields = {
            "person_id": str(world["reece"]["id"]),
            "requester": "The person, in a letter",
            **_received(_days_ago(4)),
        }
        assert (await browser.post("/admin/sar/new", data=fields)).status_code == 403  # no CSRF token
        bad = await browser.post(
            "/admin/sar/new",
            data={
                "csrf_token": token,
                "person_id": "<script>",
                "requester": "",
                "received_on-day": "31",
                "received_on-month": "2",
                "received_on-year": "2026",
            },
        )
        assert bad.status_code == 400 and "<script>" not in bad.text
        assert "Enter who made the request" in bad.text and "must be a real date" in bad.text
        made = await browser.post("/admin/sar/new", data={"csrf_token": token, **fields})
        assert made.status_code == 303
        sar_id = int(made.headers["location"].split("/")[3].split("?")[0])
        page = await browser.get(made.headers["location"])
        assert "Request recorded" in page.text and "Reece Dunmore" in page.text
        assert sar.add_months(_days_ago(4), 1).strftime("%-d %B %Y") in page.text
        assert (await browser.post(f"/admin/sar/{sar_id}/export", data={"format": "pdf"})).status_code == 403
        pdf = await browser.post(f"/admin/sar/{sar_id}/export", data={"csrf_token": token, "format": "pdf"})
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert pdf.headers["cache-control"] == "no-store"
        assert pdf.headers["content-disposition"].startswith(
            'attachment; filename="subject-access-request-SAR-'
        )
        data = await browser.post(f"/admin/sar/{sar_id}/export", data={"csrf_token": token, "format": "json"})
        assert data.headers["content-type"].startswith("application/json") and "redactions" in data.json()
        assert data.headers["cache-control"] == "no-store"
        odd = await browser.post(f"/admin/sar/{sar_id}/export", data={"csrf_token": token, "format": "exe"})
        assert odd.status_code == 400 and "Choose the PDF" in odd.text
        extended = await browser.post(
            f"/admin/sar/{sar_id}/extend", data={"csrf_token": token, "extension_reason": "Several agencies"}
        )
        assert extended.status_code == 303
        empty = await browser.post(
            f"/admin/sar/{sar_id}/close", data={"csrf_token": token, "closing_note": ""}
        )
        assert empty.status_code == 400 and "Enter what was sent" in empty.text
        closed = await browser.post(
            f"/admin/sar/{sar_id}/close",
            data={"csrf_token": csrf_token_of(empty.text), "closing_note": "Sent, redacted"},
        )
        assert closed.status_code == 303
        assert sar_id and "Sent, redacted" in (await browser.get(f"/admin/sar/{sar_id}")).text
        assert (await browser.get("/admin/sar/999999")).status_code == 404
    actions = [
        e["action"]
        for e in await AuditEvent.select(AuditEvent.action)
        .where(AuditEvent.object_type == "subject_access_request")
        .order_by(AuditEvent.id)
    ]
    assert actions.count("sar.export") == 2 and {"sar.create", "sar.extend", "sar.close", "sar.view"} <= set(
        actions
    )
    denied = await AuditEvent.select().where(AuditEvent.action == "access.denied").output(load_json=True)
    assert any(d["object_type"] == "subject_access_request" and d["object_id"] == 999999 for d in denied)


async def test_caseworkers_and_partners_are_refused(ctx, world, db):
    from caseframe.core.testing import sign_in, web_client

    made = await _request(world["admin"], world["reece"])
    for who, status in (("worker", 403), ("officer", 403), ("boss", 403)):
        async with web_client(ctx, db) as browser:
            token = await sign_in(browser, world[who])
            assert (await browser.get("/admin/sar")).status_code == status
            assert (await browser.get(f"/admin/sar/{made['id']}")).status_code == status
            r = await browser.post(
                f"/admin/sar/{made['id']}/export", data={"csrf_token": token, "format": "json"}
            )
            assert r.status_code == status and "Reece" not in r.text
    # another agency's admin: the request does not exist for them
    async with web_client(ctx, db) as browser:
        token = await sign_in(browser, world["police_admin"])
        assert (await browser.get(f"/admin/sar/{made['id']}")).status_code == 404
        r = await browser.post(
            f"/admin/sar/{made['id']}/export", data={"csrf_token": token, "format": "json"}
        )
        assert r.status_code == 404 and "Reece" not in r.text
    assert await AuditEvent.count().where(AuditEvent.action == "sar.export") == 0


async def test_panel_discussions_actions_and_referrals_about_the_person_are_included(db):
    from caseframe.core.panels import service as panels
    from caseframe.core.panels.tables import AgendaItem
    from tests.fixtures.partnership import make_panel_world

    ctx = make_context(noise_plugin)
    w = await make_panel_world(ctx)
    m = w["meeting"]
    await panels.add_agenda_item(w["chair"], m["id"], kind="referral", case_id=w["case"]["id"])
    await panels.set_status(w["chair"], m["id"], "published")
    await panels.set_status(w["chair"], m["id"], "in_progress")
    item = await AgendaItem.select().where(AgendaItem.meeting == m["id"]).first()
    await panels.add_minute(
        ctx,
        w["chair"],
        m["id"],
        item_id=item["id"],
        kind="discussion",
        text="Police report three call-outs to Reece's flat",
    )
    await panels.add_minute(
        ctx,
        w["chair"],
        m["id"],
        item_id=item["id"],
        kind="action",
        text="Joint visit",
        owner_agency_id=w["police"]["id"],
        due_date=clock.today() + dt.timedelta(days=7),
    )
    council_admin = await make_user(w["council"], ("local_admin",), name="Cora Admin")
    person_id = (await cases.subjects_of(w["case"]["id"]))[0]["person_id"]
    made = await sar.create_request(
        council_admin,
        {"person_id": str(person_id), "requester": "Reece", "received_on": _days_ago(1).isoformat()},
    )
    report = json.loads((await sar.export_request(ctx, council_admin, made["id"], "json"))[0])
    (case,) = report["cases"]
    (discussed,) = case["panel"]
    assert discussed["panel"] == "Ashdown Complex Case Panel"
    assert [x["text"] for x in discussed["minutes"]] == [
        "Police report three call-outs to Reece's flat",
        "Joint visit",
    ]
    assert [t["title"] for t in case["tasks"]] == ["Joint visit"] and case["tasks"][0]["source"] == "panel"
    assert [r["reason"] for r in report["referrals"]] == ["Escalating"]
    # the police read the case through the panel: a police system admin's export holds it, up to the ISA's level
    police_admin = await make_user(w["police"], ("system_admin",), name="Pol Admin")
    made = await sar.create_request(
        police_admin,
        {"person_id": str(person_id), "requester": "Reece", "received_on": _days_ago(1).isoformat()},
    )
    report = json.loads((await sar.export_request(ctx, police_admin, made["id"], "json"))[0])
    assert [c["access"] for c in report["cases"]] == ["panel"] and report["cases"][0][
        "answers_up_to"
    ] == "official"
    # the charity sits on the panel with no ISA: the person is not theirs to export
    charity_admin = await make_user(w["charity"], ("system_admin",), name="Char Admin")
    with pytest.raises(ValidationFailed):
        await sar.create_request(
            charity_admin,
            {"person_id": str(person_id), "requester": "Reece", "received_on": _days_ago(1).isoformat()},
        )
