"""Garbage thrown at every changing route of the app and the API, and at every GET route's address and query, as
signed-in demo users with a valid CSRF token (sent as the header, so the garbage reaches the handler): never a
5xx, never a traceback, and a refused request changes nothing stored.

test_hostile_input types hostile values into the fields of the forms its crawl finds; this walk reads the app's
route table (as test_route_walk does), so it also reaches the routes no page links to, and it sends what no
page can: missing and duplicated fields, lists, JSON to a form and a form to the API, 1 MB strings, ids of 0,
-1 and beyond 64 bits, dates off the calendar, unknown choices, wrong and missing content types, broken
multipart bodies and uploads, htmx headers, HEAD and OPTIONS. The field names each route reads are found in its
handler's source. Each request is sent by the demo user whose pages link furthest into its route, with the ids
those pages hold (the rest of the users in turn), so the garbage reaches the handler rather than a 404; the walk
is about 10,000 requests, three minutes on SQLite and five on PostgreSQL.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

#: the demo's people: a supervisor and panel chair, a local admin, a system admin, and a partner's caseworker
WALKERS = [
    "priya.shah@ashdown-council.example",
    "admin@ashdown-council.example",
    "sysadmin@northshire-county.example",
    "sam.okafor@northshire-police.example",
]
DEMO_PASSWORD = "demo-password-2026"
#: what a refused request may still write: the audit trail (a refusal is audited), sessions and the throttle
MAY_CHANGE = {"cf_audit", "cf_audit_checkpoint", "cf_session", "cf_sign_in_throttle"}
#: never sent: they end the walker's own session (sign-out is covered by tests/core)
SKIP = re.compile(
    r"^/(sign-out|account/sign-out-everywhere|api/v1/session)$|^/(static|assets|schema)|/events$"
)
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")
MEGABYTE = "x" * (1024 * 1024)
#: ids no row has, that no 32-bit column holds, or that are not numbers at all
BAD_IDS = ["0", "-1", "abc", str(2**63), str(2**64), "9" * 30, "1.5", "1e3"]
BAD_DATES = ["2026-02-30", "0000-01-01", "0001-01-01", "99999-01-01", "2026-13-01", "yesterday", "-1-01-01"]
#: the parts of a date typed as three boxes, off the calendar
BAD_DATE_PARTS = [
    ("30", "2", "2026"),
    ("1", "1", "0"),
    ("1", "1", "99999"),
    ("0", "0", "0"),
    ("-1", "1", "2026"),
    ("1", "1", str(10**30)),
]
UNKNOWN_CHOICE = "no-such-choice"
#: pages each walker's crawl reads from My work, to find the ids of rows that walker may work on
CRAWL = 150


def _changing_routes(app) -> list[tuple[str, str, Any]]:
    """(method, path template, handler function) of every route that may change something."""
    out = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(getattr(handler, "http_methods", None) or []):
                if method in ("POST", "PUT", "PATCH", "DELETE") and not SKIP.search(route.path):
                    out.append((method, route.path, handler.fn))
    return sorted(out, key=lambda r: (r[1], r[0]))


def _get_routes(app) -> list[str]:
    return sorted(_get_handlers(app))


def _get_handlers(app) -> dict[str, Any]:
    """Each GET route's path template and its handler function."""
    out = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "GET" in (getattr(handler, "http_methods", None) or ()) and not SKIP.search(route.path):
                out[route.path] = handler.fn
    return out


def _query_names(fn) -> set[str]:
    """The query parameters a GET handler reads, found in its source (the audit list's filters, which it reads
    as a whole, named here)."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return set()
    names = set(re.findall(r'query_params\.get(?:all)?\("(\w+)"', source))
    if "list_events(actor, request.query_params" in source:
        names |= {"action", "user", "object_type", "object_id", "from", "to", "agency", "page"}
    return names


def _fields_read(fn) -> set[str]:
    """The form or JSON field names a handler reads, found in its source."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return set()
    names = set(re.findall(r'(?:data|body|form|s)(?:\.get\(|\[)"([\w.-]+)"', source))
    names |= set(
        re.findall(
            r'_(?:text|object|int|str|list|number)\((?:data|body|_body\(data\)|s|form), "([\w.-]+)"', source
        )
    )
    for date in re.findall(r'(?:typed_date|form_date|form_date_parts)\(\w+, "([\w-]+)"\)', source):
        names |= {f"{date}-day", f"{date}-month", f"{date}-year"}
    return names - {"csrf_token"}


