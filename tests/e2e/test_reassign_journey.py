"""A supervisor hands a caseworker's cases to someone else from an area list, checking the changes first."""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [375, 1280])
def test_a_supervisor_reassigns_a_caseload_from_the_area_list(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "priya.shah"))
    page.goto("/areas/asb")
    page.select_option("#owner", label="Casey Morgan")
    page.click("button:has-text('Apply filters')")
    assert "owner=" in page.url
    check_page(page, "reassign-list")
    references = [page.locator("table tbody tr").nth(i).locator("a").first.inner_text() for i in range(1)]
    page.check("#case-0")
    page.select_option("#lead_officer_id", label="Priya Shah")
    page.check("#tasks")
    page.click("button:has-text('Check the changes')")
    heading = page.locator("h1").inner_text()
    assert heading == "Give 1 case to Priya Shah", heading
    assert references[0] in page.locator("main table").inner_text()
    check_page(page, "reassign-confirm")
    page.click("button:has-text('Reassign 1 case')")
    page.wait_for_url(lambda u: "done=cases-reassigned" in u)
    assert "Cases reassigned" in page.locator("main").inner_text()
    assert references[0] in page.locator("main table").inner_text()
    check_page(page, "reassign-done")
    page.click(f"a:has-text('{references[0]}')")
    assert "Lead officer changed: Casey Morgan" in page.locator("main").inner_text()
    case_url = page.url
    page.goto("/")
    assert references[0] in page.locator("main").inner_text()  # the new lead's My work

    # one case handed back from its own page
    page.goto(case_url)
    page.click("a:has-text('Change lead officer')")
    page.select_option("#lead_officer_id", label="Casey Morgan")
    check_page(page, "lead-change")
    page.click("button:has-text('Change lead officer')")
    page.wait_for_url(lambda u: "done=lead-changed" in u)
    assert "Lead officer changed: Priya Shah \u2192 Casey Morgan" in page.locator("main").inner_text()

    # a task added, then given a date and another person
    page.click("summary:has-text('Add a task')")
    page.fill("#task-title", f"Call the complainant back ({width})")
    page.click("button:has-text('Add task')")  # htmx swaps the task list in place
    page.locator(f"a:has-text('task: Call the complainant back ({width})')").wait_for()
    page.click(f"a:has-text('task: Call the complainant back ({width})')")
    check_page(page, "task-edit")
    page.fill("#due-day", "1")
    page.fill("#due-month", "1")
    page.fill("#due-year", str(dt.date.today().year - 1))
    page.click("button:has-text('Save task')")
    assert "The due date must be today or later" in page.locator(".govuk-error-summary").inner_text()
    check_page(page, "task-edit-error")
    page.fill("#due-year", str(dt.date.today().year + 1))  # a due date is bounded to 10 years either way
    page.select_option("#task-assignee", label="Casey Morgan")
    page.click("button:has-text('Save task')")
    page.wait_for_url(lambda u: "done=task-changed" in u)
    assert "Task changed: Call the complainant back" in page.locator("main").inner_text()
