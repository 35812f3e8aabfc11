"""Live minutes in two browsers: the chair writes a minute and an action; a member sees both appear unreloaded.

The member's browser talks to a second server process on the same SQLite file (as with ``caseframe serve
--workers 2``), so every entry crosses from one process to the other."""

from __future__ import annotations

import datetime as dt

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import SCREENSHOTS, check_page, sign_in

pytestmark = pytest.mark.e2e


def _meeting_with(page, button: str) -> str:
    for meeting_id in range(1, 11):
        response = page.goto(f"/meetings/{meeting_id}")
        if response.status == 200 and page.locator(f"button:has-text('{button}')").count():
            return page.url
    raise AssertionError(f"the demo has no meeting offering '{button}'")


def test_a_member_follows_the_minutes_live_and_the_action_lands_on_the_case(
    new_page, chromium, server, second_server
):
    chair = new_page(1280)
    sign_in(chair, demo_email("ashdown-council", "priya.shah"))
    url = _meeting_with(chair, "Start the meeting")
    chair.click("button:has-text('Start the meeting')")
    chair.wait_for_selector("text=Meeting started")
    assert "Write the minutes" in chair.locator("main").inner_text()

    # the member's browser keeps the real Content-Security-Policy: the SSE extension must load under it; it is
    # served by the other process
    member_context = chromium.new_context(viewport={"width": 375, "height": 800}, base_url=second_server)
    try:
        member = member_context.new_page()
        member.set_default_timeout(15000)
        errors: list[str] = []
        member.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in(member, demo_email("northshire-police", "sam.okafor"))
        member.goto(url.replace(server, second_server))
        assert "New entries appear here as they are written" in member.locator("main").inner_text()
        member.evaluate("() => { window.__notReloaded = true }")
        member.wait_for_function("() => !!window.htmx && !!document.querySelector('[sse-connect]')")
        member.wait_for_timeout(800)  # let the EventSource connect

        chair.select_option("#minute-item_id", index=1)
        chair.check("#minute-kind")
        chair.fill("#minute-text", "Police attended twice this month; neighbours report music until 3am.")
        chair.click("button:has-text('Add to the minutes')")
        member.wait_for_selector("#minutes-list >> text=neighbours report music until 3am", timeout=5000)

        due = dt.date.today() + dt.timedelta(days=14)
        chair.select_option("#minute-item_id", index=1)
        chair.check("#minute-kind-action")
        chair.fill("#minute-text", "Joint warning visit with the housing officer")
        chair.click("summary:has-text('For an action')")
        chair.select_option("#minute-owner_agency_id", label="Northshire Police")
        chair.fill("#due-day", str(due.day))
        chair.fill("#due-month", str(due.month))
        chair.fill("#due-year", str(due.year))
        chair.click("button:has-text('Add to the minutes')")
        member.wait_for_selector(
            "#minutes-list >> text=Joint warning visit with the housing officer", timeout=5000
        )
        assert member.evaluate("() => window.__notReloaded === true"), "the member's page reloaded"
        assert "Task for Northshire Police" in member.locator("#minutes-list").inner_text()
        assert not [e for e in errors if "Content Security Policy" in e], errors

        # the chair corrects the first entry from the link on it (it arrived live, so the link came with it);
        # the member sees the correction and the original marked as corrected, still without reloading
        first = chair.locator("#minutes-list li").first
        first.locator("a:has-text('Correct')").click()
        chair.wait_for_selector("text=You are correcting an entry")
        chair.fill(
            "#minute-text", "Police attended three times this month; neighbours report music until 3am."
        )
        chair.click("button:has-text('Add to the minutes')")
        member.wait_for_selector("#minutes-list >> text=Police attended three times this month", timeout=5000)
        member.wait_for_selector("#minutes-list li:first-child >> text=Corrected below", timeout=5000)
        assert member.locator("#minutes-list li").count() == 3, (
            "the corrected entry was added again, not replaced"
        )
        assert member.locator("#minutes-list a:has-text('Correct')").count() == 0, (
            "a member is offered corrections"
        )
        assert member.evaluate("() => window.__notReloaded === true"), "the member's page reloaded"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        member.screenshot(path=str(SCREENSHOTS / "live-minutes-member-375.png"), full_page=True)

        # the chair closes the meeting: the member's page says so without reloading
        chair.click("button:has-text('Close the meeting')")
        chair.wait_for_selector("h1:has-text('Close the meeting?')")  # the confirmation step
        chair.click("button:has-text('Close the meeting')")
        chair.wait_for_selector("text=Meeting closed")
        member.wait_for_selector("#meeting-status:has-text('Closed')", timeout=20000)
        # the action is on the case at once, for the agency that owns it
        member.locator("#minutes-list a:has-text('on the case')").last.click()
        member.wait_for_url("**/cases/*")
        assert "Joint warning visit with the housing officer" in member.locator("main").inner_text()
    finally:
        member_context.close()
    chair.goto(url)
    check_page(chair, "live-minutes-chair")
