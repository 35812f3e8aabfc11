"""Authorisation matrix: every role x relation to a record x every person/case/task/referral/meeting route.

The record is a case owned by agency A, with its person, task, referral (to A's panel) and a published
meeting of A's panel. Each agency stands in one relation to it:

* ``owner``: A itself;
* ``live``: B, which has a live ISA with A and the case shared with it (and sits on A's panel);
* ``expired``: C, whose ISA with A has ended (the case was shared while it was live);
* ``unrelated``: D, with no ISA, share or panel seat.

Every agency has one user of each role. The routes are read from the app's own route table, so a route
added later is either covered by the rules below or fails ``test_every_route_is_classified``. Each route
is tried as a plain page, as an htmx request and, under /api, with a bearer token; writes carry the
session's CSRF token, so a refusal is the authorisation check and not CSRF.

Expected: owners read, and those of their roles that work the record write; a live-share partner reads
but every write is refused (403 or 404) and changes nothing; an expired share or an unrelated agency gets
404 for reads and writes alike (never 403, which would say the record exists); a guessed id is 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.auth.tables import Session, SignInThrottle
from caseframe.core.cases import service as cases
from caseframe.core.db.piccolo_app import TABLES
from caseframe.core.panels import service as panels
from caseframe.core.referrals import inbox
from caseframe.core.referrals import service as referrals
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.tables import MouAcceptance
from caseframe.core.tasks import service as tasks
from caseframe.core.testing import (
    TEST_PASSWORD,
    empty_tables,
    make_agency,
    make_context,
    make_person,
    make_user,
    sign_in,
)
from caseframe.core.workflows.engine import DEFAULT_TRANSITION_ROLES
from tests.fixtures.areas import noise_plugin

ROLES = ("caseworker", "supervisor", "panel_chair", "local_admin", "system_admin")
RELATIONS = {"owner": "a", "live": "b", "expired": "c", "unrelated": "d"}
#: roles of the owning agency that work cases, tasks and referrals
WORKERS = {"caseworker", "supervisor", "panel_chair"}
#: roles of the chair agency that run its meetings
CHAIRS = {"panel_chair", "local_admin", "system_admin"}
#: first path segments (after /api/v1) that make a route part of the matrix
SCOPED = ("persons", "cases", "tasks", "referrals", "meetings")
#: the path parameter naming the record a route is about, most specific first
PRIMARY = ("task_id", "referral_id", "meeting_id", "case_id", "person_id")

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
VISIT = {"risk_level": "high", "health_impact": "Panic attacks most nights since August"}
SURNAME = "Quennellford"
#: searches echo the surname asked for; the given name shows only if the person is found
GIVEN = "Rowanna"


# --- what each route is and what a valid request to it looks like -------------------------------------

#: routes not about one existing record: (method, path) -> query string for reads, None for creates
COLLECTIONS: dict[tuple[str, str], str | None] = {
    ("GET", "/persons"): f"?name={SURNAME}",
    ("POST", "/persons/search"): None,  # a search form posting a name: checked below with its body
    ("GET", "/persons/new"): "",
    ("POST", "/persons/new"): None,
    ("POST", "/persons/search/export.csv"): None,  # the search's results as CSV: checked with its body below
    ("GET", "/referrals"): "?box=sent",
    ("GET", "/api/v1/cases"): "",
    ("POST", "/api/v1/cases"): None,
    ("GET", "/api/v1/persons"): f"?name={SURNAME}",
    ("POST", "/api/v1/persons"): None,
    ("GET", "/api/v1/referrals"): "?box=sent",
}
#: collection POSTs that only search: run with this body, they must not show the record to C or D
COLLECTION_SEARCHES = {
    ("POST", "/persons/search"): {"name": SURNAME},
    ("POST", "/persons/search/export.csv"): {"name": SURNAME},
}

W = dict[str, Any]
#: write routes -> a valid body built from the records (w) they are tried on
BODIES: dict[tuple[str, str], Callable[[W], dict[str, Any]]] = {
    ("POST", "/cases/{case_id:int}/forms/{form_name:str}"): lambda w: {
        "risk_level": "medium",
        "health_impact": "Matrix",
        "version": str(w["case_version"]),
    },
    ("POST", "/cases/{case_id:int}/transitions/{name:str}"): lambda w: {"version": str(w["case_version"])},
    ("POST", "/cases/{case_id:int}/shares"): lambda w: {
        "agency_id": str(w["b"]),
        "purpose": "crime_prevention",
    },
    ("POST", "/cases/{case_id:int}/shares/{share_id:int}/revoke"): lambda w: {},
    ("POST", "/cases/{case_id:int}/referrals"): lambda w: {
        "target": f"agency:{w['d_slug']}",
        "reason": "Matrix",
    },
    ("POST", "/cases/{case_id:int}/notes"): lambda w: {"text": "A note from the matrix"},
    ("POST", "/cases/{case_id:int}/tasks"): lambda w: {"title": "A task from the matrix"},
    ("POST", "/cases/{case_id:int}/subjects/search"): lambda w: {"name": SURNAME},
    ("POST", "/cases/{case_id:int}/subjects"): lambda w: {
        "person_id": str(w["person2"]),
        "role": "complainant",
    },
    ("POST", "/cases/{case_id:int}/subjects/{subject_id:int}/remove"): lambda w: {},
    # a form post without a file: the owner's workers are told to choose one (400), everyone else refused
    ("POST", "/cases/{case_id:int}/documents"): lambda w: {"sensitivity": "official"},
    ("POST", "/cases/{case_id:int}/documents/{document_id:int}/remove"): lambda w: {"reason": "Matrix"},
    ("POST", "/tasks/{task_id:int}/complete"): lambda w: {},
    ("POST", "/tasks/{task_id:int}/edit"): lambda w: {
        "title": "Visit the street again",
        "assignee_id": str(w["owner_id"]),
        "state": w["task_state"],
    },
    ("POST", "/cases/{case_id:int}/lead"): lambda w: {
        "lead_officer_id": str(w["chair_id"]),
        "version": str(w["case_version"]),
    },
    ("POST", "/referrals/{referral_id:int}/decline"): lambda w: {
        "reason": "Matrix",
        "version": str(w["referral_version"]),
    },
    ("POST", "/referrals/{referral_id:int}/ask"): lambda w: {
        "question": "Matrix?",
        "version": str(w["referral_version"]),
    },
    ("POST", "/referrals/{referral_id:int}/answer"): lambda w: {
        "answer": "Matrix.",
        "version": str(w["referral_version"]),
    },
    ("POST", "/referrals/{referral_id:int}/link"): lambda w: {
        "case_id": str(w["case"]),
        "version": str(w["referral_version"]),
    },
    ("POST", "/referrals/{referral_id:int}/panel"): lambda w: {"version": str(w["referral_version"])},
    ("POST", "/referrals/{referral_id:int}/accept"): lambda w: {
        "area": "noise",
        "role": "subject",
        "street": "Kestrel Way",
        "kind": "music",
        "date_of_incident-day": "1",
        "date_of_incident-month": "11",
        "date_of_incident-year": "2026",
        "version": str(w["referral_version"]),
    },
    ("POST", "/meetings/{meeting_id:int}/attendees"): lambda w: {
        "name": "Gale Guest",
        "email": "gale@example.org",
        "organisation": "Matrix",
        "version": str(w["meeting_version"]),
    },
    ("POST", "/meetings/{meeting_id:int}/agenda"): lambda w: {
        "item": "other:",
        "title": "Any other business",
        "version": str(w["meeting_version"]),
    },
    ("POST", "/meetings/{meeting_id:int}/agenda/{item_id:int}/remove"): lambda w: {
        "version": str(w["meeting_version"])
    },
    ("POST", "/meetings/{meeting_id:int}/status"): lambda w: {
        "to": "in_progress",
        "version": str(w["meeting_version"]),
    },
    ("POST", "/meetings/{meeting_id:int}/minutes"): lambda w: {
        "item_id": str(w["item"]),
        "kind": "discussion",
        "text": "Matrix minute",
    },
    ("POST", "/meetings/{meeting_id:int}/pack"): lambda w: {
        "attendee_id": str(w["attendee"]),
        "agency_id": "none",
    },
    ("PUT", "/api/v1/cases/{case_id:int}/forms/{form:str}"): lambda w: {
        "answers": {"risk_level": "medium"},
        "version": w["case_version"],
    },
    ("POST", "/api/v1/cases/{case_id:int}/transitions"): lambda w: {
        "transition": "record_visit",
        "version": w["case_version"],
    },
    ("POST", "/api/v1/cases/{case_id:int}/notes"): lambda w: {"text": "A note from the matrix"},
    ("POST", "/api/v1/cases/{case_id:int}/subjects"): lambda w: {
        "person_id": w["person2"],
        "role": "complainant",
    },
    ("POST", "/api/v1/cases/{case_id:int}/tasks"): lambda w: {"title": "A task from the matrix"},
    ("POST", "/api/v1/cases/{case_id:int}/referrals"): lambda w: {
        "target_kind": "agency",
        "target": w["d_slug"],
        "reason": "Matrix",
    },
    ("POST", "/api/v1/tasks/{task_id:int}/complete"): lambda w: {},
    ("POST", "/persons/{person_id:int}/edit"): lambda w: {
        "given_name": "Rowanne",
        "family_name": SURNAME,
        "date_of_birth-day": "6",
        "date_of_birth-month": "5",
        "date_of_birth-year": "1984",
        "version": "1",
    },
    ("POST", "/persons/{person_id:int}/merge/{other_id:int}"): lambda w: {
        "survivor": "a",
        "given_name": "a",
        "family_name": "a",
        "date_of_birth": "a",
        "gender": "a",
        "version_a": "1",
        "version_b": "1",
    },
    ("POST", "/api/v1/referrals/{referral_id:int}/decisions"): lambda w: {
        "action": "decline",
        "text": "Matrix",
        "version": w["referral_version"],
    },
}
#: GET routes needing a query string to be a real request
QUERIES = {("GET", "/referrals/{referral_id:int}/accept"): "?area=noise"}
#: GET routes that stream for as long as the reader stays: only refusals can be checked
STREAMS = {("GET", "/meetings/{meeting_id:int}/events")}
PERSON_EDITORS = {"caseworker", "supervisor", "panel_chair", "local_admin"}
PERSON_MERGERS = {"supervisor", "local_admin", "system_admin"}
#: (method, path) -> owner roles that may use it when the record kind's rule does not fit
OWNER_ROLES: dict[tuple[str, str], set[str]] = {
    # the pack is made by the chair agency's panel chair or local admin (or an attendee for themselves)
    ("GET", "/meetings/{meeting_id:int}/pack"): {"panel_chair", "local_admin"},
    ("POST", "/meetings/{meeting_id:int}/pack"): {"panel_chair", "local_admin"},
    # the noise area's record_visit names no roles: the workflow's default ones make it
    ("POST", "/cases/{case_id:int}/transitions/{name:str}"): set(DEFAULT_TRANSITION_ROLES),
    ("POST", "/api/v1/cases/{case_id:int}/transitions"): set(DEFAULT_TRANSITION_ROLES),
    # taking a referral onto a panel is for supervisors and panel chairs
    ("POST", "/referrals/{referral_id:int}/panel"): {"supervisor", "panel_chair"},
    # pages that only serve a form for a write: for those who may make it
    ("GET", "/cases/{case_id:int}/forms/{form_name:str}"): WORKERS,
    ("GET", "/meetings/{meeting_id:int}/minutes/assignees"): CHAIRS,
    ("GET", "/cases/{case_id:int}/lead"): WORKERS,
    ("GET", "/tasks/{task_id:int}/edit"): WORKERS,
    # a person's details are changed by the agency that recorded them (its caseworking roles and local admin),
    # and its two records merged by its supervisor, local admin or system admin
    ("GET", "/persons/{person_id:int}/edit"): PERSON_EDITORS,
    ("POST", "/persons/{person_id:int}/edit"): PERSON_EDITORS,
    ("GET", "/persons/{person_id:int}/merge"): PERSON_MERGERS,
    ("GET", "/persons/{person_id:int}/merge/{other_id:int}"): PERSON_MERGERS,
    ("POST", "/persons/{person_id:int}/merge/{other_id:int}"): PERSON_MERGERS,
}
#: reads that are part of a write (an edit form, the action form's person list): a partner is refused them
EDIT_PAGES = {
    ("GET", "/cases/{case_id:int}/forms/{form_name:str}"),
    ("GET", "/meetings/{meeting_id:int}/minutes/assignees"),
    ("GET", "/cases/{case_id:int}/lead"),
    ("GET", "/persons/{person_id:int}/edit"),
    ("GET", "/persons/{person_id:int}/merge"),
    ("GET", "/persons/{person_id:int}/merge/{other_id:int}"),
}
#: owner roles refused the pack get the same 404 as anyone else: ids are no oracle
OWNER_REFUSED_404 = {("GET", "/meetings/{meeting_id:int}/pack"), ("POST", "/meetings/{meeting_id:int}/pack")}

PARAMS = {
    "case_id": "case",
    "person_id": "person",
    "task_id": "task",
    "referral_id": "referral",
    "meeting_id": "meeting",
    "share_id": "share",
    "subject_id": "subject",
    "item_id": "item",
    "document_id": "document",
    "other_id": "person2",
}
TEXT_PARAMS = {"form_name": "visit", "form": "visit", "name": "record_visit"}


def _params(path: str) -> list[str]:
    return re.findall(r"\{(\w+):\w+\}", path)


def kind_of(path: str) -> str | None:
    names = _params(path)
    return next((p[:-3] for p in PRIMARY if p in names), None)


def fill(path: str, w: W, guess: str | None = None) -> str:
    """The route's address for the records in ``w``; ``guess`` replaces the primary id with a guessed one."""
    primary = next((p for p in PRIMARY if p in _params(path)), None)

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name == primary and guess is not None:
            return guess
        if name in PARAMS:
            return str(w[PARAMS[name]])
        return TEXT_PARAMS[name]

    return re.sub(r"\{(\w+):\w+\}", value, path)