async def _row_counts() -> dict[str, int]:
    from caseframe.core.db.piccolo_app import TABLES

    tables = [t._meta.tablename for t in TABLES if t._meta.tablename not in MAY_CHANGE]
    query = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM {t}" for t in tables)
    rows = await TABLES[0].raw(query)
    return {r["t"]: int(r["n"]) for r in rows}


async def _ids() -> dict[str, str]:
    """A real id for each kind of path parameter (the demo's first rows), so the garbage reaches the handler."""
    from caseframe.core.db.piccolo_app import TABLES

    tables = {
        "agency_id": "cf_agency",
        "case_id": "cf_case",
        "document_id": "cf_document",
        "meeting_id": "cf_meeting",
        "merge_id": "cf_person_merge",
        "notification_id": "cf_notification",
        "other_id": "cf_person",
        "panel_id": "cf_panel",
        "person_id": "cf_person",
        "referral_id": "cf_referral",
        "sar_id": "cf_subject_access_request",
        "task_id": "cf_task",
        "user_id": "cf_user",
        "isa_id": "cf_isa",
        "request_id": "cf_access_request",
        "share_id": "cf_case_share",
        "subject_id": "cf_case_subject",
        "item_id": "cf_agenda_item",
        "panel_case_id": "cf_panel_case",
    }
    out = {}
    for name, table in tables.items():
        row = await TABLES[0].raw(f"SELECT min(id) AS id FROM {table}")
        out[name] = str(row[0]["id"] or 1)
    return out


def _urlencode(pairs: list[tuple[str, str]]) -> bytes:
    from urllib.parse import quote_plus

    return "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs).encode()


FORM = "application/x-www-form-urlencoded"


