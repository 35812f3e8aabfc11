"""Whom a referral is for, and a meeting's guests, name no case their reader may not see.

A panel's name is what its chair typed, and its slug was made from the name it first had; a guest attendee's
name and organisation are what the chair typed about someone with no account. Each may name a case (and so its
people) that a reader may not see. The world is test_retention_leaks' (the council's noise case restricted: only
the council's local admin may see it): the chair names it, and its subject, in a panel's name and in a guest's.

Every other reader (the police, a partner referring its own case to the panel; the council's chair and caseworker)
reads "[a case you cannot see]" and "[a person]" wherever those words are shown: the case page's list of where to
refer (its labels and its option values), the case's referrals, the inbox (each box), My work, the referral page,
the JSON API, the meeting page, the pack page and the PDF pack. The local admin reads them as written.
"""

from __future__ import annotations

import re

import pytest

from caseframe.core.cases import service as cases
from caseframe.core.panels import service as panels
from caseframe.core.panels.tables import Panel
from caseframe.core.referrals import inbox
from caseframe.core.referrals import queries as referral_queries
from caseframe.core.referrals.tables import Referral
from caseframe.core.sharing import redaction
from caseframe.core.sharing.redaction import HIDDEN_CASE, HIDDEN_PERSON
from caseframe.core.testing import TEST_PASSWORD, sign_in, web_client
from tests.fixtures.counting import count_selects
from tests.security.test_leaks import pdf_text, world  # noqa: F401
from tests.security.test_retention_leaks import R_GIVEN, retained  # noqa: F401

REPORT = {"date_of_incident": "2026-11-02", "street": "Wren Lane", "kind": "music"}


@pytest.fixture
async def named(world, retained):
    """A panel named after the restricted case and its subject, and the police referring a case of theirs to it."""
    hidden = retained["restricted"]["reference"]
    panel = await panels.save_panel(
        world["ctx"],
        world["chair"],
        name=f"Panel on {hidden} and {R_GIVEN} Hidden",
        member_agency_ids=[world["police"]["id"]],
        areas=["noise"],
        frequency="monthly",
    )
    assert hidden.lower() in panel["slug"]  # the slug holds the reference, in lower case
    police_case = await cases.open_case(world["ctx"], world["officer"], "noise", REPORT)
    made = await referral_queries_raise(world, police_case, f"panel:#{panel['id']}")
    return {"hidden": hidden, "panel": panel, "police_case": police_case, "referral": made}


async def referral_queries_raise(world, case, target: str):
    from caseframe.core.referrals import service as referrals

    kind, _, name = target.partition(":")
    return await referrals.raise_referral(
        world["ctx"], world["officer"], target_kind=kind, target=name, reason="Please look at this", case=case
    )


def _leaks(body: str, named) -> list[str]:
    """What of the hidden case a body names: its reference (as stored, or in lower case as in the slug) or its
    subject's name."""
    return [w for w in (named["hidden"], named["hidden"].lower(), R_GIVEN) if w in body]


async def _api_token(client, actor) -> str:
    answer = await client.post("/api/v1/session", json={"email": actor.email, "password": TEST_PASSWORD})
    return answer.json()["token"]


