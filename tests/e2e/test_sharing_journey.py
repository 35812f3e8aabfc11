"""Sharing in a real browser: the owner sees who a case is shared with and who viewed it; the partner reads it."""

from __future__ import annotations

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [375, 1280])
def test_a_partner_reads_a_shared_case_and_the_owner_sees_the_view(new_page, width):
    partner = new_page(width)
    sign_in(partner, demo_email("northshire-police", "sam.okafor"))
    partner.goto("/")
    shared = partner.locator("h2:has-text('Shared with your agency') + ul a").first
    reference = shared.inner_text()
    shared.click()
    assert "shared with yours" in partner.locator("main").inner_text()
    assert partner.locator("button:has-text('Add note')").count() == 0
    check_page(partner, "shared-case-partner")
    case_url = partner.url

    owner = new_page(width)
    sign_in(owner, demo_email("ashdown-council", "casey.morgan"))
    owner.goto(case_url)
    assert reference in owner.locator("h1").inner_text()
    owner.click("summary:has-text('Who has viewed this case')")
    assert "PC Sam Okafor" in owner.locator("#viewers").inner_text()
    assert "Northshire Police" in owner.locator("#sharing ~ ul").first.inner_text()
    check_page(owner, "shared-case-owner")


def test_the_system_admin_sees_the_agreements(new_page):
    page = new_page(1280)
    sign_in(page, demo_email("northshire-county", "sysadmin"))
    page.goto("/sharing/agreements")
    text = page.locator("main").inner_text()
    assert "NCSP-ISA-2026" in text and "Ended" in text
    check_page(page, "agreements")


def test_the_memorandum_is_accepted_at_sign_in(new_page):
    from tests.e2e.conftest import PASSWORD

    page = new_page(375)
    page.goto("/sign-in")
    page.fill("#email", demo_email("ashdown-homes", "ruth.ellis"))
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(lambda u: "/mou" in u)
    check_page(page, "mou")
    page.click("button:has-text('Accept and continue')")
    assert "Select that you accept" in page.locator(".govuk-error-summary").inner_text()
    page.check("#accept")
    page.click("button:has-text('Accept and continue')")
    page.wait_for_url(lambda u: "/mou" not in u)
    assert "My work" in page.locator("main").inner_text() or page.url.endswith("/")


@pytest.mark.parametrize("width", [375, 1280])
def test_national_search_and_asking_for_access(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("harbour-victim-support", "amina.yusuf"))
    page.goto("/search/national")
    page.fill("#name", "Margaret Okoye")
    page.click("button:has-text('Search')")
    assert "Select why you are searching" in page.locator(".govuk-error-summary").inner_text()
    page.check("input[name='purpose'][value='safeguarding']")
    page.click("button:has-text('Search')")
    results = page.locator("main").inner_text()
    assert "Margaret Okoye" in results and "1951" not in page.url
    check_page(page, "national-search")
    asks = page.locator("button:has-text('Ask for access')")
    if asks.count():
        asks.first.click()
        page.fill("#reason", "Victim support referral for Margaret; we need the history of reports.")
        page.click("button:has-text('Send request')")
        assert (
            "Request sent" in page.locator("main").inner_text()
            or "Pending" in page.locator("main").inner_text()
        )
        check_page(page, "access-requests")