def _garbage(fields: list[str], api: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, request keyword arguments) for each kind of garbage a changing route is sent."""
    names = fields or ["text", "id"]
    yield "empty body", {}
    yield "empty form", {"content": b"", "headers": {"Content-Type": FORM}}
    yield "empty json", {"content": b"", "headers": {"Content-Type": "application/json"}}
    yield "json null", {"content": b"null", "headers": {"Content-Type": "application/json"}}
    yield "json list", {"content": b"[1, 2]", "headers": {"Content-Type": "application/json"}}
    yield "json string", {"content": b'"x"', "headers": {"Content-Type": "application/json"}}
    yield "broken json", {"content": b'{"text": ', "headers": {"Content-Type": "application/json"}}
    yield (
        "json duplicate keys",
        {
            "content": ("{" + ", ".join(f'"{n}": "a", "{n}": ["b"]' for n in names) + "}").encode(),
            "headers": {"Content-Type": "application/json"},
        },
    )
    yield "json lists", {"json": {n: ["1", "2"] for n in names}}
    yield "json objects", {"json": {n: {"a": 1} for n in names}}
    yield "json numbers", {"json": {n: 2**70 for n in names}}
    yield (
        "form to json" if api else "form",
        {"content": _urlencode([(n, "1") for n in names]), "headers": {"Content-Type": FORM}},
    )
    yield (
        "the calendar's last day",  # "form" above sends 1 for every box: the first day, 0001-01-01
        {
            "content": _urlencode(
                [
                    (n, {"year": "9999", "month": "12", "day": "31"}.get(n.rsplit("-", 1)[-1], "1"))
                    for n in names
                ]
            ),
            "headers": {"Content-Type": FORM},
        },
    )
    yield (
        "form duplicated fields",
        {
            "content": _urlencode([(n, v) for n in names for v in ("1", "2")]),
            "headers": {"Content-Type": FORM},
        },
    )
    yield (
        "form list-style names",
        {
            "content": _urlencode([(f"{n}[]", "1") for n in names] + [(f"{n}[0]", "1") for n in names]),
            "headers": {"Content-Type": FORM},
        },
    )
    yield (
        "1 MB strings",
        {
            "content": _urlencode([(n, MEGABYTE) for n in names[:1]] + [(n, "1") for n in names[1:]]),
            "headers": {"Content-Type": FORM},
        },
    )
    yield "1 MB json", {"json": {n: MEGABYTE if i == 0 else "1" for i, n in enumerate(names)}}
    yield (
        "percent-encoded NUL",
        {"content": b"&".join(n.encode() + b"=a%00b" for n in names), "headers": {"Content-Type": FORM}},
    )
    yield (
        "lone surrogate",
        {"content": b"&".join(n.encode() + b"=%ED%A0%80" for n in names), "headers": {"Content-Type": FORM}},
    )
    yield (
        "invalid utf-8",
        {"content": b"&".join(n.encode() + b"=%C3%28%FF" for n in names), "headers": {"Content-Type": FORM}},
    )
    yield (
        "json lone surrogate",
        {
            "content": ("{" + ", ".join(f'"{n}": "\\ud800"' for n in names) + "}").encode(),
            "headers": {"Content-Type": "application/json"},
        },
    )
    yield (
        "json invalid utf-8",
        {
            "content": b"{" + b", ".join(b'"' + n.encode() + b'": "\xff\xfe"' for n in names) + b"}",
            "headers": {"Content-Type": "application/json"},
        },
    )
    for bad in BAD_IDS:
        yield (
            f"ids {bad}",
            {"content": _urlencode([(n, bad) for n in names]), "headers": {"Content-Type": FORM}},
        )
        yield (
            f"json ids {bad}",
            {"json": {n: int(bad) if re.fullmatch(r"-?\d+", bad) else bad for n in names}},
        )
    for bad in BAD_DATES:
        yield (
            f"dates {bad}",
            {"content": _urlencode([(n, bad) for n in names]), "headers": {"Content-Type": FORM}},
        )
        yield f"json dates {bad}", {"json": {n: bad for n in names}}
    for day, month, year in BAD_DATE_PARTS:
        parts = [
            (n, {"day": day, "month": month, "year": year}[n.rsplit("-", 1)[1]])
            for n in names
            if n.endswith(("-day", "-month", "-year"))
        ]
        if parts:
            yield (
                f"date parts {day}/{month}/{year}",
                {"content": _urlencode(parts), "headers": {"Content-Type": FORM}},
            )
    yield (
        "unknown choices",
        {"content": _urlencode([(n, UNKNOWN_CHOICE) for n in names]), "headers": {"Content-Type": FORM}},
    )
    yield "json unknown choices", {"json": {n: UNKNOWN_CHOICE for n in names}}
    yield (
        "text/plain",
        {"content": _urlencode([(n, "1") for n in names]), "headers": {"Content-Type": "text/plain"}},
    )
    yield "xml", {"content": b"<a>1</a>", "headers": {"Content-Type": "application/xml"}}
    yield "nonsense content type", {"content": b"a=1", "headers": {"Content-Type": "!!/;;;charset=nope"}}
    yield (
        "form with a bad charset",
        {"content": b"text=1", "headers": {"Content-Type": FORM + "; charset=ebcdic"}},
    )
    yield (
        "multipart without boundary",
        {"content": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data"}},
    )
    yield (
        "multipart truncated",
        {
            "content": b'--xyz\r\nContent-Disposition: form-data; name="text"\r\n\r\nabc',
            "headers": {"Content-Type": "multipart/form-data; boundary=xyz"},
        },
    )
    yield (
        "multipart no name",
        {
            "content": b"--xyz\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--xyz--\r\n",
            "headers": {"Content-Type": "multipart/form-data; boundary=xyz"},
        },
    )
    yield "multipart fields", {"files": {n: (None, b"1") for n in names}}
    yield "multipart file where text goes", {"files": {n: ("a.txt", b"1", "text/plain") for n in names}}
    yield (
        "htmx form",
        {
            "content": _urlencode([(n, "1") for n in names]),
            "headers": {"Content-Type": FORM, "HX-Request": "true", "HX-Target": "main"},
        },
    )
    yield (
        "htmx empty",
        {"headers": {"HX-Request": "true", "HX-Boosted": "true", "HX-Current-URL": "javascript:x"}},
    )


def _upload_garbage(names: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Malformed uploads for a route that takes files."""
    from caseframe.core.documents.samples import tiny_pdf

    pdf = tiny_pdf(["A letter"])
    text = {n: (None, b"Letter") for n in names if n not in ("file", "document")}
    for label, file in [
        ("no filename", ("", pdf, "application/pdf")),
        ("path traversal", ("../../../etc/passwd", pdf, "application/pdf")),
        ("absolute path", ("/etc/passwd.pdf", pdf, "application/pdf")),
        ("0-byte file", ("empty.pdf", b"", "application/pdf")),
        ("huge file", ("huge.pdf", b"%PDF-1.4\n" + b"0" * (30 * 1024 * 1024), "application/pdf")),
        ("wrong mime", ("a.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")),
        ("pdf as exe", ("a.exe", pdf, "application/x-msdownload")),
        ("no content type", ("a.pdf", pdf, "")),
    ]:
        for field in ("file", "document"):
            yield f"upload {label} as {field}", {"files": {**text, field: file}}
    yield (
        "upload with a filename not UTF-8",
        {
            "content": b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="\xff\xfe.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n" + pdf + b"\r\n--xyz--\r\n",
            "headers": {"Content-Type": "multipart/form-data; boundary=xyz"},
        },
    )
    yield (
        "upload twice",
        {"files": [("file", ("a.pdf", pdf, "application/pdf")), ("file", ("b.pdf", pdf, "application/pdf"))]},
    )


