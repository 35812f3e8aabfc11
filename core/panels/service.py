"""Panels and their meetings: set up, schedule, build and publish the agenda, run it, minute it, close it.

The only code that writes panels, meetings, agenda items and minutes. Minutes are appended, never
edited in place (a correction is a new entry that supersedes the old), so two people minuting at once
never overwrite each other; meeting-level changes carry the meeting's version.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.agencies.tables import Agency
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.auth.tables import User
from caseframe.core.cache import DIRECTORY
from caseframe.core.cases.tables import Case, CaseEvent
from caseframe.core.cases.view import refuse_closed_case
from caseframe.core.context import Context
from caseframe.core.db.tx import transaction
from caseframe.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from caseframe.core.numbers import far_date, whole_number
from caseframe.core.panels import live
from caseframe.core.panels.tables import AgendaItem, Meeting, MeetingAttendee, Minute, Panel, PanelCase
from caseframe.core.sharing.redaction import NOTHING_HIDDEN, redactor_for
from caseframe.core.tasks.service import DUE_WITHIN_YEARS
from caseframe.core.tasks.tables import Task

MINUTE_KINDS = {"discussion": "Discussion", "decision": "Decision", "action": "Action"}
FREQUENCIES = {
    "weekly": "Weekly",
    "fortnightly": "Fortnightly",
    "monthly": "Monthly",
    "quarterly": "Quarterly",
    "as_needed": "When needed",
}
STATUS_LABELS = {
    "planned": "Planned",
    "published": "Agenda published",
    "in_progress": "In progress",
    "closed": "Closed",
}


def _err(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"field": field, "message": message}])


def _members(panel: dict[str, Any]) -> set[int]:
    members = panel["member_agencies"]
    if isinstance(members, str):
        import json

        members = json.loads(members or "[]")
    return {int(a) for a in members or []} | {panel["chair_agency"]}


async def _panel(panel_id: int) -> dict[str, Any]:
    row = await Panel.select().where(Panel.id == panel_id).output(load_json=True).first()
    if row is None:
        raise NotFound("No panel with that number exists")
    row["members"] = _members(row)
    return row


def is_chair_of(actor: Actor, panel: dict[str, Any]) -> bool:
    """The chair agency's panel chairs and admins run its panel; a system admin of another agency does not
    (its meetings speak about cases that agency may not see)."""
    return permissions.can(actor, "panel.chair", panel)


#: the words of a panel its chair typed, read through the redactor (they may name a case a member may not see)
PANEL_WORDS = ("name", "description")
#: the words of a meeting its chair typed
MEETING_WORDS = ("location", "panel_name")


async def visible_panel(actor: Actor, panel_id: int) -> dict[str, Any]:
    """The panel, if the actor may read it, its name and description naming no case they may not see."""
    panel = await _panel(panel_id)
    permissions.require(actor, "panel.read", panel)
    words = await redactor_for(actor, [panel[k] for k in PANEL_WORDS])
    return words.texts(panel, PANEL_WORDS)


async def panels_for(actor: Actor) -> list[dict[str, Any]]:
    """The panels the actor may read, by name; their words read as on :func:`visible_panel` (one batch)."""
    rows = (
        await Panel.select(*Panel.all_columns(), Panel.chair_agency.name.as_alias("chair_name"))
        .order_by(Panel.name)
        .output(load_json=True)
    )
    out = []
    for r in rows:
        r["members"] = _members(r)
        if permissions.can(actor, "panel.read", r):
            out.append(r)
    words = await redactor_for(actor, [r[k] for r in out for k in PANEL_WORDS])
    return [words.texts(r, PANEL_WORDS) for r in out]


async def save_panel(
    ctx: Context,
    actor: Actor,
    *,
    panel_id: int | None = None,
    name: str,
    description: str = "",
    member_agency_ids: list[int],
    areas: list[str],
    frequency: str,
    chair_agency_id: int | None = None,
) -> dict[str, Any]:
    """Create a panel (chaired by the actor's agency, or any agency for a system admin) or change one."""
    existing = await _panel(panel_id) if panel_id else None
    if existing is not None and not is_chair_of(actor, existing):
        raise NotFound("No panel with that number exists")
    if existing is None:
        permissions.require(actor, "panel.create")
    chair = (
        existing["chair_agency"]
        if existing
        else (
            chair_agency_id
            if permissions.can(actor, "panel.any_chair_agency") and chair_agency_id
            else actor.agency_id
        )
    )
    name = (name or "").strip()
    members = sorted({n for n in map(whole_number, member_agency_ids) if n is not None} | {chair})
    errors = await _panel_problems(ctx, name, description, members, areas, frequency)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50] or "panel"
    if existing is None and not errors and await Panel.count().where(Panel.slug == slug):
        errors.append({"field": "/name", "message": "A panel with that name already exists"})
    if errors:
        raise ValidationFailed("There is a problem with the panel", errors=errors)
    values = {
        "name": name,
        "description": (description or "").strip(),
        "member_agencies": members,
        "areas": sorted(set(areas)),
        "frequency": frequency,
    }
    async with transaction():
        if existing is None:
            panel = Panel.from_dict(
                {"slug": slug, "chair_agency": chair, "created_at": clock.now(), **values}
            )
            await panel.save()
            saved_id = panel.id
            await audit.record(
                "panel.create", actor, object_type="panel", object_id=saved_id, detail={"name": name}
            )
        else:
            saved_id = existing["id"]
            await Panel.update({getattr(Panel, k): v for k, v in values.items()}).where(Panel.id == saved_id)
            await audit.record(
                "panel.update",
                actor,
                object_type="panel",
                object_id=saved_id,
                detail={"members": members, "areas": values["areas"]},
            )
    DIRECTORY.clear()
    return await _panel(saved_id)


