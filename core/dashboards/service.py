"""The partnership's figures: what an agency's dashboard and a panel's partnership view count, and how.

Every figure is a :class:`Figure`: a title, a table (its rows are what the chart draws and the CSV holds)
and the series the chart shows. Nothing here writes; the pages audit each view and export.

An agency's dashboard counts its own cases only. A panel's partnership view counts the cases of the
panel's member agencies in the panel's areas that the viewer's agency may see now (as the case pages
decide: owner, live share, or panel access under a live ISA), so a count never reveals a case the
viewer could not open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from piccolo.custom_types import Combinable

from caseframe.core import clock, permissions
from caseframe.core.agencies.tables import Agency
from caseframe.core.auth.actor import Actor
from caseframe.core.auth.tables import User
from caseframe.core.cases.tables import Case
from caseframe.core.context import Context
from caseframe.core.panels.tables import Meeting, Panel
from caseframe.core.referrals.tables import Referral
from caseframe.core.retention.service import inactive_case_ids
from caseframe.core.sharing.policy import visible_among, visible_case_ids
from caseframe.core.sharing.redaction import redactor_for
from caseframe.core.tasks.tables import Task

#: who reads governance figures (the people who answer for a team's, an agency's or a panel's work): the
#: dashboard.read action of core/permissions.py

#: the longest date range a dashboard draws month by month
MAX_MONTHS = 36
#: the dates a filter may name: far enough either way for any real record, well inside the calendar
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2199, 12, 31)

REFERRAL_OUTCOMES = {
    "open": "Waiting",
    "info_requested": "More information asked for",
    "accepted": "Accepted (case opened)",
    "linked": "Accepted (linked to a case)",
    "declined": "Declined",
}


@dataclass(frozen=True)
class Filters:
    area: str = ""
    start: dt.date = dt.date.min
    end: dt.date = dt.date.max

    def as_query(self) -> dict[str, str]:
        return {"area": self.area, "from": self.start.isoformat(), "to": self.end.isoformat()}


@dataclass
class Figure:
    key: str
    title: str
    #: what the figure counts, in one sentence shown under the title
    description: str
    columns: list[str]
    rows: list[list[Any]]
    #: which columns (by index) the chart draws as bars; the first column labels each bar group
    series: list[int] = field(default_factory=lambda: [1])
    #: a sentence shown when there is nothing to count
    empty: str = "Nothing to count for these filters."

    @property
    def max_value(self) -> int:
        return max([int(r[i] or 0) for r in self.rows for i in self.series] or [0])


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out, month = [], _month_start(start)
    while month <= end:
        out.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return out


def parse_filters(
    params: Any, area_choices: dict[str, str]
) -> tuple[Filters, dict[str, str], list[dict[str, str]]]:
    """Filters from a query string: the values to show again and, for anything unreadable, an error.

    The default range is the last 12 months, to today."""
    today = clock.today()
    values = {
        "area": (params.get("area") or "").strip()[:60],
        "from": (params.get("from") or "").strip()[:20],
        "to": (params.get("to") or "").strip()[:20],
    }
    errors: list[dict[str, str]] = []
    if values["area"] and values["area"] not in area_choices:
        errors.append({"field": "/area", "message": "Choose an area from the list"})
    dates: dict[str, dt.date] = {}
    for key, label in (("from", "start"), ("to", "end")):
        if not values[key]:
            continue
        try:
            day = dt.date.fromisoformat(values[key])
        except ValueError:
            errors.append(
                {"field": f"/{key}", "message": f"Enter the {label} date as a date, like 2026-01-31"}
            )
            continue
        if not EARLIEST <= day <= LATEST:
            # 9999-12-31 or 0001-01-01: the month arithmetic would run off the calendar (a 500)
            errors.append(
                {
                    "field": f"/{key}",
                    "message": f"The {label} date must be between {EARLIEST.year} and {LATEST.year}",
                }
            )
            continue
        dates[key] = day
    end = dates.get("to", today)
    start = dates.get("from", _month_start(end.replace(day=1) - dt.timedelta(days=330)))
    if not errors and start > end:
        errors.append({"field": "/from", "message": "The start date must be on or before the end date"})
    elif not errors and len(_months(start, end)) > MAX_MONTHS:
        errors.append({"field": "/from", "message": f"Choose a range of {MAX_MONTHS} months or less"})
    values = {
        "area": values["area"],
        "from": values["from"] or start.isoformat(),
        "to": values["to"] or end.isoformat(),
    }
    return Filters(area=values["area"] if not errors else "", start=start, end=end), values, errors


def _in_range(moment: dt.datetime | None, filters: Filters) -> bool:
    return moment is not None and filters.start <= moment.date() <= filters.end


def _state_label(ctx: Context, area_slug: str, state: str) -> str:
    area = ctx.areas.get(area_slug)
    return area.workflow.label(state) if area is not None else state


def _area_title(ctx: Context, slug: str) -> str:
    area = ctx.areas.get(slug)
    return area.title if area else slug


def _open_by_state(ctx: Context, cases: list[dict[str, Any]]) -> Figure:
    counts: dict[tuple[str, str], int] = {}
    for c in cases:
        if c["closed_at"] is None:
            key = (c["area"], c["state"])
            counts[key] = counts.get(key, 0) + 1
    rows = [[f"{_area_title(ctx, a)}: {_state_label(ctx, a, s)}", n] for (a, s), n in sorted(counts.items())]
    return Figure(
        "open-by-state",
        "Open cases by state",
        "Cases open today, by area and the state they are in.",
        ["Area and state", "Open cases"],
        rows,
        empty="No open cases.",
    )


def _new_and_closed(cases: list[dict[str, Any]], filters: Filters) -> Figure:
    months = _months(filters.start, filters.end)
    opened = {m: 0 for m in months}
    closed = {m: 0 for m in months}
    for c in cases:
        if _in_range(c["opened_at"], filters):
            opened[_month_start(c["opened_at"].date())] += 1
        if _in_range(c["closed_at"], filters):
            closed[_month_start(c["closed_at"].date())] += 1
    rows = [[m.strftime("%b %Y"), opened[m], closed[m]] for m in months]
    return Figure(
        "new-and-closed",
        "New and closed cases by month",
        "Cases opened and cases closed in each month of the date range.",
        ["Month", "Opened", "Closed"],
        rows,
        series=[1, 2],
    )


def _overdue_tasks(ctx: Context, tasks: list[dict[str, Any]], case_area: dict[int, str]) -> Figure:
    today = clock.today()
    counts: dict[str, list[int]] = {}
    for t in tasks:
        label = _area_title(ctx, case_area[t["case"]]) if t["case"] in case_area else "Not about a case"
        row = counts.setdefault(label, [0, 0])
        row[0] += 1
        if t["due_date"] is not None and t["due_date"] < today:
            row[1] += 1
    rows = [[label, n, overdue] for label, (n, overdue) in sorted(counts.items())]
    return Figure(
        "tasks",
        "Open and overdue tasks",
        "Tasks still open today, and how many of them are past their due date.",
        ["Area", "Open tasks", "Overdue"],
        rows,
        series=[1, 2],
        empty="No open tasks.",
    )


_REFERRAL_COLUMNS = (
    Referral.status,
    Referral.source_area,
    Referral.created_at,
    Referral.from_case,
    Referral.resulting_case,
)


def _active_referrals(rows: list[dict[str, Any]], inactive: frozenset[int]) -> list[dict[str, Any]]:
    """Referrals no restricted or erased case made or received: retention counts neither the case nor what it did."""
    return [r for r in rows if r["from_case"] not in inactive and r["resulting_case"] not in inactive]


def _referrals_by_outcome(referrals: list[dict[str, Any]], title: str, description: str, key: str) -> Figure:
    counts = {status: 0 for status in REFERRAL_OUTCOMES}
    for r in referrals:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    rows = [[REFERRAL_OUTCOMES.get(s, s.replace("_", " ").capitalize()), n] for s, n in counts.items()]
    if not referrals:
        rows = []
    return Figure(
        key, title, description, ["Outcome", "Referrals"], rows, empty="No referrals in this date range."
    )


def _panel_actions(
    actions: list[dict[str, Any]], panel_names: dict[int, str], meeting_panel: dict[int, int]
) -> Figure:
    today = clock.today()
    counts: dict[str, list[int]] = {}
    for a in actions:
        label = panel_names.get(meeting_panel.get(a["meeting_id"] or 0, 0), "A panel")
        row = counts.setdefault(label, [0, 0])
        row[0] += 1
        if a["due_date"] is not None and a["due_date"] < today:
            row[1] += 1
    rows = [[label, n, overdue] for label, (n, overdue) in sorted(counts.items())]
    return Figure(
        "panel-actions",
        "Panel actions outstanding",
        "Actions agreed at panel meetings that are not done yet, and how many are overdue.",
        ["Panel", "Outstanding", "Overdue"],
        rows,
        series=[1, 2],
        empty="No panel actions outstanding.",
    )


_CASE_COLUMNS = (Case.id, Case.area, Case.state, Case.owning_agency, Case.opened_at, Case.closed_at)


async def _panel_context(
    actions: list[dict[str, Any]], actor: Actor
) -> tuple[dict[int, str], dict[int, int]]:
    """The names of the panels the actions come from (as ``actor`` may read them: a name names no case they may not
    see), and each meeting's panel."""
    meeting_ids = sorted({a["meeting_id"] for a in actions if a["meeting_id"]})
    if not meeting_ids:
        return {}, {}
    meetings = await Meeting.select(
        Meeting.id, Meeting.panel, Meeting.panel.name.as_alias("panel_name")
    ).where(Meeting.id.is_in(meeting_ids))
    words = await redactor_for(actor, [m["panel_name"] for m in meetings])
    return (
        {m["panel"]: words.text(m["panel_name"]) for m in meetings},
        {m["id"]: m["panel"] for m in meetings},
    )