def _failure(response: httpx.Response) -> str | None:
    if response.status_code >= 500:
        return f"{response.status_code}"
    body = response.text if response.content[:1] not in (b"%",) else ""
    if TRACEBACK.search(body):
        return f"{response.status_code} with a traceback"
    if "Sorry, there is a problem with the service" in body:
        return f"{response.status_code} with the 500 page"
    return None


def _refused(response: httpx.Response) -> bool:
    return response.status_code >= 400 or "govuk-error-summary" in response.text


@pytest.fixture(scope="module")
async def demo(database):
    from caseframe.core.settings import Settings
    from caseframe.core.testing import empty_tables, make_context
    from caseframe.core.web.app import create_app
    from tests.security.test_route_walk import _demo_with_one_of_everything

    await empty_tables()
    ctx = make_context(builtins=True)
    await _demo_with_one_of_everything(ctx)
    app = create_app(
        Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=database
    )
    yield app, ctx
    await empty_tables()


class Walker:
    """A signed-in demo user, on the web (session cookie, CSRF header) and on the API (bearer token)."""

    def __init__(self, app, email: str) -> None:
        self.app, self.email = app, email
        self.web = self.api = None
        self.seen: list[str] = []
        self._reached: dict[str, tuple[int, dict[str, str]]] = {}

    async def start(self) -> Walker:
        from caseframe.core.agencies import service as agencies
        from caseframe.core.testing import csrf_token_of, sign_in
        from tests.security.test_route_walk import _user

        await self.close()
        self.web = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://localhost")
        await sign_in(self.web, await agencies.actor_for((await _user(self.email))["id"]), DEMO_PASSWORD)
        self.web.headers["X-CSRF-Token"] = csrf_token_of((await self.web.get("/account/security")).text)
        self.api = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://localhost")
        signed = await self.api.post("/api/v1/session", json={"email": self.email, "password": DEMO_PASSWORD})
        assert signed.status_code == 201, signed.text[:300]
        self.api.headers["Authorization"] = f"Bearer {signed.json()['token']}"
        if not self.seen:
            self.seen = await _crawl(self.web)
        return self

    def reach(self, template: str) -> tuple[int, dict[str, str]]:
        """How much of ``template``'s address this walker's pages link to (the longest prefix), and the values
        of the parameters in it: the ids of rows this walker may work on, so garbage reaches the handler. Worked out
        once a template (the crawl is made once): matching every crawled address was a seventh of the walk's time."""
        if template not in self._reached:
            self._reached[template] = self._reach(template)
        return self._reached[template]

    def _reach(self, template: str) -> tuple[int, dict[str, str]]:
        parts = template.strip("/").split("/")
        for k in range(len(parts), 0, -1):
            names = re.findall(r"\{(\w+):(\w+)\}", "/".join(parts[:k]))
            pattern = re.sub(
                r"\\\{(\w+):(\w+)\\\}",
                lambda m: r"(\d+)" if m.group(2) == "int" else r"([^/]+)",
                re.escape("/" + "/".join(parts[:k])),
            )
            for url in self.seen:
                match = re.match(pattern + "(?:/|$)", url)
                if match:
                    return k, {name: value for (name, _), value in zip(names, match.groups(), strict=True)}
        return 0, {}

    async def close(self) -> None:
        for client in (self.web, self.api):
            if client is not None:
                await client.aclose()

    async def send(self, method: str, url: str, **kwargs) -> httpx.Response:
        client = self.api if url.startswith("/api/") else self.web
        response = await client.request(method, url, **kwargs)
        if response.status_code in (401, 303) and (
            response.headers.get("location", "").startswith("/sign-in") or url.startswith("/api/")
        ):
            await self.start()  # a garbage request that ended the session (a password change): sign in again
        return response


