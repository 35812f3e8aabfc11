"""My work: the caseworker's home page."""
from __future__ import annotations

import asyncio

from litestar import Controller, Request, get
from litestar.response import Template

from core import clock
from core.audit.tables import AuditEvent
from core.cases.service import case_dict
from core.cases.tables import Case
from core.referrals.queries import waiting_for
from core.sharing.policy import shared_case_ids
from core.tasks.service import task_dict
from core.tasks.tables import Task
from core.web.auth import current_actor
from core.web.pages import ctx_of, page


async def _none() -> list:
    return []


class HomePage(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def my_work(self, request: Request) -> Template:
        ctx, actor = ctx_of(request), current_actor(request)
        # the reads do not depend on one another: each is built while the one before runs
        my_cases, tasks, views, referrals, shared_ids = await asyncio.gather(
            Case.select().where(
                (Case.lead_officer == actor.id) & Case.closed_at.is_null()
                & (Case.owning_agency == actor.agency_id)).order_by(Case.updated_at, ascending=False).limit(50).output(load_json=True),
            Task.select(Task.all_columns(), Task.case.reference.as_alias("reference"),
                        Task.assignee.name.as_alias("assignee_name")).where(
                (Task.owner_agency == actor.agency_id) & (Task.status == "open")).order_by(Task.due_date).limit(100),
            AuditEvent.select(AuditEvent.object_id).where(
                (AuditEvent.actor_id == actor.id) & (AuditEvent.action == "case.view")).order_by(
                AuditEvent.id, ascending=False).limit(50),
            waiting_for(actor), shared_case_ids(actor.agency_id))
        rows = [dict(task_dict(t), reference=t["reference"], assignee_name=t["assignee_name"],
                     mine=t["assignee"] == actor.id or (t["assignee"] is None and t["created_by"] == actor.id))
                for t in tasks]
        mine = [t for t in rows if t["mine"]]
        team = [t for t in rows if not t["mine"]]
        viewed_ids: list[int] = []
        for row in views:
            if row["object_id"] not in viewed_ids:
                viewed_ids.append(row["object_id"])
        viewed, shared_rows = await asyncio.gather(
            Case.select().where(Case.id.is_in(viewed_ids[:5])
                                & (Case.owning_agency == actor.agency_id)).output(load_json=True) if viewed_ids else _none(),
            Case.select().where(Case.id.is_in(shared_ids[-200:])).order_by(
                Case.updated_at, ascending=False).limit(20) if shared_ids else _none())
        viewed_rows = {r["id"]: r for r in viewed}
        recent = [case_dict(ctx, viewed_rows[i]) for i in viewed_ids[:5] if i in viewed_rows]
        shared = [case_dict(ctx, r) for r in shared_rows]
        today = clock.today()
        return await page(request, "home.html", cases=[case_dict(ctx, r) for r in my_cases],
                          my_tasks=mine, team_tasks=team, recent=recent, referrals=referrals, today=today,
                          shared=shared,
                          overdue=sum(1 for t in mine if t["overdue"]))