async def agency_figures(ctx: Context, actor: Actor, filters: Filters) -> list[Figure]:
    """The figures of the actor's own agency: its cases, tasks, referrals and panel actions."""
    where: Combinable = Case.owning_agency == actor.agency_id
    if filters.area:
        where &= Case.area == filters.area
    # a restricted case is kept, not processed (UK GDPR Art. 18), and an erased one is gone: neither is counted,
    # nor a task on either, even for the local admin who may still open a restricted one
    inactive = await inactive_case_ids()
    cases = [c for c in await Case.select(*_CASE_COLUMNS).where(where) if c["id"] not in inactive]
    case_area = {c["id"]: c["area"] for c in cases}
    tasks = [
        t
        for t in await Task.select(Task.case, Task.due_date, Task.source, Task.meeting_id).where(
            (Task.owner_agency == actor.agency_id) & (Task.status == "open")
        )
        if t["case"] not in inactive
    ]
    if filters.area:
        tasks = [t for t in tasks if case_area.get(t["case"]) == filters.area]
    # own cases' areas are known; a panel action on another agency's case needs its area for the filter
    other_ids = sorted({t["case"] for t in tasks if t["case"] and t["case"] not in case_area})
    if other_ids:
        case_area.update(
            {
                c["id"]: c["area"]
                for c in await Case.select(Case.id, Case.area).where(Case.id.is_in(other_ids))
            }
        )
    if filters.area:
        tasks = [t for t in tasks if case_area.get(t["case"]) == filters.area]
    sent = await Referral.select(*_REFERRAL_COLUMNS).where(Referral.raised_by_agency == actor.agency_id)
    # the agency's users first, then their decisions by index (a join on the decider's agency read every referral)
    deciders = [u["id"] for u in await User.select(User.id).where(User.agency == actor.agency_id)]
    decided = await Referral.select(*_REFERRAL_COLUMNS).where(Referral.decided_by.is_in(deciders or [0]))

    def referrals_in(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            r
            for r in _active_referrals(rows, inactive)
            if _in_range(r["created_at"], filters) and (not filters.area or r["source_area"] == filters.area)
        ]

    actions = [t for t in tasks if t["source"] == "panel"]
    panel_names, meeting_panel = await _panel_context(actions, actor)
    return [
        _open_by_state(ctx, cases),
        _new_and_closed(cases, filters),
        _overdue_tasks(ctx, tasks, case_area),
        _referrals_by_outcome(
            referrals_in(sent),
            "Referrals your agency made, by outcome",
            "Referrals raised by your agency's cases and staff in the date range, by where they stand now.",
            "referrals-sent",
        ),
        _referrals_by_outcome(
            referrals_in(decided),
            "Referrals your agency decided, by outcome",
            "Referrals made in the date range that your agency's staff accepted, linked or declined.",
            "referrals-decided",
        ),
        _panel_actions(actions, panel_names, meeting_panel),
    ]