@pytest.fixture(scope="module")
async def walkers(demo):
    app, _ = demo
    out = [await Walker(app, email).start() for email in WALKERS]
    yield out
    for walker in out:
        await walker.close()


async def _crawl(client: httpx.AsyncClient) -> list[str]:
    """The addresses a walker's pages link to and post their forms to, reached from My work: the real ids (and
    transition names) of what this walker may work on."""
    seen: list[str] = []
    frontier, read = ["/"], set()
    while frontier and len(read) < CRAWL:
        url = frontier.pop(0)
        if url in read or SKIP.search(url) or re.search(r"\.(csv|pdf)$|/pack|sign-out", url):
            continue
        read.add(url)
        response = await client.get(url)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        links = [h.split("?")[0] for h in re.findall(r'href="(/[^"#]*)', response.text)]
        actions = re.findall(r'action="(/[^"#?]*)', response.text)
        seen += [u for u in links + actions if u not in seen]
        frontier += [u for u in links if u not in read]
    return seen


def _fill(
    template: str, values: dict[str, str], defaults: dict[str, str], override: str | None = None
) -> str:
    def one(match: re.Match) -> str:
        if override is not None:
            return override
        return values.get(match.group(1)) or defaults.get(match.group(1), "x")

    return re.sub(r"\{(\w+):(\w+)\}", one, template)


async def _defaults(ctx) -> dict[str, str]:
    slug = sorted(ctx.areas.areas)[0]
    return {
        **await _ids(),
        "slug": slug,
        "form": ctx.areas.get(slug).opening_form,
        "form_name": ctx.areas.get(slug).opening_form,
    }


async def _throw(walkers, defaults, sends) -> tuple[int, list[str]]:
    """Send each (label, method, template, kwargs, override, query) as the walker whose pages reach furthest into
    the template (the rest in turn), with that walker's ids; the failures, and how many were sent."""
    failures: list[str] = []
    sent = 0
    # the counts after the last changing request are the counts before the next (a GET changes none of these
    # tables: test_route_walk), so each changing request costs one count
    counts = await _row_counts()
    for i, (label, method, template, kwargs, override, query) in enumerate(sends):
        reaches = [(w.reach(template), w) for w in walkers]
        best = max(r[0] for r, _ in reaches)
        able = [(values, w) for (k, values), w in reaches if k == best]
        values, walker = able[i % len(able)]
        url = _fill(template, values, defaults, override) + (f"?{query}" if query else "")
        changing = method not in ("GET", "HEAD", "OPTIONS")
        try:
            response = await walker.send(method, url, **kwargs)
        except Exception as exc:  # the app raised through the transport: as bad as a 500
            failures.append(f"{method} {url[:120]} [{label}] as {walker.email}: raised {exc!r}"[:400])
            counts = await _row_counts()
            continue
        sent += 1
        if os.environ.get("CASEFRAME_HOSTILE_LOG"):
            print(response.status_code, method, url[:100], label, walker.email)
        problem = _failure(response)
        if problem:
            failures.append(f"{method} {url[:120]} [{label}] as {walker.email} -> {problem}")
        if changing:
            before, counts = counts, await _row_counts()
            grown = sorted(t for t in counts if counts[t] != before[t])
            if grown and _refused(response) and not problem:
                failures.append(
                    f"{method} {url[:120]} [{label}] as {walker.email} -> {response.status_code} "
                    f"but changed {', '.join(grown)}"
                )
    return sent, failures


