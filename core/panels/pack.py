"""The confidential panel pack: a protectively marked PDF of a meeting's agenda and each case's key facts.

Key facts are the case's reference, area, state and risk level, its people (name, role, age), the
answers its area marks ``x-summary``, its open actions and the panel's latest decisions on it.

A pack is made for one recipient and shows only what that recipient's agency may see:

* **A user** (a member attendee with an account) sees a case as they would at a published meeting:
  their agency owns it (everything), it was shared with their agency under a live ISA (answers up to
  that ISA's sensitivity), or their agency is a member of the panel and has a live ISA with the
  owning agency covering the case's area (answers up to that ISA's sensitivity).
* **A guest without an account** for whom the chair names the agency they represent (one of the
  panel's member agencies, or the agency recorded on the attendee) sees exactly what a user of that
  agency would: the ISA is between agencies, and the guest receives the pack on their agency's behalf.
* **A guest representing no agency** sees only what the chair agency itself may see, and never more
  than OFFICIAL-level answers: the chair agency is the one disclosing, so the guest can never get
  more than the chair agency holds, and no ISA covers them for anything more sensitive.

Any other agenda case appears only as "An item about a case" (its own title names it), with "Not shared with your agency".
Data is gathered in a fixed handful of queries however long the agenda is; WeasyPrint then renders
the HTML (in a worker thread, so the server keeps answering while it does).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import zoneinfo
from dataclasses import dataclass, field, replace
from typing import Any

from jinja2 import Environment

from caseframe.core import clock, permissions
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.tables import Case, CaseSubject
from caseframe.core.context import Context
from caseframe.core.db.tx import transaction
from caseframe.core.errors import Forbidden, NotFound, ValidationFailed
from caseframe.core.forms import summary
from caseframe.core.numbers import whole_number
from caseframe.core.panels.service import GUEST_WORDS
from caseframe.core.panels.tables import AgendaItem, Meeting, MeetingAttendee, Minute
from caseframe.core.sharing.policy import (
    OWNER,
    Access,
    filter_answers,
    isa_covers,
    isa_is_live,
    sensitivity_rank,
)
from caseframe.core.sharing.redaction import Redactor, redactor_for
from caseframe.core.tasks.tables import Task

MARKING = "OFFICIAL-SENSITIVE"
#: the title of an agenda item about a case the recipient may not see (its own title names the case)
WITHHELD_ITEM = "An item about a case"
NOT_SHARED = "Not shared with your agency"
#: the most sensitive answers a guest representing no agency may read
GUEST_MAX_SENSITIVITY = "official"
#: how many of a case's latest panel decisions the pack shows
DECISIONS_PER_CASE = 3
#: meetings whose agenda members may already read (so they may download their own pack)
PUBLISHED = ("published", "in_progress", "closed")
#: meetings whose members no longer see its cases for being on its agenda
AFTER_THE_MEETING = ("closed",)
LONDON = zoneinfo.ZoneInfo("Europe/London")

# WeasyPrint reports every layout step at INFO; a pack is one log line (the request), not fifty
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Recipient:
    """Who a pack is for, and whose access it shows."""

    name: str
    #: the agency whose access the pack shows; None for a guest representing no agency
    agency_id: int | None
    user_id: int | None = None
    attendee_id: int | None = None
    #: member or guest
    kind: str = "member"
    organisation: str = ""
    agency_name: str = ""

    @property
    def rule(self) -> str:
        """Which access rule applies, for the audit and the pack's own explanation."""
        if self.user_id is not None:
            return "user"
        return "agency" if self.agency_id is not None else "guest"


