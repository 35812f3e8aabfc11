"""Subject access requests (UK GDPR Art. 15, DPA 2018): record a request, keep its statutory deadline, and export
everything the agency holds about the person as a PDF and a JSON file (optionally with the documents, in a zip).

**Who.** A local admin answers for their own agency: the request is their agency's, and the export holds the
person's record and the cases their agency owns. A system admin answers across the partnership as far as their
position lets them see: the cases their agency owns, and those shared with it under a live ISA or on a panel it
sits on (the same rule as opening a case, :func:`caseframe.core.sharing.policy.visible_case_ids`), with a partner's
answers, timeline changes and documents only up to the ISA's sensitivity level. Nothing comes from an agency
the exporter's position does not cover. Requests are each agency's own: every admin lists only their agency's.

**What.** The person (names, other names, date of birth, identifiers, warning markers, address history, merges into
the record),
every case they are or were on with its answers, timeline (notes included), tasks, documents, shares, panel
agenda items with their minutes, the referrals about them, and who read or changed their record or those cases
(the audit trail; a local admin sees their own agency's events, as on the audit page). A restricted case is
included and marked (answering a SAR is one of the things restriction allows); an erased case is a tombstone
(reference, area, dates, when erased).

**Redaction.** An export is the working copy a reviewer redacts before anything is sent. Third parties are the
other persons on the same cases: their entries, the answers of forms about another role on the case (a victim's
risk assessment in another subject's request) and every free text naming them (name, other names, identifiers)
are marked, in the PDF with a highlighted "Redact: third party" label and in the JSON as the ``redactions`` list
of JSON Pointers with the reason. Staff names are not third parties (normal UK practice: officers acting in
their official capacity), so they are not marked. Detection is by name: the reviewer still reads everything.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import io
import json
import re
import zipfile
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape
from piccolo.custom_types import Combinable

from caseframe.core import clock, permissions
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.context import Context
from caseframe.core.db.tx import transaction
from caseframe.core.errors import Forbidden, NotFound, ValidationFailed
from caseframe.core.numbers import whole_number
from caseframe.core.sar.tables import SubjectAccessRequest
from caseframe.core.sharing.policy import FlagReader

MARKING = "OFFICIAL-SENSITIVE"
REDACT_LABEL = "Redact: third party"
FORMAT = "caseframe-subject-access-request/1"
#: months to answer, and with the extension for a complex request (UK GDPR Art. 12(3))
MONTHS, EXTENDED_MONTHS = 1, 3
#: how many audit events about the person and their cases an export lists at most (newest first)
MAX_AUDIT_EVENTS = 5000
LONDON = zoneinfo.ZoneInfo("Europe/London")
NOT_FOUND = "No subject access request with that number exists"
PERSON_NOT_FOUND = "No person with that number exists"


def _require(actor: Actor) -> None:
    permissions.require(actor, "sar.handle")


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months later, or the last day of that month when it has no such day
    (the ICO's reading: received 31 January, due 28 or 29 February)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(received: dt.date, extended: bool = False) -> dt.date:
    return add_months(received, EXTENDED_MONTHS if extended else MONTHS)


def _date(value: Any) -> dt.date:
    """A request's received_on or due_on (never empty) as a date, in whichever form the database gave it."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _text(
    data: dict[str, Any],
    name: str,
    label: str,
    errors: list[dict[str, str]],
    *,
    required: bool,
    limit: int = 2000,
) -> str:
    value = data.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        errors.append({"field": f"/{name}", "message": f"Enter {label}"})
    elif len(text) > limit:
        errors.append(
            {
                "field": f"/{name}",
                "message": f"{label[0].upper()}{label[1:]} must be {limit:,} characters or fewer",
            }
        )
    return text


# -- requests --------------------------------------------------------------------------------


async def _person_for_request(actor: Actor, person_id: int | None) -> tuple[dict[str, Any], int | None]:
    """The person a request is about, as the actor may see them; a merged record leads to the record it was
    merged into (and says which). Unknown or unseen ids are "not found"."""
    from caseframe.core.persons.service import survivor_of
    from caseframe.core.persons.tables import Person

    if person_id is None or person_id <= 0 or person_id > 2**31 - 1:
        raise NotFound(PERSON_NOT_FOUND)
    merged_from = None
    row = await Person.select(Person.id, Person.merged_into).where(Person.id == person_id).first()
    if row is None:
        raise NotFound(PERSON_NOT_FOUND)
    if row["merged_into"] is not None:
        survivor = await survivor_of(actor, person_id)
        if survivor is None:
            raise NotFound(PERSON_NOT_FOUND)
        merged_from, person_id = person_id, survivor
    if not await may_export_person(actor, person_id):
        raise NotFound(PERSON_NOT_FOUND)
    person = await Person.select().where(Person.id == person_id).output(load_json=True).first()
    if person is None:
        raise NotFound(PERSON_NOT_FOUND)
    return person, merged_from


async def may_export_person(actor: Actor, person_id: int) -> bool:
    """Whether the actor may answer a request about this person: one they may see (recorded by their agency, on
    its cases or on cases shared with it), or, for a system admin, on any case their position may see (a panel's
    agenda case included, as the case page shows its people to the panel)."""
    from caseframe.core.cases.tables import Case, CaseSubject
    from caseframe.core.persons.service import visible_person_ids

    if person_id in await visible_person_ids(actor, [person_id]):
        return True
    if scope_of(actor) != "partnership":
        return False
    on = await CaseSubject.select(CaseSubject.case).where(
        (CaseSubject.person == person_id) & CaseSubject.removed_at.is_null()
    )
    rows = await Case.select(Case.id, Case.owning_agency, Case.area).where(
        Case.id.is_in(sorted({r["case"] for r in on}) or [0])
    )
    return bool(await _visible(actor, rows))


