"""My work, the caseworker's home page: their open cases, their and their team's tasks, the cases they viewed
lately, the referrals waiting for their agency and the cases shared with it; each list without what retention
withholds from the reader."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.service import case_dict
from caseframe.core.cases.tables import Case
from caseframe.core.context import Context
from caseframe.core.db.engine import quick_reads
from caseframe.core.referrals.queries import waiting_for
from caseframe.core.retention.service import withheld_from
from caseframe.core.sharing.policy import Access
from caseframe.core.sharing.redaction import redactor_for
from caseframe.core.tasks.service import task_dict
from caseframe.core.tasks.tables import Task

# My work is the page every caseworker opens most. Its reads are fixed statements written out once: building them
# through the ORM on every load cost more CPU than SQLite took to answer them. Each keeps the condition the ORM form
# had (the caller's agency on every case and task read). The cases of its three lists come in one statement (each
# list a branch of a UNION ALL, numbered in its own order), and the tasks with what the redactor needs of their
# cases: a statement costs the worker more CPU than the rows it brings.
_MY_CASES = (
    "SELECT 'mine' AS cf_list, ROW_NUMBER() OVER (ORDER BY updated_at DESC) AS cf_rank, c.* FROM cf_case c "
    "WHERE lead_officer = {} AND closed_at IS NULL AND owning_agency = {} ORDER BY updated_at DESC LIMIT 50"
)
_TASKS = (
    "SELECT t.*, c.id AS case_found, c.reference AS reference, c.owning_agency AS case_agency, "
    "c.area AS case_area, u.name AS assignee_name FROM cf_task t "
    'LEFT JOIN cf_case c ON c.id = t."case" LEFT JOIN cf_user u ON u.id = t.assignee '
    "WHERE t.owner_agency = {} AND t.status = 'open' ORDER BY t.due_date LIMIT 100"
)
# the user's last 50 case views, from the partial index of case views by viewer, newest first (migration
# 2026-12-06T20:30:00)
_VIEWED = "SELECT id, object_id FROM cf_audit WHERE actor_id = {} AND action = 'case.view' ORDER BY id DESC LIMIT 50"
# of those, the 5 cases viewed last that retention does not withhold from the reader ({withheld}), the agency's own
_RECENT = (
    "SELECT 'recent' AS cf_list, v.cf_rank, c.* FROM (SELECT object_id, ROW_NUMBER() OVER (ORDER BY MAX(id) DESC) "
    f"AS cf_rank FROM ({_VIEWED}) views {{withheld}}GROUP BY object_id ORDER BY MAX(id) DESC LIMIT 5) v "
    "JOIN cf_case c ON c.id = v.object_id WHERE c.owning_agency = {}"
)
# cases shared with the agency under an agreement live today: the 200 most recent shares' cases (by case number),
# the 20 most recently updated of them
_SHARED = (
    "SELECT 'shared' AS cf_list, ROW_NUMBER() OVER (ORDER BY updated_at DESC) AS cf_rank, c.* FROM cf_case c "
    'WHERE c.id IN (SELECT DISTINCT s."case" FROM cf_case_share s '
    "JOIN cf_isa i ON i.id = s.isa WHERE s.agency = {} AND s.revoked_at IS NULL AND i.starts_on <= {} "
    'AND i.ends_on >= {} ORDER BY s."case" DESC LIMIT 200) ORDER BY updated_at DESC LIMIT 20'
)


def _cases_sql(withheld: frozenset[int]) -> str:
    """The three lists' cases in one statement: its arguments are the user and the agency (their cases), the
    agency and today twice (shared), the user, the withheld cases and the agency (viewed lately)."""
    kept = (
        f"WHERE object_id IS NULL OR object_id NOT IN ({', '.join('{}' for _ in withheld)}) "
        if withheld
        else ""
    )
    return " UNION ALL ".join(
        f"SELECT * FROM ({sql}) {name}"
        for name, sql in (
            ("mine", _MY_CASES),
            ("shared", _SHARED),
            ("recent", _RECENT.replace("{withheld}", kept)),
        )
    )


def _answers_loaded(rows: list[dict]) -> list[dict]:
    for row in rows:
        if isinstance(row["data"], str):
            row["data"] = json.loads(row["data"])
    return rows


async def my_work(ctx: Context, actor: Actor) -> dict[str, Any]:
    """What the home page shows the actor: ``cases`` they lead, ``my_tasks`` and ``team_tasks``, ``recent``
    (cases they viewed), ``referrals`` waiting, ``shared`` (by reference), ``today`` and ``overdue``; for a reader
    of their agency's restricted cases (a local admin), ``restricted_cases``, which the page marks."""
    with quick_reads():  # indexed lookups, each list bounded
        return await _my_work(ctx, actor)