@dataclass
class PackData:
    """Everything the pack template shows, plus what the audit records."""

    meeting: dict[str, Any]
    recipient: Recipient
    attendees: list[dict[str, Any]]
    items: list[dict[str, Any]]
    generated_at: dt.datetime
    access: dict[int, Access | None] = field(default_factory=dict)
    #: live ISAs' references by id, to name the agreement each case is shown under
    isa_refs: dict[int, str] = field(default_factory=dict)

    @property
    def shown_case_ids(self) -> list[int]:
        return sorted(cid for cid, a in self.access.items() if a is not None)

    @property
    def withheld_case_ids(self) -> list[int]:
        return sorted(cid for cid, a in self.access.items() if a is None)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _as_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def age_on(born: Any, day: dt.date) -> int | None:
    born = _as_date(born)
    if born is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _local(value: Any) -> dt.datetime | None:
    """Meeting times are stored in UTC; the pack shows them as people in the UK read a clock."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(LONDON)


# -- access ----------------------------------------------------------------------------------


async def load_meeting(meeting_id: int) -> dict[str, Any]:
    """The meeting with its panel's name, chair and members; "not found" for a guessed id."""
    row = (
        await Meeting.select(
            Meeting.all_columns(),
            Meeting.panel.name.as_alias("panel_name"),
            Meeting.panel.chair_agency.as_alias("chair_agency"),
            Meeting.panel.chair_agency.name.as_alias("chair_agency_name"),
            Meeting.panel.member_agencies.as_alias("member_agencies"),
        )
        .where(Meeting.id == meeting_id)
        .first()
    )
    if row is None:
        raise NotFound("No meeting with that number exists")
    row["member_agencies"] = [int(a) for a in _json(row["member_agencies"]) or []]
    row["members"] = set(row["member_agencies"]) | {row["chair_agency"]}
    return row


async def _live_isas() -> list[dict[str, Any]]:
    from caseframe.core.sharing.tables import SharingAgreement

    today = clock.today()
    rows = (
        await SharingAgreement.select(
            SharingAgreement.id,
            SharingAgreement.reference,
            SharingAgreement.parties,
            SharingAgreement.purposes,
            SharingAgreement.areas,
            SharingAgreement.max_sensitivity,
            SharingAgreement.starts_on,
            SharingAgreement.ends_on,
        )
        .where((SharingAgreement.starts_on <= today) & (SharingAgreement.ends_on >= today))
        .order_by(SharingAgreement.id, ascending=False)
    )
    for isa in rows:
        for key in ("parties", "purposes", "areas"):
            isa[key] = _json(isa[key]) or []
    return rows


async def _live_shares(agency_id: int, case_ids: list[int]) -> list[dict[str, Any]]:
    from caseframe.core.sharing.tables import CaseShare

    today = clock.today()
    return (
        await CaseShare.select(
            CaseShare.id,
            CaseShare.case,
            CaseShare.purpose,
            CaseShare.isa,
            CaseShare.isa.max_sensitivity.as_alias("max_sensitivity"),
            CaseShare.isa.parties.as_alias("parties"),
            CaseShare.isa.areas.as_alias("areas"),
            CaseShare.isa.starts_on.as_alias("starts_on"),
            CaseShare.isa.ends_on.as_alias("ends_on"),
        )
        .where(
            CaseShare.case.is_in(case_ids)
            & (CaseShare.agency == agency_id)
            & CaseShare.revoked_at.is_null()
            & (CaseShare.isa.starts_on <= today)
            & (CaseShare.isa.ends_on >= today)
        )
        .order_by(CaseShare.id, ascending=False)
    )


def agency_access(
    agency_id: int,
    case_row: dict[str, Any],
    meeting: dict[str, Any],
    shares: list[dict[str, Any]],
    isas: list[dict[str, Any]],
) -> Access | None:
    """What ``agency_id`` may see of one agenda case, as ``case_access`` decides at a published meeting.

    ``shares`` are the agency's live shares of this case and ``isas`` every live ISA, both read once
    for the whole pack. Owner first, then the most generous live share, then panel membership.
    """
    if case_row["owning_agency"] == agency_id:
        return OWNER
    best: Access | None = None
    for share in shares:
        isa = {
            "parties": _json(share["parties"]),
            "areas": _json(share["areas"]),
            "starts_on": share["starts_on"],
            "ends_on": share["ends_on"],
        }
        if not isa_is_live(isa) or not isa_covers(
            isa, agency_id, case_row["owning_agency"], case_row["area"]
        ):
            continue
        access = Access(
            kind="share",
            purpose=share["purpose"],
            isa_id=share["isa"],
            share_id=share["id"],
            max_sensitivity=share["max_sensitivity"],
        )
        if best is None or sensitivity_rank(access.max_sensitivity) > sensitivity_rank(best.max_sensitivity):
            best = access
    if best is not None:
        return best
    if agency_id not in meeting["members"]:
        return None
    covering = [i for i in isas if isa_covers(i, agency_id, case_row["owning_agency"], case_row["area"])]
    if not covering:
        return None
    isa = max(covering, key=lambda i: sensitivity_rank(i["max_sensitivity"]))
    return Access(
        kind="panel",
        purpose=(isa["purposes"] or ["crime_prevention"])[0],
        isa_id=isa["id"],
        meeting_id=meeting["id"],
        max_sensitivity=isa["max_sensitivity"],
    )


