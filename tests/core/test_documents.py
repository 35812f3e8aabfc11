"""Documents on cases: what is accepted, where it is kept (local disk and S3, one test suite for both), the virus
check, removal and erasure, and that a document is seen exactly where its case is and its level allows."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest

from caseframe.core import clock, hookimpl
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.cases import service as cases
from caseframe.core.documents import service as documents
from caseframe.core.documents import storage, types
from caseframe.core.documents.samples import tiny_docx, tiny_pdf, tiny_png
from caseframe.core.documents.tables import Document
from caseframe.core.errors import Forbidden, NotFound, ValidationFailed
from caseframe.core.sharing import service as sharing
from caseframe.core.testing import make_agency, make_context, make_user
from tests.fixtures.areas import noise_plugin

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
PDF = tiny_pdf(["Noise diary, week 1", "Fictional test document"])
#: the industry's standard harmless test string every virus scanner reports as infected
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


# -- what a file is -----------------------------------------------------------------------------------------------


def _zip(members: dict[str, bytes], stored_first: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        if stored_first:
            z.writestr(zipfile.ZipInfo(stored_first), members.pop(stored_first))
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


ACCEPTED = {
    "pdf": (PDF, "diary.pdf"),
    "png": (tiny_png(), "photo.PNG"),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40, "photo.jpeg"),
    "gif": (b"GIF89a" + b"\x00" * 20, "still.gif"),
    "webp": (b"RIFF\x20\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "still.webp"),
    "docx": (tiny_docx("Witness statement"), "statement.docx"),
    "xlsx": (_zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}), "diary.xlsx"),
    "pptx": (_zip({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"}), "slides.pptx"),
    "odt": (
        _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}, "mimetype"),
        "letter.odt",
    ),
    "ods": (
        _zip(
            {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"},
            "mimetype",
        ),
        "log.ods",
    ),
    "txt": ("Diary: music until 2am.\r\nCaf\u00e9 owner complained.\n".encode(), "notes.txt"),
}


@pytest.mark.parametrize("kind", sorted(ACCEPTED))
def test_each_accepted_kind_is_recognised_from_its_content(kind):
    data, name = ACCEPTED[kind]
    found = types.detect(io.BytesIO(data))
    assert found.name == kind
    types.check_extension(found, name)


@pytest.mark.parametrize(
    "data,name,words",
    [
        (b"<html><script>alert(1)</script></html>", "page.html", "Files ending in .html are not accepted"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "logo.svg",
            "Files ending in .svg are not accepted",
        ),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "setup.exe", "not a type we accept"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "setup.pdf", "not a type we accept"),
        (PDF, "statement.docx", "ends in .docx but the file is a PDF"),
        (PDF, "statement", "has no extension"),
        (_zip({"a.txt": b"hello"}), "archive.docx", "zip archive, not an office document"),
        (b"PK\x03\x04 not really a zip", "broken.docx", "cannot be read"),
        (b"\x00\x01\x02binary", "data.txt", "not a type we accept"),
        (b"caf\xe9 latin-1", "notes.txt", "not a type we accept"),
    ],
)
def test_other_content_or_a_name_that_disagrees_is_refused_in_words(data, name, words):
    with pytest.raises(types.NotAccepted) as refused:
        types.check_extension(types.detect(io.BytesIO(data)), name)
    assert words in str(refused.value)


def test_an_office_file_is_recognised_without_unpacking_it():
    """A zip bomb costs nothing: only the central directory is read, however large the members claim to be."""
    bomb = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\x00" * (30 * 1024 * 1024)})
    assert len(bomb) < 100_000
    started = dt.datetime.now()
    assert types.detect(io.BytesIO(bomb)).name == "docx"
    assert (dt.datetime.now() - started).total_seconds() < 1


@pytest.mark.parametrize(
    "raw,clean",
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\casey\\Desktop\\diary.pdf", "diary.pdf"),
        ("diary\r\nSet-Cookie: a=b.pdf", "diarySet-Cookie: a=b.pdf"),
        ("invoice\u202egpj.pdf", "invoicegpj.pdf"),  # a right-to-left override shows it as 'invoicefdp.jpg'
        ("zero\u200bwidth.pdf", "zerowidth.pdf"),
        ("cafe\u0301.pdf", "caf\u00e9.pdf"),  # NFC
        ("  spaced   out .pdf  ", "spaced out .pdf"),
        ("...", ""),
        ("/", ""),
        ("\x00\x01", ""),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_the_uploaders_file_name_is_cleaned(raw, clean):
    assert types.clean_filename(raw) == clean


def test_the_download_header_cannot_be_broken_out_of():
    header = types.content_disposition('Stra\u00dfe "report"; x=y%.pdf')
    assert header.startswith('attachment; filename="Stra_e _report__ x=y_.pdf"; ')
    assert header.endswith("filename*=UTF-8''Stra%C3%9Fe%20%22report%22%3B%20x%3Dy%25.pdf")
    assert "\r" not in header and "\n" not in header


# -- the stores: one suite for both ------------------------------------------------------------------------------


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, monkeypatch):
    if request.param == "local":
        yield storage.LocalStore(tmp_path / "documents")
        return
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "eu-west-2"),
    ):
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        client = boto3.client("s3", region_name="eu-west-2")
        client.create_bucket(
            Bucket="caseframe-docs", CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
        )
        yield storage.S3Store("caseframe-docs", prefix="tests/", client=client)


def stored_keys(store) -> set[str]:
    if isinstance(store, storage.LocalStore):
        return {p.name for p in store.root.glob("*/*")} if store.root.exists() else set()
    listed = store.client.list_objects_v2(Bucket=store.bucket).get("Contents", [])
    return {o["Key"].removeprefix(store.prefix) for o in listed}


async def _read_all(store, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


async def test_a_store_keeps_reads_and_deletes_content(store, tmp_path):
    source = tmp_path / "upload"
    source.write_bytes(PDF * 200)  # several read chunks
    key = storage.new_key()
    assert not await store.exists(key)
    await store.put(key, source)
    assert await store.exists(key) and stored_keys(store) == {key}
    assert await _read_all(store, key) == PDF * 200
    await store.delete(key)
    await store.delete(key)  # deleting what is gone is no error
    assert not await store.exists(key) and stored_keys(store) == set()
    with pytest.raises(FileNotFoundError):
        await _read_all(store, key)


@pytest.mark.parametrize("key", ["../../etc/passwd", "ABC", "", "a" * 81, "key with spaces"])
async def test_a_store_refuses_a_key_it_did_not_make(store, key):
    with pytest.raises(storage.StoreError):
        await store.exists(key)


async def test_the_local_store_names_files_by_key_and_leaves_no_partial_file(tmp_path):
    store = storage.LocalStore(tmp_path / "documents")
    source = tmp_path / "diary.pdf"
    source.write_bytes(PDF)
    key = storage.new_key()
    await store.put(key, source)
    files = [p for p in (tmp_path / "documents").rglob("*") if p.is_file()]
    assert files == [store.path_of(key)] and "diary" not in str(files[0])
    assert files[0].stat().st_mode & 0o077 == 0  # readable by the server's user only


async def test_a_failed_local_write_leaves_nothing(tmp_path, monkeypatch):
    store = storage.LocalStore(tmp_path / "documents")
    source = tmp_path / "diary.pdf"
    source.write_bytes(PDF)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage.os, "replace", full)
    with pytest.raises(storage.StoreError):
        await store.put(storage.new_key(), source)
    assert [p for p in (tmp_path / "documents").rglob("*") if p.is_file()] == []


# -- the service, on both stores ----------------------------------------------------------------------------------


class EicarScanner:
    """A tiny scanner for the hook: reports the EICAR test string as infected, everything else clean."""

    @hookimpl
    def scan_document(self, path: Path, filename: str, kind: str):
        return {
            "verdict": "infected" if EICAR in path.read_bytes() else "clean",
            "scanner": "eicar-test",
            "detail": "EICAR-Test-File",
        }


class BrokenScanner:
    @hookimpl
    def scan_document(self, path: Path, filename: str, kind: str):
        return {"verdict": "error", "scanner": "broken", "detail": "daemon not answering"}


@pytest.fixture
async def world(db, ctx, store):
    storage.use_store(store)
    previous = (storage.CONFIG.max_bytes, storage.CONFIG.require_scan)
    council = await make_agency(ctx, "ashdown-council")
    police = await make_agency(ctx, "wealden-police")
    charity = await make_agency(ctx, "brightwell-charity")
    owner = await make_user(council, ("caseworker",), name="Olive Owner")
    admin = await make_user(council, ("local_admin", "system_admin"), name="Ada Admin")
    partner = await make_user(police, ("caseworker",), name="Pat Partner")
    outsider = await make_user(charity, ("caseworker",), name="Omar Outsider")
    case = await cases.open_case(ctx, owner, "noise", REPORT)
    other = await cases.open_case(ctx, owner, "noise", REPORT)
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
    yield {
        "ctx": ctx,
        "store": store,
        "owner": owner,
        "admin": admin,
        "partner": partner,
        "outsider": outsider,
        "case": case,
        "other": other,
    }
    storage.CONFIG.max_bytes, storage.CONFIG.require_scan = previous
    storage.CONFIG.store = None


async def _add(
    w,
    data: bytes = PDF,
    name: str = "diary.pdf",
    sensitivity: str = "official",
    case: str = "case",
    actor: str = "owner",
    ctx=None,
):
    return await documents.add_document(
        ctx or w["ctx"], w[actor], w[case]["id"], io.BytesIO(data), name, sensitivity
    )


async def _actions(action: str) -> list[dict]:
    return await AuditEvent.select().where(AuditEvent.action == action).output(load_json=True)


async def test_a_document_is_stored_described_on_the_timeline_and_audited(world):
    added = await _add(world, name="../Noise diary.pdf")
    assert (added["filename"], added["kind"], added["size"], added["scan_status"]) == (
        "Noise diary.pdf",
        "pdf",
        len(PDF),
        "not_scanned",
    )
    import hashlib

    assert added["sha256"] == hashlib.sha256(PDF).hexdigest()
    row = await Document.select().where(Document.id == added["id"]).first()
    assert stored_keys(world["store"]) == {row["storage_key"]}
    meta, content = await documents.read_document(world["owner"], world["case"]["id"], added["id"])
    assert b"".join([c async for c in content]) == PDF
    timeline = await cases.timeline(world["case"]["id"])
    assert timeline[0]["kind"] == "document" and timeline[0]["summary"] == "Document added: Noise diary.pdf"
    upload = (await _actions("document.upload"))[0]
    assert upload["object_id"] == world["case"]["id"] and upload["detail"]["sha256"] == added["sha256"]
    download = (await _actions("document.download"))[0]
    assert download["actor_id"] == world["owner"].id and download["detail"]["document_id"] == added["id"]


@pytest.mark.parametrize(
    "data,name,field_words",
    [
        (b"<html>hi</html>", "page.html", "Files ending in .html are not accepted"),
        (PDF, "diary.docx", "but the file is a PDF"),
        (b"", "empty.pdf", "The file is empty"),
        (PDF, "", "Choose a file"),
    ],
)
async def test_a_refused_upload_saves_nothing(world, data, name, field_words):
    with pytest.raises(ValidationFailed) as refused:
        await _add(world, data, name)
    assert field_words in refused.value.errors[0]["message"]
    assert await Document.count() == 0 and stored_keys(world["store"]) == set()


async def test_the_size_limit_is_enforced_while_copying(world):
    storage.CONFIG.max_bytes = len(PDF) - 1
    with pytest.raises(documents.TooLarge) as refused:
        await _add(world)
    assert refused.value.status == 413 and "at most" in refused.value.message
    assert await Document.count() == 0 and stored_keys(world["store"]) == set()


async def test_a_failed_transaction_removes_the_stored_content(world, monkeypatch):
    from caseframe.core.audit import service as audit

    async def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        await _add(world)
    assert await Document.count() == 0 and stored_keys(world["store"]) == set()


async def test_a_store_that_fails_saves_no_row(world, monkeypatch):
    async def refuse(key, source):
        raise storage.StoreError("bucket unreachable")

    monkeypatch.setattr(world["store"], "put", refuse)
    with pytest.raises(documents.Unavailable):
        await _add(world)
    assert await Document.count() == 0


async def test_only_those_who_work_the_case_add_or_remove(world):
    with pytest.raises(Forbidden):
        await _add(world, actor="partner")
    with pytest.raises(NotFound):
        await _add(world, actor="outsider")
    with pytest.raises(Forbidden):
        await _add(world, actor="admin")  # a role that works no cases
    added = await _add(world)
    with pytest.raises(Forbidden):
        await documents.remove_document(
            world["ctx"], world["partner"], world["case"]["id"], added["id"], "No"
        )
    assert await Document.count() == 1


async def test_an_infected_upload_is_refused_audited_and_not_kept(world):
    ctx = make_context(noise_plugin, EicarScanner())
    with pytest.raises(ValidationFailed) as refused:
        await _add(world, b"Statement follows. " + EICAR, "statement.txt", ctx=ctx)
    assert "found something harmful" in refused.value.errors[0]["message"]
    assert await Document.count() == 0 and stored_keys(world["store"]) == set()
    event = (await _actions("document.refused"))[0]
    assert event["detail"]["reason"] == "infected" and event["detail"]["scanner"] == "eicar-test"
    clean = await _add(world, ctx=ctx)
    assert clean["scan_status"] == "clean"


async def test_a_scanner_that_cannot_answer_refuses_and_a_required_scan_needs_a_scanner(world):
    with pytest.raises(documents.Unavailable):
        await _add(world, ctx=make_context(noise_plugin, BrokenScanner()))
    storage.CONFIG.require_scan = True
    with pytest.raises(documents.Unavailable) as refused:
        await _add(world)
    assert "No virus checker" in refused.value.message
    assert await Document.count() == 0 and stored_keys(world["store"]) == set()


async def test_removing_deletes_the_content_and_keeps_the_record(world):
    added = await _add(world)
    with pytest.raises(ValidationFailed):
        await documents.remove_document(world["ctx"], world["owner"], world["case"]["id"], added["id"], "  ")
    await documents.remove_document(
        world["ctx"], world["owner"], world["case"]["id"], added["id"], "Uploaded to the wrong case"
    )
    assert stored_keys(world["store"]) == set()
    row = await Document.select().where(Document.id == added["id"]).first()
    assert row["removal_reason"] == "Uploaded to the wrong case" and row["removed_by"] == world["owner"].id
    assert await documents.list_documents(world["owner"], world["case"]["id"]) == []
    with pytest.raises(NotFound):
        await documents.read_document(world["owner"], world["case"]["id"], added["id"])
    assert (await cases.timeline(world["case"]["id"]))[0]["summary"] == (
        "Document removed: diary.pdf. Reason: Uploaded to the wrong case"
    )
    assert (await _actions("document.remove"))[0]["detail"]["reason"] == "Uploaded to the wrong case"


async def test_erasing_a_cases_documents_removes_content_and_rows(world):
    await _add(world)
    await _add(world, name="second.pdf")
    await _add(world, case="other")
    assert await documents.erase_case_documents(world["case"]["id"], world["admin"], reason="Retention") == 2
    assert await Document.count() == 1 and len(stored_keys(world["store"])) == 1
    assert (await _actions("document.erase"))[0]["detail"]["reason"] == "Retention"
    assert await documents.erase_case_documents(world["case"]["id"]) == 0


# -- who sees a document ------------------------------------------------------------------------------------------


async def test_a_partner_sees_only_documents_its_agreement_reaches(world):
    official = await _add(world, name="letter.pdf", sensitivity="official")
    sensitive = await _add(world, name="health.pdf", sensitivity="sensitive")
    case_id = world["case"]["id"]
    _, access = await cases.visible_case(world["partner"], case_id)
    assert [d["id"] for d in await documents.documents_of(case_id, access)] == [official["id"]]
    assert [d["id"] for d in await documents.list_documents(world["partner"], case_id)] == [official["id"]]
    with pytest.raises(NotFound):
        await documents.read_document(world["partner"], case_id, sensitive["id"])
    _, content = await documents.read_document(world["partner"], case_id, official["id"])
    assert b"".join([c async for c in content]) == PDF
    summaries = [e["summary"] for e in await cases.timeline(case_id, access=access)]
    assert "Document added: letter.pdf" in summaries and "Document added: health.pdf" not in summaries
    _, owner_access = await cases.visible_case(world["owner"], case_id)
    assert len(await documents.documents_of(case_id, owner_access)) == 2


async def test_no_one_else_reads_a_document_nor_through_another_case(world):
    added = await _add(world)
    with pytest.raises(NotFound):
        await documents.read_document(world["outsider"], world["case"]["id"], added["id"])
    with pytest.raises(NotFound):  # the document's id under a case it is not on
        await documents.read_document(world["owner"], world["other"]["id"], added["id"])
    with pytest.raises(NotFound):
        await documents.list_documents(world["outsider"], world["case"]["id"])


async def test_the_store_check_names_missing_and_left_behind_content(world):
    kept = await _add(world)
    gone = await _add(world, name="second.pdf")
    assert await documents.check_store() == {"checked": 2, "missing": [], "left_behind": []}
    row = await Document.select().where(Document.id == gone["id"]).first()
    await world["store"].delete(row["storage_key"])
    await Document.update({Document.removed_at: clock.now()}).where(Document.id == kept["id"])
    assert await documents.check_store() == {
        "checked": 2,
        "missing": [gone["id"]],
        "left_behind": [kept["id"]],
    }


def test_the_documents_check_command_reports_the_store(tmp_path):
    """Run as a separate process (as tests/core/test_cli.py does), so the test session's database stays bound."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "CASEFRAME_DOCUMENTS_DIR": str(tmp_path / "documents")}
    env.pop("CASEFRAME_DOCUMENTS_STORE", None)
    args = [
        sys.executable,
        "-m",
        "caseframe",
        "--database",
        f"sqlite:///{tmp_path / 'check.sqlite'}",
        "documents",
        "check",
    ]
    run = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert run.returncode == 2 and "caseframe: no database at" in run.stderr, run.stderr  # none made: a typo
    assert not (tmp_path / "check.sqlite").exists()
    made = [*args[:-2], "db", "migrate"]
    assert subprocess.run(made, capture_output=True, env=env, cwd=tmp_path, timeout=120).returncode == 0
    run = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"local folder {tmp_path / 'documents'}" in run.stdout and "0 document(s) checked" in run.stdout
    run = subprocess.run(
        args,
        capture_output=True,
        text=True,
        env={**env, "CASEFRAME_DOCUMENTS_STORE": "s3", "CASEFRAME_S3_BUCKET": ""},
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 2 and "needs CASEFRAME_S3_BUCKET" in run.stderr


@pytest.mark.own_sqlite
def test_the_documents_check_run_from_another_folder_says_the_folder_is_wrong_not_every_document(tmp_path):
    """The store's folder is relative to where the command runs: from cron's folder every document read as missing."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "CASEFRAME_DOCUMENTS_DIR": str(tmp_path / "documents")}
    env.pop("CASEFRAME_DOCUMENTS_STORE", None)
    env.pop("CASEFRAME_AUDIT_KEY", None)
    env["CASEFRAME_AUDIT_KEY_FILE"] = str(tmp_path / "audit.key")
    base = [sys.executable, "-m", "caseframe", "--database", f"sqlite:///{tmp_path / 'demo.sqlite'}"]

    def run(*args, documents=None):
        where = {**env, "CASEFRAME_DOCUMENTS_DIR": str(documents)} if documents else env
        return subprocess.run(
            [*base, *args], capture_output=True, text=True, env=where, cwd=tmp_path, timeout=300
        )

    assert run("demo", "load").returncode == 0
    good = run("documents", "check")
    assert good.returncode == 0 and "document(s) checked" in good.stdout, good.stderr
    assert (
        "\n0 document(s) checked" not in good.stdout
    )  # the demo's documents: the check below is not vacuous
    elsewhere = run("documents", "check", documents=tmp_path / "cron" / "documents")
    assert elsewhere.returncode == 2 and len(elsewhere.stderr.strip().splitlines()) == 1, elsewhere.stderr
    assert f"the documents folder {tmp_path / 'cron' / 'documents'} does not exist" in elsewhere.stderr
    (tmp_path / "a-file").write_text("x")
    a_file = run("documents", "check", documents=tmp_path / "a-file")
    assert a_file.returncode == 2 and "is not a folder" in a_file.stderr, a_file.stderr
