"""Caseworker journeys in a real browser, at laptop, tablet and phone widths, with axe checks.

The journeys are written against each area's own declarations (its forms' JSON Schemas and the
answers in its demo data), so the same steps work the case through any built-in area.
"""

from __future__ import annotations

import re

import pytest

from caseframe.core.context import build_context
from caseframe.core.demo import DEMO_USERS, demo_email
from tests.e2e.conftest import WIDTHS, check_page, sign_in

pytestmark = pytest.mark.e2e

CTX = build_context()
DEMO = [c for c in CTX.pm.hook.demo_data() if c]
CASEWORKERS = {a: demo_email(a, local) for a, local, _, roles in DEMO_USERS if "caseworker" in roles}


def demo_case(area: str) -> dict:
    """The richest demo case of an area: the one that goes furthest through the workflow."""
    cases = [c for d in DEMO for c in d.get("cases", []) if c["area"] == area]
    return max(cases, key=lambda c: (len(c.get("transitions", [])), len(c.get("forms", {}))))


def demo_person(key: str) -> dict:
    return next(p for d in DEMO for p in d.get("persons", []) if p["key"] == key)


def fill(page, schema: dict, answers: dict, prefix: str = "f") -> None:
    """Answer a rendered form the way a person would, from a JSON answer document."""
    for key, value in answers.items():
        sub = schema.get("properties", {}).get(key, {})
        name = f"{prefix}.{key}"
        if value in ("", None, []):
            continue  # a person leaves it blank
        if isinstance(value, dict):
            fill(page, sub, value, name)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            fill(page, sub.get("items", {}), value[0], f"{name}.0")  # the blank item the page offers
        elif isinstance(value, list):
            for item in value:
                page.check(f'input[name="{name}"][value="{item}"]')
        elif isinstance(value, bool):
            page.check(f'input[name="{name}"][value="{"yes" if value else "no"}"]')
        elif sub.get("format") == "date":
            year, month, day = value.split("-")
            page.fill(f'input[name="{name}.day"]', str(int(day)))
            page.fill(f'input[name="{name}.month"]', str(int(month)))
            page.fill(f'input[name="{name}.year"]', year)
        elif page.locator(f'select[name="{name}"]').count():
            page.select_option(f'select[name="{name}"]', str(value))
        elif page.locator(f'input[type="radio"][name="{name}"]').count():
            page.check(f'input[name="{name}"][value="{value}"]')
        else:
            page.fill(f'[name="{name}"]', str(value))


def work_a_case(page, area_slug: str, *, shots: bool) -> str:
    area = CTX.area(area_slug)
    spec = demo_case(area_slug)
    subject = spec["subjects"][0] if spec.get("subjects") else None
    person = demo_person(subject["person"]) if subject else None

    if person:
        page.goto("/persons")
        page.fill("#name", f"{person['given_name']} {person['family_name'][:-1]}")  # a typo still finds them
        page.click("button:has-text('Search')")
        if shots:
            check_page(page, "person-search")
        page.click(f"a:has-text('{person['given_name']} {person['family_name']}')")
        if shots:
            check_page(page, "person")
        page.click(f"a[href^='/areas/{area_slug}/new']")
        page.check(f"input[name='role'][value='{subject['role']}']")
    else:
        page.goto(f"/areas/{area_slug}/new")
    # submitting with nothing answered shows the error summary and keeps the page
    page.click("button:has-text('Open case')")
    page.wait_for_selector(".govuk-error-summary")
    if shots:
        check_page(page, "open-case-errors")
    fill(page, area.forms[area.opening_form].schema, spec["forms"][area.opening_form])
    page.click("button:has-text('Open case')")
    page.wait_for_selector("text=Case opened")
    reference = page.locator("h1").inner_text().split()[0]
    assert re.match(rf"{area.reference_prefix}-\d{{4}}-\d{{6}}", reference), reference
    case_url = page.url.split("?")[0]

    for name, answers in spec["forms"].items():
        if name == area.opening_form:
            continue
        page.goto(f"{case_url}/forms/{name}")
        fill(page, area.forms[name].schema, answers)
        page.click("button:has-text('Save answers')")
        page.wait_for_selector("text=Answers saved")
    moved = 0
    for transition in spec.get("transitions", []):
        t = area.workflow.transitions[transition]
        if not set(t.roles) & {"caseworker"}:
            break  # the rest of the demo path needs a supervisor; the guard tests cover refusals
        page.click(f"#next-steps ~ .cf-actions button:has-text('{t.label}')")
        page.wait_for_selector("text=Case updated")
        moved += 1
    assert moved or not spec.get("transitions"), "the journey made no workflow transition"

    page.fill("#note-text", "Phoned the household; agreed a visit next week.")
    page.click("button:has-text('Add note')")
    page.wait_for_selector("text=Phoned the household; agreed a visit next week.")
    page.click("summary:has-text('Add a task')")
    page.fill("#task-title", "Visit the household")
    page.fill("#due-day", "1")
    page.fill("#due-month", "12")
    page.fill("#due-year", "2030")
    page.click("button:has-text('Add task')")
    page.wait_for_selector("#tasks-section >> text=Visit the household")
    if shots:
        check_page(page, f"case-{area_slug}")
    return reference


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_asb_journey_at_every_width(new_page, width):
    spec = demo_case("asb")
    page = new_page(width)
    page.goto("/sign-in")
    check_page(page, "sign-in")
    sign_in(page, CASEWORKERS[spec["agency"]])
    check_page(page, "my-work")
    reference = work_a_case(page, "asb", shots=True)
    page.goto("/")
    assert reference in page.locator("main").inner_text()
    assert "Visit the household" in page.locator("main").inner_text()
    check_page(page, "my-work-after")
    page.goto("/areas/asb")
    check_page(page, "area-list")


@pytest.mark.parametrize("area", ["iom", "hate_crime", "rough_sleepers", "licensing"])
def test_journey_in_each_other_area(new_page, area):
    spec = demo_case(area)
    page = new_page(1280)
    sign_in(page, CASEWORKERS[spec["agency"]])
    reference = work_a_case(page, area, shots=False)
    page.goto("/")
    assert reference in page.locator("main").inner_text()


def test_admin_pages(new_page):
    page = new_page(768)
    sign_in(page, demo_email("ashdown-council", "admin"))
    page.goto("/admin/areas")
    check_page(page, "admin-areas")
    page.goto("/admin/users")
    check_page(page, "admin-users")