async def create_request(actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """Record a request received by the actor's agency: the person's record number, who asked, the date it was
    received and any reference the requester gave. The deadline is one calendar month from receipt."""
    _require(actor)
    errors: list[dict[str, str]] = []
    raw_person = str(data.get("person_id") or "").strip()
    person_id = whole_number(raw_person)
    if not raw_person:
        errors.append(
            {"field": "/person_id", "message": "Enter the person’s record number (from their page)"}
        )
    elif person_id is None:
        errors.append({"field": "/person_id", "message": "The record number must be a whole number, like 42"})
    requester = _text(data, "requester", "who made the request", errors, required=True, limit=300)
    notes = _text(data, "notes", "the notes", errors, required=False)
    received = None
    raw_received = str(data.get("received_on") or "").strip()
    if not raw_received:
        errors.append({"field": "/received_on", "message": "Enter the date the request was received"})
    else:
        try:
            received = dt.date.fromisoformat(raw_received)
        except ValueError:
            errors.append({"field": "/received_on", "message": "The date received must be a real date"})
        else:
            if received > clock.today():
                errors.append(
                    {"field": "/received_on", "message": "The date received must be today or in the past"}
                )
            elif received < clock.today() - dt.timedelta(days=3 * 366):
                errors.append(
                    {
                        "field": "/received_on",
                        "message": "The date received must be within the last three years",
                    }
                )
    person: dict[str, Any] | None = None
    merged_from = None
    if person_id is not None:
        try:
            person, merged_from = await _person_for_request(actor, person_id)
        except NotFound:
            errors.append(
                {
                    "field": "/person_id",
                    "message": "No person with that record number is held by your agency or shared with it",
                }
            )
    if errors or person is None or received is None:
        raise ValidationFailed("There is a problem with the request", errors=errors)
    assert person is not None and received is not None  # without either, one of the errors above
    from caseframe.core.cases.service import _next_reference

    now = clock.now()
    async with transaction():
        reference = await _next_reference("SAR")
        due = due_date(received)
        row = SubjectAccessRequest(
            reference=reference,
            agency_id=actor.agency_id,
            person_id=person["id"],
            requester=requester,
            received_on=received,
            due_on=due,
            notes=notes,
            status="open",
            created_by=actor.id,
            created_at=now,
        )
        await row.save()
        await audit.record(
            "sar.create",
            actor,
            object_type="subject_access_request",
            object_id=row.id,
            detail={
                "reference": reference,
                "person_id": person["id"],
                "merged_from": merged_from,
                "received_on": received.isoformat(),
                "due_on": due.isoformat(),
            },
        )
    return {"id": row.id, "reference": reference, "merged_from": merged_from, "person_id": person["id"]}


def _day(value: Any) -> dt.date:
    """A stored date column (never null)."""
    day = _date(value)
    assert day is not None  # received_on and due_on are NOT NULL
    return day


def _view(row: dict[str, Any], today: dt.date) -> dict[str, Any]:
    due = _day(row["due_on"])
    open_ = row["status"] == "open"
    return {
        **row,
        "received_on": _date(row["received_on"]),
        "due_on": due,
        "open": open_,
        "overdue": open_ and due < today,
        "days_left": (due - today).days if open_ else None,
    }


async def list_requests(actor: Actor, *, status: str = "open") -> list[dict[str, Any]]:
    """The agency's requests, soonest deadline first (open) or newest closed first; each with the person's name
    while the actor may still see them. The list view is audited."""
    _require(actor)
    from caseframe.core.persons.service import visible_person_ids
    from caseframe.core.persons.tables import Person

    status = status if status in ("open", "closed") else "open"
    query = SubjectAccessRequest.select().where(
        (SubjectAccessRequest.agency_id == actor.agency_id) & (SubjectAccessRequest.status == status)
    )
    query = (
        query.order_by(SubjectAccessRequest.due_on)
        if status == "open"
        else query.order_by(SubjectAccessRequest.closed_at, ascending=False)
    )
    rows = await query.limit(500)
    ids = sorted({r["person_id"] for r in rows})
    visible = await visible_person_ids(actor, ids)
    names = {
        p["id"]: f"{p['given_name']} {p['family_name']}"
        for p in await Person.select(Person.id, Person.given_name, Person.family_name).where(
            Person.id.is_in(sorted(visible) or [0])
        )
    }
    today = clock.today()
    out = [{**_view(r, today), "person_name": names.get(r["person_id"], "")} for r in rows]
    await audit.record_read(
        "sar.list", actor, "subject_access_request", detail={"status": status, "ids": [r["id"] for r in rows]}
    )
    return out


async def _own_request(actor: Actor, request_id: int) -> dict[str, Any]:
    _require(actor)
    if request_id <= 0 or request_id > 2**31 - 1:
        raise NotFound(NOT_FOUND)
    row = (
        await SubjectAccessRequest.select()
        .where((SubjectAccessRequest.id == request_id) & (SubjectAccessRequest.agency_id == actor.agency_id))
        .first()
    )
    if row is None:
        # another agency's request is answered as one that does not exist: numbers are no oracle
        raise NotFound(NOT_FOUND)
    return row


async def get_request(actor: Actor, request_id: int) -> dict[str, Any]:
    """One request with the person's name (when still visible), who recorded and closed it; the view is audited."""
    from caseframe.core.auth.tables import User
    from caseframe.core.persons.tables import Person

    row = _view(await _own_request(actor, request_id), clock.today())
    person_id = row["person_id"]
    current = await _current_person_id(person_id)
    row["person_visible"] = current is not None and await may_export_person(actor, current)
    from caseframe.core.persons.service import visible_person_ids

    # a system admin may answer for a person they know only from a panel's case, whose page they cannot open
    row["person_linkable"] = current is not None and current in await visible_person_ids(actor, [current])
    row["current_person_id"] = current
    person = (
        await Person.select(Person.given_name, Person.family_name).where(Person.id == current).first()
        if row["person_visible"]
        else None
    )
    row["person_name"] = f"{person['given_name']} {person['family_name']}" if person else ""
    users = {
        u["id"]: u["name"]
        for u in await User.select(User.id, User.name).where(
            User.id.is_in([row["created_by"] or 0, row["closed_by"] or 0])
        )
    }
    row["created_by_name"] = users.get(row["created_by"] or 0, "")
    row["closed_by_name"] = users.get(row["closed_by"] or 0, "")
    row["due_on_extended"] = due_date(row["received_on"], extended=True)
    await audit.record_read(
        "sar.view", actor, "subject_access_request", request_id, detail={"person_id": person_id}
    )
    return row


async def _current_person_id(person_id: int) -> int | None:
    """The record a person's data now lives on: the record itself, or the one it was (since) merged into."""
    from caseframe.core.persons.service import current_record_id

    return await current_record_id(person_id)


async def extend_request(actor: Actor, request_id: int, reason: Any) -> dict[str, Any]:
    """Extend the deadline by two further months (a complex request); once, with a reason the requester is told."""
    row = await _own_request(actor, request_id)
    if row["status"] != "open":
        raise Forbidden("This request is closed, so its deadline cannot be extended")
    if row["extended"]:
        raise Forbidden(
            "This request's deadline has already been extended by two months, the most the law allows"
        )
    errors: list[dict[str, str]] = []
    text = _text(
        {"extension_reason": reason}, "extension_reason", "why the request is complex", errors, required=True
    )
    if errors:
        raise ValidationFailed("Say why the request is complex", errors=errors)
    due = due_date(_day(row["received_on"]), extended=True)
    async with transaction():
        await SubjectAccessRequest.update(
            {
                SubjectAccessRequest.extended: True,
                SubjectAccessRequest.extension_reason: text,
                SubjectAccessRequest.due_on: due,
            }
        ).where(SubjectAccessRequest.id == request_id)
        await audit.record(
            "sar.extend",
            actor,
            object_type="subject_access_request",
            object_id=request_id,
            detail={
                "reference": row["reference"],
                "from": _iso(row["due_on"]),
                "to": due.isoformat(),
                "reason": text,
            },
        )
    return {"due_on": due}


async def close_request(actor: Actor, request_id: int, note: Any) -> None:
    """Close a request once answered (or withdrawn), with a note of what was sent or why."""
    row = await _own_request(actor, request_id)
    if row["status"] != "open":
        raise Forbidden("This request is already closed")
    errors: list[dict[str, str]] = []
    text = _text(
        {"closing_note": note},
        "closing_note",
        "what was sent, or why the request is closed",
        errors,
        required=True,
    )
    if errors:
        raise ValidationFailed("Say how the request was answered", errors=errors)
    now = clock.now()
    async with transaction():
        await SubjectAccessRequest.update(
            {
                SubjectAccessRequest.status: "closed",
                SubjectAccessRequest.closed_at: now,
                SubjectAccessRequest.closed_by: actor.id,
                SubjectAccessRequest.closing_note: text,
            }
        ).where(SubjectAccessRequest.id == request_id)
        await audit.record(
            "sar.close",
            actor,
            object_type="subject_access_request",
            object_id=request_id,
            detail={
                "reference": row["reference"],
                "person_id": row["person_id"],
                "note": text,
                "on_time": clock.today() <= _day(row["due_on"]),
                "exported": row["last_exported_at"] is not None,
            },
        )


# -- third parties ---------------------------------------------------------------------------


@dataclass
class ThirdParty:
    person_id: int
    name: str
    #: role labels on the subject's cases, e.g. "Victim or complainant on NOI-2026-000001"
    roles: list[str]
    terms: list[str]


@dataclass
class Redactor:
    """Finds third parties' names in free text and records each place to redact, as a JSON Pointer."""

    parties: list[ThirdParty] = field(default_factory=list)
    marks: dict[str, dict[str, Any]] = field(default_factory=dict)
    _pattern: re.Pattern | None = None
    _owner: dict[str, ThirdParty] = field(default_factory=dict)

    def prepare(self) -> None:
        for party in self.parties:
            for term in party.terms:
                self._owner.setdefault(term.lower(), party)
        terms = sorted(self._owner, key=len, reverse=True)
        if terms:
            self._pattern = re.compile(
                r"(?<!\w)(" + "|".join(re.escape(t) for t in terms) + r")(?!\w)", re.IGNORECASE
            )

    def mark(
        self, path: str, reason: str, *, person_ids: list[int] | None = None, kind: str = "whole"
    ) -> None:
        self.marks[path] = {
            "path": path,
            "reason": reason,
            "kind": kind,
            "third_party_person_ids": person_ids or [],
        }

    def text(self, path: str, value: Any) -> Any:
        """Scan one free text; mark it when it names a third party. Returns the value unchanged."""
        if not isinstance(value, str) or self._pattern is None or path in self.marks:
            return value
        found = {m.group(1).lower() for m in self._pattern.finditer(value)}
        if found:
            who = sorted({self._owner[t].person_id for t in found})
            names = sorted({self._owner[t].name for t in found})
            self.marks[path] = {
                "path": path,
                "kind": "mentions",
                "reason": "Third party: mentions another person on the case (" + ", ".join(names) + ")",
                "third_party_person_ids": who,
                "terms": sorted(found),
            }
        return value

    def covering(self, path: str) -> dict[str, Any] | None:
        """The mark on this value or on anything containing it."""
        while path:
            if path in self.marks:
                return self.marks[path]
            path = path.rsplit("/", 1)[0]
        return None

    def show(self, path: str, value: Any) -> Markup:
        """A value for the PDF: escaped, with a mentioned name highlighted, or all of it for a whole mark."""
        text = "" if value is None else str(value)
        mark = self.covering(path)
        if mark is None:
            return escape(text)
        label = Markup('<span class="redact-label">') + REDACT_LABEL + Markup("</span> ")
        if mark["kind"] == "mentions" and self._pattern is not None:
            out, last = Markup(""), 0
            for m in self._pattern.finditer(text):
                out += (
                    escape(text[last : m.start()])
                    + Markup('<mark class="redact">')
                    + escape(m.group(0))
                    + Markup("</mark>")
                )
                last = m.end()
            return label + out + escape(text[last:])
        return label + Markup('<mark class="redact">') + escape(text) + Markup("</mark>")

    def listed(self) -> list[dict[str, Any]]:
        return [self.marks[p] for p in sorted(self.marks, key=_pointer_key)]


def _pointer_key(path: str) -> list[Any]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in path.split("/")]


