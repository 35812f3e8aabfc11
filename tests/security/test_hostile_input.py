"""Hostile values thrown at every form field, query and JSON field the app has: never a 5xx, and a refusal saves
nothing. On SQLite and PostgreSQL alike.

The walk is generated, not listed: the forms are the ones the pages of the demo data hold (found by following
links from My work as a supervisor and as a local admin), the JSON fields are the ones the API reads (found in
its source), and every route in the app's route table that no page links to is posted the same values. A form,
field or route added later is covered without touching this file.
"""

from __future__ import annotations

import inspect
import re
import secrets
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx
import pytest

DEMO_PASSWORD = "demo-password-2026"
#: who walks the pages: a supervisor and panel chair, and a local admin (between them every form of an agency)
WALKERS = ["priya.shah@ashdown-council.example", "admin@ashdown-council.example"]
PAGES = 60
#: never posted: they end the walker's own session (sign-out is covered by tests/core)
SKIP_POST = re.compile(r"^/(sign-out|account/sign-out-everywhere)$")
SKIP_GET = re.compile(r"^/(static|assets|schema|sign-out)|/pack/|\.(pdf|csv)$|/events$")

WORDS_300 = " ".join(f"word{i}" for i in range(300))
#: what a hostile tester types into any field of a page or query
TEXT_VALUES = [
    "\u00b2",  # superscript two: str.isdigit() says yes, int() says no
    "\u0661\u0662",  # Arabic-Indic digits: int() takes them
    "\uff11\uff12",  # fullwidth digits
    "1_0",
    "+1",
    "-1",
    " 7 ",
    "99999999999999999999",  # beyond 64 bits
    "9" * 5000,  # beyond Python's int() digit limit
    "x" * 5000,  # beyond every varchar
    WORDS_300,  # a search of 300 words
    "\ud800",  # a lone surrogate: not encodable as UTF-8 by httpx, sent raw below
]
#: raw bodies that are not UTF-8 or hold a null character, urlencoded and as a multipart form's part
RAW_URLENCODED = [b"%FF%FE%FD", b"\xff\xfe", b"a%00b"]
RAW_MULTIPART = [b"\xff\xfe", b"a\x00b"]
#: what a hostile API caller sends in place of each JSON field
JSON_VALUES: list[Any] = [
    123,
    1.5,
    True,
    None,
    [],
    ["a"],
    {},
    {"a": 1},
    "\u00b2",
    "",
    "x" * 5000,
    2**80,
    WORDS_300,
]


def deep_json(depth: int = 1000) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