def guest_access(chair: Access | None) -> Access | None:
    """A guest representing no agency: what the chair agency may see, capped at OFFICIAL answers."""
    if chair is None:
        return None
    level = chair.max_sensitivity
    if sensitivity_rank(level) > sensitivity_rank(GUEST_MAX_SENSITIVITY):
        level = GUEST_MAX_SENSITIVITY
    # never kind "owner": owners' answers are not filtered, and the guest is not the owner
    return Access(
        kind="guest",
        purpose=chair.purpose,
        isa_id=chair.isa_id,
        meeting_id=chair.meeting_id,
        max_sensitivity=level,
    )


async def access_for(
    meeting: dict[str, Any], cases: list[dict[str, Any]], recipient: Recipient
) -> tuple[dict[int, Access | None], dict[int, str]]:
    """Access per agenda case for the recipient, and live ISAs' references, in two queries in all."""
    agency_id = recipient.agency_id if recipient.agency_id is not None else meeting["chair_agency"]
    ids = [c["id"] for c in cases]
    if not ids:
        return {}, {}
    if meeting["status"] in AFTER_THE_MEETING:
        # the meeting no longer opens its cases to its members: a pack downloaded now holds what the
        # recipient's agency may see now (owner, live share, an open panel action), as the case pages decide
        from caseframe.core.sharing.policy import OWNER, sharing_access, visible_among

        viewer = Actor(id=0, email="", name="", agency_id=agency_id)
        # which cases the recipient's agency sees, for the whole agenda in a fixed number of queries (case_access's
        # answer, retention included); only a visible case another agency owns is asked why (its share or action)
        seen = await visible_among(viewer, ids)
        out = {}
        for case in cases:
            access = (
                None
                if case["id"] not in seen
                else OWNER
                if case["owning_agency"] == agency_id
                else await sharing_access(viewer, case)
            )
            out[case["id"]] = guest_access(access) if recipient.rule == "guest" else access
        return out, {i["id"]: i["reference"] for i in await _live_isas()}
    shares, isas = await asyncio.gather(_live_shares(agency_id, ids), _live_isas())
    by_case: dict[int, list[dict[str, Any]]] = {}
    for share in shares:
        by_case.setdefault(share["case"], []).append(share)
    out: dict[int, Access | None] = {}
    for case in cases:
        access = agency_access(agency_id, case, meeting, by_case.get(case["id"], []), isas)
        out[case["id"]] = guest_access(access) if recipient.rule == "guest" else access
    return out, {i["id"]: i["reference"] for i in isas}


# -- gathering -------------------------------------------------------------------------------


async def _attendees(meeting_id: int) -> list[dict[str, Any]]:
    rows = (
        await MeetingAttendee.select(
            MeetingAttendee.all_columns(),
            MeetingAttendee.user.name.as_alias("user_name"),
            MeetingAttendee.user.agency.as_alias("user_agency"),
            MeetingAttendee.user.agency.name.as_alias("user_agency_name"),
            MeetingAttendee.agency.name.as_alias("agency_name"),
        )
        .where(MeetingAttendee.meeting == meeting_id)
        .order_by(MeetingAttendee.id)
    )
    return _displayed(rows)


def _displayed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in rows:
        r["display_name"] = r["name"] or r["user_name"] or "Unnamed attendee"
        r["display_agency"] = r["user_agency_name"] or r["agency_name"] or r["organisation"] or ""
    return rows


