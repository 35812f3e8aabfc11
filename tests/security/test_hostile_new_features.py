"""Hostile input on the newest features, beyond what the generated walk (test_hostile_input) types into fields:
dashboard filters off the calendar, uploads that are empty, nameless, misnamed or not files at all, retention
forms with numbers in other scripts and reasons too long, and merges of one record with itself, a merged record or
another agency's. Each gets a clear answer (never a 5xx) and changes nothing."""

from __future__ import annotations

import io

import pytest

from caseframe.core.cases import service as cases
from caseframe.core.documents.samples import tiny_pdf
from caseframe.core.documents.tables import Document
from caseframe.core.retention.tables import CaseRetention, RetentionOverride
from caseframe.core.testing import make_agency, make_context, make_person, make_user, sign_in, web_client
from tests.fixtures.areas import noise_plugin

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


@pytest.fixture
def ctx():
    return make_context(noise_plugin)


@pytest.fixture
async def place(db, ctx):
    council = await make_agency(ctx, "ashdown-council")
    other = await make_agency(ctx, "far-away-council")
    boss = await make_user(
        council, ("caseworker", "supervisor", "panel_chair", "local_admin"), name="Bo Boss"
    )
    stranger = await make_user(other, ("caseworker", "supervisor", "local_admin"), name="Sy Stranger")
    case = await cases.open_case(ctx, boss, "noise", REPORT)
    theirs = await cases.open_case(ctx, stranger, "noise", REPORT)
    return {"ctx": ctx, "boss": boss, "stranger": stranger, "case": case, "theirs": theirs}


def _fine(response) -> bool:
    return response.status_code < 500 and "Sorry, there is a problem with the service" not in response.text


@pytest.mark.parametrize(
    "query",
    [
        {"to": "9999-12-31"},
        {"from": "9999-12-01", "to": "9999-12-31"},
        {"to": "0001-01-05"},
        {"from": "0001-01-01"},
        {"from": "0001-01-01", "to": "0001-12-31"},
        {"from": "2026-13-01"},
        {"from": "2027-01-01", "to": "2026-01-01"},
        {"from": "1990-01-01", "to": "2026-01-01"},
        {"area": "x" * 5000},
        {"area": "\u0000"},
        {"from": "\u0661\u0669\u0669\u0660-01-01"},
    ],
)
async def test_hostile_dashboard_filters_get_a_clear_message(place, db, query):
    """'to=9999-12-31' ran the month arithmetic off the calendar: an OverflowError, a 500 on every figure."""
    async with web_client(place["ctx"], db) as client:
        await sign_in(client, place["boss"])
        for path in ("/dashboard", "/dashboard/export/open-by-state", "/dashboard/export/new-and-closed"):
            response = await client.get(path, params=query)
            assert _fine(response), (path, query, response.status_code)
            assert response.status_code in (200, 400, 422), (path, query, response.status_code)
            if response.status_code == 400:
                assert "There is a problem" in response.text
            if any(v.startswith(("9999", "0001")) for v in query.values()):
                # said of the date, not "a number in the request is too large" (the OverflowError it was)
                assert "date must be between 1900 and 2199" in response.text, (path, query)


async def test_an_unknown_figure_is_404(place, db):
    async with web_client(place["ctx"], db) as client:
        await sign_in(client, place["boss"])
        assert (await client.get("/dashboard/export/..%2F..%2Fetc")).status_code == 404
        assert (await client.get("/dashboard/export/" + "x" * 3000)).status_code == 404