async def _panel_problems(
    ctx: Context, name: str, description: str, members: list[int], areas: list[str], frequency: str
) -> list[dict[str, str]]:
    """What is wrong with a panel's name, members (the chair's agency among them), areas, frequency, description."""
    errors = []
    if not name:
        errors.append({"field": "/name", "message": "Enter the panel's name"})
    elif len(name) > 200:
        errors.append({"field": "/name", "message": "The name must be 200 characters or fewer"})
    known = {a["id"] for a in await Agency.select(Agency.id).where(Agency.active == True)}  # noqa: E712
    if any(m not in known for m in members):
        errors.append({"field": "/members", "message": "Select member agencies from the list"})
    if len(members) < 2:
        errors.append({"field": "/members", "message": "Select at least one agency besides the chair's"})
    if not areas or any(ctx.areas.get(a) is None for a in areas):
        errors.append({"field": "/areas", "message": "Select the business areas the panel considers"})
    if frequency not in FREQUENCIES:
        errors.append({"field": "/frequency", "message": "Select how often the panel meets"})
    if len(description or "") > 2000:
        errors.append(
            {"field": "/description", "message": "The description must be 2,000 characters or fewer"}
        )
    return errors


async def close_panel_case(actor: Actor, panel_id: int, panel_case_id: int, *, reason: str) -> None:
    """The chair takes a case off the panel's list (the panel's work on it is done), with a reason."""
    panel = await visible_panel(actor, panel_id)
    if not is_chair_of(actor, panel):
        raise Forbidden("Only the panel's chair can change its list")
    row = (
        await PanelCase.select()
        .where(
            (PanelCase.id == panel_case_id) & (PanelCase.panel == panel_id) & PanelCase.closed_at.is_null()
        )
        .first()
    )
    if row is None:
        raise NotFound("That case is not on the panel's list")
    reason = (reason or "").strip()
    if not reason or len(reason) > 1000:
        raise _err("/reason", "Enter why the panel's work on the case is done (1,000 characters or fewer)")
    now = clock.now()
    async with transaction():
        await PanelCase.update({PanelCase.closed_at: now}).where(PanelCase.id == panel_case_id)
        await CaseEvent.insert(
            CaseEvent(
                case=row["case"],
                kind="panel",
                actor=actor.id,
                at=now,
                summary=f"Taken off {panel['name']}'s list: {reason}",
                detail={"panel_id": panel_id},
            )
        )
        await audit.record(
            "panel.case_closed",
            actor,
            object_type="panel",
            object_id=panel_id,
            detail={"case_id": row["case"]},
        )


# -- meetings --------------------------------------------------------------------------------


async def load_meeting(meeting_id: int) -> dict[str, Any]:
    row = (
        await Meeting.select(*Meeting.all_columns(), Meeting.panel.name.as_alias("panel_name"))
        .where(Meeting.id == meeting_id)
        .first()
    )
    if row is None:
        raise NotFound("No meeting with that number exists")
    row["panel_row"] = await _panel(row["panel"])
    return row


async def visible_meeting(actor: Actor, meeting_id: int) -> dict[str, Any]:
    """Chair agency: always. Member agencies and attendees: once the agenda is published. Else 404."""
    meeting = await load_meeting(meeting_id)
    panel = meeting["panel_row"]
    meeting["is_chair"] = is_chair_of(actor, panel)
    meeting["is_minute_taker"] = meeting["minute_taker"] == actor.id
    attending = await MeetingAttendee.count().where(
        (MeetingAttendee.meeting == meeting_id) & (MeetingAttendee.user == actor.id)
    )
    if actor.agency_id != panel["chair_agency"] and not (
        meeting["status"] != "planned" and (actor.agency_id in panel["members"] or attending)
    ):
        raise NotFound("No meeting with that number exists")
    # where it meets and the panel's words, as the reader may read them (one batch for both)
    words = await redactor_for(actor, [meeting[k] for k in MEETING_WORDS] + [panel[k] for k in PANEL_WORDS])
    words.texts(panel, PANEL_WORDS)
    return words.texts(meeting, MEETING_WORDS)


def _check_version(meeting: dict[str, Any], version: int | None) -> None:
    if version is not None and meeting["version"] != version:
        raise Conflict(
            "Someone else changed this meeting while you were looking at it. Nothing you entered has "
            "been saved over their change: check the meeting below and try again."
        )


async def _bump(meeting: dict[str, Any], values: dict) -> None:
    updated = (
        await Meeting.update({**values, Meeting.version: meeting["version"] + 1})
        .where((Meeting.id == meeting["id"]) & (Meeting.version == meeting["version"]))
        .returning(Meeting.id)
    )
    if not updated:
        raise Conflict("Someone else changed this meeting at the same moment. Check it and try again.")