class _Forms(HTMLParser):
    """Every <form> on a page: its method, action and fields with the values the page put in them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = {
                "method": (a.get("method") or "get").upper(),
                "action": a.get("action", ""),
                "fields": {},
            }
            self.forms.append(self._current)
        elif self._current is None:
            return
        elif tag in ("input", "textarea") and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and a["name"] in self._current["fields"]:
                return
            self._current["fields"][a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._current["fields"].setdefault(a["name"], "")
        elif tag == "option" and self._select and not self._current["fields"][self._select]:
            self._current["fields"][self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None


def _template(path: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


async def _row_counts() -> int:
    """A fingerprint of what is stored (rows in every table but the audit trail and sessions)."""
    from caseframe.core.db.piccolo_app import TABLES

    tables = [t for t in TABLES if t._meta.tablename not in ("cf_audit", "cf_session", "cf_sign_in_throttle")]
    total = " + ".join(f"(SELECT count(*) FROM {t._meta.tablename})" for t in tables)
    rows = await tables[0].raw(f"SELECT {total} AS n")
    return int(rows[0]["n"])


@pytest.fixture(scope="module")
async def demo(database):
    from caseframe.core.demo import load_demo
    from caseframe.core.settings import Settings
    from caseframe.core.testing import empty_tables, make_context
    from caseframe.core.web.app import create_app

    await empty_tables()
    ctx = make_context(builtins=True)
    await load_demo(ctx)
    app = create_app(
        Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=database
    )
    yield app


async def _signed_in(app, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")
    page = await client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    signed = await client.post(
        "/sign-in", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token}
    )
    assert signed.status_code == 303, signed.text[:300]
    home = await client.get("/")
    if home.status_code == 303 and home.headers["location"].startswith("/mou"):
        mou = await client.get("/mou")
        version = re.search(r'name="version" value="(\d+)"', mou.text).group(1)
        token = re.search(r'name="csrf_token" value="([^"]+)"', mou.text).group(1)
        await client.post("/mou", data={"accept": "yes", "version": version, "csrf_token": token})
    return client


async def _crawl(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Forms on the pages reached from My work, one per (method, action template, fields)."""
    seen, forms, frontier = set(), {}, ["/"]
    while frontier and len(seen) < PAGES:
        path = frontier.pop(0)
        kind = _template(path.split("?")[0]) + "?" + "&".join(sorted(re.findall(r"(\w+)=", path)))
        if kind in seen:
            continue
        seen.add(kind)
        response = await client.get(path)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        parser = _Forms()
        parser.feed(response.text)
        for form in parser.forms:
            action = urlparse(urljoin("http://localhost" + path, form["action"] or path)).path
            key = (form["method"], _template(action), tuple(sorted(form["fields"])))
            forms.setdefault(key, {**form, "action": action})
        for href in re.findall(r'href="([^"#]+)', response.text):
            url = urlparse(urljoin("http://localhost" + path, href))
            if url.netloc == "localhost" and not SKIP_GET.search(url.path):
                frontier.append(url.path + (f"?{url.query}" if url.query else ""))
    return list(forms.values())


def _failed(response: httpx.Response) -> bool:
    return response.status_code >= 500 or "Sorry, there is a problem with the service" in response.text


async def _throw(client, method: str, url: str, *, data=None, content=None, headers=None, params=None):
    if method == "GET":
        return await client.get(url, params=data if params is None else params)
    return await client.request(method, url, data=data, content=content, headers=headers)


def _encode(fields: dict[str, str]) -> bytes:
    from urllib.parse import quote_plus

    return "&".join(
        f"{quote_plus(k)}={quote_plus(v, errors='surrogatepass')}" for k, v in fields.items()
    ).encode()


async def _send_hostile(client, form: dict, name: str, value) -> tuple[Any, Any]:
    """Submit ``form`` with ``value`` in field ``name``: text, raw url-encoded bytes, or ("multipart", bytes)
    for a POST. Returns the response and the value as the failure report shows it."""
    fields = dict(form["fields"])
    if "submission_key" in fields:
        fields["submission_key"] = secrets.token_urlsafe(24)
    if isinstance(value, tuple):
        parts = {k: (None, v.encode()) for k, v in fields.items()}
        parts[name] = (None, value[1])
        return await client.post(form["action"], files=parts), repr(value[1])
    if isinstance(value, bytes):
        fields[name] = ""
        raw = _encode(fields).replace(f"{name}=".encode(), f"{name}=".encode() + value, 1)
        query = raw.decode("latin-1")
    else:
        fields[name] = value
        raw = _encode(fields)
        query = raw.decode()
    if form["method"] == "GET":
        return await client.get(form["action"] + "?" + query), value
    return await client.post(
        form["action"], content=raw, headers={"Content-Type": "application/x-www-form-urlencoded"}
    ), value


