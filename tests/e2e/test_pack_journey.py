"""The panel pack in a real browser: the chair downloads an attendee's pack; a member downloads their own."""

from __future__ import annotations

import pytest

from caseframe.core.demo import demo_email
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


def open_pack_page(page) -> str:
    """The first demo meeting whose pack page offers a download (the demo makes one published meeting)."""
    for meeting_id in range(1, 11):
        response = page.goto(f"/meetings/{meeting_id}/pack")
        if response.status == 200 and page.locator("button:has-text('Download')").count():
            return page.url
    raise AssertionError("the demo data has no meeting with a pack to download")


@pytest.mark.parametrize("width", [375, 1280])
def test_the_chair_downloads_a_pack_for_an_attendee(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "priya.shah"))
    open_pack_page(page)
    main = page.locator("main").inner_text()
    assert "Make a pack for an attendee" in main and "PC Sam Okafor" in main
    check_page(page, "panel-pack")
    card = page.locator("li.cf-card", has_text="PC Sam Okafor")
    with page.expect_download() as download:
        card.locator("button:has-text('Download pack')").click()
    assert download.value.suggested_filename.startswith("panel-pack-meeting-")
    assert "Okafor" not in download.value.suggested_filename
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"


def test_a_member_downloads_their_own_pack(new_page):
    page = new_page(375)
    sign_in(page, demo_email("northshire-police", "sam.okafor"))
    open_pack_page(page)
    assert "Make a pack for an attendee" not in page.locator("main").inner_text()
    check_page(page, "panel-pack-member")
    with page.expect_download() as download:
        page.click("button:has-text('Download your pack')")
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
