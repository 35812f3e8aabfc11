"""A restricted case in the lists, in a real browser: its local admin sees it marked "Restricted" in the area list;
a supervisor of the same agency no longer finds it there, and opening it says it is restricted. Lifted at the end,
so the demo is as it was for the other journeys."""

from __future__ import annotations

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e
REFERENCE = "ASB-2019-000001"


def _decide(page, button: str, field: str, reason: str) -> None:
    page.goto("/admin/retention")
    page.click(f"main a:has-text('{REFERENCE}')")
    page.wait_for_url("**/admin/retention/*")
    page.fill(field, reason)
    page.click(f"button:has-text('{button}')")
    page.wait_for_url("**/admin/retention?done=*")


@pytest.mark.parametrize("width", [375, 1280])
def test_a_restricted_case_is_marked_for_its_local_admin_and_gone_from_everyone_elses_list(new_page, width):
    admin = new_page(width)
    sign_in(admin, demo_email("ashdown-council", "admin"))
    _decide(admin, "Restrict the case", "#restrict_reason", "The subject contests the accuracy of the record")
    try:
        admin.goto("/areas/asb?sort=reference")
        row = admin.locator(f"main tr:has-text('{REFERENCE}')")
        assert "Restricted" in row.inner_text()
        assert row.locator("input[name=case]").is_disabled()  # nothing is done to it, so it cannot be ticked
        check_page(admin, "restricted-in-area-list")
        case_url = row.locator("a").first.get_attribute("href")
        worker = new_page(width)
        sign_in(worker, "priya.shah@ashdown-council.example")
        worker.goto("/areas/asb?sort=reference")
        assert REFERENCE not in worker.locator("main").inner_text()
        response = worker.goto(case_url)
        assert (
            response.status == 403
            and "restricted while it is reviewed" in worker.locator("main").inner_text()
        )
        check_page(worker, "restricted-refused")
    finally:
        _decide(admin, "Lift the restriction", "#restrict_reason", "Accuracy confirmed with the subject")
