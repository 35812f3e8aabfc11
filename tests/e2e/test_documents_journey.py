"""Documents in a real browser: a caseworker uploads a file onto a case, sees it listed, downloads it, and is told
in words when a file is refused."""

from __future__ import annotations

import pytest

from caseframe.core.demo import demo_email
from caseframe.core.documents.samples import tiny_pdf
from tests.e2e.conftest import check_page, sign_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [375, 1280])
def test_upload_see_it_listed_and_download_it(new_page, width):
    page = new_page(width)
    sign_in(page, demo_email("ashdown-council", "casey.morgan"))
    page.goto("/areas/asb")
    page.locator("main a[href^='/cases/']").first.click()
    page.wait_for_url(lambda u: "/cases/" in u)
    name = f"Visit notes {width}.pdf"
    page.click("summary:has-text('Add a document')")
    page.set_input_files(
        "#document-file",
        files=[
            {
                "name": name,
                "mimeType": "application/pdf",
                "buffer": tiny_pdf(["Visit notes (fictional)", "Spoke to the neighbour at number 12."]),
            }
        ],
    )
    page.check("#document-sensitivity-official")
    page.click("button:has-text('Upload document')")
    page.wait_for_url(lambda u: "done=document-added" in u)
    documents = page.locator("#documents-section")
    assert name in documents.inner_text() and "Not checked for viruses" in documents.inner_text()
    assert "Document added: " + name in page.locator("#timeline-section").inner_text()
    page.locator("#documents").scroll_into_view_if_needed()
    check_page(page, "documents-listed")

    with page.expect_download() as download:
        documents.locator(f"a:has-text('{name}')").click()
    assert download.value.suggested_filename == name
    with open(download.value.path(), "rb") as saved:
        assert saved.read(5) == b"%PDF-"

    page.click("summary:has-text('Add a document')")
    page.set_input_files(
        "#document-file",
        files=[
            {
                "name": "logo.svg",
                "mimeType": "image/svg+xml",
                "buffer": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            }
        ],
    )
    page.click("button:has-text('Upload document')")
    error = page.locator("#document-file-error").inner_text()
    assert "Files ending in .svg are not accepted" in error
    assert page.title().startswith("Error:")
    check_page(page, "documents-refused")
