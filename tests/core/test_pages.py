"""The caseworker's pages over HTTP: sign-in, CSRF, persons, opening and working a case, errors."""

from __future__ import annotations

import re

import pytest

from caseframe.core.cases.tables import Case
from caseframe.core.persons.tables import Person
from caseframe.core.testing import TEST_PASSWORD, csrf_token_of, make_agency, make_user, web_client
from caseframe.core.testing import sign_in as sign_in_as

REPORT_FIELDS = {
    "f.date_of_incident.day": "1",
    "f.date_of_incident.month": "11",
    "f.date_of_incident.year": "2026",
    "f.street": "Kestrel Way",
    "f.kind": "music",
}


@pytest.fixture
async def browser(db, ctx):
    async with web_client(ctx, db) as client:
        yield client


async def sign_in(browser, ctx, roles=("caseworker",), slug="ashdown-test"):
    agency = await make_agency(ctx, slug)
    actor = await make_user(agency, roles, name="Casey Morgan")
    return actor, await sign_in_as(browser, actor)


async def open_report(browser, token: str) -> str:
    """Open a noise case through its form, as a caseworker's browser does: the new case's address."""
    key = re.search(
        r'name="submission_key" value="([^"]+)"', (await browser.get("/areas/noise/new")).text
    ).group(1)
    opened = await browser.post(
        "/areas/noise/new", data={"csrf_token": token, "submission_key": key, **REPORT_FIELDS}
    )
    return opened.headers["location"].split("?")[0]


async def test_pages_redirect_to_sign_in_and_static_is_public(browser):
    r = await browser.get("/persons")
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=/persons"
    assert (await browser.get("/static/cf/caseframe.css")).status_code == 200
    assert (await browser.get("/sign-in")).status_code == 200


async def test_sign_in_needs_the_page_token_and_a_right_password(browser, ctx):
    agency = await make_agency(ctx, "a-council")
    actor = await make_user(agency)
    forged = await browser.post("/sign-in", data={"email": actor.email, "password": TEST_PASSWORD})
    assert forged.status_code == 403 and "Sorry" not in forged.text
    page = await browser.get("/sign-in")
    wrong = await browser.post(
        "/sign-in", data={"email": actor.email, "password": "nope", "csrf_token": csrf_token_of(page.text)}
    )
    assert wrong.status_code == 401 and "Enter a correct email address and password" in wrong.text
    assert "govuk-error-summary" in wrong.text


async def test_home_shows_user_agency_nav_and_marking(browser, ctx):
    await sign_in(browser, ctx)
    home = await browser.get("/")
    assert home.status_code == 200
    assert "Casey Morgan" in home.text and "Ashdown Test" in home.text
    assert 'href="/areas/noise"' in home.text and "Noise nuisance" in home.text
    assert "OFFICIAL-SENSITIVE" in home.text
    assert home.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in home.headers["content-security-policy"]


async def test_post_without_csrf_token_is_refused_and_changes_nothing(browser, ctx):
    await sign_in(browser, ctx)
    r = await browser.post("/persons/new", data={"given_name": "Eve", "family_name": "Forged"})
    assert r.status_code == 403 and "expired" in r.text
    assert await Person.count() == 0


async def test_person_search_create_and_duplicate_warning(browser, ctx):
    _, token = await sign_in(browser, ctx)
    data = {
        "csrf_token": token,
        "given_name": "Jordan",
        "family_name": "Reilly",
        "dob-day": "14",
        "dob-month": "3",
        "dob-year": "1998",
        "aliases": "JJ Reilly",
    }
    r = await browser.post("/persons/new", data=data)
    assert r.status_code == 303
    person_url = r.headers["location"].split("?")[0]
    again = await browser.post("/persons/new", data=data)
    assert again.status_code == 200 and "may already have a record" in again.text
    assert await Person.count() == 1
    forced = await browser.post("/persons/new", data={**data, "confirm_new": "yes"})
    assert forced.status_code == 303 and await Person.count() == 2
    found = await browser.post("/persons/search", data={"csrf_token": token, "name": "Jordon Reily"})
    assert "2 people found" in found.text and person_url in found.text
    by_alias = await browser.post("/persons/search", data={"csrf_token": token, "name": "jj"})
    assert "Jordan Reilly" in by_alias.text
    empty = await browser.post("/persons/search", data={"csrf_token": token})
    assert empty.status_code == 400 and "Enter a name, a date of birth or an identifier" in empty.text


