"""Warning markers in a real browser, at phone and laptop widths, with axe checks: the council's caseworker sees
the special category marker on a person the council recorded, ticks a staff-safety marker on Change details, and
the police officer who sees the same person through a case of theirs reads the staff-safety marker but never the
special category one (the demo's agreement allows sensitive information, not special category). Each width puts
the record back as the demo made it."""

from __future__ import annotations

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [375, 1280])
def test_the_holder_sets_a_marker_and_a_partner_reads_only_what_its_agreement_allows(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "casey.morgan"))
    page.goto("/persons")
    page.fill("#name", "Jordan Reilly")
    page.click("button:has-text('Search')")
    page.click("a:text-is('Jordan Reilly')")
    person_url = page.url
    assert page.locator("#warning-markers").inner_text().split() == [
        "Warning",
        "markers:",
        "Substance",
        "misuse",
    ]

    page.click("a:has-text('Change details')")
    assert page.is_checked("#flag-substance_misuse")
    hint = page.locator("#flag-substance_misuse-hint").inner_text()
    assert "special category" in hint
    page.check("#flag-violence_marker")
    check_page(page, "warning-markers-edit")
    page.click("button:has-text('Save changes')")
    page.wait_for_url(lambda u: "done=person-saved" in u)
    markers = page.locator("#warning-markers").inner_text()
    assert "Violence or threats to staff" in markers and "Substance misuse" in markers
    check_page(page, "warning-markers-holder")

    officer = new_page(width)
    sign_in(officer, demo_email("northshire-police", "sam.okafor"))
    officer.goto(person_url)
    assert "Jordan Reilly" in officer.locator("h1").inner_text()
    markers = officer.locator("#warning-markers").inner_text()
    assert "Violence or threats to staff" in markers
    assert "Substance misuse" not in officer.locator("body").inner_text()
    assert officer.locator("a:has-text('Change details')").count() == 0
    check_page(officer, "warning-markers-partner")
    # and beside the person on a case of theirs about them
    officer.click("main a:has-text('IOM-')")
    people = officer.locator("main li.cf-card:has-text('Jordan Reilly')").inner_text()
    assert "Violence or threats to staff" in people and "Substance misuse" not in people
    check_page(officer, "warning-markers-case")

    # back as the demo made it, for the other width and the other journeys
    page.goto(person_url)
    page.click("a:has-text('Change details')")
    page.uncheck("#flag-violence_marker")
    page.click("button:has-text('Save changes')")
    page.wait_for_url(lambda u: "done=person-saved" in u)
    assert "Violence" not in page.locator("#warning-markers").inner_text()