async def test_garbage_bodies_to_every_changing_route(demo, walkers):
    app, ctx = demo
    sends = []
    for method, template, fn in _changing_routes(app):
        fields = sorted(_fields_read(fn))
        for label, kwargs in _garbage(fields, template.startswith("/api/")):
            sends.append((label, method, template, kwargs, None, ""))
        if "documents" in template and getattr(fn, "__name__", "") == "upload":
            for label, kwargs in _upload_garbage(fields):
                sends.append((label, method, template, kwargs, None, ""))
    sent, failures = await _throw(walkers, await _defaults(ctx), sends)
    assert sent > 4000, sent
    assert not failures, f"{len(failures)} of {sent} failed:\n" + "\n".join(failures[:80])


#: what goes in a path parameter in place of a real id or name
BAD_PATH = [
    "0",
    "-1",
    "abc",
    str(2**63),
    str(2**64),
    "9" * 40,
    "%00",
    "%ED%A0%80",
    "%FF",
    "..",
    "%2e%2e%2f",
    "x" * 10_000,
    "1%0a1",
]


async def test_garbage_path_parameters_on_every_route(demo, walkers):
    app, ctx = demo
    sends = []
    for template in _get_routes(app):
        if "{" in template:
            sends += [(f"path {bad[:12]}", "GET", template, {}, bad, "") for bad in BAD_PATH]
    for method, template, _fn in _changing_routes(app):
        if "{" in template:
            sends += [
                (f"path {bad[:12]}", method, template, {"data": {"text": "1"}}, bad, "") for bad in BAD_PATH
            ]
    sent, failures = await _throw(walkers, await _defaults(ctx), sends)
    assert sent > 500, sent
    assert not failures, f"{len(failures)} of {sent} failed:\n" + "\n".join(failures[:80])


QUERIES = [
    "page=-1",
    "page=0",
    f"page={10**30}",
    "page=1&page=2",
    "page=abc",
    "page[]=1",
    "sort=unknown",
    "sort=id;drop",
    "order=sideways",
    "sort=name&sort=date",
    "q=" + "x" * 60_000,
    "q=%00",
    "q=%ED%A0%80",
    "q=%FF%FE",
    "from=2026-02-30&to=0000-01-01",
    "from=99999-01-01",
    "state=no-such&area=no-such",
    "limit=-1&offset=-1",
    f"limit={2**64}&offset={2**64}",
    "per_page=0",
    "status=1&status=2&status=3",
    "agency=abc&user=-1&object_id=0",
    "next=//evil.example&done=%3Cscript%3E",
]


#: what goes in each query parameter a handler reads
QUERY_VALUES = [
    "",
    "-1",
    "0",
    str(10**30),
    "abc",
    "x" * 5000,
    "%FF%FE",
    "%ED%A0%80",
    "2026-02-30",
    "99999-01-01",
    "%2F%2Fevil.example",
    "javascript:alert(1)",
    "%E2%80%AE",
]


COMMON_QUERY_NAMES = [
    "area",
    "box",
    "state",
    "risk",
    "owner",
    "overdue",
    "sort",
    "with",
    "person",
    "person_id",
    "after",
    "status",
    "agency",
    "scope",
    "from",
    "to",
    "page",
    "case",
    "name",
    "purpose",
    "figure",
]


