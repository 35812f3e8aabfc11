"""Add, assign and complete tasks on cases; the only code that writes tasks."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.auth.tables import User
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import CaseEvent
from caseframe.core.cases.view import refuse_closed_for
from caseframe.core.context import Context
from caseframe.core.db.tx import transaction
from caseframe.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from caseframe.core.numbers import far_date
from caseframe.core.sharing.policy import Access
from caseframe.core.sharing.redaction import redactor_for
from caseframe.core.tasks.handover import hand_over_tasks  # noqa: F401 (named here too, as before)
from caseframe.core.tasks.tables import Task


def task_dict(r: dict[str, Any]) -> dict[str, Any]:
    due = r["due_date"]
    return {
        "id": r["id"],
        "case_id": r["case"],
        "title": r["title"],
        "description": r["description"],
        "owner_agency_id": r["owner_agency"],
        "assignee_id": r["assignee"],
        "due_date": due.isoformat() if due else None,
        "status": r["status"],
        "overdue": bool(due and r["status"] == "open" and due < clock.today()),
        "source": r["source"],
    }


async def _written(task_id: int) -> dict[str, Any]:
    """The task as a change just left it."""
    row = await Task.select().where(Task.id == task_id).first()
    assert row is not None  # tasks are never deleted (one is marked done)
    return task_dict(row)


def task_state(r: dict[str, Any]) -> str:
    """A short fingerprint of what an edit can change: a task edit form carries the one it was read at, so a
    change someone made meanwhile is never overwritten unseen (tasks have no version column of their own)."""
    due = r["due_date"]
    seen = f"{r['title']}|{due.isoformat() if due else ''}|{r['assignee']}|{r['status']}"
    return hashlib.sha256(seen.encode()).hexdigest()[:16]


async def add_task(
    ctx: Context,
    actor: Actor,
    case_id: int,
    *,
    title: str,
    due_date: Any = None,
    assignee_id: int | None = None,
    description: str = "",
) -> dict[str, Any]:
    """Add a task to a case the actor works, optionally due on a date and assigned to a user of their agency."""
    await cases._load_workable(actor, case_id)
    errors = []
    title = (title or "").strip()
    if not title:
        errors.append({"field": "/title", "message": "Enter what needs to be done"})
    elif len(title) > 200:
        errors.append({"field": "/title", "message": "The task must be 200 characters or fewer"})
    due = _date(due_date, errors)
    if assignee_id is not None:
        assignee = (
            await User.select(User.agency).where((User.id == assignee_id) & (User.active == True)).first()
        )  # noqa: E712
        if assignee is None or assignee["agency"] != actor.agency_id:
            errors.append({"field": "/assignee_id", "message": "Select someone in your agency"})
    if errors:
        raise ValidationFailed("There is a problem with the task", errors=errors)
    now = clock.now()
    async with transaction():
        task = Task(
            case=case_id,
            title=title,
            description=description or "",
            owner_agency=actor.agency_id,
            assignee=assignee_id,
            due_date=due,
            created_by=actor.id,
            created_at=now,
        )
        await task.save()
        await CaseEvent.insert(
            CaseEvent(
                case=case_id,
                kind="task",
                actor=actor.id,
                at=now,
                summary=f"Task added: {title}" + (f" (due {due:%-d %B %Y})" if due else ""),
                detail={"task_id": task.id},
            )
        )
        await audit.record(
            "task.create", actor, object_type="task", object_id=task.id, detail={"case_id": case_id}
        )
    return await _written(task.id)


async def assignee_choices(agency_id: int) -> list[dict[str, Any]]:
    """Active users of the agency that owns a task: who it can be given to."""
    return (
        await User.select(User.id, User.name)
        .where((User.agency == agency_id) & (User.active == True))
        .order_by(User.name)
    )  # noqa: E712


async def editable_task(actor: Actor, task_id: int) -> dict[str, Any]:
    """The task if the actor may change it: its own agency's, by a role that works tasks, still open.

    A panel action is owned by the agency the panel gave it to, whoever owns the case: that agency changes
    it, never the case's. Another agency's task is "not found" (ids are no oracle)."""
    row = await Task.select().where(Task.id == task_id).first()
    if row is None:
        raise NotFound("No task with that number exists")
    permissions.require(actor, "task.edit", row["owner_agency"])
    if row["status"] != "open":
        raise Forbidden("This task is done. A done task cannot be changed.")
    await _refuse_retained(row, actor)
    if row["case"] is not None:
        # a closed case's tasks keep what they say and who does them (completing one stays allowed)
        await refuse_closed_for(actor, await cases._load(row["case"]))
    return row


async def task_to_edit(actor: Actor, task_id: int) -> dict[str, Any]:
    """:func:`editable_task` as its form shows it: its words naming no case the actor may not see (what was
    written stays stored: :func:`edit_task` keeps a title sent back as shown), ``state`` the stored task's."""
    row = await editable_task(actor, task_id)
    words = await redactor_for(actor, [row["title"], row["description"]], [row["case"]])
    return words.texts(dict(row, state=task_state(row)), ("title", "description"), "case")