def _guest_words(attendees: list[dict[str, Any]]) -> list[Any]:
    """What the chair typed about the guests (their names, their organisations), for the redactor's batch."""
    return [a.get(k) for a in attendees if a["kind"] == "guest" for k in GUEST_WORDS]


def _read_guests(words: Redactor, attendees: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The guests' names and organisations through ``words`` (built over :func:`_guest_words`); in place."""
    for a in attendees:
        if a["kind"] == "guest":
            words.texts(a, GUEST_WORDS)
    return _displayed(attendees)


async def _subjects(case_ids: list[int]) -> list[dict[str, Any]]:
    return (
        await CaseSubject.select(
            CaseSubject.case,
            CaseSubject.role,
            CaseSubject.person.given_name.as_alias("given_name"),
            CaseSubject.person.family_name.as_alias("family_name"),
            CaseSubject.person.date_of_birth.as_alias("date_of_birth"),
        )
        .where(CaseSubject.case.is_in(case_ids) & CaseSubject.removed_at.is_null())
        .order_by(CaseSubject.id)
    )


async def _open_actions(case_ids: list[int]) -> list[dict[str, Any]]:
    return (
        await Task.select(
            Task.id,
            Task.case,
            Task.title,
            Task.due_date,
            Task.source,
            Task.owner_agency.name.as_alias("owner_agency_name"),
            Task.assignee.name.as_alias("assignee_name"),
        )
        .where(Task.case.is_in(case_ids) & (Task.status == "open"))
        .order_by(Task.id)
    )


async def _decisions(case_ids: list[int], panel_id: int) -> list[dict[str, Any]]:
    """Decisions minuted about these cases at any meeting of this panel, newest first, corrections applied."""
    return (
        await Minute.select(
            Minute.id,
            Minute.text,
            Minute.at,
            Minute.item.case.as_alias("case_id"),
            Minute.item.meeting.starts_at.as_alias("meeting_at"),
        )
        .where(
            (Minute.kind == "decision")
            & Minute.superseded_by.is_null()
            & Minute.item.case.is_in(case_ids)
            & (Minute.item.meeting.panel == panel_id)
        )
        .order_by(Minute.at, ascending=False)
    )


def _case_facts(
    ctx: Context,
    row: dict[str, Any],
    access: Access,
    subjects: list[dict[str, Any]],
    actions: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
    today: dt.date,
) -> dict[str, Any]:
    """One case's key facts, with answers beyond the recipient's level left out before they reach the template."""
    area = ctx.areas.get(row["area"])
    data = _json(row["data"]) or {}
    forms: list[dict[str, Any]] = []
    # the key answers are those the area marks x-summary ("show this answer in the case summary");
    # an uninstalled area has no schema to say which they are, or how sensitive, so none are shown
    for name, form in area.forms.items() if area is not None else ():
        answers = data.get(name)
        if answers is None:
            continue
        if not access.is_owner:
            answers = filter_answers(answers, form.schema, access)
        rows = [r for r in summary.rows(form, answers) if r["summary"]]
        if rows:
            forms.append({"title": form.title, "rows": rows})
    roles = area.roles if area is not None else {}
    people = [
        {
            "name": f"{s['given_name']} {s['family_name']}",
            "role": roles.get(s["role"], s["role"].replace("_", " ").capitalize()),
            "age": age_on(s["date_of_birth"], today),
        }
        for s in subjects
    ]
    for action in actions:
        action["overdue"] = bool(action["due_date"] and _as_date(action["due_date"]) < today)
    return {
        "id": row["id"],
        "reference": row["reference"],
        "area_title": area.title if area is not None else row["area"],
        "state_label": area.workflow.label(row["state"]) if area is not None else row["state"],
        "risk_level": (row["risk_level"] or "").replace("_", " ").capitalize() or "Not assessed",
        "owning_agency_name": row["owning_agency_name"],
        "closed": row["closed_at"] is not None,
        "access": access,
        "subjects": people,
        "forms": forms,
        "actions": actions,
        "decisions": [{**d, "meeting_at": _local(d["meeting_at"])} for d in decisions[:DECISIONS_PER_CASE]],
    }


async def _words_for(
    meeting: dict[str, Any],
    recipient: Recipient,
    items: list[dict[str, Any]],
    actions: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
    guests: list[Any] = (),
) -> Redactor:
    """The words people wrote (items, actions, decisions, where the meeting is) as the recipient's agency may read them: naming no case
    it may not see (core/sharing/redaction.py). Actions and decisions are changed in place; the items' titles are
    the caller's to read through the redactor returned."""
    viewer = Actor(
        id=0,
        email="",
        name="",
        agency_id=recipient.agency_id if recipient.agency_id is not None else meeting["chair_agency"],
    )
    words = await redactor_for(
        viewer,
        [i["title"] for i in items if i["case"] is None]
        + [a["title"] for a in actions]
        + [d["text"] for d in decisions]
        + [meeting.get(k) for k in ("location", "panel_name")]
        + list(guests),
    )
    for a in actions:
        a["title"] = words.text(a["title"])
    for d in decisions:
        d["text"] = words.text(d["text"])
    return words


async def gather_pack(
    ctx: Context, meeting_id: int, recipient: Recipient, meeting: dict[str, Any] | None = None
) -> PackData:
    """Read everything the pack shows in a fixed handful of queries, filtered for the recipient."""
    meeting = meeting or await load_meeting(meeting_id)
    attendees, items = await asyncio.gather(
        _attendees(meeting_id),
        AgendaItem.select()
        .where(AgendaItem.meeting == meeting_id)
        .order_by(AgendaItem.position)
        .order_by(AgendaItem.id),
    )
    case_ids = sorted({i["case"] for i in items if i["case"] is not None})
    if case_ids:
        case_rows, subjects, actions, decisions = await asyncio.gather(
            Case.select(Case.all_columns(), Case.owning_agency.name.as_alias("owning_agency_name")).where(
                Case.id.is_in(case_ids)
            ),
            _subjects(case_ids),
            _open_actions(case_ids),
            _decisions(case_ids, meeting["panel"]),
        )
    else:
        case_rows, subjects, actions, decisions = [], [], [], []
    access, isa_refs = await access_for(meeting, case_rows, recipient)
    from caseframe.core.retention.service import inactive_case_ids

    # a restricted or erased case is in no pack, whoever it is for: withheld like an unshared one, and its item's
    # title (which names it: "Review: NOI-…") is not shown either
    inactive = await inactive_case_ids()
    for cid in inactive:
        if cid in access:
            access[cid] = None
    # the guests' names as the chair typed them, and the recipient's own (a guest's) among them
    words = await _words_for(
        meeting,
        recipient,
        items,
        actions,
        decisions,
        _guest_words(attendees)
        + ([recipient.name, recipient.organisation] if recipient.user_id is None else []),
    )
    _read_guests(words, attendees)
    if recipient.user_id is None:
        recipient = replace(
            recipient, name=words.text(recipient.name), organisation=words.text(recipient.organisation)
        )
    rows_by_id = {r["id"]: r for r in case_rows}
    grouped: dict[str, dict[int, list[dict[str, Any]]]] = {"subjects": {}, "actions": {}, "decisions": {}}
    for key, rows, column in (
        ("subjects", subjects, "case"),
        ("actions", actions, "case"),
        ("decisions", decisions, "case_id"),
    ):
        for r in rows:
            grouped[key].setdefault(r[column], []).append(r)
    for case_actions in grouped["actions"].values():
        # soonest due first; actions with no due date last
        case_actions.sort(key=lambda a: (_as_date(a["due_date"]) or dt.date.max, a["id"]))
    today = clock.today()
    facts: dict[int, dict[str, Any]] = {}
    for cid, row in rows_by_id.items():
        if access.get(cid) is not None:
            facts[cid] = _case_facts(
                ctx,
                row,
                access[cid],
                grouped["subjects"].get(cid, []),
                grouped["actions"].get(cid, []),
                grouped["decisions"].get(cid, []),
                today,
            )
    # an agenda case whose record is gone (deleted on schedule) is withheld like an unshared one
    for cid in case_ids:
        access.setdefault(cid, None)
    agenda = []
    for number, item in enumerate(items, 1):
        # an agenda title is what everyone at the meeting has, but a restricted or erased case is named to no one
        # nor to a recipient whose agency may not see it (its title names it: "Review: NOI-…")
        withheld = item["case"] is not None and (item["case"] in inactive or access.get(item["case"]) is None)
        title = WITHHELD_ITEM if withheld else words.text(item["title"])
        agenda.append(
            {
                "number": number,
                "title": title,
                "kind": item["kind"],
                "status": item["status"],
                "has_case": item["case"] is not None,
                "case": facts.get(item["case"]),
            }
        )
    # where it meets and the panel's name, as the chair typed them: naming no case the recipient may not see
    meeting_view = {
        **meeting,
        "starts_local": _local(meeting["starts_at"]),
        **{k: words.text(meeting.get(k)) for k in ("location", "panel_name")},
    }
    return PackData(
        meeting=meeting_view,
        recipient=recipient,
        attendees=attendees,
        items=agenda,
        generated_at=clock.now().astimezone(LONDON),
        access=access,
        isa_refs=isa_refs,
    )


# -- rendering -------------------------------------------------------------------------------

_ENVIRONMENTS: dict[int, tuple[Context, Environment]] = {}


def _environment(ctx: Context) -> Environment:
    """The app's template environment (plugins may override pack templates), built once per context."""
    from caseframe.core.templating import build_environment

    hit = _ENVIRONMENTS.get(id(ctx))
    if hit is None or hit[0] is not ctx:
        if len(_ENVIRONMENTS) > 8:  # an app has one context; tests make many, so keep the cache small
            _ENVIRONMENTS.clear()
        hit = (ctx, build_environment(ctx))
        _ENVIRONMENTS[id(ctx)] = hit
    return hit[1]


#: the same environment for other printed documents (a subject access request's export)
template_environment = _environment


def render_html(ctx: Context, data: PackData) -> str:
    return (
        _environment(ctx)
        .get_template("pack/pack.html")
        .render(
            marking=MARKING,
            not_shared=NOT_SHARED,
            pack=data,
            meeting=data.meeting,
            recipient=data.recipient,
            attendees=data.attendees,
            items=data.items,
            generated_at=data.generated_at,
            guest_level=GUEST_MAX_SENSITIVITY,
        )
    )


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint: a tagged PDF (structure for screen readers) with the title and language of the HTML."""
    from weasyprint import HTML

    return HTML(string=html, base_url=None).write_pdf(pdf_tags=True)


async def build_pack(ctx: Context, meeting_id: int, recipient: Recipient) -> bytes:
    """The pack for ``recipient`` as PDF bytes (not audited: :func:`generate_pack` is what pages call)."""
    data = await gather_pack(ctx, meeting_id, recipient)
    return await asyncio.to_thread(html_to_pdf, render_html(ctx, data))


# -- who may make which pack -----------------------------------------------------------------


def is_chair(actor: Actor, meeting: dict[str, Any]) -> bool:
    return permissions.can(actor, "panel.pack", meeting)


async def pack_page(actor: Actor, meeting_id: int) -> dict[str, Any]:
    """What the pack page offers this actor: every attendee (chair) or their own pack (an attendee)."""
    meeting = await load_meeting(meeting_id)
    attendees = await _attendees(meeting_id)
    chair = is_chair(actor, meeting)
    own = [a for a in attendees if a["user"] == actor.id]
    if not chair and not own:
        # the same answer as for a meeting that does not exist: ids are not an oracle
        raise NotFound("No meeting with that number exists")
    from caseframe.core.agencies.tables import Agency

    # a guest may attend for a member agency, or for the agency recorded against them
    offered = set(meeting["members"]) | {a["agency"] for a in attendees if a["agency"] is not None}
    choices = (
        await Agency.select(Agency.id, Agency.name)
        .where(Agency.id.is_in(sorted(offered)))
        .order_by(Agency.name)
        if chair
        else []
    )
    words = await redactor_for(
        actor, [meeting.get(k) for k in ("location", "panel_name")] + _guest_words(attendees)
    )
    _read_guests(words, attendees)
    shown = {
        **meeting,
        "starts_local": _local(meeting["starts_at"]),
        **{k: words.text(meeting.get(k)) for k in ("location", "panel_name")},
    }
    return {
        "meeting": shown,
        "attendees": attendees,
        "own": own[0] if own else None,
        "is_chair": chair,
        "agency_choices": choices,
        "published": meeting["status"] in PUBLISHED,
    }


async def recipient_for(
    actor: Actor, meeting: dict[str, Any], attendee_id: Any, agency_choice: Any = None
) -> Recipient:
    """The recipient of a requested pack, after checking the actor may make it; guessed ids are "not found"."""
    attendee_id = whole_number(attendee_id)
    if attendee_id is None:
        raise NotFound("No attendee with that number is at this meeting")
    rows = [a for a in await _attendees(meeting["id"]) if a["id"] == attendee_id]
    chair = is_chair(actor, meeting)
    if not rows or (not chair and rows[0]["user"] != actor.id):
        raise NotFound("No attendee with that number is at this meeting")
    attendee = rows[0]
    if not chair and meeting["status"] not in PUBLISHED:
        raise Forbidden(
            "The chair has not published this meeting's agenda yet, so there is no pack to download."
        )
    common = {
        "name": attendee["display_name"],
        "attendee_id": attendee["id"],
        "kind": attendee["kind"],
        "organisation": attendee["organisation"],
    }
    if attendee["user"] is not None:
        # an account's agency is the one the user works for, whatever the attendee row says
        return Recipient(
            **common,
            agency_id=attendee["user_agency"],
            user_id=attendee["user"],
            agency_name=attendee["user_agency_name"] or "",
        )
    allowed = set(meeting["members"]) | ({attendee["agency"]} if attendee["agency"] is not None else set())
    choice = str(agency_choice if agency_choice is not None else "").strip()
    if choice == "none":
        return Recipient(**common, agency_id=None)
    if whole_number(choice) in allowed:
        from caseframe.core.agencies.tables import Agency

        name = await Agency.select(Agency.name).where(Agency.id == whole_number(choice)).first()
        return Recipient(**common, agency_id=whole_number(choice), agency_name=name["name"] if name else "")
    raise ValidationFailed(
        "Select the agency the guest represents",
        errors=[
            {
                "field": "/agency_id",
                "message": "Select the agency the guest represents, or that they represent none",
            }
        ],
    )


def pack_filename(meeting: dict[str, Any]) -> str:
    """No names in the file name: it shows in download lists and e-mail subjects."""
    local = _local(meeting["starts_at"])
    return (
        f"panel-pack-meeting-{meeting['id']}-{local:%Y-%m-%d}.pdf"
        if local
        else f"panel-pack-{meeting['id']}.pdf"
    )


async def generate_pack(
    ctx: Context, actor: Actor, meeting_id: int, attendee_id: Any, agency_choice: Any = None
) -> tuple[bytes, str]:
    """Make the pack for an attendee and audit it; returns the PDF and a file name with no personal data."""
    meeting = await load_meeting(meeting_id)
    chair = is_chair(actor, meeting)
    if not chair and actor.id not in {a["user"] for a in await _attendees(meeting_id)}:
        raise NotFound("No meeting with that number exists")
    recipient = await recipient_for(actor, meeting, attendee_id, agency_choice)
    data = await gather_pack(ctx, meeting_id, recipient, meeting)
    pdf = await asyncio.to_thread(html_to_pdf, render_html(ctx, data))
    detail = {
        "attendee_id": recipient.attendee_id,
        "recipient_user_id": recipient.user_id,
        "recipient_agency_id": recipient.agency_id,
        "recipient_kind": recipient.kind,
        "rule": recipient.rule,
        "made_by": "self" if recipient.user_id == actor.id else "chair",
        "case_ids": data.shown_case_ids,
        "withheld_case_ids": data.withheld_case_ids,
        "access": {
            str(cid): {"kind": a.kind, "isa_id": a.isa_id, "max_sensitivity": a.max_sensitivity}
            for cid, a in data.access.items()
            if a is not None
        },
    }
    async with transaction():
        await audit.record("pack.generate", actor, object_type="meeting", object_id=meeting_id, detail=detail)
    return pdf, pack_filename(meeting)
