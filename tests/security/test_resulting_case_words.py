"""The case a referral became is named to the agency that referred it, by design, and to no one else: not to a partner
reading the referring case (its page, its timeline, the API) nor in a subject access request a partner's system admin
exports. Found by a hostile review: the council's case, shared with the police, referred a child to the youth
service, which opened a case; the police read the youth service's case reference on the council's case page (the
timeline and the referrals list) and the API, and in their SAR (its timeline, referrals, tasks and minutes were
read through no redaction at all)."""

from __future__ import annotations

import pytest

from caseframe.core import clock
from caseframe.core.referrals import inbox
from caseframe.core.referrals.queries import raised_from_case
from caseframe.core.sar import service as sar
from caseframe.core.testing import TEST_PASSWORD, make_user, sign_in, web_client
from tests.security.test_leaks import world  # noqa: F401


@pytest.fixture
async def opened(world):
    youth = world["youth_worker"]
    waiting = (await inbox.inbox(world["ctx"], youth))[0]
    return await inbox.accept_new_case(
        world["ctx"],
        youth,
        waiting["id"],
        version=waiting["version"],
        area_slug="noise",
        answers={"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"},
        role="complainant",
    )


async def _case_as(world, db, actor) -> dict[str, str]:
    case_id = world["case"]["id"]
    async with web_client(world["ctx"], db) as client:
        await sign_in(client, actor)
        api = await client.post("/api/v1/session", json={"email": actor.email, "password": TEST_PASSWORD})
        bearer = {"Authorization": f"Bearer {api.json()['token']}"}
        out = {f"/cases/{case_id}": (await client.get(f"/cases/{case_id}")).text}
        for path in (f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/referrals"):
            out[path] = (await client.get(path, headers=bearer)).text
    return out


async def test_a_partner_of_the_referring_case_is_not_told_the_case_it_became(world, db, opened):
    police = await _case_as(world, db, world["officer"])
    assert [where for where, body in police.items() if opened["reference"] in body] == []
    # the referrer is told, by design
    council = await _case_as(world, db, world["owner"])
    assert opened["reference"] in council[f"/cases/{world['case']['id']}"]


async def _timeline_as(world, db, actor) -> list:
    """The referring case's timeline as ``actor`` reads it through the API."""
    case_id = world["case"]["id"]
    async with web_client(world["ctx"], db) as client:
        api = await client.post("/api/v1/session", json={"email": actor.email, "password": TEST_PASSWORD})
        bearer = {"Authorization": f"Bearer {api.json()['token']}"}
        return (await client.get(f"/api/v1/cases/{case_id}", headers=bearer)).json()["timeline"]


async def test_nor_is_the_partner_given_its_number(world, db, opened):
    case_id = world["case"]["id"]
    police, council = world["officer"], world["owner"]
    # the case page's list of the case's referrals (and any list read through readable_referrals)
    police_reads = [
        r["resulting_case"] for r in await raised_from_case(case_id, reader=police, ctx=world["ctx"])
    ]
    council_reads = [
        r["resulting_case"] for r in await raised_from_case(case_id, reader=council, ctx=world["ctx"])
    ]
    # the case's own number stays (a panel referral became the case itself); the other agency's case's does not
    assert opened["id"] in council_reads and opened["id"] not in police_reads
    # the API's timeline gives an entry's detail: without the number for the partner, with it for the referrer
    assert not [
        e for e in await _timeline_as(world, db, police) if e["detail"].get("resulting_case") == opened["id"]
    ]
    assert [
        e for e in await _timeline_as(world, db, council) if e["detail"].get("resulting_case") == opened["id"]
    ]


async def test_a_partners_subject_access_export_names_no_case_it_may_not_see(world, opened):
    ctx, child = world["ctx"], world["child"]
    for actor in (await make_user(world["police"], ("system_admin",), name="Sid Policesys"), world["admin"]):
        request = await sar.create_request(
            actor,
            {"person_id": str(child["id"]), "requester": "Kit", "received_on": clock.today().isoformat()},
        )
        content, _, _ = await sar.export_request(ctx, actor, request["id"], "json")
        text = content.decode()
        assert world["case"]["reference"] in text
        if actor is world["admin"]:  # the council referred: its system admin is told
            assert opened["reference"] in text
        else:
            assert opened["reference"] not in text