@pytest.mark.parametrize("email", WALKERS, ids=["supervisor", "local-admin"])
async def test_hostile_values_in_every_form_field_never_fail_and_save_nothing(demo, email):
    client = await _signed_in(demo, email)
    failures: list[str] = []
    sent = 0
    try:
        forms = await _crawl(client)
        assert len(forms) > 10, f"only {len(forms)} forms found: is the demo data loaded?"
        for form in forms:
            if form["method"] == "POST" and SKIP_POST.match(form["action"]):
                continue
            names = [n for n in form["fields"] if n != "csrf_token"] or ["page"]
            for name in names:
                for value in [*TEXT_VALUES, *RAW_URLENCODED, *[("multipart", v) for v in RAW_MULTIPART]]:
                    if isinstance(value, tuple) and form["method"] != "POST":
                        continue  # a multipart body goes with a POST only
                    before = await _row_counts() if form["method"] == "POST" else 0
                    response, value = await _send_hostile(client, form, name, value)
                    sent += 1
                    label = f"{form['method']} {form['action']} {name}={value[:20]!r}"
                    if _failed(response):
                        failures.append(f"{label} -> {response.status_code}")
                    elif (
                        form["method"] == "POST"
                        and response.status_code >= 400
                        and await _row_counts() != before
                    ):
                        failures.append(f"{label} -> {response.status_code} but rows were saved")
                    if response.headers.get("location", "").startswith("/sign-in"):
                        await client.aclose()
                        client = await _signed_in(demo, email)
    finally:
        await client.aclose()
    assert sent > 200
    assert not failures, f"{len(failures)} of {sent} hostile submissions failed:\n" + "\n".join(failures[:60])


def _routes(app) -> list[tuple[str, str]]:
    out = []
    for route in app.routes:
        for method in sorted(getattr(route, "methods", None) or []):
            if method not in ("HEAD", "OPTIONS"):
                out.append((method, route.path))
    return sorted(set(out))


def _fill(template: str, value: str) -> str:
    return re.sub(r"\{\w+:int\}", value, re.sub(r"\{\w+:(str|path)\}", "x", template))


async def test_every_route_takes_hostile_ids_and_page_numbers(demo):
    """Every route of the table, its ids as Unicode digits and huge numbers, its page as anything at all."""
    client = await _signed_in(demo, WALKERS[0])
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/persons")).text).group(1)
    failures = []
    try:
        for method, template in _routes(demo):
            if (
                SKIP_POST.match(template)
                or template.startswith(("/static", "/assets", "/schema"))
                or template.endswith("/events")
            ):
                continue
            ids = (
                ["1", "\u00b2", "\u0661", "\uff11", "99999999999999999999"] if ":int}" in template else ["1"]
            )
            for id_ in ids:
                url = _fill(template, id_)
                for page in ["\u00b2", "\uff12", "99999999999999999999", "9" * 5000, "-5"]:
                    if method == "GET":
                        response = await client.get(url, params={"page": page, "offset": page, "limit": page})
                    elif url.startswith("/api/"):
                        continue  # the API's bodies are below
                    else:
                        response = await client.request(
                            method, url, data={"csrf_token": csrf, "page": page, "version": page, "id": page}
                        )
                    if _failed(response):
                        failures.append(f"{method} {url}?page={page[:20]!r} -> {response.status_code}")
                    if id_ != "1" and ":int}" in template and response.status_code == 200 and method == "GET":
                        failures.append(f"{method} {url} answered 200: a Unicode digit was read as an id")
    finally:
        await client.aclose()
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:60])


def _api_fields() -> list[str]:
    """Every field the API reads from a JSON body, found in its source."""
    from caseframe.core.web import api

    source = inspect.getsource(api)
    names = set(re.findall(r'(?:body|_body\(data\)|s)\.get\("(\w+)"', source))
    names |= set(re.findall(r'_(?:text|object|int)\((?:body|_body\(data\)|s), "(\w+)"\)', source))
    names |= set(re.findall(r'_int\((?:body|s)\.get\("(\w+)"\)', source))
    names |= set(re.findall(r'"(\w+)"', re.search(r"allowed = \(([^)]*)\)", source).group(1)))
    return sorted(names)


