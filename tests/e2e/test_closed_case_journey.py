"""A closed demo case is read-only: a caseworker sees the closed banner and no form that would be refused; a
supervisor sees the area's reopen step in the banner, reopens the case and can add a note again. A change asked for
anyway says the case is closed and leads back to it."""

from __future__ import annotations

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


def _open_a_closed_asb_case(page) -> str:
    page.goto("/areas/asb?state=closed&sort=newest")
    page.locator("main table tbody tr a").first.click()
    page.wait_for_url(lambda u: "/cases/" in u)
    return page.url.split("?")[0].split("#")[0]


@pytest.mark.parametrize("width", [375, 1280])
def test_a_caseworker_reads_a_closed_case_and_is_offered_no_change(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "casey.morgan"))
    case_url = _open_a_closed_asb_case(page)
    banner = page.locator("#closed-banner")
    assert "This case is closed. It was closed on" in banner.inner_text()
    assert "Reopen the case" not in banner.inner_text()  # a supervisor's step
    main = page.locator("main")
    for refused in (
        "Add a note",
        "Add a task",
        "Find person",
        "Add a document",
        "Make a referral",
        "Share case",
    ):
        assert main.locator(f"text={refused}").count() == 0, refused
    assert page.locator("main form[action$='/notes']").count() == 0
    assert page.locator("main a[href*='/forms/']").count() == 0
    assert page.locator("main a[href$='/lead']").count() == 0
    check_page(page, "closed-case")
    # a form's address typed in says why, with nothing to fill in
    page.goto(case_url + "/forms/review")
    assert "This case is closed: reopen it to change it." in page.locator("main").inner_text()
    assert page.locator("main textarea, main input[type=text]").count() == 0
    check_page(page, "closed-case-refused")
    # the refusal leads back to the case it was about
    page.locator("main a:has-text('Back to the case')").click()
    page.wait_for_url(lambda u: u.split("?")[0].split("#")[0] == case_url)
    assert page.locator("#closed-banner").count() == 1


def test_a_supervisor_reopens_a_closed_case_from_its_banner(new_page):
    page = new_page(1280)
    sign_in(page, demo_email("ashdown-council", "priya.shah"))
    case_url = _open_a_closed_asb_case(page)
    banner = page.locator("#closed-banner")
    assert "until it is reopened" in banner.inner_text()
    check_page(page, "closed-case-supervisor")
    banner.locator("button:has-text('Reopen the case')").click()
    page.wait_for_url(lambda u: "done=moved" in u)
    assert page.locator("#closed-banner").count() == 0
    assert "Under review" in page.locator("h1").inner_text()
    page.fill("#note-text", "Reported again: reopened for review")
    page.click("button:has-text('Add note')")
    page.locator("text=Reported again: reopened for review").first.wait_for()
    assert page.url.startswith(case_url)
