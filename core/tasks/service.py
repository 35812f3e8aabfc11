"""Add, assign and complete tasks on cases; the only code that writes tasks."""
from __future__ import annotations

import datetime as dt
from typing import Any

from core import clock
from core.audit import service as audit
from core.auth.actor import Actor
from core.auth.tables import User
from core.cases import service as cases
from core.cases.tables import CaseEvent
from core.context import Context
from core.db.tx import transaction
from core.errors import Forbidden, NotFound, ValidationFailed
from core.tasks.tables import Task


def task_dict(r: dict[str, Any]) -> dict[str, Any]:
    due = r["due_date"]
    return {"id": r["id"], "case_id": r["case"], "title": r["title"], "description": r["description"],
            "owner_agency_id": r["owner_agency"], "assignee_id": r["assignee"],
            "due_date": due.isoformat() if due else None, "status": r["status"],
            "overdue": bool(due and r["status"] == "open" and due < clock.today()),
            "source": r["source"]}


async def add_task(ctx: Context, actor: Actor, case_id: int, *, title: str, due_date: Any = None,
                   assignee_id: int | None = None, description: str = "") -> dict[str, Any]:
    await cases._load_workable(actor, case_id)
    errors = []
    title = (title or "").strip()
    if not title:
        errors.append({"field": "/title", "message": "Enter what needs to be done"})
    elif len(title) > 200:
        errors.append({"field": "/title", "message": "The task must be 200 characters or fewer"})
    due = None
    if due_date not in (None, ""):
        try:
            due = due_date if isinstance(due_date, dt.date) else dt.date.fromisoformat(str(due_date))
        except ValueError:
            errors.append({"field": "/due_date", "message": "Due date must be a real date"})
    if assignee_id is not None:
        assignee = await User.select(User.agency).where((User.id == assignee_id) & (User.active == True)).first()  # noqa: E712
        if assignee is None or assignee["agency"] != actor.agency_id:
            errors.append({"field": "/assignee_id", "message": "Select someone in your agency"})
    if errors:
        raise ValidationFailed("There is a problem with the task", errors=errors)
    now = clock.now()
    async with transaction():
        task = Task(case=case_id, title=title, description=description or "", owner_agency=actor.agency_id,
                    assignee=assignee_id, due_date=due, created_by=actor.id, created_at=now)
        await task.save()
        await CaseEvent.insert(CaseEvent(case=case_id, kind="task", actor=actor.id, at=now,
                                         summary=f"Task added: {title}" + (f" (due {due:%-d %B %Y})" if due else ""),
                                         detail={"task_id": task.id}))
        await audit.record("task.create", actor, object_type="task", object_id=task.id, detail={"case_id": case_id})
    return task_dict(await Task.select().where(Task.id == task.id).first())


async def complete_task(ctx: Context, actor: Actor, task_id: int) -> dict[str, Any]:
    row = await Task.select().where(Task.id == task_id).first()
    if row is None or row["owner_agency"] != actor.agency_id:
        raise NotFound("No task with that number exists")
    # the task's own agency completes it, even when the case belongs to another (a panel action)
    if not actor.has("caseworker", "supervisor", "panel_chair"):
        raise Forbidden("Your role does not let you complete tasks")
    if row["status"] == "done":
        return task_dict(row)
    now = clock.now()
    async with transaction():
        await Task.update({Task.status: "done", Task.completed_at: now, Task.completed_by: actor.id}).where(
            Task.id == task_id)
        if row["case"] is not None:
            await CaseEvent.insert(CaseEvent(case=row["case"], kind="task", actor=actor.id, at=now,
                                             summary=f"Task completed: {row['title']}", detail={"task_id": task_id}))
        await audit.record("task.complete", actor, object_type="task", object_id=task_id)
    done = task_dict(await Task.select().where(Task.id == task_id).first())
    # the hook gets the case even if completing the action ended the agency's sight of it
    case = cases.case_dict(ctx, await cases._load(row["case"])) if row["case"] else None
    await ctx.emit("action_completed", task=done, case=case, actor=actor.as_dict())
    return done


async def tasks_of_case(case_id: int) -> list[dict[str, Any]]:
    return [task_dict(r) for r in await Task.select().where(Task.case == case_id).order_by(Task.id)]