async def test_garbage_query_strings_and_headers_on_every_get_route(demo, walkers):
    app, ctx = demo
    sends = []
    for template, fn in _get_handlers(app).items():
        sends += [(query[:30], "GET", template, {}, None, query) for query in QUERIES]
        for name in sorted(_query_names(fn)):
            sends += [
                (f"{name}={value[:12]}", "GET", template, {}, None, f"{name}={value}")
                for value in QUERY_VALUES
            ] + [(f"{name} twice", "GET", template, {}, None, f"{name}=1&{name}=2")]
        # the filters helpers read (an area list's, a dashboard's), one value each by rotation
        for i, name in enumerate(COMMON_QUERY_NAMES):
            value = QUERY_VALUES[(i + len(sends)) % len(QUERY_VALUES)]
            sends.append((f"{name}={value[:12]}", "GET", template, {}, None, f"{name}={value}&{name}=x"))
        sends.append(
            ("htmx", "GET", template, {"headers": {"HX-Request": "true", "HX-Target": "nowhere"}}, None, "")
        )
    for method, template, _fn in _changing_routes(app):
        sends += [
            (query[:30], method, template, {"data": {"text": "1"}}, None, query) for query in QUERIES[:6]
        ]
    sent, failures = await _throw(walkers, await _defaults(ctx), sends)
    assert sent > 1000, sent
    assert not failures, f"{len(failures)} of {sent} failed:\n" + "\n".join(failures[:80])


async def test_head_and_options_on_every_route(demo, walkers):
    app, ctx = demo
    templates = sorted(set(_get_routes(app)) | {t for _, t, _ in _changing_routes(app)})
    sends = [(m, m, t, {}, None, "") for t in templates for m in ("HEAD", "OPTIONS")]
    before = await _row_counts()
    sent, failures = await _throw(walkers, await _defaults(ctx), sends)
    assert await _row_counts() == before, "a HEAD or OPTIONS request changed stored rows"
    assert sent > 100, sent
    assert not failures, f"{len(failures)} of {sent} failed:\n" + "\n".join(failures[:80])


def test_the_walk_finds_the_fields_each_handler_reads():
    """The field names come from the handlers' source: if a refactor hid them, the walk would send little."""
    from caseframe.core.cases.web import CasePages
    from caseframe.core.persons.web import PersonPages

    assert {"title", "due-day", "due-month", "due-year", "assignee_id"} <= _fields_read(CasePages.add_task.fn)
    assert {"given_name", "family_name", "gender", "confirm_new"} <= _fields_read(PersonPages.create.fn)
    from caseframe.core.panels.web import MeetingPages
    from caseframe.core.referrals.web import ReferralPages

    # the readers of core/web/pages.py: a number, a date's three boxes, a repeated field
    assert {"version", "case_id"} <= _fields_read(ReferralPages.link.fn)
    assert {"review_due-day", "review_due-month", "review_due-year"} <= _fields_read(
        ReferralPages.to_panel.fn
    )
    assert {"item_id", "kind", "text", "due-day", "supersedes"} <= _fields_read(MeetingPages.add_minute.fn)


# -- the 500s the walk found, each at the level a user sees it --------------------------------------------------

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}


