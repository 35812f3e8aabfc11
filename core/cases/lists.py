"""An area's case list as its pages show it: filters read from a query or a posted form, a page of cases, the
CSV export's rows and a bulk reassignment's candidates. Always the actor's own agency's cases, without those
retention withholds from them; every read that names cases is audited here, with the read."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from piccolo.columns.combination import WhereRaw

from caseframe.core import clock
from caseframe.core.audit.service import record_read
from caseframe.core.auth.actor import Actor
from caseframe.core.auth.tables import User
from caseframe.core.cache import register as register_cache
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import Case
from caseframe.core.context import Context
from caseframe.core.db import MAX_ID
from caseframe.core.numbers import page_number, whole_number
from caseframe.core.retention.service import withheld_from
from caseframe.core.sharing.policy import Access
from caseframe.core.tasks.tables import Task

PAGE_SIZE = 25
#: most rows one area export holds; the rows are streamed, a few hundred at a time, never held whole
EXPORT_LIMIT = 10000
#: the list's orders (the newest case first among equals): a column of cf_case and its direction
SORTS = {
    "opened": "opened_at DESC",
    "updated": "updated_at DESC",
    "reference": "reference ASC",
    "risk": "risk_level DESC",
}


def _order(filters: dict[str, str]) -> str:
    return f"{SORTS[filters['sort'] or 'opened']}, id DESC"


_COLLEAGUES: dict[int, tuple[float, list[dict[str, Any]]]] = {}
register_cache(_COLLEAGUES.clear)


async def colleagues(actor: Actor) -> list[dict[str, Any]]:
    """Active users of the actor's agency, for naming task owners and offering assignees; kept for ten seconds.

    Only a display list: assigning a task checks the assignee again in the service.
    """
    agency_id = actor.agency_id
    now = time.monotonic()
    hit = _COLLEAGUES.get(agency_id)
    if hit and hit[0] > now:
        return hit[1]
    users = await User.select(User.id, User.name).where((User.agency == agency_id) & (User.active == True))  # noqa: E712
    _COLLEAGUES[agency_id] = (now + 10.0, users)
    return users


def _many(value: Any) -> list[Any]:
    """A posted field that may be repeated (checkboxes) as a list."""
    if value in (None, ""):
        return []
    return value if isinstance(value, list) else [value]


@dataclass
class Where:
    """The condition of a list's query as SQL (``{}`` for each value) and its values: sent as it is in the list's
    own statements, where Piccolo's building of the same query cost more CPU than the statement itself, and as a
    ``WhereRaw`` in the ORM's (``orm``). Columns are cf_case's, unqualified."""

    sql: list[str]
    args: list[Any]

    def add(self, sql: str, *args: Any) -> None:
        self.sql.append(sql)
        self.args.extend(args)

    def text(self) -> str:
        return " AND ".join(self.sql)

    def orm(self) -> WhereRaw:
        return WhereRaw(self.text(), *self.args)


async def _agency_cases(area: Any, actor: Actor, for_change: bool) -> Where:
    """The actor's agency's cases in the area that a list shows, or that a bulk change may take."""
    where = Where(["area = {}", "owning_agency = {}"], [area.slug, actor.agency_id])
    # retention's rule for lists: a case withheld from the reader is in no list, count or export of theirs (its
    # own local admin sees a restricted one, marked); a bulk change never takes a restricted or erased case
    withheld = await withheld_from(actor)
    left_out = sorted(withheld.inactive if for_change else withheld.hidden)
    if left_out:
        where.add(f"id NOT IN ({', '.join('{}' for _ in left_out)})", *left_out)
    if for_change:  # nor a closed one: it keeps its lead officer
        where.add("closed_at IS NULL")
    return where


#: cases with an open task of the agency past its due date (the list's "only overdue" box)
_OVERDUE = (
    'id IN (SELECT t."case" FROM cf_task t WHERE t.status = {} AND t.due_date < {} AND t.owner_agency = {})'
)


async def _area_query(
    area: Any, actor: Actor, values: Any, *, for_change: bool = False
) -> tuple[Where, dict[str, str], list[dict[str, Any]]]:
    """The area list's filters from a query or posted form: the query's condition (always the actor's agency's
    cases), the filters as read (anything unreadable dropped), and the agency's users (``cases.agency_users``: the
    lead officers to filter by)."""

    def value(name: str) -> str:
        raw = values.get(name, "")
        return raw if isinstance(raw, str) else ""

    where = await _agency_cases(area, actor, for_change)
    filters = {k: "" for k in ("state", "risk", "owner", "overdue", "sort")}
    state = value("state")
    if state in area.workflow.states:
        where.add("state = {}", state)
        filters["state"] = state
    elif state == "open":
        where.add("closed_at IS NULL")
        filters["state"] = state
    risk = value("risk")
    if risk in area.risk_levels:
        where.add("risk_level = {}", risk)
        filters["risk"] = risk
    leads = await cases.agency_users(actor.agency_id)
    owner = value("owner")
    if whole_number(owner) == actor.id:  # one's own id (after handing cases to oneself) is the "Me" choice
        owner = "me"
    if owner == "me":
        where.add("lead_officer = {}", actor.id)
        filters["owner"] = owner
    elif owner == "none":
        where.add("lead_officer IS NULL")
        filters["owner"] = owner
    elif whole_number(owner) in {u["id"] for u in leads}:
        where.add("lead_officer = {}", whole_number(owner))
        filters["owner"] = str(whole_number(owner))
    if value("overdue") == "yes":
        where.add(_OVERDUE, "open", clock.today(), actor.agency_id)
        filters["overdue"] = "yes"
    if value("sort") in SORTS:
        filters["sort"] = value("sort")
    return where, filters, leads


async def area_list(ctx: Context, actor: Actor, area: Any, values: Any) -> dict[str, Any]:
    """One page of the area's list (filtered, sorted, PAGE_SIZE a page) as the page shows it: the cases with
    their subjects and lead officer's name, the total, the page's number and count, the filters as read and the
    lead officers to filter by. The page names each case's subjects, so it is recorded as read."""
    where, filters, leads = await _area_query(area, actor, values)
    condition = where.text()
    total = (await Case.raw(f"SELECT COUNT(*) AS count FROM cf_case WHERE {condition}", *where.args))[0][
        "count"
    ]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    raw_page = values.get("page") if isinstance(values.get("page"), str) else None
    number = page_number(raw_page, pages)
    rows = await Case.raw(
        f"SELECT * FROM cf_case WHERE {condition} ORDER BY {_order(filters)} LIMIT {{}} OFFSET {{}}",
        *where.args,
        PAGE_SIZE,
        (number - 1) * PAGE_SIZE,
    )
    # the agency's own cases
    items = [cases.case_dict(ctx, cases.case_row(r), Access.owner()) for r in rows]
    subjects = await cases.subjects_of_cases([item["id"] for item in items])
    names = {u["id"]: u["name"] for u in leads}
    for item in items:
        item["subjects"] = subjects.get(item["id"], [])
        item["lead_name"] = names.get(item["lead_officer_id"], "")
    if items:  # the list names each case's subjects: recorded once for the page
        await record_read(
            "case.list",
            actor,
            "case",
            detail={"ids": [i["id"] for i in items], "area": area.slug, "page": number},
        )
    return {
        "items": items,
        "total": total,
        "number": number,
        "pages": pages,
        "filters": filters,
        "leads": leads,
    }