async def test_the_partner_referring_to_the_panel_reads_its_name_redacted_everywhere(world, named, db):
    police_case, referral = named["police_case"], named["referral"]
    shown = f"Panel on {HIDDEN_CASE} and {HIDDEN_PERSON}"
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["officer"])
        case_page = (await client.get(f"/cases/{police_case['id']}")).text
        sent = (await client.get("/referrals?box=sent")).text
        page = (await client.get(f"/referrals/{referral['id']}")).text
        bearer = {"Authorization": f"Bearer {await _api_token(client, world['officer'])}"}
        api_sent = (await client.get("/api/v1/referrals/?box=sent", headers=bearer)).text
        api_one = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=bearer)).text
        api_case = (await client.get(f"/api/v1/cases/{police_case['id']}/referrals", headers=bearer)).text
        # the API's answer to referring (by the panel's number) names it as any list would
        other = await cases.open_case(world["ctx"], world["officer"], "noise", REPORT)
        api_made = await client.post(
            f"/api/v1/cases/{other['id']}/referrals",
            headers=bearer,
            json={"target_kind": "panel", "target": f"#{named['panel']['id']}", "reason": "Please"},
        )
        assert api_made.status_code == 201, api_made.text
    # the list of where to refer: the name redacted, and the panel chosen by its number, not its slug
    assert f'<option value="panel:#{named["panel"]["id"]}">{shown}</option>' in case_page
    # the case's own referrals, the sent box, the referral page, the API (its label and its target)
    assert f"To {shown}" in case_page and shown in sent and shown in page
    for body in (api_sent, api_one):
        assert f'"target_label":"{shown}"' in body.replace(": ", ":"), body
    assert HIDDEN_CASE in api_case
    for where, body in {
        "case page": case_page,
        "sent": sent,
        "referral page": page,
        "api sent": api_sent,
        "api referral": api_one,
        "api case referrals": api_case,
        "api referral made": api_made.text,
    }.items():
        assert not _leaks(body, named), where
    # its case's timeline names the panel as its chair typed it: the redactor recognises the reference there
    assert "Referred to Panel on" in case_page


async def test_the_chairing_agency_reads_the_name_redacted_but_the_cases_local_admin_as_written(
    world, retained, named, db
):
    referral = named["referral"]
    shown = f"Panel on {HIDDEN_CASE} and {HIDDEN_PERSON}"
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, world["chair"])
        bodies = {
            path: (await client.get(path)).text
            for path in ("/", "/referrals", f"/referrals/{referral['id']}")
        }
    for path, body in bodies.items():
        assert shown in body, path
        assert not _leaks(body, named), path
    admin = retained["local_admin"]
    written = f"Panel on {named['hidden']} and {R_GIVEN} Hidden"
    [row] = [r for r in await inbox.inbox(world["ctx"], admin) if r["id"] == referral["id"]]
    assert row["target_label"] == written and row["target"] == named["panel"]["slug"]
    assert written in [r["target_label"] for r in await referral_queries.waiting_for(admin)]
    assert (await inbox.get_referral(world["ctx"], admin, referral["id"]))["target_label"] == written
    targets = await referral_queries.referral_targets(world["ctx"], admin)
    assert written in [label for g in targets for _, label in g["options"]]


async def test_the_target_list_is_cached_per_agency_but_read_per_reader(world, retained, named):
    """The choice list is kept a few seconds per agency: the local admin's reading must not reach a colleague."""
    written = f"Panel on {named['hidden']} and {R_GIVEN} Hidden"
    owner, admin = world["owner"], retained["local_admin"]
    for who, expected in (
        (admin, written),
        (owner, f"Panel on {HIDDEN_CASE} and {HIDDEN_PERSON}"),
        (admin, written),
    ):
        targets = await referral_queries.referral_targets(world["ctx"], who)
        panels_offered = next(g["options"] for g in targets if g["label"] == "Panels")
        assert expected in [label for _, label in panels_offered], who.name


async def test_a_panel_is_referred_to_by_number_or_slug_and_a_bad_number_is_refused(world, named):
    case = await cases.open_case(world["ctx"], world["officer"], "noise", REPORT)
    made = await referral_queries_raise(world, case, f"panel:{named['panel']['slug']}")
    assert (await Referral.select(Referral.target).where(Referral.id == made["id"]).first())[
        "target"
    ] == named["panel"]["slug"]
    from caseframe.core.errors import ValidationFailed

    before = await Referral.count()
    for bad in ("panel:#", "panel:#x", "panel:#99999999999999", f"panel:#{named['panel']['id'] + 1000}"):
        with pytest.raises(ValidationFailed) as refused:
            await referral_queries_raise(world, case, bad)
        assert refused.value.errors[0]["message"] == "Select a panel from the list"
    assert await Referral.count() == before