@pytest.fixture(scope="module")
async def api(demo):
    from caseframe.core.cases.tables import Case
    from caseframe.core.referrals.tables import Referral
    from caseframe.core.retention.tables import CaseRetention

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=demo), base_url="http://localhost")
    signed = await client.post("/api/v1/session", json={"email": WALKERS[0], "password": DEMO_PASSWORD})
    assert signed.status_code == 201, signed.text
    client.headers["Authorization"] = f"Bearer {signed.json()['token']}"
    agency = signed.json()["user"]["agency_id"]
    # a case the walker still works: the walk before this may have restricted or erased one through the
    # retention forms, as a local admin may, and a closed case's answers are read, not changed
    withheld = {
        r["case_id"]
        for r in await CaseRetention.select(CaseRetention.case_id).where(
            (CaseRetention.restricted == True) | CaseRetention.erased_at.is_not_null()
        )
    }
    cases = (
        await Case.select(Case.id)
        .where((Case.owning_agency == agency) & Case.closed_at.is_null())
        .order_by(Case.id)
    )
    case = next(c for c in cases if c["id"] not in withheld)
    referral = await Referral.select(Referral.id).first()
    yield (
        client,
        {
            "case_id": case["id"],
            "referral_id": referral["id"] if referral else 1,
            "task_id": 1,
            "person_id": 1,
            "slug": "x",
            "form": "x",
        },
    )
    await client.aclose()


async def test_wrong_json_types_in_every_api_field_are_a_422_naming_the_field(demo, api):
    client, ids = api
    failures = []
    fields = _api_fields()
    assert {"given_name", "version", "answers", "person_id", "text"} <= set(fields)
    for method, template in _routes(demo):
        if not template.startswith("/api/") or method not in ("POST", "PUT") or template == "/api/v1/session":
            continue
        url = re.sub(r"\{(\w+):\w+\}", lambda m: str(ids.get(m.group(1), 1)), template)
        for field in fields:
            for value in JSON_VALUES:
                before = await _row_counts()
                response = await client.request(method, url, json={field: value})
                label = f"{method} {url} {{{field!r}: {str(value)[:20]!r}}}"
                if _failed(response):
                    failures.append(f"{label} -> {response.status_code}")
                elif response.status_code >= 400 and await _row_counts() != before:
                    failures.append(f"{label} -> {response.status_code} but rows were saved")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:60])


@pytest.mark.parametrize(
    "field,value",
    [
        ("given_name", 123),
        ("given_name", ["a"]),
        ("family_name", {"a": 1}),
        ("gender", 5),
        ("aliases", "Bob"),
        ("aliases", [1]),
    ],
)
async def test_a_wrong_type_for_a_person_is_a_422_naming_the_field(api, field, value):
    client, _ = api
    body = {"given_name": "Ada", "family_name": "Hostile", field: value}
    response = await client.post("/api/v1/persons", json=body)
    assert response.status_code == 422, response.text
    assert any(e["field"] == f"/{field}" for e in response.json().get("errors", [])), response.text


async def test_json_nested_a_thousand_deep_is_refused_before_it_is_parsed(demo, api):
    client, ids = api
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=demo), base_url="http://localhost")
    try:
        refused = await anonymous.post(
            "/api/v1/session", content=deep_json(), headers={"Content-Type": "application/json"}
        )
        assert refused.status_code in (400, 422), refused.text
        for depth in (1000, 100_000):
            for method, template in _routes(demo):
                if template.startswith("/api/") and method in ("POST", "PUT"):
                    url = re.sub(r"\{(\w+):\w+\}", lambda m: str(ids.get(m.group(1), 1)), template)
                    response = await client.request(
                        method, url, content=deep_json(depth), headers={"Content-Type": "application/json"}
                    )
                    assert response.status_code in (400, 404, 413, 422), (
                        f"{method} {url}: {response.status_code}"
                    )
        for size in (20_000, 3_000_000):  # anyone may post here: no more than 16 KB is read
            huge = await anonymous.post(
                "/api/v1/session",
                content=b'{"email": "' + b"a" * size + b'"}',
                headers={"Content-Type": "application/json"},
            )
            assert huge.status_code == 413, size
    finally:
        await anonymous.aclose()


