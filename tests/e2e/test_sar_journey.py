"""A subject access request in a real browser: a local admin records one from the person's page (after the error a
missing requester gets), downloads the working copy as PDF and JSON, extends the deadline and closes it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from caseframe.core.demo import demo_email
from caseframe.core.sar.service import add_months
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e
RECEIVED = dt.date.today() - dt.timedelta(days=4)


def _record_request(page, width: int) -> str:
    """From Jordan Reilly's page to a recorded request; returns the request page's address."""
    page.goto("/persons")
    page.fill("#name", "Jordan Reilly")
    page.click("main button:has-text('Search')")
    page.click("main a:has-text('Jordan Reilly')")
    page.wait_for_url("**/persons/*")
    page.click("main a:has-text('Record a subject access request')")
    page.wait_for_url("**/admin/sar/new?person_id=*")
    assert page.input_value("#person_id").isdigit()
    page.fill("#received_on-day", str(RECEIVED.day))
    page.fill("#received_on-month", str(RECEIVED.month))
    page.fill("#received_on-year", str(RECEIVED.year))
    page.click("main button:has-text('Record the request')")
    assert "Enter who made the request" in page.locator(".govuk-error-summary").inner_text()
    check_page(page, "sar-new-error")
    page.fill("#requester", f"Jordan Reilly, by letter ({width})")
    page.click("main button:has-text('Record the request')")
    page.wait_for_url("**/admin/sar/*?done=created")
    main = page.locator("main").inner_text()
    assert (
        "Request recorded" in main
        and "Jordan Reilly" in main
        and f"{add_months(RECEIVED, 1):%-d %B %Y}" in main
    )
    check_page(page, "sar-request")
    return page.url.split("?")[0]


@pytest.mark.parametrize("width", [375, 1280])
def test_a_local_admin_answers_a_subject_access_request(new_page, width, tmp_path):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "admin"))
    url = _record_request(page, width)
    if width < 800:
        # the phone journey: the PDF working copy, read back
        with page.expect_download() as download:
            page.click("main button:has-text('Download')")
        path = Path(download.value.path())
        assert download.value.suggested_filename.startswith("subject-access-request-SAR-")
        assert path.read_bytes().startswith(b"%PDF")
        text = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Everything held about Jordan Reilly" in text and "REDACT: THIRD PARTY" in text.upper()
        assert "Margaret Okoye" in text
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "60",
                "-png",
                "-f",
                "1",
                "-l",
                "3",
                str(path),
                str(Path(__file__).parent / "screenshots" / "sar-pdf"),
            ],
            check=True,
        )
    else:
        # the desktop journey: the JSON copy, the extension, closing, and the list
        page.check("#format-json")
        with page.expect_download() as download:
            page.click("main button:has-text('Download')")
        report = json.loads(Path(download.value.path()).read_text())
        assert report["person"]["given_name"] == "Jordan" and len(report["cases"]) >= 3
        assert any(m["path"].endswith("/people/1") or "/people/" in m["path"] for m in report["redactions"])
        page.goto(url)
        page.fill("#extension_reason", "Three cases and several partners' records to review")
        page.click("main button:has-text('Extend by two months')")
        page.wait_for_url("**?done=extended")
        assert f"{add_months(RECEIVED, 3):%-d %B %Y}" in page.locator("main").inner_text()
        page.fill("#closing_note", "Redacted PDF sent by secure e-mail")
        page.click("main button:has-text('Close the request')")
        page.wait_for_url("**?done=closed")
        check_page(page, "sar-closed")
        page.click("main a:has-text('Back to subject access requests')")
        page.click("main a:has-text('Closed')")
        assert "Jordan Reilly" in page.locator("main table").inner_text()
        check_page(page, "sar-list")