def _terms_for(person: dict[str, Any], own_words: set[str]) -> list[str]:
    """What in free text names a third party: their full name, other names, identifiers, and their first or last
    name alone where it is not one of the subject's own (a brother's surname would mark every line)."""
    given, family = (person["given_name"] or "").strip(), (person["family_name"] or "").strip()
    terms = {f"{given} {family}".strip()}
    for word in (given, family):
        if len(word) >= 3 and word.lower() not in own_words:
            terms.add(word)
    for alias in _json(person["aliases"]) or []:
        if isinstance(alias, str) and len(alias.strip()) >= 3:
            terms.add(alias.strip())
    for ident in _json(person["identifiers"]) or []:
        value = (ident or {}).get("value") if isinstance(ident, dict) else None
        if isinstance(value, str) and len(value.strip()) >= 4:
            terms.add(value.strip())
    return sorted(t for t in terms if len(t) >= 3)


# -- gathering -------------------------------------------------------------------------------


@dataclass
class Export:
    report: dict[str, Any]
    redactor: Redactor
    case_ids: list[int]
    erased_case_ids: list[int]
    documents: list[dict[str, Any]]


def scope_of(actor: Actor) -> str:
    """``partnership`` for a system admin (what their position may see), ``agency`` for a local admin."""
    return "partnership" if permissions.can(actor, "sar.partnership") else "agency"


