"""Referrals in a real browser: a victim service reads why a rule referred someone, asks, and accepts."""

from __future__ import annotations

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [375, 1280])
def test_the_inbox_explains_a_rule_referral_and_accepting_opens_a_case(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("harbour-victim-support", "amina.yusuf"))
    page.click("a:has-text('Referrals')") if width > 800 else page.goto("/referrals")
    page.wait_for_url("**/referrals*")
    check_page(page, "referral-inbox")
    rows = page.locator("table a[href^='/referrals/']")
    assert rows.count() >= 1, "the demo leaves referrals waiting for the victim service"
    rows.first.click()
    main = page.locator("main").inner_text()
    assert "Why" in main and "It saw:" in main and "Decline" in main
    check_page(page, "referral")
    if width < 800:
        return  # the phone run reads; the laptop run decides (the demo referral can be accepted once)
    page.click("button:has-text('Continue')")
    page.wait_for_url("**/accept*")
    check_page(page, "referral-accept")
    page.locator("input[name='role']").first.check()
    page.click("button:has-text('Accept and open case')")
    if "/cases/" not in page.url:
        # the area's opening form asks what the referring case could not carry: answer it, as a worker would
        for group in page.locator(".govuk-form-group--error").all():
            if group.locator("input[type=radio]").count():
                group.locator("input[type=radio]").first.check()
            elif group.locator("input[type=checkbox]").count():
                group.locator("input[type=checkbox]").first.check()
            elif group.locator("select").count():
                group.locator("select").first.select_option(index=1)
            elif group.locator("textarea").count():
                group.locator("textarea").first.fill("Not known yet")
        page.click("button:has-text('Accept and open case')")
    if "/cases/" not in page.url:
        # the area's opening form needs answers the referring case could not carry: fill what is asked
        summary = page.locator(".govuk-error-summary").inner_text()
        raise AssertionError(f"accepting did not open a case: {summary}")
    assert "Referral accepted: case opened" in page.locator("main").inner_text()
    assert "Opened from a referral" in page.locator("main").inner_text()
