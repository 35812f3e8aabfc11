"""A chair runs the panel in a real browser: schedules a meeting, builds the agenda, publishes it."""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [375, 1280])
def test_the_chair_schedules_a_meeting_and_publishes_its_agenda(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "priya.shah"))
    page.goto("/panels")
    check_page(page, "panels")
    page.click("a:has-text('Ashdown Complex Case Panel')")
    main = page.locator("main").inner_text()
    assert "Outstanding actions" in main and "Overdue" in main, "the demo's minuted meeting left actions"
    check_page(page, "panel")
    page.click("summary:has-text('Schedule a meeting')")
    page.click("button:has-text('Schedule meeting')")
    assert "Enter the date and time of the meeting" in page.locator(".govuk-error-summary").inner_text()
    day = dt.date.today() + dt.timedelta(days=30 + width % 7)
    page.fill("#starts-day", str(day.day))
    page.fill("#starts-month", str(day.month))
    page.fill("#starts-year", str(day.year))
    page.fill("#starts-time", "14:30")
    page.fill("#meeting-location", "Ashdown Civic Centre, Committee Room 1")
    page.click("button:has-text('Schedule meeting')")
    page.wait_for_url("**/meetings/*")
    assert "Meeting scheduled" in page.locator("main").inner_text()
    page.click("button:has-text('Publish the agenda to members')")
    assert "Add at least one item to the agenda" in page.locator("main").inner_text()
    options = page.locator("#agenda-item option").all_inner_texts()
    assert any(o.startswith(("Review:", "New referral:", "Outstanding actions")) for o in options), options
    page.select_option("#agenda-item", index=0)
    page.click("button:has-text('Add item')")
    assert "Added to the agenda" in page.locator("main").inner_text()
    page.click("button:has-text('Publish the agenda to members')")
    assert "Agenda published" in page.locator("main").inner_text()
    check_page(page, "meeting-published")


def test_a_member_reads_the_panel_without_the_cases_it_may_not_see(new_page):
    """The panel's list and outstanding actions name only the cases the member's agency may see; the others
    read 'not shared with your agency', as the minutes do (tests/security/test_leaks.py checks the words)."""
    page = new_page(375)
    sign_in(page, demo_email("harbour-victim-support", "amina.yusuf"))
    page.goto("/panels")
    page.click("a:has-text('Ashdown Complex Case Panel')")
    main = page.locator("main").inner_text()
    assert "Outstanding actions" in main and "Cases on the panel’s list" in main
    # the demo's victim service holds none of the panel's cases, nor an action on one
    assert (
        "An action on a case not shared with your agency" in main
        and "A case not shared with your agency" in main
    )
    assert "Joint warning visit" not in main
    check_page(page, "panel-member")