async def _names(table: Any, ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {
        r["id"]: r["name"]
        for r in await table.select(table.id, table.name).where(table.id.is_in(sorted(ids)))
    }


async def _erased_cases_of(person_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Erased cases the person was on: the ``retention.erase`` tombstones naming them, and cases they were added to
    (recorded by the audit trail) that were since erased."""
    from caseframe.core.audit.tables import AuditEvent

    wanted = set(person_ids)
    out: dict[int, dict[str, Any]] = {}
    erasures = (
        await AuditEvent.select(AuditEvent.object_id, AuditEvent.detail, AuditEvent.at)
        .where(AuditEvent.action == "retention.erase")
        .output(load_json=True)
    )
    by_case = {e["object_id"]: e for e in erasures}
    added = (
        await AuditEvent.select(AuditEvent.object_id, AuditEvent.detail)
        .where(
            (AuditEvent.action == "case.subject_added") & AuditEvent.object_id.is_in(sorted(by_case) or [0])
        )
        .output(load_json=True)
    )
    was_on = {a["object_id"] for a in added if (a["detail"] or {}).get("person_id") in wanted}
    for case_id, event in by_case.items():
        detail = event["detail"] or {}
        if (
            case_id in was_on
            or wanted & set(detail.get("persons_on_case") or [])
            or wanted & set(detail.get("persons_anonymised") or [])
        ):
            out[case_id] = {**detail, "erased_at": event["at"]}
    return out


async def _visible(actor: Actor, rows: list[dict[str, Any]]) -> set[int]:
    if scope_of(actor) == "agency":
        return {r["id"] for r in rows if r["owning_agency"] == actor.agency_id}
    from caseframe.core.sharing.policy import visible_case_ids

    return await visible_case_ids(actor, rows)


#: words of role labels that say nothing about whom a question is about ("Alleged source", "Household member")
_ROLE_STOP_WORDS = {"alleged", "member", "other", "person", "source", "with", "from"}


def _form_roles(title: str, roles: dict[str, str]) -> set[str]:
    """Roles a form is about by its title ("Victim risk assessment" is about the victim)."""
    found = set()
    for name, label in roles.items():
        words = {name.replace("_", " ")} | {
            w for w in re.findall(r"\w+", (label or "").lower()) if len(w) > 3 and w not in _ROLE_STOP_WORDS
        }
        if any(w and re.search(rf"(?<!\w){re.escape(w)}(?!\w)", title, re.IGNORECASE) for w in words):
            found.add(name)
    return found


async def gather(ctx: Context, actor: Actor, request: dict[str, Any]) -> Export:
    """Everything the export shows, filtered for the actor's scope, with the third-party marks."""
    from caseframe.core.auth.tables import User
    from caseframe.core.cases.tables import Case, CaseSubject
    from caseframe.core.persons.tables import Person, PersonMerge
    from caseframe.core.retention.tables import CaseRetention

    person_id = await _current_person_id(request["person_id"])
    if person_id is None or not await may_export_person(actor, person_id):
        raise NotFound(
            "The person this request is about is no longer held by your agency or shared with it. "
            "Close the request, saying so."
        )
    person = await Person.select().where(Person.id == person_id).output(load_json=True).first()
    if person is None:  # just seen as visible; persons are never deleted (an erased one is anonymised)
        raise NotFound(PERSON_NOT_FOUND)
    merges = (
        await PersonMerge.select()
        .where(PersonMerge.survivor_id == person_id)
        .order_by(PersonMerge.id)
        .output(load_json=True)
    )
    person_ids = [person_id] + [m["merged_id"] for m in merges if m["undone_at"] is None]
    scope = scope_of(actor)

    subject_rows = (
        await CaseSubject.select(
            CaseSubject.case, CaseSubject.role, CaseSubject.added_at, CaseSubject.removed_at
        )
        .where(CaseSubject.person == person_id)
        .order_by(CaseSubject.id)
    )
    all_case_ids = sorted({s["case"] for s in subject_rows})
    case_rows = (
        await Case.select(*Case.all_columns(), Case.owning_agency.name.as_alias("owning_agency_name"))
        .where(Case.id.is_in(all_case_ids or [0]))
        .order_by(Case.opened_at)
        .output(load_json=True)
    )
    visible = await _visible(actor, case_rows)
    decisions = {
        d["case_id"]: d
        for d in await CaseRetention.select().where(CaseRetention.case_id.is_in(all_case_ids or [0]))
    }
    included = [
        r for r in case_rows if r["id"] in visible and not (decisions.get(r["id"]) or {}).get("erased_at")
    ]
    case_ids = [r["id"] for r in included]

    # erased cases: tombstones only
    erased = await _erased_cases_of(person_ids)
    erased_rows = await Case.select(
        Case.id,
        Case.reference,
        Case.area,
        Case.owning_agency,
        Case.opened_at,
        Case.closed_at,
        Case.owning_agency.name.as_alias("owning_agency_name"),
    ).where(Case.id.is_in(sorted(erased) or [0]))
    erased_visible = await _visible(actor, erased_rows)
    erased_rows = [r for r in erased_rows if r["id"] in erased_visible]

    # third parties: everyone else on these cases
    others = (
        await CaseSubject.select(CaseSubject.case, CaseSubject.person, CaseSubject.role)
        .where(CaseSubject.case.is_in(case_ids or [0]) & (CaseSubject.person != person_id))
        .order_by(CaseSubject.id)
    )
    redactor = Redactor(parties=await _third_parties(ctx, person, others, included))
    redactor.prepare()

    material = await _case_material(actor, person_id, case_ids, subject_rows, others, decisions)
    await _readable_case_words(actor, material, case_ids)
    report_cases: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    withheld = 0
    for ci, row in enumerate(included):
        shown = await _report_case(ctx, actor, row, f"/cases/{ci}", material, redactor, documents)
        if shown is None:  # visible_case_ids said yes a moment ago; an ISA may have ended in between
            continue
        report_cases.append(shown[0])
        withheld += shown[1]
    case_ids = [r["id"] for r in included]

    report_referrals = await _report_referrals(ctx, actor, scope, person_ids, case_ids, redactor)
    agencies, report_audit = await _report_audit(actor, scope, person, person_ids, included)

    merge_users = await _names(User, {m["merged_by"] for m in merges})
    markers = [
        {"name": f, "label": ctx.areas.flag_label(f)}
        for f in await FlagReader(actor, ctx.areas.flag_levels).visible(person)
    ]
    report = {
        "format": FORMAT,
        "request": {
            "reference": request["reference"],
            "requester": request["requester"],
            "received_on": _iso(request["received_on"]),
            "due_on": _iso(request["due_on"]),
            "extended": bool(request["extended"]),
        },
        "generated_at": clock.now().astimezone(LONDON).isoformat(timespec="seconds"),
        "generated_by": {"name": actor.name, "agency": actor.agency_name},
        "scope": scope,
        "person": {
            "record_number": person["id"],
            "given_name": person["given_name"],
            "family_name": person["family_name"],
            "other_names": _json(person["aliases"]) or [],
            "date_of_birth": _iso(person["date_of_birth"]),
            "gender": person["gender"],
            "identifiers": [
                {**i, "label": ctx.areas.identifier_types.get(str(i.get("type")), str(i.get("type")))}
                for i in _json(person["identifiers"]) or []
                if isinstance(i, dict)
            ],
            "addresses": _json(person["addresses"]) or [],
            # the markers the exporting agency may read (all of them when it recorded the person)
            "warning_markers": markers,
            "recorded_by": agencies.get(person["created_by_agency"], ""),
            "recorded_at": _iso(person["created_at"]),
            "merged_records": [
                {
                    "record_number": m["merged_id"],
                    "merged_at": _iso(m["merged_at"]),
                    "merged_by": merge_users.get(m["merged_by"], ""),
                    "undone_at": _iso(m["undone_at"]),
                    "details_before": _merged_details(
                        (m["detail"] or {}).get("before", {}).get("merged") or {}
                    ),
                }
                for m in merges
            ],
        },
        "cases": report_cases,
        "erased_cases": [
            {
                "reference": r["reference"],
                "area": _area_title(ctx, r["area"]),
                "owning_agency": r["owning_agency_name"],
                "opened_at": _iso(r["opened_at"]),
                "closed_at": _iso(r["closed_at"]),
                "erased_at": _iso(erased[r["id"]]["erased_at"]),
            }
            for r in erased_rows
        ],
        "referrals": report_referrals,
        "audit": report_audit,
        "withheld_answers": withheld,
        "third_parties": [{"name": p.name, "roles": p.roles} for p in redactor.parties],
    }
    for ti in range(len(redactor.parties)):
        redactor.mark(
            f"/third_parties/{ti}",
            "Third party: listed for the reviewer, never sent",
            person_ids=[redactor.parties[ti].person_id],
        )
    report["redactions"] = redactor.listed()
    return Export(
        report=report,
        redactor=redactor,
        case_ids=case_ids,
        erased_case_ids=[r["id"] for r in erased_rows],
        documents=documents,
    )


def _group(rows: list[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r[key], []).append(r)
    return out


async def _third_parties(
    ctx: Context, person: dict[str, Any], others: list[dict[str, Any]], included: list[dict[str, Any]]
) -> list[ThirdParty]:
    """Everyone else on the included cases, with their roles there and the words that name them (not the
    words that also name the subject)."""
    from caseframe.core.persons.tables import Person

    other_people = {
        p["id"]: p
        for p in await Person.select()
        .where(Person.id.is_in(sorted({o["person"] for o in others}) or [0]))
        .output(load_json=True)
    }
    own_words = {
        w.lower()
        for w in (person["given_name"], person["family_name"], *(_json(person["aliases"]) or []))
        if isinstance(w, str)
    }
    own_words |= {w for alias in own_words for w in alias.split()}
    parties: dict[int, ThirdParty] = {}
    rows_by_id = {r["id"]: r for r in included}
    for o in others:
        p = other_people.get(o["person"])
        if p is None:
            continue
        area = ctx.areas.get(rows_by_id[o["case"]]["area"])
        role = (area.roles.get(o["role"]) if area else None) or o["role"].replace("_", " ").capitalize()
        party = parties.setdefault(
            p["id"],
            ThirdParty(p["id"], f"{p['given_name']} {p['family_name']}", [], _terms_for(p, own_words)),
        )
        party.roles.append(f"{role} on {rows_by_id[o['case']]['reference']}")
    return list(parties.values())


@dataclass
class _CaseMaterial:
    """What the export shows of the included cases, read in one query per kind and grouped by case (minutes
    by agenda item)."""

    person_id: int
    decisions: dict[int, dict[str, Any]]
    others: list[dict[str, Any]]
    roles_by: dict[Any, list[dict[str, Any]]]
    subjects_by_case: dict[int, list[dict[str, Any]]]
    tasks_by: dict[Any, list[dict[str, Any]]]
    shares_by: dict[Any, list[dict[str, Any]]]
    items_by: dict[Any, list[dict[str, Any]]]
    minutes_by: dict[Any, list[dict[str, Any]]]


async def _case_material(
    actor: Actor,
    person_id: int,
    case_ids: list[int],
    subject_rows: list[dict[str, Any]],
    others: list[dict[str, Any]],
    decisions: dict[int, dict[str, Any]],
) -> _CaseMaterial:
    """Everything about the included cases, in one query per kind."""
    from caseframe.core.cases import service as cases
    from caseframe.core.panels.tables import AgendaItem, Minute
    from caseframe.core.sharing.tables import CaseShare
    from caseframe.core.tasks.tables import Task

    subjects_by_case = await cases.subjects_of_cases(case_ids)
    tasks = (
        await Task.select(
            *Task.all_columns(),
            Task.owner_agency.name.as_alias("owner_agency_name"),
            Task.assignee.name.as_alias("assignee_name"),
        )
        .where(Task.case.is_in(case_ids or [0]))
        .order_by(Task.id)
    )
    shares = (
        await CaseShare.select(
            *CaseShare.all_columns(),
            CaseShare.agency.name.as_alias("agency_name"),
            CaseShare.isa.reference.as_alias("isa_reference"),
        )
        .where(CaseShare.case.is_in(case_ids or [0]))
        .order_by(CaseShare.id)
    )
    items = (
        await AgendaItem.select(
            *AgendaItem.all_columns(),
            AgendaItem.meeting.starts_at.as_alias("meeting_at"),
            AgendaItem.meeting.status.as_alias("meeting_status"),
            AgendaItem.meeting._.panel._.name.as_alias("panel_name"),
            AgendaItem.meeting._.panel._.chair_agency.as_alias("chair_agency"),
            AgendaItem.meeting._.panel._.member_agencies.as_alias("members"),
        )
        .where(AgendaItem.case.is_in(case_ids or [0]))
        .order_by(AgendaItem.id)
    )
    # a panel's minutes are the panel's: shown when the exporter's agency chairs or sits on it
    items = [i for i in items if actor.agency_id in set(_json(i["members"]) or []) | {i["chair_agency"]}]
    minutes = (
        await Minute.select(*Minute.all_columns(), Minute.author.name.as_alias("author_name"))
        .where(Minute.item.is_in([i["id"] for i in items] or [0]) & Minute.superseded_by.is_null())
        .order_by(Minute.at)
    )
    return _CaseMaterial(
        person_id=person_id,
        decisions=decisions,
        others=others,
        roles_by=_group(subject_rows, "case"),
        subjects_by_case=subjects_by_case,
        tasks_by=_group(tasks, "case"),
        shares_by=_group(shares, "case"),
        items_by=_group(items, "case"),
        minutes_by=_group(minutes, "item"),
    )


async def _report_case(
    ctx: Context,
    actor: Actor,
    row: dict[str, Any],
    base: str,
    m: _CaseMaterial,
    redactor: Redactor,
    documents: list[dict[str, Any]],
) -> tuple[dict[str, Any], int] | None:
    """One case of the export, its third parties marked at ``base``, and how many answers the actor's access
    left out; its documents are added to ``documents``. None if the actor no longer has access."""
    from caseframe.core.cases import service as cases
    from caseframe.core.sharing.policy import case_access

    access = await case_access(actor, row)
    if access is None:
        return None
    area = ctx.areas.get(row["area"])
    roles = area.roles if area else {}
    decision = m.decisions.get(row["id"]) or {}
    entry: dict[str, Any] = {
        "reference": row["reference"],
        "area": area.title if area else row["area"],
        "state": area.workflow.label(row["state"]) if area else row["state"],
        "owning_agency": row["owning_agency_name"],
        "opened_at": _iso(row["opened_at"]),
        "closed_at": _iso(row["closed_at"]),
        "risk_level": row["risk_level"],
        "restricted": bool(decision.get("restricted")),
        "restriction_reason": decision.get("restrict_reason") or "" if decision.get("restricted") else "",
        "access": access.kind,
        "answers_up_to": None if access.is_owner else access.max_sensitivity,
        "roles": [
            {
                "role": roles.get(r["role"], r["role"]),
                "added_at": _iso(r["added_at"]),
                "removed_at": _iso(r["removed_at"]),
            }
            for r in m.roles_by.get(row["id"], [])
        ],
    }
    entry["people"] = _case_people(row, base, roles, m, redactor)
    entry["forms"], withheld = _case_forms(row, base, area, access, m, redactor)
    events = cases.redact_timeline(
        ctx,
        row["area"],
        await cases.timeline(row["id"], limit=100000, access=access, reader=actor, ctx=ctx, area=row["area"]),
        access,
    )
    events.reverse()  # oldest first, as a file is read
    entry["timeline"] = []
    for ei, e in enumerate(events):
        entry["timeline"].append(
            {"at": e["at"], "kind": e["kind"], "text": e["summary"], "by": e["actor_name"] or ""}
        )
        redactor.text(f"{base}/timeline/{ei}/text", e["summary"])
    entry["tasks"] = _case_tasks(row, base, m, redactor)
    entry["documents"] = await _case_documents(row, base, access, redactor, documents)
    entry["shares"] = [
        {
            "agency": s["agency_name"],
            "agreement": s["isa_reference"],
            "purpose": s["purpose"],
            "shared_at": _iso(s["shared_at"]),
            "stopped_at": _iso(s["revoked_at"]),
        }
        for s in m.shares_by.get(row["id"], [])
    ]
    entry["panel"] = _case_panel(row, base, m, redactor)
    return entry, withheld


def _case_people(
    row: dict[str, Any], base: str, roles: dict[str, str], m: _CaseMaterial, redactor: Redactor
) -> list[dict[str, Any]]:
    """The people on a case, everyone but the subject marked as a third party."""
    people = []
    for si, s in enumerate(m.subjects_by_case.get(row["id"], [])):
        third = s["person_id"] != m.person_id
        people.append({"name": s["name"], "role": roles.get(s["role"], s["role"]), "third_party": third})
        if third:
            redactor.mark(
                f"{base}/people/{si}",
                f"Third party: another person on the case ({roles.get(s['role'], s['role'])})",
                person_ids=[s["person_id"]],
            )
    return people


def _case_forms(
    row: dict[str, Any], base: str, area: Any, access: Any, m: _CaseMaterial, redactor: Redactor
) -> tuple[list[dict[str, Any]], int]:
    """A case's forms as the actor's access shows them, with the forms and questions about another person on
    the case marked; and how many answers that access left out."""
    from caseframe.core.forms import summary
    from caseframe.core.sharing.policy import filter_answers

    roles = area.roles if area else {}
    my_roles = {r["role"] for r in m.roles_by.get(row["id"], [])}
    other_roles = {o["role"] for o in m.others if o["case"] == row["id"]}
    forms: list[dict[str, Any]] = []
    withheld = 0
    for name, answers in (row["data"] or {}).items():
        form = area.forms.get(name) if area else None
        if not access.is_owner and (form is None or not access.may_see(form.schema.get("x-sensitivity"))):
            # a form marked above the access's level as a whole, or one the area no longer describes: as on the case
            # page, not even its title (that it was filled in can say as much as its answers); counted as withheld
            withheld += len(answers) if isinstance(answers, dict) else 1
            continue
        if form is None:
            rows_ = summary.rows_without_schema(answers)
            title = name.replace("_", " ").capitalize()
        else:
            shown = answers if access.is_owner else filter_answers(answers, form.schema, access)
            if isinstance(answers, dict) and isinstance(shown, dict):
                withheld += len(answers) - len(shown)
            rows_ = summary.rows(form, shown)
            title = form.title
        fi = len(forms)
        forms.append(
            {
                "form": name,
                "title": title,
                "answers": [{"question": r["question"], "answer": r["answer"]} for r in rows_],
            }
        )
        about = _form_roles(title, roles) - my_roles
        if about & other_roles:
            _mark_about_others(redactor, f"{base}/forms/{fi}", "answers", about & other_roles, roles, row, m)
        for ai, r in enumerate(rows_):
            path = f"{base}/forms/{fi}/answers/{ai}"
            # a question about another role on the case ("Risk to the complainant") is about a third party
            asked_about = (_form_roles(r["question"], roles) - my_roles) & other_roles
            if asked_about:
                _mark_about_others(redactor, path, "an answer", asked_about, roles, row, m)
            redactor.text(f"{path}/answer", r["answer"])
    return forms, withheld


def _mark_about_others(
    redactor: Redactor,
    path: str,
    what: str,
    about: set[str],
    roles: dict[str, str],
    row: dict[str, Any],
    m: _CaseMaterial,
) -> None:
    """Mark a form (or one answer) as about the other people on the case in the roles ``about``."""
    label = ", ".join(roles.get(r, r).lower() for r in sorted(about))
    redactor.mark(
        path,
        f"Third party: {what} about another person on the case ({label})",
        person_ids=sorted({o["person"] for o in m.others if o["case"] == row["id"] and o["role"] in about}),
    )


def _case_tasks(row: dict[str, Any], base: str, m: _CaseMaterial, redactor: Redactor) -> list[dict[str, Any]]:
    tasks = []
    for ti, t in enumerate(m.tasks_by.get(row["id"], [])):
        tasks.append(
            {
                "title": t["title"],
                "description": t["description"],
                "status": t["status"],
                "due_date": _iso(t["due_date"]),
                "source": t["source"],
                "owner_agency": t["owner_agency_name"],
                "assignee": t["assignee_name"] or "",
                "created_at": _iso(t["created_at"]),
                "completed_at": _iso(t["completed_at"]),
            }
        )
        redactor.text(f"{base}/tasks/{ti}/title", t["title"])
        redactor.text(f"{base}/tasks/{ti}/description", t["description"])
    return tasks


async def _case_documents(
    row: dict[str, Any], base: str, access: Any, redactor: Redactor, documents: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The case's documents the access shows, each also added to ``documents`` (the files the zip holds)."""
    from caseframe.core.documents.service import documents_of

    listed = []
    for di, d in enumerate(await documents_of(row["id"], access)):
        name_in_zip = f"documents/{row['reference']}/{d['id']}-{_safe_name(d['filename'])}"
        listed.append(
            {
                "id": d["id"],
                "filename": d["filename"],
                "kind": d.get("kind"),
                "size": d.get("size"),
                "sensitivity": d.get("sensitivity"),
                "uploaded_at": d.get("uploaded_at"),
                "file": name_in_zip,
            }
        )
        redactor.text(f"{base}/documents/{di}/filename", d["filename"])
        documents.append({"id": d["id"], "case_id": row["id"], "path": name_in_zip})
    return listed


def _case_panel(row: dict[str, Any], base: str, m: _CaseMaterial, redactor: Redactor) -> list[dict[str, Any]]:
    """The case's agenda items at panels the exporter's agency is on, with their minutes."""
    panel = []
    for pi, item in enumerate(m.items_by.get(row["id"], [])):
        panel.append(
            {
                "panel": item["panel_name"],
                "meeting_at": _iso(item["meeting_at"]),
                "item": item["title"],
                "status": item["status"],
                "minutes": [
                    {
                        "kind": mn["kind"],
                        "text": mn["text"],
                        "at": _iso(mn["at"]),
                        "by": mn["author_name"] or "",
                    }
                    for mn in m.minutes_by.get(item["id"], [])
                ],
            }
        )
        redactor.text(f"{base}/panel/{pi}/item", item["title"])
        for mi, mn in enumerate(m.minutes_by.get(item["id"], [])):
            redactor.text(f"{base}/panel/{pi}/minutes/{mi}/text", mn["text"])
    return panel


async def _readable_case_words(actor: Actor, m: _CaseMaterial, case_ids: list[int]) -> None:
    """The tasks' and the panel minutes' words as the exporter may read them, in place, before the export is built:
    a case they may not see is not named, nor its people (core/sharing/redaction.py, as on the pages); one batch.
    The timeline is read the same way (``cases.timeline(reader=)``)."""
    from caseframe.core.sharing.redaction import redactor_for

    tasks = [t for c in case_ids for t in m.tasks_by.get(c, [])]
    items = [(c, i) for c in case_ids for i in m.items_by.get(c, [])]
    minutes = [(c, mn) for c, i in items for mn in m.minutes_by.get(i["id"], [])]
    words = await redactor_for(
        actor,
        [t[k] for t in tasks for k in ("title", "description")]
        + [i["title"] for _, i in items]
        + [mn["text"] for _, mn in minutes],
        case_ids,
    )
    for c in case_ids:
        for t in m.tasks_by.get(c, []):
            words.texts(t, ("title", "description"), "case")
    for c, i in items:
        i["title"] = words.text(i["title"], c)
    for c, mn in minutes:
        mn["text"] = words.text(mn["text"], c)


async def _report_referrals(
    ctx: Context, actor: Actor, scope: str, person_ids: list[int], case_ids: list[int], redactor: Redactor
) -> list[dict[str, Any]]:
    """Referrals about the person (or about one of these cases as a whole), that the exporter's agency made or
    received, or (system admin) that came from a case their position may see."""
    from caseframe.core.referrals.tables import Referral, ReferralMessage

    referrals = (
        await Referral.select(
            *Referral.all_columns(),
            Referral.target_agency.name.as_alias("target_agency_name"),
            Referral.raised_by_agency.name.as_alias("raised_by_agency_name"),
            Referral.from_case.reference.as_alias("from_reference"),
        )
        .where(
            Referral.person.is_in(person_ids)
            | (Referral.person.is_null() & Referral.from_case.is_in(case_ids or [0]))
        )
        .order_by(Referral.id)
    )
    # one that came from a case the exporter's position may see is told as that case's readers are told it: not at
    # all when a rule raised it on an answer above what they may see (whom it went to and why would say the answer)
    from caseframe.core.referrals.queries import told_of_case

    theirs = [
        r
        for r in referrals
        if actor.agency_id not in (r["raised_by_agency"], r["target_agency"])
        and scope == "partnership"
        and r["from_case"] in case_ids
    ]
    told: set[int] = set()
    access_cache: dict[int | None, Any] = {}
    for case_id in sorted({r["from_case"] for r in theirs}):
        rows = [r for r in theirs if r["from_case"] == case_id]
        told |= {r["id"] for r in await told_of_case(ctx, actor, case_id, rows, cache=access_cache)}
    referrals = [
        r
        for r in referrals
        if actor.agency_id in (r["raised_by_agency"], r["target_agency"]) or r["id"] in told
    ]
    messages = _group(
        await ReferralMessage.select(
            *ReferralMessage.all_columns(), ReferralMessage.author.name.as_alias("author_name")
        )
        .where(ReferralMessage.referral.is_in([r["id"] for r in referrals] or [0]))
        .order_by(ReferralMessage.id),
        "referral",
    )
    # the words people wrote name no case the exporter may not see (core/sharing/redaction.py), as on the pages: but
    # the case a referral came from, and the case it became to the agency that referred it
    from caseframe.core.referrals.inbox import referrer_agencies, told_of
    from caseframe.core.sharing.redaction import redactor_for

    words = await redactor_for(
        actor,
        [r[k] for r in referrals for k in ("reason", "decision_note")]
        + [m["text"] for ms in messages.values() for m in ms],
    )
    referrers = await referrer_agencies(referrals)
    for r in referrals:
        told = told_of(actor, r, referrers.get(r["id"]))
        words.texts(r, ("reason", "decision_note"), told=told)
        for m in messages.get(r["id"], []):
            words.texts(m, ("text",), told=told)
    report_referrals = []
    for ri, r in enumerate(referrals):
        report_referrals.append(
            {
                "from_case": r["from_reference"],
                "made_by": r["raised_by_agency_name"],
                "to": r["target_agency_name"] or r["target"],
                "reason": r["reason"],
                "status": r["status"],
                "made_at": _iso(r["created_at"]),
                "decided_at": _iso(r["decided_at"]),
                "decision_note": r["decision_note"],
                "messages": [
                    {"kind": m["kind"], "text": m["text"], "at": _iso(m["at"]), "by": m["author_name"] or ""}
                    for m in messages.get(r["id"], [])
                ],
            }
        )
        redactor.text(f"/referrals/{ri}/reason", r["reason"])
        redactor.text(f"/referrals/{ri}/decision_note", r["decision_note"])
        for mi, m in enumerate(messages.get(r["id"], [])):
            redactor.text(f"/referrals/{ri}/messages/{mi}/text", m["text"])
    return report_referrals


async def _report_audit(
    actor: Actor, scope: str, person: dict[str, Any], person_ids: list[int], included: list[dict[str, Any]]
) -> tuple[dict[Any, str], list[dict[str, Any]]]:
    """Who read or changed the record and these cases; and the names of the agencies involved (the one that
    recorded the person among them)."""
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.audit.tables import AuditEvent
    from caseframe.core.auth.tables import User

    case_ids = [r["id"] for r in included]
    where: Combinable = ((AuditEvent.object_type == "person") & AuditEvent.object_id.is_in(person_ids)) | (
        (AuditEvent.object_type == "case") & AuditEvent.object_id.is_in(case_ids or [0])
    )
    if scope == "agency":
        where = where & (AuditEvent.agency_id == actor.agency_id)
    events = (
        await AuditEvent.select(
            AuditEvent.at,
            AuditEvent.actor_id,
            AuditEvent.agency_id,
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
        )
        .where(where)
        .order_by(AuditEvent.id, ascending=False)
        .limit(MAX_AUDIT_EVENTS)
    )
    users = await _names(User, {e["actor_id"] for e in events})
    agencies = await _names(Agency, {e["agency_id"] for e in events} | {person["created_by_agency"]})
    references = {r["id"]: r["reference"] for r in included}
    return agencies, [
        {
            "at": _iso(e["at"]),
            "action": e["action"],
            "by": users.get(e["actor_id"], ""),
            "agency": agencies.get(e["agency_id"], ""),
            "about": references.get(e["object_id"], "") if e["object_type"] == "case" else "person record",
        }
        for e in events
    ]


def _area_title(ctx: Context, slug: str) -> str:
    area = ctx.areas.get(slug)
    return area.title if area else slug


def _merged_details(before: dict[str, Any]) -> dict[str, Any]:
    keep = ("given_name", "family_name", "date_of_birth", "gender", "aliases", "identifiers", "addresses")
    return {k: _iso(before.get(k)) if k == "date_of_birth" else before.get(k) for k in keep if k in before}


def _safe_name(filename: str) -> str:
    name = re.sub(r"[^\w.\- ]", "_", filename or "document").strip(" .") or "document"
    return name[:120]


# -- rendering -------------------------------------------------------------------------------


def render_html(ctx: Context, export: Export) -> str:
    from caseframe.core.panels.pack import template_environment

    return (
        template_environment(ctx)
        .get_template("sar/export.html")
        .render(
            marking=MARKING,
            report=export.report,
            show=export.redactor.show,
            marked=export.redactor.covering,
            redact_label=REDACT_LABEL,
            local=_local_text,
        )
    )


def _local_text(value: Any) -> str:
    """A stored time (UTC) as people in the UK read a clock: 4 June 2026 at 2:05pm."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, dt.datetime):
        return value.strftime("%-d %B %Y")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(LONDON).strftime("%-d %B %Y at %-I:%M%p").replace("AM", "am").replace("PM", "pm")


def to_json(export: Export) -> bytes:
    return json.dumps(export.report, indent=2, ensure_ascii=False, default=str).encode("utf-8")


async def _document_bytes(document: dict[str, Any]) -> bytes | None:
    from caseframe.core.documents import storage
    from caseframe.core.documents.tables import Document

    row = await Document.select(Document.storage_key).where(Document.id == document["id"]).first()
    if row is None:
        return None
    parts = []
    try:
        async for chunk in storage.store().read(row["storage_key"]):
            parts.append(chunk)
    except (FileNotFoundError, storage.StoreError):
        return None
    return b"".join(parts)


FORMATS = {"pdf": "application/pdf", "json": "application/json", "zip": "application/zip"}


async def export_request(ctx: Context, actor: Actor, request_id: int, fmt: Any) -> tuple[bytes, str, str]:
    """Make the export in ``fmt`` (pdf, json, or zip: both and the documents' files), audit it as ``sar.export``
    with the cases and files it holds, and return the bytes, the media type and a file name with no name in it."""
    from caseframe.core.panels.pack import html_to_pdf

    fmt = fmt if isinstance(fmt, str) and fmt in FORMATS else None
    request = await _own_request(actor, request_id)
    if fmt is None:
        raise ValidationFailed(
            "Choose what to download",
            errors=[
                {"field": "/format", "message": "Choose the PDF, the JSON file or the zip with the documents"}
            ],
        )
    export = await gather(ctx, actor, request)
    stem = f"subject-access-request-{request['reference']}"
    files: list[str] = []
    missing: list[int] = []
    if fmt == "pdf":
        content = await asyncio.to_thread(html_to_pdf, render_html(ctx, export))
        files = [f"{stem}.pdf"]
    elif fmt == "json":
        content = to_json(export)
        files = [f"{stem}.json"]
    else:
        pdf = await asyncio.to_thread(html_to_pdf, render_html(ctx, export))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{stem}.pdf", pdf)
            archive.writestr(f"{stem}.json", to_json(export))
            files = [f"{stem}.pdf", f"{stem}.json"]
            for document in export.documents:
                data = await _document_bytes(document)
                if data is None:
                    missing.append(document["id"])
                    continue
                archive.writestr(document["path"], data)
                files.append(document["path"])
            if missing:
                archive.writestr(
                    "MISSING.txt",
                    "These documents' files are missing from the document store; tell "
                    "your system administrator: " + ", ".join(str(i) for i in missing) + "\n",
                )
        content = buffer.getvalue()
    async with transaction():
        await SubjectAccessRequest.update({SubjectAccessRequest.last_exported_at: clock.now()}).where(
            SubjectAccessRequest.id == request_id
        )
        await audit.record(
            "sar.export",
            actor,
            object_type="subject_access_request",
            object_id=request_id,
            detail={
                "reference": request["reference"],
                "person_id": export.report["person"]["record_number"],
                "scope": export.report["scope"],
                "format": fmt,
                "case_ids": export.case_ids,
                "erased_case_ids": export.erased_case_ids,
                "files": files,
                "document_ids": [d["id"] for d in export.documents] if fmt == "zip" else [],
                "missing_document_ids": missing,
                "redactions": len(export.report["redactions"]),
            },
        )
    return content, FORMATS[fmt], f"{stem}.{fmt}"