async def _chaired(actor: Actor, meeting_id: int, version: int | None = None) -> dict[str, Any]:
    meeting = await visible_meeting(actor, meeting_id)
    if not meeting["is_chair"]:
        raise Forbidden("Only the panel's chair can change the meeting")
    _check_version(meeting, version)
    return meeting


#: how far from today a meeting may be scheduled or recorded, either way
MEETING_WITHIN_YEARS = 5


async def schedule_meeting(
    actor: Actor, panel_id: int, *, starts_at: dt.datetime | None, location: str = "", link: str = ""
) -> dict[str, Any]:
    panel = await visible_panel(actor, panel_id)
    if not is_chair_of(actor, panel):
        raise Forbidden("Only the panel's chair can schedule its meetings")
    errors = []
    if starts_at is None:
        errors.append({"field": "/starts_at", "message": "Enter the date and time of the meeting"})
    elif far := far_date(starts_at.date(), MEETING_WITHIN_YEARS, "meeting"):
        # a year typed wrong (9999): such a meeting could never be minuted (its review dates overflow the calendar)
        errors.append({"field": "/starts_at", "message": far})
    location, link = (location or "").strip(), (link or "").strip()
    if not location and not link:
        errors.append({"field": "/location", "message": "Enter where the meeting is, or a link to join it"})
    if link and not re.fullmatch(r"https://[^\s<>\"']{3,480}", link):
        errors.append({"field": "/link", "message": "The link must start with https:// and have no spaces"})
    if len(location) > 300:
        errors.append({"field": "/location", "message": "The place must be 300 characters or fewer"})
    if errors:
        raise ValidationFailed("There is a problem with the meeting", errors=errors)
    now = clock.now()
    async with transaction():
        meeting = Meeting(
            panel=panel_id,
            starts_at=starts_at,
            location=location,
            link=link,
            status="planned",
            created_at=now,
        )
        await meeting.save()
        await MeetingAttendee.insert(
            MeetingAttendee(
                meeting=meeting.id,
                user=actor.id,
                agency=actor.agency_id,
                name=actor.name,
                email=actor.email,
                kind="member",
            )
        )
        await audit.record(
            "meeting.create",
            actor,
            object_type="meeting",
            object_id=meeting.id,
            detail={"panel_id": panel_id},
        )
    return await load_meeting(meeting.id)


async def add_attendee(
    actor: Actor,
    meeting_id: int,
    *,
    user_id: int | None = None,
    name: str = "",
    email: str = "",
    organisation: str = "",
    agency_id: int | None = None,
    version: int | None = None,
) -> None:
    """A member (a user of a member agency) or a guest (a name, perhaps with no account)."""
    meeting = await _chaired(actor, meeting_id, version)
    panel = meeting["panel_row"]
    if user_id is not None:
        user = (
            await User.select(User.id, User.name, User.email, User.agency)
            .where((User.id == user_id) & (User.active == True))
            .first()
        )  # noqa: E712
        if user is None or user["agency"] not in panel["members"]:
            raise _err("/user_id", "Select someone from a member agency")
        if await MeetingAttendee.count().where(
            (MeetingAttendee.meeting == meeting_id) & (MeetingAttendee.user == user_id)
        ):
            raise _err("/user_id", f"{user['name']} is already attending")
        row = MeetingAttendee(
            meeting=meeting_id,
            user=user_id,
            agency=user["agency"],
            name=user["name"],
            email=user["email"],
            kind="member",
        )
    else:
        name, organisation = (name or "").strip(), (organisation or "").strip()
        if not name or len(name) > 200:
            raise _err("/name", "Enter the guest's name (200 characters or fewer)")
        if len(organisation) > 200:
            raise _err("/organisation", "Enter the organisation in 200 characters or fewer")
        if len((email or "").strip()) > 254:
            raise _err("/email", "Enter an email address of 254 characters or fewer")
        if agency_id is not None and agency_id not in panel["members"]:
            raise _err("/agency_id", "Select a member agency, or none")
        row = MeetingAttendee(
            meeting=meeting_id,
            name=name,
            email=(email or "").strip(),
            organisation=organisation,
            agency=agency_id,
            kind="guest",
        )
    async with transaction():
        await row.save()
        await _bump(meeting, {})
        await audit.record(
            "meeting.attendee_added",
            actor,
            object_type="meeting",
            object_id=meeting_id,
            detail={"user_id": user_id, "guest": user_id is None},
        )


async def agenda(meeting_id: int) -> list[dict[str, Any]]:
    rows = (
        await AgendaItem.select(
            *AgendaItem.all_columns(),
            AgendaItem.case.reference.as_alias("reference"),
            AgendaItem.case.area.as_alias("area"),
        )
        .where(AgendaItem.meeting == meeting_id)
        .order_by(AgendaItem.position)
        .order_by(AgendaItem.id)
    )
    return rows


#: the title of an agenda item about a case the reader may not see: its own title names the case ("Review: NOI-…")
WITHHELD_ITEM = "An item about a case"