async def chaired_panels(actor: Actor) -> list[dict[str, Any]]:
    """Panels whose partnership view the actor may open: a panel chair of the panel's chair agency."""
    if not permissions.can(actor, "dashboard.partnership"):
        return []
    rows = (
        await Panel.select(Panel.id, Panel.name, Panel.slug, Panel.member_agencies, Panel.areas)
        .where((Panel.chair_agency == actor.agency_id) & (Panel.active == True))
        .order_by(Panel.name)
        .output(  # noqa: E712
            load_json=True
        )
    )
    words = await redactor_for(actor, [r["name"] for r in rows])
    return [words.texts(r, ("name",)) for r in rows]


async def partnership_figures(
    ctx: Context, actor: Actor, panel: dict[str, Any], filters: Filters
) -> list[Figure]:
    """A panel's figures across its member agencies, counting only the cases the actor's agency may see."""
    members = sorted(set(panel["member_agencies"] or []) | {actor.agency_id})
    areas = [a for a in (panel["areas"] or []) if not filters.area or a == filters.area]
    if filters.area and filters.area not in (panel["areas"] or []):
        areas = []
    cases = await Case.select(*_CASE_COLUMNS).where(
        Case.owning_agency.is_in(members) & Case.area.is_in(areas or ["-"])
    )
    visible = await visible_case_ids(actor, cases) - await inactive_case_ids()
    cases = [c for c in cases if c["id"] in visible]
    names = {
        a["id"]: a["name"]
        for a in await Agency.select(Agency.id, Agency.name).where(Agency.id.is_in(members))
    }
    by_agency: dict[str, list[int]] = {}
    for c in cases:
        row = by_agency.setdefault(names.get(c["owning_agency"], "An agency"), [0, 0])
        if c["closed_at"] is None:
            row[0] += 1
        if _in_range(c["opened_at"], filters):
            row[1] += 1
    agency_rows = [[name, open_, new] for name, (open_, new) in sorted(by_agency.items())]
    meeting_ids = [m["id"] for m in await Meeting.select(Meeting.id).where(Meeting.panel == panel["id"])]
    actions = await Task.select(Task.case, Task.due_date, Task.meeting_id, Task.owner_agency).where(
        Task.meeting_id.is_in(meeting_ids or [-1]) & (Task.status == "open") & (Task.source == "panel")
    )
    seen_actions = await visible_among(actor, [a["case"] for a in actions]) - await inactive_case_ids()
    actions = [a for a in actions if a["case"] in seen_actions]
    owner_names = {
        a["id"]: a["name"]
        for a in await Agency.select(Agency.id, Agency.name).where(
            Agency.id.is_in(sorted({a["owner_agency"] for a in actions}) or [-1])
        )
    }
    today = clock.today()
    by_owner: dict[str, list[int]] = {}
    for a in actions:
        row = by_owner.setdefault(owner_names.get(a["owner_agency"], "An agency"), [0, 0])
        row[0] += 1
        if a["due_date"] is not None and a["due_date"] < today:
            row[1] += 1
    referrals = await Referral.select(*_REFERRAL_COLUMNS).where(
        (Referral.target_kind == "panel") & (Referral.target == panel["slug"])
    )
    referrals = [
        r
        for r in _active_referrals(referrals, await inactive_case_ids())
        if _in_range(r["created_at"], filters) and (not filters.area or r["source_area"] == filters.area)
    ]
    return [
        Figure(
            "by-agency",
            "Cases by member agency",
            "Cases of each member agency in the panel's areas that your agency may see: open today, and opened in the date range.",
            ["Agency", "Open cases", "Opened in range"],
            agency_rows,
            series=[1, 2],
            empty="No cases your agency may see.",
        ),
        _open_by_state(ctx, cases),
        _new_and_closed(cases, filters),
        _referrals_by_outcome(
            referrals,
            "Referrals to the panel, by outcome",
            "Referrals made to this panel in the date range, by where they stand now.",
            "referrals",
        ),
        Figure(
            "panel-actions",
            "Panel actions outstanding, by owning agency",
            "Open actions from this panel's meetings on cases your agency may see, and how many are overdue.",
            ["Agency", "Outstanding", "Overdue"],
            [[name, n, overdue] for name, (n, overdue) in sorted(by_owner.items())],
            series=[1, 2],
            empty="No panel actions outstanding.",
        ),
    ]