async def _my_work(ctx: Context, actor: Actor) -> dict[str, Any]:
    agency, today = actor.agency_id, clock.today()
    # retention's rule for every list: a case it withholds from the reader is in none of them (a restricted one
    # stays in its own local admin's, marked), and a task on a restricted or erased case is not to be worked.
    # Read first: the cases viewed lately are chosen without those it withholds, in the statement
    withheld = await withheld_from(actor)
    # the other reads do not depend on one another: they run together
    case_rows, tasks, referrals = await asyncio.gather(
        Case.raw(
            _cases_sql(withheld.hidden),
            actor.id,
            agency,
            agency,
            today,
            today,
            actor.id,
            *sorted(withheld.hidden),
            agency,
        ),
        Task.raw(_TASKS, agency),
        waiting_for(actor, ctx=ctx, withheld=withheld),
    )
    lists: dict[str, list[dict]] = {"mine": [], "shared": [], "recent": []}
    for row in sorted(case_rows, key=lambda r: r["cf_rank"]):
        lists[row["cf_list"]].append(row)
    my_cases = [r for r in lists["mine"] if withheld.keep(r["id"])]
    shared_rows = [r for r in lists["shared"] if withheld.keep(r["id"])]
    tasks = [t for t in tasks if t["case"] not in withheld.inactive]
    referrals = [r for r in referrals if withheld.keep(r.get("from_case"))]
    # a task on a case the agency can no longer see (its own panel action after an ISA ended) keeps its
    # words but not the case's reference, a link to it or its people; no task's words name a case the reader
    # may not see (core/sharing/redaction.py). The tasks' cases came with them.
    words = await redactor_for(
        actor,
        [t[k] for t in tasks for k in ("title", "description")],
        [t["case"] for t in tasks],
        withheld=withheld,
        cases=[
            {
                "id": t["case_found"],
                "reference": t["reference"],
                "owning_agency": t["case_agency"],
                "area": t["case_area"],
            }
            for t in tasks
            if t["case_found"] is not None
        ],
    )
    rows = []
    for t in tasks:
        seen = words.may_see(t["case"])
        item = task_dict(t)
        if not (seen and words.names_nothing_hidden):  # a text names a hidden case, or the task is on one
            words.texts(item, ("title", "description"), "case_id")
        item["reference"] = t["reference"] if seen else None
        item["case_seen"] = seen
        item["assignee_name"] = t["assignee_name"]
        item["mine"] = t["assignee"] == actor.id or (t["assignee"] is None and t["created_by"] == actor.id)
        rows.append(item)
    mine = [t for t in rows if t["mine"]]
    team = [t for t in rows if not t["mine"]]
    # the agency's own cases (the statement reads only those), and others' shared with it by reference
    recent = [case_dict(ctx, r, Access.owner()) for r in _answers_loaded(lists["recent"])]
    shared = [case_dict(ctx, r, Access.reference_only()) for r in _answers_loaded(shared_rows)]
    out = {
        "cases": [case_dict(ctx, r, Access.owner()) for r in _answers_loaded(my_cases)],
        "my_tasks": mine,
        "team_tasks": team,
        "recent": recent,
        "referrals": referrals,
        "today": today,
        "shared": shared,
        "overdue": sum(1 for t in mine if t["overdue"]),
    }
    if permissions.can(actor, "case.read_restricted", {"owning_agency": agency}):
        # what the page would read again to mark them (core/web/pages.py)
        out["restricted_cases"] = withheld.marked
    return out
