"""What a tester found in the browser, walked again: read-only cases, disabled areas, who holds a shared case,
self-referrals, user admin with confirmation steps, panel actions."""
from __future__ import annotations

import pytest

from core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [375, 1280])
def test_a_partner_reads_who_holds_a_shared_case_and_gets_no_form_to_edit(new_page, width):
    partner = new_page(width)
    sign_in(partner, demo_email("northshire-police", "sam.okafor"))
    partner.goto("/")
    partner.locator("h2:has-text('Shared with your agency') + ul a").first.click()
    summary = partner.locator("main dl").first.inner_text()
    assert "Owning agency" in summary and "Ashdown District Council" in summary
    assert "Not set" not in summary
    assert partner.locator("main a[href^='mailto:']").count() >= 1
    assert partner.locator("main a[href*='/forms/']").count() == 0
    assert partner.locator("main form[action*='/transitions/']").count() == 0
    check_page(partner, "correctness-shared-case-holder")
    case_url = partner.url.split("?")[0]
    partner.goto(case_url + "/forms/report")
    main = partner.locator("main").inner_text()
    assert "Only its owning agency can change it" in main
    assert partner.locator("main form").count() == 0 and partner.locator("button:has-text('Save answers')").count() == 0
    check_page(partner, "correctness-shared-case-form-refused")