def _family(path: str) -> str:
    """What a route is about: its first segment, after /api/v1 (so /panels/1/cases/2 is a panel route)."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        parts = parts[2:]
    return parts[0] if parts else ""


def routes_of(app) -> list[tuple[str, str]]:
    out = set()
    for route in app.routes:
        for method in getattr(route, "methods", None) or []:
            if method in ("HEAD", "OPTIONS") or _family(route.path) not in SCOPED:
                continue
            out.add((method, route.path))
    return sorted(out, key=lambda r: (r[1], r[0]))


# --- expectations ----------------------------------------------------------------------------------------

ALLOW, DENY, NOT_FOUND, ROLE_403 = "allow", "deny", "404", "403"


def expected(method: str, path: str, role: str, relation: str) -> str:
    kind = kind_of(path)
    write = method != "GET"
    if relation in ("expired", "unrelated"):
        return NOT_FOUND
    route = (method, path)
    if relation == "live":
        if route in OWNER_REFUSED_404 or kind in ("referral", "task"):
            # referrals are the addressee's and referrer's; tasks their agency's: a partner sees neither
            return NOT_FOUND
        return DENY if write or route in EDIT_PAGES else ALLOW
    # owner
    if route in OWNER_ROLES:
        if role in OWNER_ROLES[route]:
            return ALLOW
        return NOT_FOUND if route in OWNER_REFUSED_404 else ROLE_403
    if not write:
        return ALLOW
    allowed = CHAIRS if kind == "meeting" else WORKERS
    return ALLOW if role in allowed else ROLE_403


# --- the world -------------------------------------------------------------------------------------------


@dataclass
class Caller:
    role: str
    relation: str
    client: httpx.AsyncClient
    csrf: str
    token: str
    actor: Any = None


@dataclass
class World:
    app: Any
    ctx: Any
    w: W
    callers: dict[tuple[str, str], Caller] = field(default_factory=dict)
    max_ids: dict[str, int] = field(default_factory=dict)


async def build_records(ctx, owner, chair, ids: W) -> W:
    """A case of A's with a person, a task, a live share with B, a referral to A's panel asking for more
    information, and a published meeting of that panel with an item on its agenda and a guest."""
    person = await make_person(owner, given_name=GIVEN, family_name=SURNAME, date_of_birth="1984-05-06")
    person2 = await make_person(owner, given_name="Dana", family_name="Holloway", date_of_birth="1990-02-03")
    case = await cases.open_case(ctx, owner, "noise", REPORT, subjects=[(person["id"], "subject")])
    case = await cases.save_form(ctx, owner, case["id"], "visit", VISIT, expected_version=case["version"])
    task = await tasks.add_task(ctx, owner, case["id"], title="Visit the street")
    import io

    from caseframe.core.documents import service as documents
    from caseframe.core.documents.samples import tiny_pdf

    # official, so a partner whose agreement allows official answers reads it as it reads the case
    document = await documents.add_document(
        ctx, owner, case["id"], io.BytesIO(tiny_pdf(["Diary sheet"])), "diary-sheet.pdf", "official"
    )
    share = await sharing.share_case(owner, case["id"], agency_id=ids["b"], purpose="crime_prevention")
    referral = await referrals.raise_referral(
        ctx,
        owner,
        target_kind="panel",
        target=ids["panel_slug"],
        reason="Escalating",
        person_id=person["id"],
        case=case,
    )
    await inbox.request_info(ctx, chair, referral["id"], version=referral["version"], question="Any history?")
    starts = dt.datetime.combine(clock.today() + dt.timedelta(days=3), dt.time(10), tzinfo=dt.UTC)
    meeting = await panels.schedule_meeting(
        chair, ids["panel"], starts_at=starts, location="Committee Room 2"
    )
    await panels.add_agenda_item(chair, meeting["id"], kind="other", title="Kestrel Way", case_id=None)
    await panels.add_attendee(
        chair, meeting["id"], name="Gus Guest", email="gus@example.org", organisation="Street Watch"
    )
    await panels.set_status(chair, meeting["id"], "published")
    from caseframe.core.cases.tables import Case, CaseSubject
    from caseframe.core.panels.tables import AgendaItem, Meeting, MeetingAttendee
    from caseframe.core.referrals.tables import Referral
    from caseframe.core.tasks.tables import Task

    return {
        **ids,
        "case": case["id"],
        "person": person["id"],
        "person2": person2["id"],
        "task": task["id"],
        "share": share["id"],
        "referral": referral["id"],
        "meeting": meeting["id"],
        "document": document["id"],
        "subject": (await CaseSubject.select(CaseSubject.id).where(CaseSubject.case == case["id"]).first())[
            "id"
        ],
        "item": (await AgendaItem.select(AgendaItem.id).where(AgendaItem.meeting == meeting["id"]).first())[
            "id"
        ],
        "attendee": (
            await MeetingAttendee.select(MeetingAttendee.id)
            .where(MeetingAttendee.meeting == meeting["id"])
            .first()
        )["id"],
        "case_version": (await Case.select(Case.version).where(Case.id == case["id"]).first())["version"],
        "referral_version": (
            await Referral.select(Referral.version).where(Referral.id == referral["id"]).first()
        )["version"],
        "meeting_version": (await Meeting.select(Meeting.version).where(Meeting.id == meeting["id"]).first())[
            "version"
        ],
        "reference": case["reference"],
        "owner_id": owner.id,
        "chair_id": chair.id,
        "task_state": tasks.task_state(await Task.select().where(Task.id == task["id"]).first()),
    }


async def _max_ids() -> dict[str, int]:
    from caseframe.core.cases.tables import Case, CaseSubject
    from caseframe.core.panels.tables import AgendaItem, Meeting
    from caseframe.core.persons.tables import Person
    from caseframe.core.referrals.tables import Referral
    from caseframe.core.sharing.tables import CaseShare
    from caseframe.core.tasks.tables import Task

    out = {}
    for name, table in (
        ("case", Case),
        ("person", Person),
        ("task", Task),
        ("referral", Referral),
        ("meeting", Meeting),
        ("share", CaseShare),
        ("subject", CaseSubject),
        ("item", AgendaItem),
    ):
        row = await table.select(table.id).order_by(table.id, ascending=False).first()
        out[name] = row["id"] if row else 0
    return out


@pytest.fixture(scope="module")
async def world(database):
    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    await empty_tables()
    ctx = make_context(noise_plugin)
    agencies = {
        key: await make_agency(ctx, f"matrix-{key}", name=f"Matrix Agency {key.upper()}")
        for key in ("a", "b", "c", "d")
    }
    actors = {
        (key, role): await make_user(agency, (role,), name=f"{role.replace('_', ' ').title()} {key.upper()}")
        for key, agency in agencies.items()
        for role in ROLES
    }
    owner, chair, admin = actors["a", "caseworker"], actors["a", "panel_chair"], actors["a", "system_admin"]
    today = clock.today()
    a, b, c = agencies["a"]["id"], agencies["b"]["id"], agencies["c"]["id"]
    await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-AB",
        title="A and B",
        parties=[a, b],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="CDA 1998 s.115",
        starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=300),
        max_sensitivity="official",
    )
    isa_ac = await sharing.create_isa(
        ctx,
        admin,
        reference="ISA-AC",
        title="A and C",
        parties=[a, c],
        purposes=["crime_prevention"],
        areas=["noise"],
        legal_basis="CDA 1998 s.115",
        starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=300),
        max_sensitivity="official",
    )
    panel = await panels.save_panel(
        ctx,
        chair,
        name="Matrix Complex Case Panel",
        member_agency_ids=[b],
        areas=["noise"],
        frequency="monthly",
    )
    ids = {"b": b, "d_slug": agencies["d"]["slug"], "panel": panel["id"], "panel_slug": panel["slug"]}
    w = await build_records(ctx, owner, chair, ids)
    # C was shared the case while its agreement was live; the agreement has since ended
    await sharing.share_case(owner, w["case"], agency_id=c, purpose="crime_prevention")
    await sharing.end_isa(admin, isa_ac["id"], "The project finished")

    app = create_app(
        Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=ctx, engine=database
    )
    world = World(app=app, ctx=ctx, w=w)
    async with contextlib.AsyncExitStack() as stack:
        for (key, role), actor in actors.items():
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")
            )
            csrf = await sign_in(client, actor)
            token = (
                await client.post("/api/v1/session", json={"email": actor.email, "password": TEST_PASSWORD})
            ).json()["token"]
            relation = next(r for r, k in RELATIONS.items() if k == key)
            world.callers[role, relation] = Caller(role, relation, client, csrf, token, actor)
        world.max_ids = await _max_ids()
        yield world


# --- requests and the database's state --------------------------------------------------------------------

VARIANTS = ("page", "htmx")


async def call(
    caller: Caller, method: str, url: str, variant: str, body: dict[str, Any] | None
) -> httpx.Response:
    """One request; one that does not answer within seconds (a stream left open) fails rather than hangs."""
    try:
        return await asyncio.wait_for(_send(caller, method, url, variant, body), timeout=15)
    except TimeoutError:
        pytest.fail(
            f"{caller.role} of the {caller.relation} agency: {method} {url} ({variant}) did not answer: "
            "a stream was opened for someone who should have been refused"
        )


async def _send(
    caller: Caller, method: str, url: str, variant: str, body: dict[str, Any] | None
) -> httpx.Response:
    if url.startswith("/api/"):
        headers = {"Authorization": f"Bearer {caller.token}"}
        return await caller.client.request(
            method, url, headers=headers, json=body if method != "GET" else None
        )
    headers = {"HX-Request": "true"} if variant == "htmx" else {}
    if method == "GET":
        return await caller.client.get(url, headers=headers)
    if variant == "htmx":
        headers["X-CSRF-Token"] = caller.csrf
        return await caller.client.request(method, url, headers=headers, data=body or {})
    return await caller.client.request(
        method, url, headers=headers, data={**(body or {}), "csrf_token": caller.csrf}
    )


#: tables a refused request may write to: the audit trail and the session's last-seen time
UNWATCHED = {t._meta.tablename for t in (AuditEvent, Session, SignInThrottle, MouAcceptance)}
WATCHED_COLUMNS = (
    "version",
    "status",
    "state",
    "revoked_at",
    "removed_at",
    "completed_at",
    "closed_at",
    "active",
    "updated_at",
    "ends_on",
    "risk",
)


def _fingerprint_sql() -> str:
    parts = []
    for table in TABLES:
        name = table._meta.tablename
        if name in UNWATCHED:
            continue
        parts.append(f'(SELECT COUNT(*) FROM "{name}")')
        for column in table._meta.columns:
            col = column._meta.db_column_name
            if col in WATCHED_COLUMNS:
                parts.append(f'(SELECT COUNT("{col}") FROM "{name}")')
                parts.append(
                    f'(SELECT MAX("{col}") FROM "{name}")'
                    if col not in ("active",)
                    else f'(SELECT COUNT(*) FROM "{name}" WHERE "{col}" = TRUE)'
                )
    return "SELECT " + ", ".join(parts)


FINGERPRINT = _fingerprint_sql()


async def fingerprint() -> tuple:
    rows = await AuditEvent.raw(FINGERPRINT)
    return tuple(str(v) for v in rows[0].values())


# --- the matrix ------------------------------------------------------------------------------------------


def _app_routes() -> list[tuple[str, str]]:
    from caseframe.core.settings import Settings
    from caseframe.core.web.app import create_app

    app = create_app(
        Settings(local_demo=True, database_url="sqlite:///unused.sqlite"), ctx=make_context(noise_plugin)
    )
    return routes_of(app)


ROUTES = _app_routes()
RECORD_ROUTES = [r for r in ROUTES if kind_of(r[1]) is not None]


def _variants(method: str, path: str) -> tuple[str, ...]:
    return ("api",) if path.startswith("/api/") else VARIANTS


def _cases():
    for method, path in RECORD_ROUTES:
        for variant in _variants(method, path):
            for relation in RELATIONS:
                for role in ROLES:
                    outcome = expected(method, path, role, relation)
                    if (method, path) in STREAMS and outcome == ALLOW:
                        continue  # a stream that is allowed never ends: its refusals are what we can check
                    yield pytest.param(
                        method,
                        path,
                        variant,
                        role,
                        relation,
                        outcome,
                        id=f"{relation}-{role}-{method} {path}-{variant}",
                    )


async def test_every_route_is_classified():
    """A new person/case/task/referral/meeting route must be understood here before it ships."""
    missing = []
    for method, path in ROUTES:
        route = (method, path)
        if kind_of(path) is None:
            if route not in COLLECTIONS:
                missing.append(
                    f"{method} {path}: not classified (add it to COLLECTIONS or give it a record id)"
                )
            continue
        if method != "GET" and route not in BODIES:
            missing.append(f"{method} {path}: not classified (a write without a valid body in BODIES)")
        for name in _params(path):
            if name not in PARAMS and name not in TEXT_PARAMS:
                missing.append(f"{method} {path}: not classified (unknown path parameter {name})")
    assert not missing, "\n".join(missing)
    assert len(RECORD_ROUTES) > 40, "the route table gave too few routes: is it being read?"


@pytest.mark.parametrize(("method", "path", "variant", "role", "relation", "outcome"), list(_cases()))
async def test_matrix(world, method, path, variant, role, relation, outcome):
    route = (method, path)
    write = method != "GET"
    caller = world.callers[role, relation]
    if write and outcome == ALLOW:
        # an allowed write really happens: give it records of its own so the shared ones stay as they are
        records = await build_records(
            world.ctx,
            world.callers["caseworker", "owner"].actor,
            world.callers["panel_chair", "owner"].actor,
            {k: world.w[k] for k in ("b", "d_slug", "panel", "panel_slug")},
        )
    else:
        records = world.w
    url = fill(path, records) + QUERIES.get(route, "")
    body = BODIES[route](records) if write else None
    before = await fingerprint() if write and outcome != ALLOW else None
    response = await call(caller, method, url, variant, body)
    status = response.status_code
    where = f"{role} of the {relation} agency: {method} {url} ({variant}) -> {status}"
    assert status < 500, where
    if outcome == ALLOW:
        assert status not in (401, 403, 404, 405), f"expected to be allowed; {where}"
        if not write:
            assert status == 200, f"expected to read it; {where}"
    elif outcome == NOT_FOUND:
        assert status == 404, f"expected 404 (nothing revealed); {where}"
    elif outcome == ROLE_403:
        assert status == 403, f"expected 403 (the role may not); {where}"
    else:
        assert status in (403, 404), f"expected the write to be refused; {where}"
    if before is not None:
        assert await fingerprint() == before, f"a refused request changed the database; {where}"


def _guess_cases():
    for method, path in RECORD_ROUTES:
        for variant in _variants(method, path):
            for role in ROLES:
                yield pytest.param(
                    method, path, variant, role, id=f"guessed-{role}-{method} {path}-{variant}"
                )


@pytest.mark.parametrize(("method", "path", "variant", "role"), list(_guess_cases()))
async def test_guessed_ids_are_not_found(world, method, path, variant, role):
    caller = world.callers[role, "owner"]
    kind = kind_of(path)
    guessed = str(world.max_ids[kind] + 1000)
    route = (method, path)
    url = fill(path, world.w, guess=guessed) + QUERIES.get(route, "")
    body = BODIES[route](world.w) if method != "GET" else None
    response = await call(caller, method, url, variant, body)
    assert response.status_code == 404, f"{role}: {method} {url} ({variant}) -> {response.status_code}"


def _collection_cases():
    for (method, path), query in COLLECTIONS.items():
        if method == "POST" and (method, path) not in COLLECTION_SEARCHES:
            continue  # creates something new: not about the record
        for relation in RELATIONS:
            for role in ROLES:
                yield pytest.param(
                    method, path, query or "", role, relation, id=f"{relation}-{role}-{method} {path}"
                )


@pytest.mark.parametrize(("method", "path", "query", "role", "relation"), list(_collection_cases()))
async def test_lists_and_searches_do_not_show_the_record_to_others(
    world, method, path, query, role, relation
):
    caller = world.callers[role, relation]
    body = COLLECTION_SEARCHES.get((method, path))
    response = await call(caller, method, path + query, "api" if path.startswith("/api/") else "page", body)
    where = f"{role} of the {relation} agency: {method} {path}{query} -> {response.status_code}"
    assert response.status_code < 500, where
    if relation in ("expired", "unrelated"):
        assert world.w["reference"] not in response.text, f"the case's reference shows; {where}"
        assert GIVEN not in response.text, f"the person shows; {where}"