@pytest.mark.parametrize("body", [{}, {"version": None}], ids=["no-version", "null-version"])
async def test_put_of_a_form_without_version_is_refused(demo, api, body):
    """Without the version read, a save would overwrite unseen whatever someone saved meanwhile."""
    from caseframe.core.cases.tables import Case

    client, ids = api
    before = await Case.select(Case.data, Case.version).where(Case.id == ids["case_id"]).first()
    case = (await client.get(f"/api/v1/cases/{ids['case_id']}")).json()
    area = demo.state.ctx.area(case["area"])
    answers = (case.get("data") or {}).get(area.opening_form) or {}
    response = await client.put(
        f"/api/v1/cases/{ids['case_id']}/forms/{area.opening_form}", json={"answers": answers, **body}
    )
    assert response.status_code == 428, response.text
    assert "version" in response.json()["detail"] and response.json()["errors"][0]["field"] == "/version"
    after = await Case.select(Case.data, Case.version).where(Case.id == ids["case_id"]).first()
    assert after == before
    saved = await client.put(
        f"/api/v1/cases/{ids['case_id']}/forms/{area.opening_form}",
        json={"answers": answers, "version": before["version"]},
    )
    assert saved.status_code == 200, saved.text


async def test_a_double_submitted_open_case_gets_the_first_result(db):
    """Two identical posts of the new-case form at once (a double click, a resent request): one case, and the
    second answer leads to it; on PostgreSQL the second insert of the form's key was a unique violation and a 500."""
    import asyncio

    from caseframe.core.cases.tables import Case
    from caseframe.core.testing import (
        csrf_token_of,
        make_agency,
        make_context,
        make_user,
        sign_in,
        web_client,
    )
    from tests.fixtures.areas import noise_plugin

    ctx = make_context(noise_plugin)
    council = await make_agency(ctx, "ashdown-council")
    worker = await make_user(council, ("caseworker",), name="Dana Whitfield")
    async with web_client(ctx, db) as client:
        await sign_in(client, worker)
        form = (await client.get("/areas/noise/new")).text
        key = re.search(r'name="submission_key" value="([^"]+)"', form).group(1)
        body = {
            "csrf_token": csrf_token_of(form),
            "submission_key": key,
            "f.date_of_incident.day": "1",
            "f.date_of_incident.month": "11",
            "f.date_of_incident.year": "2026",
            "f.street": "Kestrel Way",
            "f.kind": "music",
        }
        first, second = await asyncio.gather(
            client.post("/areas/noise/new", data=body), client.post("/areas/noise/new", data=body)
        )
    assert (first.status_code, second.status_code) == (303, 303), (first.text[:300], second.text[:300])
    assert await Case.count() == 1
    case = await Case.select(Case.id).first()
    assert first.headers["location"] == second.headers["location"] == f"/cases/{case['id']}?done=case-opened"