async def test_open_case_with_errors_then_fixed_then_work_it(browser, ctx):
    _, token = await sign_in(browser, ctx)
    form = await browser.get("/areas/noise/new")
    assert "Noise report" in form.text and 'name="f.street"' in form.text
    key = re.search(r'name="submission_key" value="([^"]+)"', form.text).group(1)
    bad = await browser.post(
        "/areas/noise/new", data={"csrf_token": token, "submission_key": key, "f.street": "Kestrel Way"}
    )
    assert bad.status_code == 400
    assert "Enter the date of the incident" in bad.text and 'value="Kestrel Way"' in bad.text
    ok = await browser.post(
        "/areas/noise/new", data={"csrf_token": token, "submission_key": key, **REPORT_FIELDS}
    )
    assert ok.status_code == 303
    again = await browser.post(
        "/areas/noise/new", data={"csrf_token": token, "submission_key": key, **REPORT_FIELDS}
    )
    assert again.headers["location"] == ok.headers["location"]
    assert await Case.count() == 1  # a double-clicked submit makes one case
    case_url = ok.headers["location"].split("?")[0]
    page = await browser.get(case_url)
    assert "Case opened" in (await browser.get(ok.headers["location"])).text
    assert (
        "Record the visit" in page.text and "Fill in the visit form before recording the visit" in page.text
    )
    note = await browser.post(
        f"{case_url}/notes",
        data={"text": "<script>alert(1)</script> called"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert note.status_code == 200 and 'id="timeline-section"' in note.text
    assert "<script>alert(1)</script>" not in note.text and "&lt;script&gt;" in note.text
    task = await browser.post(f"{case_url}/tasks", data={"csrf_token": token, "title": "Visit complainant"})
    assert task.status_code == 303
    refused = await browser.post(f"{case_url}/transitions/record_visit", data={"csrf_token": token})
    assert refused.status_code == 403 and "Fill in the visit form" in refused.text


async def test_stale_form_save_is_refused_with_a_link_to_the_change(browser, ctx):
    _, token = await sign_in(browser, ctx)
    case_url = await open_report(browser, token)
    edit = await browser.get(f"{case_url}/forms/visit")
    version = re.search(r'name="version" value="(\d+)"', edit.text).group(1)
    first = await browser.post(
        f"{case_url}/forms/visit", data={"csrf_token": token, "version": version, "f.risk_level": "high"}
    )
    assert first.status_code == 303
    second = await browser.post(
        f"{case_url}/forms/visit", data={"csrf_token": token, "version": version, "f.risk_level": "standard"}
    )
    assert second.status_code == 409 and "Someone else changed this case" in second.text
    assert f'href="{case_url}#timeline"' in second.text
    case = await Case.select(Case.risk_level).first()
    assert case["risk_level"] == "high"


async def test_error_pages_are_styled_and_hide_details(browser, ctx):
    await sign_in(browser, ctx)
    for path in ("/cases/9999", "/no/such/page", "/areas/unknown"):
        r = await browser.get(path)
        assert r.status_code == 404 and "Page not found" in r.text and "Traceback" not in r.text
    other_agency_case = await browser.get("/cases/abc")
    assert other_agency_case.status_code in (400, 404)


async def test_other_agencies_cases_are_not_found(browser, ctx):
    _, token = await sign_in(browser, ctx)
    case_url = await open_report(browser, token)
    await browser.post("/sign-out", data={"csrf_token": token})
    await sign_in(browser, ctx, slug="elsewhere")
    assert (await browser.get(case_url)).status_code == 404


async def test_area_list_filters_sorts_and_counts(browser, ctx):
    _, token = await sign_in(browser, ctx)
    for _ in range(3):
        await open_report(browser, token)
    listing = await browser.get("/areas/noise", params={"state": "open", "sort": "reference"})
    assert "3 cases" in listing.text
    assert "0 cases" in (await browser.get("/areas/noise", params={"state": "closed"})).text
    assert (await browser.get("/areas/noise", params={"page": "x", "sort": "nonsense"})).status_code == 200


@pytest.mark.parametrize(
    ("number", "pages", "links"),
    [
        (1, 1, [1]),
        (1, 3, [1, 2, 3]),
        (1, 400, [1, 2, None, 400]),
        (4, 400, [1, 2, 3, 4, 5, None, 400]),
        (200, 400, [1, None, 199, 200, 201, None, 400]),
        (400, 400, [1, None, 399, 400]),
        (999, 10, [1, None, 9, 10]),
    ],
)
def test_pagination_links_the_first_last_and_neighbouring_pages(number, pages, links):
    from caseframe.core.numbers import page_links

    assert page_links(number, pages) == links


async def test_a_long_area_list_links_a_few_pages_not_every_one(browser, ctx, monkeypatch):
    """An area of 10,000 cases has 400 pages: the list linked to every one (a column of 400 links on a phone, and
    most of the page's rendering). It links the first, the last, the current page and its neighbours, with an
    ellipsis for the rest, as the GOV.UK pagination pattern does; each link keeps the filters."""
    from caseframe.core.cases import lists

    monkeypatch.setattr(lists, "PAGE_SIZE", 1)
    _, token = await sign_in(browser, ctx)
    for _ in range(9):
        await open_report(browser, token)
    listing = await browser.get("/areas/noise", params={"state": "open", "page": "5"})
    assert listing.status_code == 200 and "9 cases" in listing.text
    nav = listing.text.split('<nav class="govuk-pagination"')[1].split("</nav>")[0]
    assert re.findall(r'aria-label="Page (\d+)"', nav) == ["1", "4", "5", "6", "9"]
    assert nav.count("govuk-pagination__item--ellipses") == 2
    assert 'href="?state=open&page=6" rel="next"' in nav and 'aria-current="page">5<' in nav
    last = await browser.get("/areas/noise", params={"page": "999"})  # past the end: the last page
    assert re.findall(r'aria-label="Page (\d+)"', last.text) == ["1", "8", "9"]


async def test_people_on_a_case_and_task_completion_without_javascript(browser, ctx):
    actor, token = await sign_in(browser, ctx)
    from caseframe.core.testing import make_person

    person = await make_person(actor, given_name="Sam", family_name="Okafor-Test")
    case_url = await open_report(browser, token)
    found = await browser.post(f"{case_url}/subjects/search", data={"csrf_token": token, "name": "okafor"})
    assert "Sam Okafor-Test" in found.text and f'value="{person["id"]}"' in found.text
    empty = await browser.post(f"{case_url}/subjects/search", data={"csrf_token": token, "name": ""})
    assert "Enter a name to search for" in empty.text
    added = await browser.post(
        f"{case_url}/subjects",
        data={"csrf_token": token, "person_id": str(person["id"]), "role": "complainant"},
    )
    assert added.status_code == 303
    page = await browser.get(case_url)
    assert "Sam Okafor-Test" in page.text and "Complainant" in page.text
    bad_role = await browser.post(
        f"{case_url}/subjects", data={"csrf_token": token, "person_id": str(person["id"]), "role": "emperor"}
    )
    assert bad_role.status_code == 422 and "Select a role" in bad_role.text
    subject_id = re.search(rf"{case_url}/subjects/(\d+)/remove", page.text).group(1)
    removed = await browser.post(f"{case_url}/subjects/{subject_id}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert (
        "Sam Okafor-Test"
        not in (await browser.get(case_url))
        .text.split('<h2 class="govuk-heading-m">People')[1]
        .split("Tasks")[0]
    )
    await browser.post(
        f"{case_url}/tasks",
        data={
            "csrf_token": token,
            "title": "Ring back",
            "due-day": "1",
            "due-month": "12",
            "due-year": "2030",
        },
    )
    task_id = re.search(r"/tasks/(\d+)/complete", (await browser.get(case_url)).text).group(1)
    done = await browser.post(f"/tasks/{task_id}/complete", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["location"].endswith("done=task-done")
    assert "Task completed: Ring back" in (await browser.get(case_url)).text
    bad_date = await browser.post(
        f"{case_url}/tasks",
        data={"csrf_token": token, "title": "X", "due-day": "31", "due-month": "2", "due-year": "2030"},
    )
    assert bad_date.status_code == 400 and "Due date must be a real date" in bad_date.text
    typo = await browser.post(
        f"{case_url}/tasks",
        data={"csrf_token": token, "title": "Typo", "due-day": "1", "due-month": "2", "due-year": "9999"},
    )
    assert (
        typo.status_code == 400
        and "The due date must be within 10 years of today: check the year" in typo.text
    )
    assert "Typo" not in (await browser.get(case_url)).text.split("Timeline")[-1]


async def test_transition_through_the_page_moves_the_case(browser, ctx):
    _, token = await sign_in(browser, ctx, roles=("caseworker", "supervisor"))
    case_url = await open_report(browser, token)
    moved = await browser.post(f"{case_url}/transitions/close", data={"csrf_token": token})
    assert moved.status_code == 303
    page = await browser.get(case_url)
    assert "This case is closed." in page.text and "Closed" in page.text
    assert "Status change" in page.text


async def test_person_page_shows_my_cases_and_counts_others(browser, ctx):
    actor, token = await sign_in(browser, ctx)
    from caseframe.core.testing import make_person

    person = await make_person(
        actor,
        given_name="Ada",
        family_name="Quill",
        aliases=["Addy"],
        identifiers=[{"type": "pnc", "value": "26/1X"}],
    )
    other_agency = await make_agency(ctx, "other-holder")
    other = await make_user(other_agency)
    from caseframe.core.cases import service as cases

    theirs = await cases.open_case(
        ctx, other, "noise", {"date_of_incident": "2026-11-01", "street": "A", "kind": "dog"}
    )
    # the other agency holds the person too (as after an access request), so a case of theirs names them
    from caseframe.core import clock
    from caseframe.core.cases.tables import CaseSubject

    await CaseSubject.insert(
        CaseSubject(case=theirs["id"], person=person["id"], role="subject", added_at=clock.now())
    )
    mine = await cases.open_case(
        ctx,
        actor,
        "noise",
        {"date_of_incident": "2026-11-01", "street": "B", "kind": "dog"},
        subjects=[(person["id"], "complainant")],
    )
    page = await browser.get(f"/persons/{person['id']}")
    assert page.status_code == 200 and "Ada Quill" in page.text and "Addy" in page.text
    assert mine["reference"] in page.text and "Police National Computer (PNC) number: 26/1X" in page.text
    assert "Other agencies hold 1 case about this person that you cannot see." in page.text
    assert f'href="/areas/noise/new?person={person["id"]}"' in page.text
    new_form = await browser.get(f"/areas/noise/new?person={person['id']}")
    assert "Ada Quill’s role on the case" in new_form.text
    assert (await browser.get("/persons/new")).status_code == 200
    assert (await browser.get("/persons/999999")).status_code == 404
