"""A panel named after a case, in a real browser: the council's chair names a new panel after one of its cases; a
police officer, who may not see that case, finds the panel in the list of where to refer their own case as
"[a case you cannot see]", never the reference (neither the option's words nor its value). Renamed at the end, so
the demo reads as it was for the other journeys."""

from __future__ import annotations

import re

import pytest

from caseframe.core.demo import demo_email
from caseframe.core.sharing.redaction import HIDDEN_CASE
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e
AREA = "asb"


def _council_case_hidden_from(chair, officer) -> str:
    """A reference of a council case the officer's agency may not see (opening it is "not found" for them)."""
    chair.goto(f"/areas/{AREA}?sort=reference")
    for link in chair.locator("main table a[href^='/cases/']").all()[:15]:
        reference, href = link.inner_text().strip(), link.get_attribute("href")
        if re.fullmatch(r"[A-Z]{2,6}-\d{4}-\d+", reference) and officer.goto(href).status == 404:
            return reference
    raise AssertionError("the demo has no council case hidden from the police")


def _own_case_with_referral_form(officer) -> str:
    for listing in [
        "/",
        *(f"/areas/{a}" for a in ("asb", "hate_crime", "iom", "rough_sleepers", "licensing")),
    ]:
        officer.goto(listing)
        links = [a.get_attribute("href") for a in officer.locator("main a[href^='/cases/']").all()[:10]]
        for href in [h for h in links if h and re.fullmatch(r"/cases/\d+", h)]:
            officer.goto(href)
            if officer.locator("select[name=target]").count():
                return href
    raise AssertionError("the police have no case of their own to refer in the demo")


def _rename(chair, name: str, new_name: str) -> None:
    chair.goto("/panels")
    chair.click(f"main a:has-text('{name}')")
    chair.wait_for_url("**/panels/*")
    chair.click("summary:has-text('Change the panel')")
    chair.fill("#panel-name", new_name)
    chair.locator("form:has(#panel-name) button[type=submit]").click()
    chair.wait_for_load_state()


def test_a_panel_named_after_a_case_reads_as_the_marker_to_a_partner_referring_to_it(new_page):
    chair = new_page(1280)
    sign_in(chair, demo_email("ashdown-council", "priya.shah"))
    officer = new_page(1280)
    sign_in(officer, demo_email("northshire-police", "sam.okafor"))
    hidden = _council_case_hidden_from(chair, officer)
    name = f"Review of {hidden}"
    chair.goto("/panels")
    chair.click("summary:has-text('Set up a panel')")
    chair.fill("#panel-name", name)
    chair.locator("#members .govuk-checkboxes__item:has-text('Police') input").first.check()
    chair.locator(f"#area-{AREA}").check()
    with chair.expect_navigation():
        chair.locator("form:has(#panel-name) button[type=submit]").click()
    assert "done=panel-saved" in chair.url, chair.locator("main").inner_text()[:600]
    try:
        assert name in chair.locator("main").inner_text()  # the chair's agency may see its own case
        case_url = _own_case_with_referral_form(officer)
        for width in (1280, 375):
            page = new_page(width)
            sign_in(page, demo_email("northshire-police", "sam.okafor"))
            page.goto(case_url)
            options = page.locator("select[name=target] option")
            labels = [(o.text_content() or "").strip() for o in options.all()]
            values = [o.get_attribute("value") or "" for o in options.all()]
            assert f"Review of {HIDDEN_CASE}" in labels, labels
            assert not [t for t in labels + values if hidden in t or hidden.lower() in t]
            closed = page.locator("details:not([open]):has(select[name=target]) > summary")
            if closed.count():
                closed.first.click()
            page.select_option("select[name=target]", label=f"Review of {HIDDEN_CASE}")
            page.locator("select[name=target]").scroll_into_view_if_needed()
            check_page(page, "referral-target-redacted")
            assert hidden not in page.content()
    finally:
        _rename(chair, name, "Journey panel (renamed)")