@pytest.fixture
async def boss(db):
    from caseframe.core.cases import service as cases
    from caseframe.core.testing import make_agency, make_context, make_user, web_client
    from tests.fixtures.areas import noise_plugin

    ctx = make_context(noise_plugin)
    council = await make_agency(ctx, "ashdown-council")
    actor = await make_user(council, ("caseworker", "supervisor", "local_admin"), name="Bo Boss")
    case = await cases.open_case(ctx, actor, "noise", REPORT)
    async with web_client(ctx, db) as client:
        from caseframe.core.testing import sign_in

        client.headers["X-CSRF-Token"] = await sign_in(client, actor)
        yield client, actor, case


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (
            {"files": {"file": ("a.pdf", b"%PDF-1.4", "application/pdf")}},
            "Select how sensitive the document is",
        ),
        ({"json": {"sensitivity": "official"}}, "Choose a file to upload"),
        ({"content": b"<a/>", "headers": {"Content-Type": "application/xml"}}, "Choose a file to upload"),
        (
            {
                "files": [
                    ("file", ("a.pdf", b"%PDF-1.4", "application/pdf")),
                    ("file", ("b.pdf", b"%PDF-1.4", "application/pdf")),
                    ("sensitivity", (None, b"official")),
                ]
            },
            "Upload one file at a time",
        ),
    ],
    ids=["no-sensitivity-field", "json", "xml", "two-files"],
)
async def test_an_upload_without_its_fields_is_a_clear_message_not_a_500(boss, kwargs, message):
    """The upload read the sensitivity with getall(), which raises KeyError when the field is missing: a form
    without it, a JSON or XML body, were each a 500. Two files were one silently dropped."""
    from caseframe.core.documents.tables import Document

    client, _, case = boss
    response = await client.post(f"/cases/{case['id']}/documents", **kwargs)
    assert response.status_code == 400, response.status_code
    assert message in response.text
    assert await Document.count() == 0


async def test_a_person_form_with_a_field_sent_twice_is_refused_naming_it(boss):
    """A repeated field was a list: looking it up among the identifier types was a TypeError and a 500."""
    from caseframe.core.persons.tables import Person

    client, _, _ = boss
    body = [
        ("given_name", "Ada"),
        ("family_name", "Hostile"),
        ("identifier_type", "nhs_number"),
        ("identifier_type", "pnc"),
        ("identifier_value", "123"),
    ]
    response = await client.post("/persons/new", content=_urlencode(body), headers={"Content-Type": FORM})
    assert response.status_code == 400, response.status_code
    assert "Enter this only once" in response.text and "#identifier_type" in response.text
    assert await Person.count() == 0
    single = await client.post(
        "/persons/new", data={"given_name": "Ada", "family_name": "Hostile", "confirm_new": "yes"}
    )
    assert single.status_code == 303 and await Person.count() == 1


async def test_a_merge_with_its_choice_sent_twice_is_refused_and_merges_nothing(boss):
    """The survivor radio sent twice was a list looked up in a dict: a TypeError and a 500."""
    from caseframe.core.persons.tables import Person
    from caseframe.core.testing import make_person

    client, actor, _ = boss
    first = await make_person(actor, given_name="Ada", family_name="Twin")
    second = await make_person(actor, given_name="Ada", family_name="Twin")
    before = await Person.select(Person.id, Person.version).order_by(Person.id)
    body = [("survivor", "a"), ("survivor", "b"), ("version_a", "1"), ("version_b", "1")]
    response = await client.post(
        f"/persons/{first['id']}/merge/{second['id']}",
        content=_urlencode(body),
        headers={"Content-Type": FORM},
    )
    assert response.status_code == 400, response.status_code
    assert "Choose which record to keep" in response.text
    assert await Person.select(Person.id, Person.version).order_by(Person.id) == before


@pytest.mark.parametrize(
    "path,body",
    [
        ("notes", [("text", "first"), ("text", "second")]),
        (
            "tasks",
            [
                ("title", "Visit"),
                ("title", "Call"),
                ("due-day", "1"),
                ("due-month", "1"),
                ("due-year", "2027"),
            ],
        ),
    ],
    ids=["note", "task"],
)
async def test_a_text_field_sent_twice_is_refused_not_stored_as_a_list(boss, path, body):
    """str() of a repeated field stored "['first', 'second']" as the note; now a clear 422 and nothing saved."""
    from caseframe.core.cases.tables import CaseEvent
    from caseframe.core.tasks.tables import Task

    client, _, case = boss
    before = (await CaseEvent.count(), await Task.count())
    response = await client.post(
        f"/cases/{case['id']}/{path}", content=_urlencode(body), headers={"Content-Type": FORM}
    )
    assert response.status_code in (400, 422), response.status_code
    assert "sent a field more than once" in response.text or "Enter this only once" in response.text
    assert (await CaseEvent.count(), await Task.count()) == before
    assert not await CaseEvent.count().where(CaseEvent.summary.like("%['%"))