async def _refuse_retained(row: dict[str, Any], actor: Actor) -> None:
    from caseframe.core.retention.service import refuse_write

    await refuse_write(row["case"], actor)


#: how far from today a task may fall due, either way: a year typed wrong (0001, 9999) is refused, not stored
DUE_WITHIN_YEARS = 10


def _date(value: Any, errors: list[dict[str, str]], stored: dt.date | None = None) -> dt.date | None:
    """The due date asked for, or None; what is wrong with it is added to ``errors``. The date a task already
    has (``stored``) is kept as it is, however far: a task stored before the bound, or moved there by a date
    fix, can still be edited without correcting its date first."""
    if value in (None, ""):
        return None
    try:
        due = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        errors.append({"field": "/due_date", "message": "Due date must be a real date"})
        return None
    problem = far_date(due, DUE_WITHIN_YEARS, "due date") if due != stored else None
    if problem:
        errors.append({"field": "/due_date", "message": problem})
        return None
    return due


async def edit_task(
    ctx: Context,
    actor: Actor,
    task_id: int,
    *,
    title: str | None,
    due_date: Any,
    assignee_id: int | None,
    expected_state: str,
) -> dict[str, Any]:
    """Change a task's title, due date and who does it; on the case's timeline and in the audit trail.

    ``expected_state`` is the :func:`task_state` the form was read at: if the task changed since, nothing is
    saved. A panel action keeps the words the panel minuted (its title cannot change here)."""
    row = await editable_task(actor, task_id)
    errors: list[dict[str, str]] = []
    panel = row["source"] == "panel"
    title = row["title"] if title is None or panel else title.strip()
    if title != row["title"]:
        # the form showed the title without the cases the actor may not see: sent back unchanged, it is kept
        shown = await redactor_for(actor, [row["title"]], [row["case"]])
        title = row["title"] if title == shown.text(row["title"], row["case"]) else title
    due = _title_and_due_problems(row, title, due_date, panel, errors)
    names = {u["id"]: u["name"] for u in await assignee_choices(row["owner_agency"])}
    if assignee_id not in names:
        errors.append({"field": "/assignee_id", "message": "Select someone in the agency that owns the task"})
    if errors:
        raise ValidationFailed("There is a problem with the task", errors=errors)
    if expected_state != task_state(row):
        raise Conflict(
            "Someone else changed this task since you opened it. Nothing you entered has been saved "
            "over their change: look at the task again, then make your change."
        )
    changes = _task_changes(row, title, due, assignee_id)
    if not changes:
        return task_dict(row)
    words = await _change_words(row, changes, due, names.get(assignee_id, ""))
    now = clock.now()
    async with transaction():
        updated = (
            await Task.update({Task.title: title, Task.due_date: due, Task.assignee: assignee_id})
            .where((Task.id == task_id) & (Task.status == "open"))
            .returning(Task.id)
        )
        if not updated:
            raise Conflict("This task was marked as done meanwhile. Nothing has been changed.")
        if row["case"] is not None:
            await CaseEvent.insert(
                CaseEvent(
                    case=row["case"],
                    kind="task",
                    actor=actor.id,
                    at=now,
                    summary=f"Task changed: {title} ({'; '.join(words)})",
                    detail={"task_id": task_id, "changes": list(changes)},
                )
            )
        await audit.record(
            "task.update",
            actor,
            object_type="task",
            object_id=task_id,
            detail={"case_id": row["case"], "changes": changes},
        )
    return await _written(task_id)


def _title_and_due_problems(
    row: dict[str, Any], title: str, due_date: Any, panel: bool, errors: list[dict[str, str]]
) -> dt.date | None:
    """Add to ``errors`` what is wrong with a task's new title and due date; the due date read."""
    if not title:
        errors.append({"field": "/title", "message": "Enter what needs to be done"})
    elif len(title) > 200:
        errors.append({"field": "/title", "message": "The task must be 200 characters or fewer"})
    due = _date(due_date, errors, stored=row["due_date"])
    if due is not None and due != row["due_date"] and due < clock.today():
        errors.append({"field": "/due_date", "message": "The due date must be today or later"})
    if due is None and panel and not any(e["field"] == "/due_date" for e in errors):
        errors.append({"field": "/due_date", "message": "Enter the date the panel action is due"})
    return due


