"""What the case page and the area list reuse or read at once must never show an out-of-date page.

The timeline's list is rendered once per version of what it shows; partner agencies and referral targets
are kept for a few seconds per process and forgotten when an agreement, a panel or an agency changes;
the area list reads the people of all its cases in one query.
"""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.core import clock
from caseframe.core.cases import service as cases
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import csrf_token_of, make_agency, make_person, make_user, sign_in, web_client

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


@pytest.fixture
async def browser(db, ctx):
    async with web_client(ctx, db) as client:
        yield client


def timeline_of(html: str) -> str:
    return html.split('id="timeline"', 1)[1].split("</ol>", 1)[0]


async def test_the_timeline_shows_each_new_entry_and_each_renamed_author_at_once(browser, ctx):
    from caseframe.core.auth.tables import User

    council = await make_agency(ctx, "ashdown-council")
    owner = await make_user(council, ("caseworker",), name="Olive Owner")
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    token = await sign_in(browser, owner)
    url = f"/cases/{case['id']}"
    first = timeline_of((await browser.get(url)).text)
    assert "Olive Owner" in first and "Heard from the neighbour" not in first
    assert timeline_of((await browser.get(url)).text) == first  # the same list, served again
    added = await browser.post(f"{url}/notes", data={"csrf_token": token, "text": "Heard from the neighbour"})
    assert added.status_code == 303
    assert "Heard from the neighbour" in timeline_of((await browser.get(url)).text)
    # htmx gets the section back with the new note too
    again = await browser.post(
        f"{url}/notes",
        data={"csrf_token": token, "text": "Second visit booked"},
        headers={"HX-Request": "true"},
    )
    assert "Second visit booked" in timeline_of(again.text) and "Heard from the neighbour" in timeline_of(
        again.text
    )
    await User.update({User.name: "Olive Owner-Smith"}).where(User.id == owner.id)
    assert "Olive Owner-Smith" in timeline_of((await browser.get(url)).text)


async def owner_with_a_case(browser, ctx):
    """The owner of a case (signed in), a police force beside it, their system admin, the case's address."""
    council = await make_agency(ctx, "ashdown-council")
    police = await make_agency(ctx, "wealden-police", name="Wealden Police")
    owner = await make_user(council, ("caseworker",), name="Olive Owner")
    admin = await make_user(council, ("system_admin",), name="Sam Sysadmin")
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    await sign_in(browser, owner)
    return council, police, admin, f"/cases/{case['id']}"


async def test_a_new_agreement_offers_its_partner_at_once_and_an_ended_one_stops(browser, ctx):
    council, police, admin, url = await owner_with_a_case(browser, ctx)
    assert "Share with a partner agency" not in (await browser.get(url)).text
    today = clock.today()
    isa = await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-2026-07",
        title="Community safety partnership",
        parties=[council["id"], police["id"]],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="Crime and Disorder Act 1998 s.115",
        starts_on=today - dt.timedelta(days=1),
        ends_on=today + dt.timedelta(days=10),
        max_sensitivity="official",
    )
    page = (await browser.get(url)).text
    assert "Share with a partner agency" in page and "Wealden Police (ISA-2026-07)" in page
    await sharing.end_isa(admin, isa["id"], "Partnership ended")
    assert "ISA-2026-07" not in (await browser.get(url)).text


async def test_a_renamed_partner_agency_is_offered_under_its_new_name_at_once(browser, ctx):
    from caseframe.core.agencies import service as agencies

    council, police, admin, url = await owner_with_a_case(browser, ctx)
    assert "Wealden Police" in (await browser.get(url)).text  # a referral target
    await agencies.update_agency(
        admin, police["id"], name="Downland Police", contact_email="desk@downland.example"
    )
    page = (await browser.get(url)).text
    assert "Downland Police" in page and "Wealden Police" not in page


async def test_the_area_list_names_the_people_on_every_case(browser, ctx):
    council = await make_agency(ctx, "ashdown-council")
    owner = await make_user(council, ("caseworker",), name="Olive Owner")
    roles = list(ctx.area("noise").roles)
    for i in range(3):
        person = await make_person(owner, given_name=f"Resident{i}", family_name="Kestrel")
        await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(person["id"], roles[0])])
    await cases.open_case(ctx, owner, "noise", REPORT)  # nobody on it yet
    await sign_in(browser, owner)
    listing = (await browser.get("/areas/noise")).text
    assert "4 cases" in listing
    for i in range(3):
        assert f"Resident{i} Kestrel" in listing
    assert csrf_token_of(listing)