async def agenda_for(
    actor: Actor, meeting_id: int, cache: dict[int, bool] | None = None
) -> list[dict[str, Any]]:
    """The meeting's agenda as ``actor`` may read it: ``visible`` says whether their agency may see each item's case
    now, and an item about a case they may not see (an ISA that has ended, a share revoked), or one retention
    restricted or erased (named to no one), keeps neither its title nor its reference."""
    from caseframe.core.retention.service import inactive_case_ids

    cache = {} if cache is None else cache
    inactive = await inactive_case_ids()
    items = await agenda(meeting_id)
    await _see_cases(actor, [item["case"] for item in items], cache)
    # a title names no other case the reader may not see either (core/sharing/redaction.py)
    words = await redactor_for(actor, [i["title"] for i in items])
    for item in items:
        item["visible"] = item["case"] is None or cache[item["case"]]
        if item["case"] is not None and (not item["visible"] or item["case"] in inactive):
            item["title"], item["reference"] = WITHHELD_ITEM, ""
        else:
            item["title"] = words.text(item["title"])
    return items


async def agenda_suggestions(meeting: dict[str, Any]) -> list[dict[str, Any]]:
    """What the chair may add: cases referred to the panel, cases due for review, and outstanding actions. A
    closed case on the panel's list is not offered (:func:`closed_on_list`)."""
    return (await _agenda_candidates(meeting))[0]


async def closed_on_list(meeting: dict[str, Any]) -> list[dict[str, Any]]:
    """The closed cases on the panel's list, not on this meeting's agenda: the picker says why they are not
    offered (a closed case gets no new panel work until it is reopened). Each has ``case``, ``reference`` and
    ``closed_at``."""
    return (await _agenda_candidates(meeting))[1]


