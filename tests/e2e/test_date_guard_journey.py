"""A step held back by a date guard says why and until when, in a real browser at phone and laptop widths."""

from __future__ import annotations

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [375, 1280])
def test_an_appeal_after_the_21_days_is_refused_with_the_last_day_it_was_possible(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "casey.morgan"))
    page.goto("/persons")
    page.fill("#name", "Dean Farrow")
    page.click("button:has-text('Search')")
    page.click("a:has-text('Dean Farrow')")
    page.click("a[href^='/cases/']:has-text('LIC-')")
    refusal = page.locator("#refusal-record_appeal")
    assert refusal.inner_text() == (
        "An appeal to the magistrates' court must be made within 21 days of the "
        "decision. Only possible until 20 November 2026."
    )
    button = page.locator("button[aria-describedby='refusal-record_appeal']")
    assert button.inner_text() == "Record an appeal"
    check_page(page, "case-date-guard")
    button.click()  # pressed anyway: the same reason, nothing changed
    main = page.locator("main").inner_text()
    assert "That could not be done" in main and "Only possible until 20 November 2026" in main
    assert "Decision made" in main
    check_page(page, "case-date-guard-refused")
