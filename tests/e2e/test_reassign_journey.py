"""A supervisor hands a caseworker's cases to someone else from an area list, checking the changes first."""
from __future__ import annotations

import pytest

from core.demo import demo_email
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
    page.goto("/")
    assert references[0] in page.locator("main").inner_text()  # the new lead's My work
