"""Handing a lead officer's open tasks on a case to the new lead: a write of tasks that the case service makes when
the lead changes, kept below both services so the case service does not depend on the task service."""

from __future__ import annotations

from caseframe.core.auth.actor import Actor
from caseframe.core.tasks.tables import Task


async def hand_over_tasks(actor: Actor, case_id: int, old_id: int, new_id: int) -> list[int]:
    """Inside the caller's transaction: the actor's agency's open tasks on the case that are ``old_id``'s
    (assigned to them, or added by them for themselves) become ``new_id``'s. Returns the tasks moved."""
    rows = await Task.select(Task.id).where(
        (Task.case == case_id)
        & (Task.owner_agency == actor.agency_id)
        & (Task.status == "open")
        & ((Task.assignee == old_id) | (Task.assignee.is_null() & (Task.created_by == old_id)))
    )
    ids = [r["id"] for r in rows]
    if ids:
        await Task.update({Task.assignee: new_id}).where(Task.id.is_in(ids))
    return ids
