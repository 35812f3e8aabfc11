"""Dashboards in a real browser: a supervisor filters their agency's figures; a panel chair opens the partnership view."""

from __future__ import annotations

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [375, 1280])
def test_a_panel_chair_reads_the_dashboards_and_downloads_a_figure(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "priya.shah"))
    if width < 800:  # the menu folds away on a phone
        toggle = page.locator("button.govuk-service-navigation__toggle, button.govuk-header__menu-button")
        if toggle.count() and toggle.first.is_visible():
            toggle.first.click()
    page.click("nav a:has-text('Dashboard')")
    page.wait_for_url("**/dashboard")
    main = page.locator("main")
    assert "Open cases by state" in main.inner_text() and main.locator("svg[role=img]").count() >= 3
    check_page(page, "dashboard-agency")
    page.select_option("#area", label="Anti-social behaviour")
    page.click("button:has-text('Show figures')")
    page.wait_for_url("**area=asb**")
    with page.expect_download() as download:
        page.click("a:has-text('Download “Open cases by state” as CSV')")
    assert download.value.suggested_filename.startswith("caseframe-open-by-state-")
    page.fill("#from", "last week")
    page.click("button:has-text('Show figures')")
    assert "Enter the start date as a date" in page.locator(".govuk-error-summary").inner_text()
    check_page(page, "dashboard-error")
    page.click("a:has-text('partnership view')")
    page.wait_for_url("**/dashboard/panels/**")
    assert "Cases by member agency" in page.locator("main").inner_text()
    check_page(page, "dashboard-partnership")


def test_a_caseworker_has_no_dashboard(new_page):
    page = new_page(375)
    sign_in(page, demo_email("ashdown-council", "casey.morgan"))
    assert page.locator("a[href='/dashboard']").count() == 0
    response = page.goto("/dashboard")
    assert response.status == 403