async def export_ids(actor: Actor, area: Any, values: Any) -> tuple[list[int], dict[str, str]]:
    """The ids of the cases the list's filters and sort hold (at most EXPORT_LIMIT), in its order, and the
    filters; the export's audit event names every case it holds, written before the first row leaves."""
    where, filters, _ = await _area_query(area, actor, values)
    ids = [
        r["id"]
        for r in await Case.raw(
            f"SELECT id FROM cf_case WHERE {where.text()} ORDER BY {_order(filters)} LIMIT {{}}",
            *where.args,
            EXPORT_LIMIT,
        )
    ]
    await record_read(
        "case.export",
        actor,
        "case",
        detail={
            "area": area.slug,
            "filters": {k: v for k, v in filters.items() if v},
            "rows": len(ids),
            "ids": ids,
        },
    )
    return ids, filters


async def export_rows(
    actor: Actor, ids: list[int]
) -> tuple[dict[int, dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """The export's columns for a chunk of ``export_ids`` (only the actor's agency's cases), and their subjects."""
    rows = {
        r["id"]: r
        for r in await Case.select(
            Case.id,
            Case.reference,
            Case.state,
            Case.risk_level,
            Case.lead_officer,
            Case.opened_at,
            Case.updated_at,
        ).where(Case.id.is_in(ids or [0]) & (Case.owning_agency == actor.agency_id))
    }
    return rows, await cases.subjects_of_cases(ids)


async def reassign_candidates(
    actor: Actor, area: Any, data: Any
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The cases a bulk reassignment would take (id, reference, state, version, lead officer; by reference):
    every case the filters match (one more than MAX_BULK_REASSIGN at most, to tell there are too many) when the
    form says ``scope=all`` (never a closed one then), else the ticked ones of the actor's agency in the area
    (``closed_at`` says which are closed: the page refuses those); never a restricted or erased case. With the
    filters as read."""
    where, filters, _ = await _area_query(area, actor, data, for_change=True)
    columns = (Case.id, Case.reference, Case.state, Case.version, Case.lead_officer, Case.closed_at)
    if data.get("scope") == "all":
        rows = (
            await Case.select(*columns)
            .where(where.orm())
            .order_by(Case.reference)
            .limit(cases.MAX_BULK_REASSIGN + 1)
        )
    else:
        ids = [i for i in (whole_number(v) for v in _many(data.get("case"))) if i is not None and i <= MAX_ID]
        rows = (
            await Case.select(*columns)
            .where(
                Case.id.is_in(ids or [0]) & (Case.owning_agency == actor.agency_id) & (Case.area == area.slug)
            )
            .order_by(Case.reference)
        )
        inactive = (await withheld_from(actor)).inactive
        rows = [r for r in rows if r["id"] not in inactive]
    return rows, filters


async def tasks_to_hand_over(actor: Actor, rows: list[dict[str, Any]]) -> dict[int, int]:
    """How many open tasks of each case's lead officer would be handed over with it (as the service counts)."""
    out: dict[int, int] = {}
    for row in rows:
        if not row["lead_officer"]:
            continue
        out[row["id"]] = await Task.count().where(
            (Task.case == row["id"])
            & (Task.owner_agency == actor.agency_id)
            & (Task.status == "open")
            & (
                (Task.assignee == row["lead_officer"])
                | (Task.assignee.is_null() & (Task.created_by == row["lead_officer"]))
            )
        )
    return out