async def _agenda_candidates(meeting: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    panel_id = meeting["panel"]
    on_agenda = {
        r["case"] for r in await AgendaItem.select(AgendaItem.case).where(AgendaItem.meeting == meeting["id"])
    }
    listed = (
        await PanelCase.select(
            *PanelCase.all_columns(),
            PanelCase.case.reference.as_alias("reference"),
            PanelCase.case.area.as_alias("area"),
            PanelCase.case.closed_at.as_alias("case_closed_at"),
        )
        .where((PanelCase.panel == panel_id) & PanelCase.closed_at.is_null())
        .order_by(PanelCase.id)
    )
    discussed = {
        r["case"]
        for r in await AgendaItem.select(AgendaItem.case).where(
            (AgendaItem.meeting.panel == panel_id) & (AgendaItem.meeting.status == "closed")
        )
    }
    day = meeting["starts_at"].date() if meeting["starts_at"] else clock.today()
    from caseframe.core.retention.service import inactive_case_ids

    inactive = await inactive_case_ids()  # a restricted or erased case goes to no meeting
    out: list[dict[str, Any]] = []
    closed: list[dict[str, Any]] = []
    for r in listed:
        if r["case"] in on_agenda or r["case"] in inactive:
            continue
        if r["case_closed_at"]:
            closed.append({"case": r["case"], "reference": r["reference"], "closed_at": r["case_closed_at"]})
        elif r["case"] not in discussed:
            out.append(
                {
                    "kind": "referral",
                    "case": r["case"],
                    "title": f"New referral: {r['reference']}",
                    "reference": r["reference"],
                    "referral_id": r["referral_id"],
                }
            )
        elif r["review_due"] is None or r["review_due"] <= day:
            out.append(
                {
                    "kind": "review",
                    "case": r["case"],
                    "title": f"Review: {r['reference']}",
                    "reference": r["reference"],
                    "referral_id": None,
                }
            )
    has_actions_item = await AgendaItem.count().where(
        (AgendaItem.meeting == meeting["id"]) & (AgendaItem.kind == "actions")
    )
    if not has_actions_item and await outstanding_actions(panel_id, exclude_meeting=meeting["id"]):
        out.append(
            {
                "kind": "actions",
                "case": None,
                "title": "Outstanding actions from earlier meetings",
                "reference": "",
                "referral_id": None,
            }
        )
    return out, closed


async def add_agenda_item(
    actor: Actor,
    meeting_id: int,
    *,
    kind: str,
    case_id: int | None = None,
    title: str = "",
    version: int | None = None,
) -> None:
    meeting = await _chaired(actor, meeting_id, version)
    if meeting["status"] == "closed":
        raise Conflict("The meeting is closed: its agenda cannot change.")
    suggestions, closed = await _agenda_candidates(meeting)
    if case_id is not None and any(c["case"] == case_id for c in closed):
        await refuse_closed_case(actor, case_id)  # a closed case on the list goes on no new agenda
    pick = next((s for s in suggestions if s["kind"] == kind and s["case"] == case_id), None)
    if kind == "other":
        title = (title or "").strip()
        if not title or len(title) > 300:
            raise _err("/title", "Enter the item's title (300 characters or fewer)")
        pick = {"kind": "other", "case": None, "title": title, "referral_id": None}
    if pick is None:
        raise _err("/item", "Select an item from the list of cases and actions for this panel")
    position = len(await agenda(meeting_id)) + 1
    async with transaction():
        if pick["case"] is not None:
            await refuse_closed_case(actor, pick["case"])  # closed since it was offered
        await AgendaItem.insert(
            AgendaItem(
                meeting=meeting_id,
                position=position,
                kind=pick["kind"],
                case=pick["case"],
                referral_id=pick["referral_id"],
                title=pick["title"],
                created_at=clock.now(),
            )
        )
        await _bump(meeting, {})
        await audit.record(
            "meeting.agenda_item_added",
            actor,
            object_type="meeting",
            object_id=meeting_id,
            detail={"kind": pick["kind"], "case_id": pick["case"]},
        )


async def remove_agenda_item(
    actor: Actor, meeting_id: int, item_id: int, *, version: int | None = None
) -> None:
    meeting = await _chaired(actor, meeting_id, version)
    if meeting["status"] not in ("planned", "published"):
        raise Conflict("Items cannot be taken off the agenda once the meeting has started.")
    item = (
        await AgendaItem.select(AgendaItem.id)
        .where((AgendaItem.id == item_id) & (AgendaItem.meeting == meeting_id))
        .first()
    )
    if item is None:
        raise NotFound("No agenda item with that number exists")
    if await Minute.count().where(Minute.item == item_id):
        raise Conflict("That item has minutes: it stays on the agenda.")
    async with transaction():
        await AgendaItem.delete().where(AgendaItem.id == item_id)
        await _bump(meeting, {})
        await audit.record(
            "meeting.agenda_item_removed",
            actor,
            object_type="meeting",
            object_id=meeting_id,
            detail={"item_id": item_id},
        )


async def meeting_to_move(
    actor: Actor, meeting_id: int, to: str, *, version: int | None = None
) -> dict[str, Any]:
    """The meeting if the actor chairs it and it may move to ``to`` now (checked before a confirmation step)."""
    meeting = await _chaired(actor, meeting_id, version)
    allowed = {"published": ("planned",), "in_progress": ("published",), "closed": ("in_progress",)}
    if to not in allowed or meeting["status"] not in allowed[to]:
        raise Conflict(
            f"The meeting is {STATUS_LABELS.get(meeting['status'], meeting['status']).lower()}: "
            "that cannot be done now."
        )
    return meeting


async def set_status(
    actor: Actor, meeting_id: int, to: str, *, version: int | None = None, minute_taker_id: int | None = None
) -> None:
    """planned -> published -> in_progress -> closed; closing writes the minutes onto each case's timeline."""
    meeting = await meeting_to_move(actor, meeting_id, to, version=version)
    now = clock.now()
    values: dict[Any, Any] = {Meeting.status: to}
    if to == "published":
        if not await AgendaItem.count().where(AgendaItem.meeting == meeting_id):
            raise _err("/agenda", "Add at least one item to the agenda before publishing it")
        values[Meeting.published_at] = now
    if to == "in_progress":
        values[Meeting.started_at] = now
        taker = minute_taker_id or actor.id
        user = await User.select(User.agency).where((User.id == taker) & (User.active == True)).first()  # noqa: E712
        if user is None or user["agency"] not in meeting["panel_row"]["members"]:
            raise _err("/minute_taker", "Select a minute-taker from a member agency")
        values[Meeting.minute_taker] = taker
    if to == "closed":
        values[Meeting.closed_at] = now
    async with transaction():
        await _bump(meeting, values)
        if to == "closed":
            await _minutes_to_timelines(meeting, actor, now)
        await audit.record(
            f"meeting.{ {'published': 'publish', 'in_progress': 'start', 'closed': 'close'}[to] }",
            actor,
            object_type="meeting",
            object_id=meeting_id,
        )
    await live.announce(meeting_id)


REVIEW_AFTER_DAYS = {"weekly": 7, "fortnightly": 14, "monthly": 28, "quarterly": 91, "as_needed": 28}


async def _minutes_to_timelines(meeting: dict[str, Any], actor: Actor, now: dt.datetime) -> None:
    """After the meeting, each case's timeline carries what the panel said and decided about it, and each
    case discussed is due for review at the panel's next regular meeting."""
    items = {i["id"]: i for i in await agenda(meeting["id"]) if i["case"]}
    try:
        day = (meeting["starts_at"] or now).date() + dt.timedelta(
            days=REVIEW_AFTER_DAYS.get(meeting["panel_row"]["frequency"], 28)
        )
    except OverflowError:  # a meeting stored at the calendar's end before its date was bounded: no later day
        day = dt.date.max
    await PanelCase.update({PanelCase.review_due: day}).where(
        (PanelCase.panel == meeting["panel"])
        & PanelCase.closed_at.is_null()
        & PanelCase.case.is_in([i["case"] for i in items.values()] or [0])
    )
    minutes = (
        await Minute.select()
        .where(
            (Minute.meeting == meeting["id"])
            & Minute.superseded_by.is_null()
            & Minute.item.is_in(list(items) or [0])
        )
        .order_by(Minute.id)
    )
    panel_name = meeting["panel_name"]
    for item_id, item in items.items():
        said = [m for m in minutes if m["item"] == item_id]
        if not said:
            continue
        lines = [f"{MINUTE_KINDS[m['kind']]}: {m['text']}" for m in said]
        await CaseEvent.insert(
            CaseEvent(
                case=item["case"],
                kind="panel",
                actor=actor.id,
                at=now,
                summary=f"Discussed at {panel_name} on {meeting['starts_at']:%-d %B %Y}: "
                + " · ".join(lines)[:1800],
                detail={
                    "meeting_id": meeting["id"],
                    "item_id": item_id,
                    "decisions": [m["text"] for m in said if m["kind"] == "decision"],
                },
            )
        )


async def add_minute(
    ctx: Context,
    actor: Actor,
    meeting_id: int,
    *,
    item_id: int | None,
    kind: str,
    text: str,
    owner_agency_id: int | None = None,
    assignee_id: int | None = None,
    due_date: dt.date | None = None,
    supersedes: int | None = None,
) -> dict[str, Any]:
    """Append one entry to the live minutes; an action becomes a task on the item's case at once."""
    meeting = await visible_meeting(actor, meeting_id)
    if not (meeting["is_chair"] or meeting["is_minute_taker"]):
        raise Forbidden("Only the chair or the minute-taker writes the minutes")
    if meeting["status"] != "in_progress":
        raise Conflict("Minutes are written while the meeting is in progress.")
    item = None
    if item_id is not None:
        item = (
            await AgendaItem.select()
            .where((AgendaItem.id == item_id) & (AgendaItem.meeting == meeting_id))
            .first()
        )
    text = (text or "").strip()
    errors = _minute_problems(item, kind, text)
    if kind == "action":
        errors += await _action_problems(
            item, meeting["panel_row"]["members"], owner_agency_id, assignee_id, due_date
        )
    if errors:
        raise ValidationFailed("There is a problem with the minute", errors=errors)
    assert item is not None  # no item is one of the errors above
    if item["case"]:
        from caseframe.core.retention.service import refuse_write

        await refuse_write(item["case"], actor)  # nothing is minuted on a restricted or erased case
        if kind == "action":  # an action is a new task on the case: none on a closed one (a discussion is)
            await refuse_closed_case(actor, item["case"])
    now = clock.now()
    async with transaction():
        task_id = None
        if kind == "action":
            assert owner_agency_id is not None and due_date is not None  # both checked above for an action
            task_id = await _minute_action_task(
                actor, meeting_id, item, text, owner_agency_id, assignee_id, due_date, now
            )
        minute = Minute(
            meeting=meeting_id,
            item=item["id"],
            kind=kind,
            text=text,
            author=actor.id,
            at=now,
            task_id=task_id,
        )
        await minute.save()
        if supersedes:
            corrected = (
                await Minute.update({Minute.superseded_by: minute.id})
                .where(
                    (Minute.id == supersedes)
                    & (Minute.meeting == meeting_id)
                    & Minute.superseded_by.is_null()
                )
                .returning(Minute.id)
            )
            if not corrected:  # two people correcting one entry: the second is told, nothing is written
                raise Conflict(
                    "That entry has already been corrected by someone else. Read the minutes again."
                )
        if item["status"] != "discussed":
            await AgendaItem.update({AgendaItem.status: "discussed"}).where(AgendaItem.id == item["id"])
        await audit.record(
            "meeting.minute",
            actor,
            object_type="meeting",
            object_id=meeting_id,
            detail={"minute_id": minute.id, "kind": kind, "task_id": task_id},
        )
    await live.announce(meeting_id)
    written = await Minute.select().where(Minute.id == minute.id).first()
    assert written is not None  # committed above; minutes are never deleted (a correction supersedes one)
    return written


def _minute_problems(item: dict[str, Any] | None, kind: str, text: str) -> list[dict[str, str]]:
    """What is wrong with a minute's agenda item, kind and (stripped) text."""
    errors = []
    if item is None:
        errors.append({"field": "/item_id", "message": "Select the agenda item this is about"})
    if kind not in MINUTE_KINDS:
        errors.append({"field": "/kind", "message": "Select discussion, decision or action"})
    if not text:
        errors.append({"field": "/text", "message": "Enter what was said, decided or agreed"})
    elif len(text) > 4000:
        errors.append({"field": "/text", "message": "Keep each entry under 4,000 characters"})
    return errors


async def _action_problems(
    item: dict[str, Any] | None,
    members: list[int],
    owner_agency_id: int | None,
    assignee_id: int | None,
    due_date: dt.date | None,
) -> list[dict[str, str]]:
    """What is wrong with an action: it is about a case, owned by a member agency (and assigned to someone in
    it, or no one), due today or later."""
    errors = []
    if item is not None and not item["case"]:
        errors.append({"field": "/item_id", "message": "An action needs an agenda item about a case"})
    if owner_agency_id not in members:
        errors.append(
            {"field": "/owner_agency_id", "message": "Select the member agency that owns the action"}
        )
    elif not await Agency.exists().where((Agency.id == owner_agency_id) & (Agency.active == True)):  # noqa: E712
        # its users cannot sign in: an action given to it would never be done, nor seen to be undone
        errors.append(
            {
                "field": "/owner_agency_id",
                "message": "That agency has been deactivated: give the action to an active member agency",
            }
        )
    elif assignee_id is not None:
        user = await User.select(User.agency).where((User.id == assignee_id) & (User.active == True)).first()  # noqa: E712
        if user is None or user["agency"] != owner_agency_id:
            errors.append(
                {"field": "/assignee_id", "message": "Select someone in the owning agency, or no one"}
            )
    if due_date is None:
        errors.append({"field": "/due_date", "message": "Enter the date the action is due"})
    elif due_date < clock.today():
        errors.append({"field": "/due_date", "message": "The due date must be today or in the future"})
    elif far := far_date(due_date, DUE_WITHIN_YEARS, "due date"):
        errors.append({"field": "/due_date", "message": far})
    return errors


async def _minute_action_task(
    actor: Actor,
    meeting_id: int,
    item: dict[str, Any],
    text: str,
    owner_agency_id: int,
    assignee_id: int | None,
    due_date: dt.date,
    now: dt.datetime,
) -> int:
    """An action minuted: a task on the item's case, a line in the case's history, a notification; the task's id."""
    task = Task(
        case=item["case"],
        title=text[:200],
        description=text if len(text) > 200 else "",
        owner_agency=owner_agency_id,
        assignee=assignee_id,
        due_date=due_date,
        source="panel",
        meeting_id=meeting_id,
        agenda_item_id=item["id"],
        created_by=actor.id,
        created_at=now,
    )
    await task.save()
    task_id = task.id
    owner = await Agency.select(Agency.name).where(Agency.id == owner_agency_id).first()
    assert owner is not None  # a member agency, checked above; agencies are never deleted
    await CaseEvent.insert(
        CaseEvent(
            case=item["case"],
            kind="task",
            actor=actor.id,
            at=now,
            summary=f"Panel action for {owner['name']}: {text[:200]} (due {due_date:%-d %B %Y})",
            detail={"task_id": task_id, "meeting_id": meeting_id},
        )
    )
    from caseframe.core.notifications.service import case_reference, notify

    # the action's words stay on the case: the notification names only its reference and due date
    reference = await case_reference(item["case"])
    await notify(
        kind="panel_action",
        link=f"/cases/{item['case']}",
        case_id=item["case"],
        text=(
            f"Panel action assigned to {'you' if assignee_id else 'your agency'}: {reference}, "
            f"due {due_date:%-d %B %Y}"
        ),
        user_id=assignee_id,
        agency_id=None if assignee_id else owner_agency_id,
    )
    return task_id


async def minutes(meeting_id: int, *, after: int = 0, ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The meeting's minutes in the order written: those after ``after``, or just the entries ``ids``."""
    where = (Minute.meeting == meeting_id) & (Minute.id > after)
    if ids is not None:
        where &= Minute.id.is_in(ids or [0])
    rows = (
        await Minute.select(
            *Minute.all_columns(),
            Minute.author.name.as_alias("author_name"),
            Minute.item.title.as_alias("item_title"),
            Minute.item.case.as_alias("case_id"),
        )
        .where(where)
        .order_by(Minute.id)
    )
    if rows:
        tasks = {
            t["id"]: t
            for t in await Task.select(
                Task.id,
                Task.due_date,
                Task.owner_agency.name.as_alias("owner"),
                Task.assignee.name.as_alias("assignee"),
                Task.status,
            ).where(Task.id.is_in([r["task_id"] for r in rows if r["task_id"]] or [0]))
        }
        corrects = {
            r["superseded_by"]: r["id"]
            for r in await Minute.select(Minute.id, Minute.superseded_by).where(
                (Minute.meeting == meeting_id) & Minute.superseded_by.is_in([r["id"] for r in rows])
            )
        }
        for r in rows:
            r["corrects"] = corrects.get(r["id"])
            r["task"] = tasks.get(r["task_id"])
            r["kind_label"] = MINUTE_KINDS.get(r["kind"], r["kind"])
    return rows


async def readable_minutes(
    actor: Actor, rows: list[dict[str, Any]], cache: dict[int, bool] | None = None
) -> list[dict[str, Any]]:
    """Minutes (as :func:`minutes` reads them) as ``actor`` may read them: copies, ``visible`` saying whether their
    agency may see the item's case now, and the words and the item's title naming no case they may not see."""
    words = await redactor_for(
        actor, [r[k] for r in rows for k in ("text", "item_title")], [r["case_id"] for r in rows]
    )
    out = []
    for r in rows:
        visible = words.may_see(r["case_id"])
        if cache is not None and r["case_id"] is not None:
            cache[r["case_id"]] = visible
        out.append(words.texts(dict(r, visible=visible), ("text", "item_title"), "case_id"))
    return out


async def outstanding_actions(
    panel_id: int, *, exclude_meeting: int | None = None, viewer: Actor | None = None
) -> list[dict[str, Any]]:
    """Open actions from the panel's meetings, oldest due first, overdue flagged.

    For a ``viewer``, an action on a case their agency may not see (now: access is decided at every read)
    keeps only its due date: its text, case, owner and assignee are left out, as the minutes leave out
    an entry about such a case; ``visible`` says which is which."""
    meeting_ids = [
        m["id"]
        for m in await Meeting.select(Meeting.id).where(Meeting.panel == panel_id)
        if m["id"] != exclude_meeting
    ]
    if not meeting_ids:
        return []
    rows = (
        await Task.select(
            *Task.all_columns(),
            Task.case.reference.as_alias("reference"),
            Task.owner_agency.name.as_alias("owner_name"),
            Task.assignee.name.as_alias("assignee_name"),
        )
        .where(Task.meeting_id.is_in(meeting_ids) & (Task.status == "open"))
        .order_by(Task.due_date)
    )
    today = clock.today()
    words = (
        await redactor_for(
            viewer, [r[k] for r in rows for k in ("title", "description")], [r["case"] for r in rows]
        )
        if viewer is not None
        else NOTHING_HIDDEN
    )
    out = []
    for r in rows:
        r["overdue"] = bool(r["due_date"] and r["due_date"] < today)
        r["visible"] = viewer is None or words.may_see(r["case"])
        out.append(
            words.texts(r, ("title", "description"), "case")
            if r["visible"]
            else {"id": r["id"], "visible": False, "due_date": r["due_date"], "overdue": r["overdue"]}
        )
    return out


async def _see_cases(actor: Actor, case_ids: list[int | None], cache: dict[int, bool]) -> None:
    """Fill ``cache`` for many cases at once, as :func:`may_see_case` would one by one, in a fixed number of
    queries (``visible_among`` gives case_access's answer for a list)."""
    from caseframe.core.sharing.policy import visible_among

    wanted = {i for i in case_ids if i is not None and i not in cache}
    if wanted:
        seen = await visible_among(actor, wanted)
        cache.update({i: i in seen for i in wanted})


async def may_see_case(actor: Actor, case_id: int | None, cache: dict[int, bool]) -> bool:
    """Whether the actor's agency may see the case now (an entry about no case is for every reader)."""
    from caseframe.core.sharing.policy import case_access

    if case_id is None:
        return True
    if case_id not in cache:
        row = await Case.select(Case.id, Case.owning_agency, Case.area).where(Case.id == case_id).first()
        cache[case_id] = row is not None and await case_access(actor, row) is not None
    return cache[case_id]


#: the words of a guest attendee the chair typed (a guest has no account: its name is free text)
GUEST_WORDS = ("name", "organisation")


async def readable_attendees(reader: Actor, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attendee rows with each guest's name and organisation as ``reader`` may read them: the chair typed them, and
    they may name a case (and so its people) the reader may not see (core/sharing/redaction.py); one batch for the
    list. Changed in place; returned."""
    guests = [r for r in rows if r.get("kind") == "guest"]
    words = await redactor_for(reader, [r.get(k) for r in guests for k in GUEST_WORDS])
    for r in guests:
        words.texts(r, GUEST_WORDS)
    return rows


async def attendees(meeting_id: int, reader: Actor | None = None) -> list[dict[str, Any]]:
    """The meeting's attendees, in the order they were added; for a ``reader``, the guests' words as they may
    read them (:func:`readable_attendees`)."""
    rows = (
        await MeetingAttendee.select(
            *MeetingAttendee.all_columns(), MeetingAttendee.agency.name.as_alias("agency_name")
        )
        .where(MeetingAttendee.meeting == meeting_id)
        .order_by(MeetingAttendee.id)
    )
    return rows if reader is None else await readable_attendees(reader, rows)


async def meetings_of(panel_id: int) -> list[dict[str, Any]]:
    return (
        await Meeting.select().where(Meeting.panel == panel_id).order_by(Meeting.starts_at, ascending=False)
    )


async def member_users(panel: dict[str, Any]) -> list[dict[str, Any]]:
    return (
        await User.select(User.id, User.name, User.agency.name.as_alias("agency_name"), User.agency)
        .where(User.agency.is_in(sorted(panel["members"])) & (User.active == True))
        .order_by(User.name)
    )  # noqa: E712


async def case_references(case_ids: list[int]) -> dict[int, str]:
    return {
        r["id"]: r["reference"]
        for r in await Case.select(Case.id, Case.reference).where(Case.id.is_in(case_ids or [0]))
    }


async def active_agencies() -> list[dict[str, Any]]:
    """The active agencies (id, name, by name): the choices for a panel's members, chair and actions' owners."""
    return await Agency.select(Agency.id, Agency.name).where(Agency.active == True).order_by(Agency.name)  # noqa: E712


async def member_agencies(panel: dict[str, Any]) -> list[dict[str, Any]]:
    """The panel's active member agencies (id, name, by name): those an action can be given to."""
    return (
        await Agency.select(Agency.id, Agency.name)
        .where(Agency.id.is_in(sorted(panel["members"])) & (Agency.active == True))  # noqa: E712
        .order_by(Agency.name)
    )


async def listed_cases(actor: Actor, panel: dict[str, Any]) -> list[dict[str, Any]]:
    """The panel's open case list as the actor may read it: each entry's reference and owning agency's name only
    where ``visible``. The chair's agency runs the list (but for cases retention withholds from it); a member
    reads only which of its cases it may see."""
    from caseframe.core.retention.service import withheld_from

    # a foreign key's columns are reached through it (Piccolo's typing does not say so)
    listed = (
        await PanelCase.select(
            *PanelCase.all_columns(),
            PanelCase.case.reference.as_alias("reference"),
            PanelCase.case.owning_agency.name.as_alias("owner"),  # type: ignore[union-attr]
            PanelCase.case.closed_at.as_alias("case_closed_at"),
        )
        .where((PanelCase.panel == panel["id"]) & PanelCase.closed_at.is_null())
        .order_by(PanelCase.id)
    )
    is_chair = is_chair_of(actor, panel)
    hidden = (await withheld_from(actor)).hidden
    # one decision for the whole list (a fixed number of queries), case_access's answer for each case
    seen: dict[int, bool] = {}
    await _see_cases(actor, [c["case"] for c in listed if not (is_chair and c["case"] not in hidden)], seen)
    for c in listed:
        c["visible"] = (is_chair and c["case"] not in hidden) or seen.get(c["case"], False)
        if not c["visible"]:
            c["reference"] = c["owner"] = ""
            c["case_closed_at"] = None  # nothing said of a case the reader may not see
    return listed


async def meeting_status(meeting_id: int) -> str:
    """The meeting's status now (``closed`` for a meeting that is gone), for its live followers."""
    row = await Meeting.select(Meeting.status).where(Meeting.id == meeting_id).first()
    return row["status"] if row else "closed"