def _task_changes(
    row: dict[str, Any], title: str, due: dt.date | None, assignee_id: int | None
) -> dict[str, dict[str, Any]]:
    """What an edit changes, each field from -> to, as the audit trail records it."""
    changes: dict[str, dict[str, Any]] = {}
    if title != row["title"]:
        changes["title"] = {"from": row["title"], "to": title}
    if due != row["due_date"]:
        changes["due_date"] = {
            "from": row["due_date"].isoformat() if row["due_date"] else None,
            "to": due.isoformat() if due else None,
        }
    if assignee_id != row["assignee"]:
        changes["assignee"] = {"from": row["assignee"], "to": assignee_id}
    return changes


async def _change_words(
    row: dict[str, Any], changes: dict[str, dict[str, Any]], due: dt.date | None, new_assignee: str
) -> list[str]:
    """The changes in words for the case's timeline: the old title, old -> new due date and assignee."""
    old_names = await User.select(User.id, User.name).where(User.id.is_in([row["assignee"] or 0]))
    was = {u["id"]: u["name"] for u in old_names}
    words = []
    if "title" in changes:
        words.append(f"was \u2018{row['title']}\u2019")
    if "due_date" in changes:
        words.append(f"due {_day(row['due_date'])} \u2192 {_day(due)}")
    if "assignee" in changes:
        words.append(f"{was.get(row['assignee'], 'no one')} \u2192 {new_assignee}")
    return words


def _day(value: dt.date | None) -> str:
    return f"{value:%-d %B %Y}" if value else "no date"


async def complete_task(ctx: Context, actor: Actor, task_id: int) -> dict[str, Any]:
    """Mark a task of the actor's agency done; ``action_completed`` fires after commit."""
    row = await Task.select().where(Task.id == task_id).first()
    if row is None:
        raise NotFound("No task with that number exists")
    # the task's own agency completes it, even when the case belongs to another (a panel action)
    permissions.require(
        actor, "task.edit", row["owner_agency"], message="Your role does not let you complete tasks"
    )
    if row["status"] == "done":
        return task_dict(row)
    await _refuse_retained(row, actor)
    now = clock.now()
    async with transaction():
        await Task.update({Task.status: "done", Task.completed_at: now, Task.completed_by: actor.id}).where(
            Task.id == task_id
        )
        if row["case"] is not None:
            await CaseEvent.insert(
                CaseEvent(
                    case=row["case"],
                    kind="task",
                    actor=actor.id,
                    at=now,
                    summary=f"Task completed: {row['title']}",
                    detail={"task_id": task_id},
                )
            )
        await audit.record("task.complete", actor, object_type="task", object_id=task_id)
    done = await _written(task_id)
    # the hook gets the case even if completing the action ended the agency's sight of it
    case = cases.case_dict(ctx, await cases._load(row["case"]), Access.owner()) if row["case"] else None
    await ctx.emit("action_completed", task=done, case=case, actor=actor.as_dict())
    return done


async def readable_task(actor: Actor, task: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A :func:`task_dict` as ``actor`` may read it (its words naming no case the actor may not see: a panel action
    names the case it is about, which the actor's agency may no longer see), and whether the actor may see the
    task's case."""
    words = await redactor_for(actor, [task["title"], task["description"]], [task["case_id"]])
    return words.texts(dict(task), ("title", "description"), "case_id"), words.may_see(task["case_id"])


# written out once: the case page reads it on every view (tests/core/test_case_reads.py holds it to the ORM's)
TASKS_OF_CASE_SQL = 'SELECT * FROM cf_task WHERE "case" = {} ORDER BY id'


async def tasks_of_case(
    case_id: int, reader: Actor | None = None, rows: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The case's tasks; for a ``reader``, their words naming no other case the reader may not see. ``rows``: the
    case's ``cf_task`` rows when the caller read them already (the case page's one read, core/cases/page_reads.py)."""
    if rows is None:
        rows = await Task.raw(TASKS_OF_CASE_SQL, int(case_id))
    rows = [task_dict(r) for r in rows]
    # the reader reads the case itself: only the cases the words name are asked about (none, mostly: no query)
    return rows if reader is None else await readable_tasks(reader, rows, on_a_case_seen=True)


async def readable_tasks(
    reader: Actor, rows: list[dict[str, Any]], *, on_a_case_seen: bool = False
) -> list[dict[str, Any]]:
    """Tasks (as :func:`task_dict` gives them) as ``reader`` may read them: a title or description naming a case
    they may not see says "[a case you cannot see]", and a task on such a case names none of its people
    (``on_a_case_seen``: the caller knows the reader sees the cases the tasks are on)."""
    words = await redactor_for(
        reader,
        [t[k] for t in rows for k in ("title", "description")],
        [] if on_a_case_seen else [t["case_id"] for t in rows],
    )
    return [
        words.texts(dict(t), ("title", "description"), None if on_a_case_seen else "case_id") for t in rows
    ]
