"""The retention review in a real browser: a local admin puts one old case on legal hold and erases another."""

from __future__ import annotations

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


def _open_review(page, reference: str) -> None:
    page.goto("/admin/retention")
    main = page.locator("main")
    assert (
        "Cases due for review" in main.inner_text()
        and "keeps cases 6 years after closure" in main.inner_text()
    )
    page.click(f"main a:has-text('{reference}')")
    page.wait_for_url("**/admin/retention/*")
    assert f"Review {reference}" in page.locator("h1").inner_text()


@pytest.mark.parametrize("width", [375, 1280])
def test_a_local_admin_reviews_cases_past_retention(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "admin"))
    if width < 800:
        # the phone journey: a legal hold, with the error a missing reason gets
        _open_review(page, "ASB-2019-000001")
        check_page(page, "retention-queue-case")
        page.click("button:has-text('Put on legal hold')")
        summary = page.locator(".govuk-error-summary")
        assert "Enter the reason for the legal hold" in summary.inner_text()
        check_page(page, "retention-error")
        page.fill("#hold_reason", "Insurance claim by the neighbour still open")
        page.click("button:has-text('Put on legal hold')")
        page.wait_for_url("**/admin/retention?done=held")
        assert "Legal hold" in page.locator("main").inner_text()
        check_page(page, "retention-queue")
    else:
        # the desktop journey: erase, through the confirmation page, and the case now answers as erased
        _open_review(page, "ASB-2018-000001")
        case_url = page.url
        page.fill("#erase_reason", "Reviewed: nothing pending, past the six years")
        page.click("button:has-text('Erase the case')")
        assert "Erase case ASB-2018-000001?" in page.locator("h1").inner_text()
        check_page(page, "retention-confirm")
        page.click("button:has-text('Erase case')")
        page.wait_for_url("**/admin/retention?done=erased")
        assert "ASB-2018-000001" not in page.locator("main table").first.inner_text()
        check_page(page, "retention-erased")
        response = page.goto(case_url.replace("/admin/retention/", "/cases/"))
        assert response.status == 410 and "under the retention policy" in page.locator("main").inner_text()
