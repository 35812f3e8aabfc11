"""Merging two records of one person in a real browser, at phone and laptop widths, with axe checks: a
supervisor sees the duplicate explained, compares the records side by side and merges them; the old record's
address leads to the survivor; a system admin undoes the merge (so each width starts from the demo's pair)."""

from __future__ import annotations

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [375, 1280])
def test_a_supervisor_merges_a_duplicate_and_a_system_admin_undoes_it(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "priya.shah"))
    page.goto("/persons")
    page.fill("#name", "Fitzgerald")
    page.click("button:has-text('Search')")
    page.click("a:text-is('Connor Fitzgerald')")
    keep_url = page.url
    duplicates = page.locator("#duplicates").inner_text()
    assert "Conor Fitzgerald" in duplicates
    assert "Close spelling" in duplicates and "The same date of birth" in duplicates
    check_page(page, "person-duplicates")

    page.click("#duplicates a:has-text('Compare and merge')")
    assert "Are these the same person?" in page.locator("h1").inner_text()
    cards = page.locator(".govuk-summary-card")
    assert cards.count() == 2 and "Conor" in cards.nth(1).inner_text()
    check_page(page, "merge-compare")
    page.check("input[name=given_name][value=a]")  # keep "Connor"
    assert page.locator("input[name=address]:checked").count() == 2  # both addresses kept
    page.click("button:has-text('Merge records')")
    page.wait_for_url(lambda u: "done=persons-merged" in u)
    main = page.locator("main").inner_text()
    assert "Records merged" in main and "Conor Fitzgerald" in main and "Con Fitz" in main
    assert "12 Alder Rise" in main and "40 Mill Street" in main
    assert "Possible duplicate records" not in main
    check_page(page, "person-merged")
    merged_id = page.locator("main li:has-text('merged')").first.inner_text().split()[1]

    page.goto(f"/persons/{merged_id}")  # the old record's address
    assert page.url.startswith(keep_url) and "was merged into this one" in page.locator("main").inner_text()

    page.click("a:has-text('Change details')")
    check_page(page, "person-edit")
    page.fill("#aliases", page.input_value("#aliases") + "\nCFitz")
    page.fill("#addresses-2-line1", "The Old Forge")  # the empty row adds an address
    page.fill("#addresses-2-postcode", "an9 9zz")
    page.click("button:has-text('Save changes')")
    page.wait_for_url(lambda u: "done=person-saved" in u)
    main = page.locator("main").inner_text()
    assert "CFitz" in main and "AN9 9ZZ" in main

    admin = new_page(width)
    sign_in(admin, demo_email("northshire-county", "sysadmin"))
    admin.goto("/admin/person-merges")
    assert "Fitzgerald" not in admin.locator("main").inner_text()  # numbers, not names
    check_page(admin, "person-merges")
    admin.click("main a:has-text('Undo')")
    check_page(admin, "person-merge-undo")
    admin.click("button:has-text('Undo the merge')")
    admin.wait_for_url(lambda u: "done=merge-undone" in u)
    assert "Merge undone" in admin.locator("main").inner_text()

    page.goto(f"/persons/{merged_id}")
    assert page.url.endswith(f"/persons/{merged_id}")
    assert "Conor Fitzgerald" in page.locator("h1").inner_text()
