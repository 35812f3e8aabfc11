"""Documents over HTTP: the upload form on the case page, the list, the download's headers, removal, and every
refusal a page in words."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.documents import storage
from caseframe.core.documents.samples import tiny_pdf
from caseframe.core.documents.tables import Document
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import csrf_token_of, make_agency, make_context, make_user, sign_in, web_client
from tests.fixtures.areas import noise_plugin

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
PDF = tiny_pdf(["Noise diary, week 1"])


@pytest.fixture
async def world(db, tmp_path):
    ctx = make_context(noise_plugin)
    council = await make_agency(ctx, "ashdown-council")
    police = await make_agency(ctx, "wealden-police")
    owner = await make_user(council, ("caseworker",), name="Olive Owner")
    admin = await make_user(council, ("system_admin",), name="Sam Sysadmin")
    partner = await make_user(police, ("caseworker",), name="Pat Partner")
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    today = clock.today()
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-DOCS",
        title="Docs",
        parties=[council["id"], police["id"]],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="CDA 1998 s.115",
        starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=30),
        max_sensitivity="official",
    )
    await sharing.share_case(owner, case["id"], agency_id=police["id"], purpose="crime_prevention")
    yield {"ctx": ctx, "owner": owner, "partner": partner, "case": case, "db": db}
    storage.CONFIG.store = None


async def _upload(
    client,
    csrf: str,
    case_id: int,
    data: bytes = PDF,
    name: str = "diary.pdf",
    sensitivity: str = "official",
    content_type: str = "application/pdf",
):
    return await client.post(
        f"/cases/{case_id}/documents",
        data={"csrf_token": csrf, "sensitivity": sensitivity},
        files={"file": (name, data, content_type)},
    )


async def test_upload_list_and_download(world):
    case_id = world["case"]["id"]
    async with web_client(world["ctx"], world["db"]) as client:
        await sign_in(client, world["owner"])
        page = (await client.get(f"/cases/{case_id}")).text
        assert 'enctype="multipart/form-data"' in page and "up to 20 MB" in page
        assert 'value="sensitive" checked' in page  # the form's default level
        sent = await _upload(client, csrf_token_of(page), case_id, name="Noise diary \u2013 week 1.pdf")
        assert (
            sent.status_code == 303
            and sent.headers["location"] == f"/cases/{case_id}?done=document-added#documents"
        )
        page = (await client.get(sent.headers["location"])).text
        assert "Document added" in page and "Noise diary \u2013 week 1.pdf" in page
        assert "Not checked for viruses" in page
        document = await Document.select().first()
        got = await client.get(f"/cases/{case_id}/documents/{document['id']}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"Noise diary _ week 1.pdf\"; filename*=UTF-8''Noise%20diary%20%E2%80%93%20week%201.pdf"
    )
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["cache-control"] == "no-store"
    events = await AuditEvent.select(AuditEvent.action).where(AuditEvent.actor_id == world["owner"].id)
    assert {"document.upload", "document.download"} <= {e["action"] for e in events}


async def test_plain_text_is_downloaded_as_text_never_rendered(world):
    case_id = world["case"]["id"]
    async with web_client(world["ctx"], world["db"]) as client:
        csrf = await sign_in(client, world["owner"])
        sent = await _upload(
            client, csrf, case_id, b"<script>alert(1)</script>\n", "notes.txt", content_type="text/html"
        )
        assert sent.status_code == 303
        document = await Document.select().first()
        got = await client.get(f"/cases/{case_id}/documents/{document['id']}")
    assert got.headers["content-type"].startswith("text/plain")
    assert got.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    "data,name,words",
    [
        (b"<svg onload='alert(1)'/>", "logo.svg", "Files ending in .svg are not accepted"),
        (PDF, "diary.docx", "but the file is a PDF"),
        (b"MZ\x90\x00binary", "setup.exe", "not a type we accept"),
        (b"", "empty.pdf", "The file is empty"),
    ],
)
async def test_a_refused_file_is_a_message_on_the_case_page(world, data, name, words):
    case_id = world["case"]["id"]
    async with web_client(world["ctx"], world["db"]) as client:
        csrf = await sign_in(client, world["owner"])
        sent = await _upload(client, csrf, case_id, data, name)
    assert sent.status_code == 400 and words in sent.text
    assert 'id="document-file-error"' in sent.text and "<title>Error:" in sent.text
    assert await Document.count() == 0


async def test_no_file_chosen_is_a_message(world):
    case_id = world["case"]["id"]
    async with web_client(world["ctx"], world["db"]) as client:
        csrf = await sign_in(client, world["owner"])
        sent = await client.post(
            f"/cases/{case_id}/documents",
            data={"csrf_token": csrf, "sensitivity": "official"},
            files={"file": ("", b"", "application/octet-stream")},
        )
        plain = await client.post(
            f"/cases/{case_id}/documents", data={"csrf_token": csrf, "sensitivity": "official"}
        )
    assert sent.status_code == 400 and "Choose a file to upload" in sent.text
    assert plain.status_code == 400 and "Choose a file to upload" in plain.text


async def test_a_file_over_the_limit_gets_a_413_page_and_nothing_is_kept(world):
    case_id = world["case"]["id"]
    async with web_client(world["ctx"], world["db"]) as client:
        csrf = await sign_in(client, world["owner"])
        big = PDF + b"\x00" * (21 * 1024 * 1024)
        sent = await _upload(client, csrf, case_id, big)
        assert sent.status_code == 413
        assert "The file is too large" in sent.text and "at most 20 MB" in sent.text
        # just over the file limit but under the body's: the service's own count refuses it
        storage.CONFIG.max_bytes = len(PDF) - 1
        try:
            near = await _upload(client, csrf, case_id)
        finally:
            storage.CONFIG.max_bytes = 20 * 1024 * 1024
    assert near.status_code == 413 and "too large" in near.text
    assert await Document.count() == 0


async def test_a_broken_multipart_body_is_a_clear_400(world):
    case_id = world["case"]["id"]
    async with web_client(world["ctx"], world["db"]) as client:
        await sign_in(client, world["owner"])
        for body in (
            b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end',
            b"not multipart at all",
            b"--xyz\r\n\xff\xfe\r\n\r\n--xyz--\r\n",
        ):
            sent = await client.post(
                f"/cases/{case_id}/documents",
                content=body,
                headers={"Content-Type": "multipart/form-data; boundary=xyz"},
            )
            assert 400 <= sent.status_code < 500, (body, sent.status_code)
            assert "Sorry, there is a problem" not in sent.text
    assert await Document.count() == 0


async def test_a_multipart_upload_without_the_csrf_token_is_refused(world):
    case_id = world["case"]["id"]
    async with web_client(world["ctx"], world["db"]) as client:
        await sign_in(client, world["owner"])
        sent = await client.post(
            f"/cases/{case_id}/documents",
            data={"sensitivity": "official"},
            files={"file": ("diary.pdf", PDF, "application/pdf")},
        )
    assert sent.status_code == 403 and await Document.count() == 0


async def test_a_hostile_file_name_is_cleaned_and_cannot_break_the_header(world):
    case_id = world["case"]["id"]
    async with web_client(world["ctx"], world["db"]) as client:
        csrf = await sign_in(client, world["owner"])
        sent = await _upload(client, csrf, case_id, name="..\\..\\x\u202etxt.pdf")
        assert sent.status_code == 303
        document = await Document.select().first()
        got = await client.get(f"/cases/{case_id}/documents/{document['id']}")
    assert document["filename"] == "xtxt.pdf"
    assert (
        got.headers["content-disposition"] == "attachment; filename=\"xtxt.pdf\"; filename*=UTF-8''xtxt.pdf"
    )


async def test_removing_asks_for_a_reason(world):
    case_id = world["case"]["id"]
    async with web_client(world["ctx"], world["db"]) as client:
        csrf = await sign_in(client, world["owner"])
        await _upload(client, csrf, case_id)
        document = await Document.select().first()
        refused = await client.post(
            f"/cases/{case_id}/documents/{document['id']}/remove", data={"csrf_token": csrf, "reason": ""}
        )
        assert refused.status_code == 400 and "Say why the document is being removed" in refused.text
        removed = await client.post(
            f"/cases/{case_id}/documents/{document['id']}/remove",
            data={"csrf_token": csrf, "reason": "Wrong case"},
        )
        assert removed.status_code == 303
        page = (await client.get(removed.headers["location"])).text
        gone = await client.get(f"/cases/{case_id}/documents/{document['id']}")
    assert "Document removed: diary.pdf. Reason: Wrong case" in page and "No documents" in page
    assert gone.status_code == 404


async def test_a_partner_reads_the_list_and_downloads_but_cannot_add_or_remove(world):
    case_id = world["case"]["id"]
    async with web_client(world["ctx"], world["db"]) as client:
        csrf = await sign_in(client, world["owner"])
        await _upload(client, csrf, case_id, name="letter.pdf", sensitivity="official")
        await _upload(client, csrf, case_id, name="health-assessment.pdf", sensitivity="sensitive")
    letter = await Document.select().where(Document.filename == "letter.pdf").first()
    health = await Document.select().where(Document.filename == "health-assessment.pdf").first()
    async with web_client(world["ctx"], world["db"]) as client:
        csrf = await sign_in(client, world["partner"])
        page = (await client.get(f"/cases/{case_id}")).text
        assert "letter.pdf" in page and "health-assessment" not in page
        assert "Add a document" not in page and "Remove document" not in page
        assert (await client.get(f"/cases/{case_id}/documents/{letter['id']}")).status_code == 200
        before = await AuditEvent.count()
        hidden = await client.get(f"/cases/{case_id}/documents/{health['id']}")
        assert hidden.status_code == 404 and "health-assessment" not in hidden.text
        denied = (
            await AuditEvent.select()
            .where(AuditEvent.id > 0)
            .order_by(AuditEvent.id, ascending=False)
            .first()
        )
        assert await AuditEvent.count() > before and denied["action"] == "access.denied"
        api = await client.post(
            "/api/v1/session",
            json={"email": world["partner"].email, "password": "correct horse battery staple"},
        )
        as_json = await client.get(
            f"/api/v1/cases/{case_id}", headers={"Authorization": f"Bearer {api.json()['token']}"}
        )
        assert [d["filename"] for d in as_json.json()["documents"]] == ["letter.pdf"]
        assert "health-assessment" not in as_json.text
        upload = await _upload(client, csrf, case_id)
        assert upload.status_code == 403
        remove = await client.post(
            f"/cases/{case_id}/documents/{letter['id']}/remove",
            data={"csrf_token": csrf, "reason": "Mine now"},
        )
        assert remove.status_code == 403
    assert await Document.count() == 2


async def test_a_document_id_guessed_under_another_case_is_not_found_and_recorded(world):
    case_id = world["case"]["id"]
    other = await cases.open_case(world["ctx"], world["owner"], "noise", REPORT)
    async with web_client(world["ctx"], world["db"]) as client:
        csrf = await sign_in(client, world["owner"])
        await _upload(client, csrf, case_id)
        document = await Document.select().first()
        guessed = await client.get(f"/cases/{other['id']}/documents/{document['id']}")
        assert guessed.status_code == 404
        event = (
            await AuditEvent.select().order_by(AuditEvent.id, ascending=False).output(load_json=True).first()
        )
        assert event["action"] == "access.denied" and event["detail"]["ids"] == {
            "case_id": other["id"],
            "document_id": document["id"],
        }
        for url in (
            f"/cases/{case_id}/documents/999999",
            f"/cases/{case_id}/documents/\u0661",
            f"/cases/{case_id}/documents/99999999999999999999",
        ):
            assert (await client.get(url)).status_code == 404, url
    assert re.fullmatch(r"[0-9a-f]{40}", document["storage_key"])


async def test_an_upload_the_server_has_no_room_to_receive_is_a_503_page_and_nothing_is_kept(
    world, monkeypatch
):
    """An upload is spooled to a temporary file as it arrives: with no room for it (a full disk) the page was a 500.
    Now it is a 503 saying so, and nothing is saved."""
    from litestar import Request

    async def no_room(self):
        raise OSError(28, "No space left on device")

    case_id = world["case"]["id"]
    async with web_client(world["ctx"], world["db"]) as client:
        csrf = await sign_in(client, world["owner"])
        monkeypatch.setattr(Request, "form", no_room)
        sent = await _upload(client, csrf, case_id)
    assert sent.status_code == 503
    assert "The server has no room to store this just now" in sent.text and "Nothing was saved" in sent.text
    assert await Document.count() == 0
