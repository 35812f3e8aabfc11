"""My work, the caseworker's home page: their open cases, their and their team's tasks, the cases they viewed
lately, the referrals waiting for their agency and the cases shared with it; each list without what retention
withholds from the reader."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from caseframe.core import clock
from caseframe.core.audit.tables import AuditEvent
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.service import case_dict
from caseframe.core.cases.tables import Case
from caseframe.core.context import Context
from caseframe.core.referrals.queries import waiting_for
from caseframe.core.retention.service import withheld_from
from caseframe.core.sharing.policy import Access
from caseframe.core.sharing.redaction import redactor_for
from caseframe.core.tasks.service import task_dict
from caseframe.core.tasks.tables import Task

# My work is the page every caseworker opens most. Its reads are fixed statements written out once: building them
# through the ORM on every load cost more CPU than SQLite took to answer them. Each keeps the condition the ORM form
# had (the caller's agency on every case and task read).
_MY_CASES = (
    "SELECT * FROM cf_case WHERE lead_officer = {} AND closed_at IS NULL AND owning_agency = {} "
    "ORDER BY updated_at DESC LIMIT 50"
)
_TASKS = (
    "SELECT t.*, c.reference AS reference, u.name AS assignee_name FROM cf_task t "
    'LEFT JOIN cf_case c ON c.id = t."case" LEFT JOIN cf_user u ON u.id = t.assignee '
    "WHERE t.owner_agency = {} AND t.status = 'open' ORDER BY t.due_date LIMIT 100"
)
# from the partial index of case views by viewer, newest first (migration 2026-12-06T20:30:00)
_VIEWED = (
    "SELECT object_id FROM cf_audit WHERE actor_id = {} AND action = 'case.view' ORDER BY id DESC LIMIT 50"
)
# cases shared with the agency under an agreement live today: the 200 most recent shares' cases (by case number),
# the 20 most recently updated of them
_SHARED = (
    'SELECT * FROM cf_case WHERE id IN (SELECT DISTINCT s."case" FROM cf_case_share s '
    "JOIN cf_isa i ON i.id = s.isa WHERE s.agency = {} AND s.revoked_at IS NULL AND i.starts_on <= {} "
    'AND i.ends_on >= {} ORDER BY s."case" DESC LIMIT 200) ORDER BY updated_at DESC LIMIT 20'
)


def _answers_loaded(rows: list[dict]) -> list[dict]:
    for row in rows:
        if isinstance(row["data"], str):
            row["data"] = json.loads(row["data"])
    return rows


async def my_work(ctx: Context, actor: Actor) -> dict[str, Any]:
    """What the home page shows the actor: ``cases`` they lead, ``my_tasks`` and ``team_tasks``, ``recent``
    (cases they viewed), ``referrals`` waiting, ``shared`` (by reference), ``today`` and ``overdue``."""
    agency, today = actor.agency_id, clock.today()
    # the reads do not depend on one another: they run together
    my_cases, tasks, views, referrals, shared_rows, withheld = await asyncio.gather(
        Case.raw(_MY_CASES, actor.id, agency),
        Task.raw(_TASKS, agency),
        AuditEvent.raw(_VIEWED, actor.id),
        waiting_for(actor, ctx=ctx),
        Case.raw(_SHARED, agency, today, today),
        withheld_from(actor),
    )
    # retention's rule for every list: a case it withholds from the reader is in none of them (a restricted one
    # stays in its own local admin's, marked), and a task on a restricted or erased case is not to be worked
    my_cases = [r for r in my_cases if withheld.keep(r["id"])]
    shared_rows = [r for r in shared_rows if withheld.keep(r["id"])]
    tasks = [t for t in tasks if t["case"] not in withheld.inactive]
    referrals = [r for r in referrals if withheld.keep(r.get("from_case"))]
    # a task on a case the agency can no longer see (its own panel action after an ISA ended) keeps its
    # words but not the case's reference, a link to it or its people; no task's words name a case the reader
    # may not see (core/sharing/redaction.py)
    words = await redactor_for(
        actor,
        [t[k] for t in tasks for k in ("title", "description")],
        [t["case"] for t in tasks],
        withheld=withheld,
    )
    rows = [
        dict(
            words.texts(task_dict(t), ("title", "description"), "case_id"),
            reference=t["reference"] if words.may_see(t["case"]) else None,
            case_seen=words.may_see(t["case"]),
            assignee_name=t["assignee_name"],
            mine=t["assignee"] == actor.id or (t["assignee"] is None and t["created_by"] == actor.id),
        )
        for t in tasks
    ]
    mine = [t for t in rows if t["mine"]]
    team = [t for t in rows if not t["mine"]]
    viewed_ids = [i for i in dict.fromkeys(row["object_id"] for row in views) if withheld.keep(i)][:5]
    viewed = (
        await Case.raw(
            f"SELECT * FROM cf_case WHERE id IN ({', '.join('{}' for _ in viewed_ids)}) AND owning_agency = {{}}",
            *viewed_ids,
            agency,
        )
        if viewed_ids
        else []
    )
    viewed_rows = {r["id"]: r for r in _answers_loaded(viewed)}
    # the agency's own cases (the statements read only those), and others' shared with it by reference
    recent = [case_dict(ctx, viewed_rows[i], Access.owner()) for i in viewed_ids if i in viewed_rows]
    shared = [case_dict(ctx, r, Access.reference_only()) for r in _answers_loaded(shared_rows)]
    return {
        "cases": [case_dict(ctx, r, Access.owner()) for r in _answers_loaded(my_cases)],
        "my_tasks": mine,
        "team_tasks": team,
        "recent": recent,
        "referrals": referrals,
        "today": today,
        "shared": shared,
        "overdue": sum(1 for t in mine if t["overdue"]),
    }