@pytest.mark.parametrize(
    "name,content,content_type",
    [
        ("empty.pdf", b"", "application/pdf"),
        ("x" * 5000 + ".pdf", None, "application/pdf"),
        ("../../etc/passwd.pdf", None, "application/pdf"),
        ("..\\..\\windows\\win.ini.pdf", None, "application/pdf"),
        ("a\x00b.pdf", None, "application/pdf"),
        ("/", None, "application/pdf"),
        ("page.html.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),
        ("letter.pdf", None, "image/png"),
        ("letter.exe", None, "application/x-msdownload"),
        ("\u202etxt.pdf", None, "application/pdf"),
    ],
)
async def test_hostile_uploads_are_refused_or_stored_safely(place, db, name, content, content_type):
    case = place["case"]
    body = tiny_pdf(["A letter"]) if content is None else content
    async with web_client(place["ctx"], db) as client:
        token = await sign_in(client, place["boss"])
        response = await client.post(
            f"/cases/{case['id']}/documents",
            data={"csrf_token": token, "sensitivity": "official"},
            files={"file": (name, io.BytesIO(body), content_type)},
        )
        assert _fine(response), (name[:40], response.status_code)
        stored = await Document.select().where(Document.case == case["id"])
        if response.status_code == 303:
            # stored under a clean name: no path, no control character, a bounded length
            assert len(stored) == 1
            filename = stored[0]["filename"]
            assert (
                "/" not in filename
                and "\\" not in filename
                and "\x00" not in filename
                and len(filename) <= 255
            )
            download = await client.get(f"/cases/{case['id']}/documents/{stored[0]['id']}")
            assert download.status_code == 200 and "\n" not in download.headers["content-disposition"]
        else:
            assert response.status_code in (400, 413, 415, 422), response.status_code
            assert stored == []


@pytest.mark.parametrize(
    "files,data",
    [
        (None, {"sensitivity": "official"}),  # multipart with no file at all
        ({"file": (None, b"just text")}, {"sensitivity": "official"}),  # 'file' as a plain field
        ({"other": ("a.pdf", b"%PDF-1.4", "application/pdf")}, {"sensitivity": "official"}),
        ({"file": ("a.pdf", b"%PDF-1.4", "application/pdf")}, {"sensitivity": "x" * 5000}),
        ({"file": ("a.pdf", b"%PDF-1.4", "application/pdf")}, {"sensitivity": ["official", "sensitive"]}),
    ],
)
async def test_an_upload_form_without_a_file_is_a_clear_message(place, db, files, data):
    case = place["case"]
    async with web_client(place["ctx"], db) as client:
        token = await sign_in(client, place["boss"])
        if files is None:
            files = {"nothing": (None, b"")}
        response = await client.post(
            f"/cases/{case['id']}/documents", data={"csrf_token": token, **data}, files=files
        )
        assert _fine(response) and response.status_code in (400, 422), response.status_code
    assert await Document.count().where(Document.case == case["id"]) == 0


@pytest.mark.parametrize(
    "years",
    [
        "\u0661\u0662",
        "\uff11\uff12",
        "1_0",
        "+6",
        "-6",
        "99999999999999999999",
        "9" * 5000,
        "\u00b2",
        "",
        "6.5",
    ],
)
async def test_a_retention_period_in_hostile_numbers_is_refused_and_nothing_is_set(place, db, years):
    """'١٢' (Arabic-Indic digits) was read by int() as 12 and accepted as a period."""
    async with web_client(place["ctx"], db) as client:
        token = await sign_in(client, place["boss"])
        response = await client.post(
            "/admin/retention/periods",
            data={
                "csrf_token": token,
                "period_area": "noise",
                "period_years": years,
                "period_reason": "Local policy",
            },
        )
        assert _fine(response) and response.status_code == 400, (years, response.status_code)
    assert await RetentionOverride.count() == 0


@pytest.mark.parametrize(
    "path,data",
    [
        ("extend", {"until": "9999-12-31", "extend_reason": "Claim"}),
        ("extend", {"until": "0001-01-01", "extend_reason": "Claim"}),
        ("extend", {"until": "\u0662\u0660\u0663\u0661-01-01", "extend_reason": "Claim"}),
        ("extend", {"until": "2031-01-01", "extend_reason": "x" * 5000}),
        ("hold", {"hold": "yes", "hold_reason": "x" * 5000}),
        ("hold", {"hold": "yes", "hold_reason": "   "}),
        ("restrict", {"restrict": "yes", "restrict_reason": "\u0000" * 3}),
        ("erase", {"erase_reason": "x" * 5000}),
        ("erase", {"erase_reason": "Due", "confirmed": "yes"}),
    ],
)
async def test_hostile_retention_decisions_change_nothing(place, db, path, data):
    case_id = place["case"]["id"]
    async with web_client(place["ctx"], db) as client:
        token = await sign_in(client, place["boss"])
        response = await client.post(f"/admin/retention/{case_id}/{path}", data={"csrf_token": token, **data})
        assert _fine(response) and response.status_code in (400, 403, 422), (path, response.status_code)
        # another agency's case: the same answer as for none
        theirs = await client.post(
            f"/admin/retention/{place['theirs']['id']}/{path}", data={"csrf_token": token, **data}
        )
        assert theirs.status_code in (404, 422)  # the same answer as for none (or the NUL refused first)
    assert await CaseRetention.count() == 0


async def test_hostile_merges_are_refused_and_merge_nothing(place, db):
    from caseframe.core.persons.tables import Person

    boss, stranger = place["boss"], place["stranger"]
    ada = await make_person(boss, given_name="Ada", family_name="Twice")
    ada2 = await make_person(boss, given_name="Ada", family_name="Twice")
    elsewhere = await make_person(stranger, given_name="Ada", family_name="Twice")
    async with web_client(place["ctx"], db) as client:
        token = await sign_in(client, boss)
        for path in (
            f"/persons/{ada['id']}/merge/{ada['id']}",
            f"/persons/{ada['id']}/merge/{elsewhere['id']}",
            f"/persons/{elsewhere['id']}/merge/{ada['id']}",
            f"/persons/{ada['id']}/merge/999999",
        ):
            for method in ("GET", "POST"):
                response = await client.request(
                    method,
                    path,
                    data={"csrf_token": token, "survivor": "a", "version_a": "1", "version_b": "1"},
                )
                assert _fine(response) and response.status_code in (400, 403, 404), (
                    method,
                    path,
                    response.status_code,
                )
        for value in ("\u0661", "99999999999999999999", "-1", "x" * 5000, str(ada["id"])):
            response = await client.get(f"/persons/{ada['id']}/merge", params={"with": value})
            assert _fine(response) and response.status_code in (200, 303, 400), (value, response.status_code)
        # a merged record cannot be merged again, nor merged into
        merged = await client.post(
            f"/persons/{ada['id']}/merge/{ada2['id']}",
            data={"csrf_token": token, "survivor": "a", "version_a": "1", "version_b": "1"},
        )
        assert merged.status_code == 303, merged.text[:500]
        for path in (f"/persons/{ada['id']}/merge/{ada2['id']}", f"/persons/{ada2['id']}/merge/{ada['id']}"):
            again = await client.post(
                path, data={"csrf_token": token, "survivor": "a", "version_a": "2", "version_b": "2"}
            )
            assert _fine(again) and again.status_code in (303, 400, 403, 404, 409), (path, again.status_code)
    assert (await Person.select(Person.merged_into).where(Person.id == ada["id"]).first())[
        "merged_into"
    ] is None
    assert (await Person.select(Person.merged_into).where(Person.id == elsewhere["id"]).first())[
        "merged_into"
    ] is None
