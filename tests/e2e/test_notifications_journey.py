"""Notifications in a real browser: the bell's count, the list, following one to its page, marking all read."""

from __future__ import annotations

import re

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    "width, agency, user",
    [(375, "northshire-police", "sam.okafor"), (1280, "ashdown-council", "casey.morgan")],
)
def test_bell_to_list_to_the_page_it_points_at(new_page, width, agency, user):
    page = new_page(width)
    # the demo shares cases and refers to both agencies (each user marks all read at the end: one user per width)
    sign_in(page, demo_email(agency, user))
    page.goto("/")
    bell = page.locator("#cf-bell")
    label = bell.inner_text()
    match = re.search(r"(\d+)\s*unread", label)
    assert match and int(match.group(1)) >= 1, label
    check_page(page, "notifications-bell")
    bell.click()
    page.wait_for_url(lambda u: u.endswith("/notifications"))
    assert page.locator("h1").inner_text() == "Notifications"
    check_page(page, "notifications-list")
    first = page.locator(".cf-notification button.cf-notification__open").first  # a POST: it marks it read
    text = first.inner_text()
    assert re.search(r"[A-Z]{2,}-\d{4}-\d+", text), text  # a reference, not case content
    first.click()
    page.wait_for_url(lambda u: "/notifications" not in u or re.search(r"/notifications/\d+$", u))
    assert page.locator("h1").count() == 1 and "Error" not in page.title()
    check_page(page, "notifications-followed")
    page.goto("/notifications")
    if page.locator("button:has-text('Mark all as read')").count():
        page.click("button:has-text('Mark all as read')")
        assert "All your notifications are marked as read" in page.locator("main").inner_text()
    assert "unread" not in page.locator("#cf-bell").inner_text().replace("none unread", "")
    check_page(page, "notifications-all-read")