@pytest.fixture
async def worker_client(db):
    from caseframe.core.cases import service as cases
    from caseframe.core.testing import (
        csrf_token_of,
        make_agency,
        make_context,
        make_user,
        sign_in,
        web_client,
    )
    from tests.fixtures.areas import noise_plugin

    ctx = make_context(noise_plugin)
    council = await make_agency(ctx, "ashdown-council")
    worker = await make_user(council, ("caseworker", "local_admin"), name="Dana Whitfield")
    case = await cases.open_case(
        ctx, worker, "noise", {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
    )
    async with web_client(ctx, db) as client:
        await sign_in(client, worker)
        csrf = csrf_token_of((await client.get(f"/cases/{case['id']}")).text)
        yield client, csrf, case


@pytest.mark.parametrize("value", [b"\xff\xfe", b"a\x00b"], ids=["not-utf8", "null"])
async def test_a_multipart_form_that_cannot_be_stored_is_refused_and_one_that_can_is_saved(
    worker_client, value
):
    """A form posted as multipart (no page does, anyone can): the CSRF check's parse consumed the stream, so every
    multipart post was a 500, and bytes that are not UTF-8 a UnicodeDecodeError."""
    from caseframe.core.cases.tables import CaseEvent

    client, csrf, case = worker_client
    before = await CaseEvent.count()
    refused = await client.post(
        f"/cases/{case['id']}/notes", files={"csrf_token": (None, csrf), "text": (None, value)}
    )
    assert refused.status_code == 422 and "Nothing has been saved" in refused.text.replace(
        "nothing has been saved", "Nothing has been saved"
    )
    assert await CaseEvent.count() == before
    saved = await client.post(
        f"/cases/{case['id']}/notes",
        files={"csrf_token": (None, csrf), "text": (None, "Caf\u00e9 visit".encode())},
    )
    assert saved.status_code == 303 and await CaseEvent.count() == before + 1


async def test_an_urlencoded_form_that_is_not_utf8_is_refused(worker_client):
    from caseframe.core.cases.tables import CaseEvent

    client, csrf, case = worker_client
    before = await CaseEvent.count()
    refused = await client.post(
        f"/cases/{case['id']}/notes",
        content=f"csrf_token={csrf}&text=%FF%FE".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert refused.status_code == 422 and "UTF-8" in refused.text
    assert await CaseEvent.count() == before


@pytest.mark.parametrize("field", ["given_name", "family_name"])
async def test_an_over_long_name_is_a_form_error_naming_the_field(worker_client, field):
    """PostgreSQL's varchar(100) refused it with a driver error; SQLite stored it. Now both say which field."""
    from caseframe.core.persons.tables import Person

    client, csrf, _ = worker_client
    body = {"csrf_token": csrf, "given_name": "Ada", "family_name": "Hostile", field: "x" * 101}
    sent = await client.post("/persons/new", data=body)
    assert sent.status_code == 400 and "100 characters or fewer" in sent.text
    assert f'id="{field}-error"' in sent.text or f"#{field}" in sent.text
    assert await Person.count() == 0


async def test_an_over_long_user_email_or_name_is_refused_naming_the_field():
    from caseframe.core.agencies import service as agencies
    from caseframe.core.errors import ValidationFailed

    for field, value in (("email", "a" * 250 + "@example.org"), ("name", "n" * 201)):
        body = {"email": "new.user@example.org", "name": "New User", field: value}
        with pytest.raises(ValidationFailed) as refused:
            await agencies.create_user(
                None, **body, agency_id=1, roles=["caseworker"], password="a long enough passphrase 2026"
            )
        assert any(e["field"] == f"/{field}" for e in refused.value.errors)


@pytest.mark.parametrize("words", [11, 300])
async def test_a_search_of_many_words_gets_a_clear_message(worker_client, words):
    """300 words made one LIKE per three-letter run: SQLite's expression tree overflowed and the page was a 500."""
    client, csrf, case = worker_client
    name = " ".join(f"word{i}" for i in range(words))
    for url in ("/persons/search", "/search/national", f"/cases/{case['id']}/subjects/search"):
        sent = await client.post(url, data={"csrf_token": csrf, "name": name, "purpose": "crime_prevention"})
        assert sent.status_code in (200, 400), f"{url}: {sent.status_code}"
        assert ("10 words or fewer" if words == 11 else "100 characters or fewer") in sent.text, url
    found = await client.post("/persons/search", data={"csrf_token": csrf, "name": "Ada Lovelace Byron"})
    assert found.status_code == 200


@pytest.mark.parametrize(
    "raw,number",
    [
        ("12", 12),
        (" 7 ", 7),
        ("\u00b2", None),
        ("\u0661\u0662", None),
        ("\uff11\uff12", None),
        ("1_0", None),
        ("+1", None),
        ("-1", None),
        ("", None),
        ("9" * 5000, None),
        (None, None),
        (True, None),
        (5, 5),
    ],
)
def test_one_parser_reads_ascii_digits_only(raw, number):
    from caseframe.core.numbers import whole_number
    from caseframe.core.web.pages import form_int

    assert whole_number(raw) == number
    assert form_int is whole_number


def test_huge_page_numbers_are_clamped():
    from caseframe.core.numbers import page_number

    assert page_number("99999999999999999999", 3) == 3
    assert page_number("\u00b2", 3) == page_number("-5", 3) == page_number("0", 3) == 1