async def test_the_inbox_names_its_targets_in_one_batch(world, named, monkeypatch):
    """Each row asked the panel's name on its own; now one query for all the panels, one redactor for the list."""
    for _ in range(3):
        case = await cases.open_case(world["ctx"], world["officer"], "noise", REPORT)
        await referral_queries_raise(world, case, f"panel:#{named['panel']['id']}")
    selects = count_selects(monkeypatch, Panel)
    built: list[int] = []
    real = redaction.redactor_for

    async def counted(*args, **kwargs):
        built.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(inbox, "redactor_for", counted)
    rows = await inbox.inbox(world["ctx"], world["officer"], box="sent")
    assert len(rows) == 4
    assert len(selects) == 1 and len(built) == 1
    assert {r["target_label"] for r in rows} == {f"Panel on {HIDDEN_CASE} and {HIDDEN_PERSON}"}


@pytest.fixture
async def guest(world, retained):
    hidden = retained["restricted"]["reference"]
    meeting = world["meeting"]
    current = await panels.load_meeting(meeting["id"])
    await panels.add_attendee(
        world["chair"],
        meeting["id"],
        name=f"{R_GIVEN} Hidden's advocate ({hidden})",
        organisation=f"Advocacy for {hidden}",
        version=current["version"],
    )
    return {"hidden": hidden}


async def test_a_guests_name_names_no_case_the_reader_may_not_see(world, retained, guest, db):
    meeting_id = world["meeting"]["id"]
    named = {"hidden": guest["hidden"]}
    for who in ("officer", "chair"):
        async with web_client(world["ctx"], db) as client:
            token = await sign_in(client, world[who])
            meeting_page = (await client.get(f"/meetings/{meeting_id}")).text
            pack_page = await client.get(f"/meetings/{meeting_id}/pack")
            attendee = re.search(r'name="attendee_id" value="(\d+)"', pack_page.text).group(1)
            made = await client.post(
                f"/meetings/{meeting_id}/pack", data={"csrf_token": token, "attendee_id": attendee}
            )
        assert made.headers["content-type"].startswith("application/pdf"), who
        pdf = " ".join(pdf_text(made.content).split())
        assert (
            f"{HIDDEN_PERSON}'s advocate ({HIDDEN_CASE}), Advocacy for {HIDDEN_CASE}"
            in meeting_page.replace("&#39;", "'")
        ), who
        assert HIDDEN_CASE in pdf and "advocate" in pdf, who
        for where, body in (("meeting", meeting_page), ("pack page", pack_page.text), ("pdf", pdf)):
            assert not _leaks(body, named), (who, where)
    # the chair's pack page lists every attendee, the guest among them, as the chair may read them
    assert f"{HIDDEN_PERSON}'s advocate" in pack_page.text.replace("&#39;", "'")


async def test_a_pack_made_for_the_guest_names_them_as_its_reader_may_read_it(world, retained, guest, db):
    from caseframe.core.panels.tables import MeetingAttendee

    meeting_id = world["meeting"]["id"]
    row = await MeetingAttendee.select(MeetingAttendee.id).where(MeetingAttendee.kind == "guest").first()
    async with web_client(world["ctx"], db) as client:
        token = await sign_in(client, world["chair"])
        made = await client.post(
            f"/meetings/{meeting_id}/pack",
            data={
                "csrf_token": token,
                "attendee_id": str(row["id"]),
                "agency_id": str(world["police"]["id"]),
            },
        )
    assert made.headers["content-type"].startswith("application/pdf")
    pdf = " ".join(pdf_text(made.content).split())
    assert f"Prepared for {HIDDEN_PERSON}'s advocate" in pdf.replace("’", "'")
    assert not _leaks(pdf, {"hidden": guest["hidden"]})


async def test_the_cases_local_admin_reads_the_guest_as_written(world, retained, guest, db):
    written = f"{R_GIVEN} Hidden's advocate ({guest['hidden']})"
    admin = retained["local_admin"]
    rows = await panels.attendees(world["meeting"]["id"], reader=admin)
    assert written in [r["name"] for r in rows]
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, admin)
        page = (await client.get(f"/meetings/{world['meeting']['id']}")).text
    assert written in page.replace("&#39;", "'")
    officer_rows = await panels.attendees(world["meeting"]["id"], reader=world["officer"])
    assert f"{HIDDEN_PERSON}'s advocate ({HIDDEN_CASE})" in [r["name"] for r in officer_rows]
