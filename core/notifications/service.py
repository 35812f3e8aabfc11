"""Notifications: written by the services whose changes they announce, read by the bell and the notifications page.

A notification says *that* something needs attention (a reference and a link), never what is in the case: the
page it links to decides, when it is opened, what the reader may see. One addressed to an agency is one row,
resolved to the agency's users when read, so users who join or leave need no copies kept in step.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from caseframe.core import clock
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.db.tx import after_commit, in_transaction, transaction
from caseframe.core.errors import NotFound
from caseframe.core.notifications import email
from caseframe.core.notifications.tables import (
    Notification,
    NotificationEmail,
    NotificationPreference,
    NotificationRead,
)
from caseframe.core.sharing.redaction import redactor_for

if TYPE_CHECKING:
    from caseframe.core.retention.service import Withheld

KINDS = {
    "referral_waiting": "Referral",
    "case_shared": "Shared case",
    "panel_action": "Panel action",
    "task_due": "Task due",
    "rule_notice": "Notice",
}
#: the newest notifications the page lists
PAGE_SIZE = 50


# -- writing (inside the transaction of the change the notification announces) ----------------------


async def notify(
    *,
    kind: str,
    text: str,
    link: str = "",
    agency_id: int | None = None,
    user_id: int | None = None,
    role: str = "",
    case_id: int | None = None,
    detail: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> int | None:
    """Write one notification for a user or an agency; returns its id, or None when ``dedupe_key`` was used before.

    Called inside the transaction of the change it announces, so a change that fails leaves no notification; its
    e-mails (for users who asked for them) are queued in the same transaction and sent after the commit.
    """
    if (agency_id is None) == (user_id is None):
        raise ValueError("a notification is for one user or one agency")
    if not in_transaction():
        async with transaction():
            return await notify(
                kind=kind,
                text=text,
                link=link,
                agency_id=agency_id,
                user_id=user_id,
                role=role,
                case_id=case_id,
                detail=detail,
                dedupe_key=dedupe_key,
            )
    now = clock.now()
    row = Notification(
        recipient=user_id,
        agency=agency_id,
        role=role,
        kind=kind,
        text=text[:300],
        link=link[:300],
        case_id=case_id,
        detail=detail or {},
        dedupe_key=dedupe_key,
        created_at=now,
    )
    query = Notification.insert(row)
    if dedupe_key is not None:
        # a sweep run twice, or a rule firing again, finds the key taken and writes nothing
        query = query.on_conflict(target=Notification.dedupe_key, action="DO NOTHING")
    inserted = await query.returning(Notification.id)
    if not inserted:
        return None
    notification_id = inserted[0]["id"]
    if email.enabled():
        await _queue_emails(notification_id, user_id=user_id, agency_id=agency_id, role=role, now=now)
    return notification_id


async def _queue_emails(
    notification_id: int, *, user_id: int | None, agency_id: int | None, role: str, now: dt.datetime
) -> None:
    from caseframe.core.auth.tables import User

    opted = NotificationPreference.select(NotificationPreference.owner).where(
        NotificationPreference.email == True
    )  # noqa: E712
    users = User.select(User.id, User.roles).where(
        (User.active == True) & (User.agency.active == True) & User.id.is_in(opted)  # noqa: E712
    )
    users = users.where(User.id == user_id) if user_id is not None else users.where(User.agency == agency_id)
    for user in await users.output(load_json=True):
        if role and role not in (user["roles"] or []):
            continue
        await NotificationEmail.insert(
            NotificationEmail(
                notification=notification_id, recipient=user["id"], status="pending", next_try_at=now
            )
        )
        after_commit(email.wake)


async def referral_addressees(kind: str, target: str, *, not_agency: int | None) -> list[int]:
    """The agencies a referral (or a rule's notice) to ``kind``/``target`` is for, as the referral inbox reads it.

    ``not_agency`` (the referring or case-owning agency) is left out of an area or a kind of agency, which
    describe others; a target naming an agency is that agency, and a panel its chair.
    """
    from caseframe.core.agencies.tables import Agency, AgencyArea
    from caseframe.core.panels.tables import Panel

    if kind == "agency":
        rows = await Agency.select(Agency.id).where((Agency.slug == target) & (Agency.active == True))  # noqa: E712
    elif kind == "panel":
        rows = await Panel.select(Panel.chair_agency.as_alias("id")).where(
            (Panel.slug == target) & (Panel.active == True)
        )  # noqa: E712
    elif kind == "area":
        rows = await AgencyArea.select(AgencyArea.agency.as_alias("id")).where(
            (AgencyArea.area == target) & (AgencyArea.agency.active == True)
        )  # noqa: E712
    elif kind == "agency_type":
        rows = await Agency.select(Agency.id).where((Agency.agency_type == target) & (Agency.active == True))  # noqa: E712
    else:
        return []
    ids = sorted({r["id"] for r in rows if r["id"] is not None})
    if kind in ("area", "agency_type"):
        ids = [i for i in ids if i != not_agency]
    return ids


async def notify_referral_waiting(
    referral: dict[str, Any], reference: str, *, not_agency: int | None
) -> None:
    """A new referral waits in each addressee agency's inbox: tell each of them (inside the referral's transaction)."""
    text = (
        f"New referral waiting for your agency: {reference}"
        if reference
        else "New referral waiting for your agency"
    )
    if referral.get("target_agency"):
        agencies = [referral["target_agency"]]
    else:
        agencies = await referral_addressees(
            referral["target_kind"], referral["target"], not_agency=not_agency
        )
    for agency_id in agencies:
        await notify(
            kind="referral_waiting",
            text=text,
            link=f"/referrals/{referral['id']}",
            agency_id=agency_id,
            case_id=referral.get("from_case"),
            dedupe_key=f"referral:{referral['id']}:{agency_id}",
        )


async def case_reference(case_id: int | None) -> str:
    from caseframe.core.cases.tables import Case

    if case_id is None:
        return ""
    row = await Case.select(Case.reference).where(Case.id == case_id).first()
    return row["reference"] if row else ""


# -- the due-task sweep ----------------------------------------------------------------------------


async def sweep_due_tasks(today: dt.date | None = None) -> int:
    """Tell whoever owns each open task due today or overdue, once per task and due date; returns how many were new.

    Run by ``caseframe notifications run`` (e.g. from cron each morning); running it again the same day, or on
    another worker at once, adds nothing.
    """
    from caseframe.core.tasks.tables import Task

    today = today or clock.today()
    tasks = await Task.select(
        Task.id,
        Task.case,
        Task.owner_agency,
        Task.assignee,
        Task.due_date,
        Task.source,
        Task.case.reference.as_alias("reference"),
    ).where((Task.status == "open") & Task.due_date.is_not_null() & (Task.due_date <= today))
    from caseframe.core.retention.service import inactive_case_ids

    # a restricted or erased case is kept, not worked: no reminder about it
    inactive = await inactive_case_ids()
    tasks = [t for t in tasks if t["case"] not in inactive]
    seen = await _cases_seen_by_owners(tasks)
    new = 0
    for task in tasks:
        due = task["due_date"]
        what = "A panel action" if task["source"] == "panel" else "A task"
        when = "is due today" if due == today else "is overdue"
        # a panel action outlives its agency's sight of the case (an ISA that ended): then no reference, no link
        shown = task["case"] is not None and (task["owner_agency"], task["case"]) in seen
        text = f"{what} {when}" + (f": {task['reference']}" if shown and task["reference"] else "")
        async with transaction():
            made = await notify(
                kind="task_due",
                text=text,
                link=f"/cases/{task['case']}" if shown else "/",
                user_id=task["assignee"],
                agency_id=None if task["assignee"] else task["owner_agency"],
                case_id=task["case"],
                dedupe_key=f"task_due:{task['id']}:{due.isoformat()}",
            )
        new += made is not None
    return new


async def _cases_seen_by_owners(tasks: list[dict[str, Any]]) -> set[tuple[int, int]]:
    """(agency, case) pairs where the agency owning a task may see the case it is on now."""
    from caseframe.core.sharing.policy import visible_among

    by_agency: dict[int, set[int]] = {}
    for t in tasks:
        if t["case"] is not None:
            by_agency.setdefault(t["owner_agency"], set()).add(t["case"])
    out: set[tuple[int, int]] = set()
    for agency_id, case_ids in by_agency.items():
        # visibility is the agency's, whoever of it reads the notification
        reader = Actor(id=0, email="", name="", agency_id=agency_id)
        out |= {(agency_id, i) for i in await visible_among(reader, case_ids)}
    return out


# -- reading ------------------------------------------------------------------------------------------


def _addressed_sql(actor: Actor) -> tuple[str, list[Any]]:
    """SQL (with {} placeholders) selecting the notifications addressed to the actor: their own, and their agency's
    (for their roles) since they joined; the newest they marked all read and those they read one by one are out."""
    roles = sorted(actor.roles)
    role_marks = ", ".join(["{}"] * (len(roles) + 1))
    sql = (
        "FROM cf_notification n WHERE "
        "n.id > COALESCE((SELECT p.seen_up_to FROM cf_notification_preference p WHERE p.owner = {}), 0) AND "
        "(n.recipient = {} OR (n.agency = {} AND n.role IN (" + role_marks + ") AND "
        "n.created_at >= (SELECT u.created_at FROM cf_user u WHERE u.id = {})))"
    )
    return sql, [actor.id, actor.id, actor.agency_id, "", *roles, actor.id]


#: the bell counts this far and then says "99+": someone with thousands unread costs no more than someone with 100
COUNT_CAP = 100


def unread_statement(actor: Actor) -> tuple[str, list[Any]]:
    """:func:`unread_count`'s statement (``{}`` placeholders, one row with ``unread``) and its values: the case page
    on PostgreSQL reads it with its other reads, as one statement."""
    sql, args = _addressed_sql(actor)
    return (
        "SELECT COUNT(*) AS unread FROM (SELECT 1 "
        + sql
        + " AND NOT EXISTS (SELECT 1 FROM cf_notification_read r "
        "WHERE r.reader = {} AND r.notification = n.id) LIMIT " + str(COUNT_CAP) + ") AS capped",
        [*args, actor.id],
    )


async def unread_count(actor: Actor) -> int:
    """How many notifications the actor has not read, up to ``COUNT_CAP``: one statement on indexed columns (the
    bell, on every page)."""
    sql, args = unread_statement(actor)
    rows = await Notification.raw(sql, *args)
    return int(rows[0]["unread"]) if rows else 0


def _visible_where(actor: Actor, joined: dt.datetime):
    return (Notification.recipient == actor.id) | (
        (Notification.agency == actor.agency_id)
        & Notification.role.is_in(["", *sorted(actor.roles)])
        & (Notification.created_at >= joined)
    )


async def _joined(actor: Actor) -> dt.datetime:
    from caseframe.core.auth.tables import User

    row = await User.select(User.created_at).where(User.id == actor.id).first()
    return row["created_at"] if row else clock.now()


async def _seen_up_to(actor: Actor) -> int:
    row = (
        await NotificationPreference.select(NotificationPreference.seen_up_to)
        .where(NotificationPreference.owner == actor.id)
        .first()
    )
    return row["seen_up_to"] if row else 0


async def list_for(actor: Actor, *, limit: int = PAGE_SIZE) -> list[dict[str, Any]]:
    """The actor's newest notifications, each with ``unread`` and a label for its kind."""
    rows = (
        await Notification.select(
            Notification.id,
            Notification.kind,
            Notification.text,
            Notification.link,
            Notification.created_at,
            Notification.case_id,
        )
        .where(_visible_where(actor, await _joined(actor)))
        .order_by(Notification.created_at, Notification.id, ascending=False)
        .limit(limit)
    )
    await _mark_unread(actor, rows)
    for row in rows:
        row["kind_label"] = KINDS.get(row["kind"], "Notification")
    await _name_only_visible_cases(actor, rows)
    async with transaction():
        await audit.record(
            "notification.list", actor, object_type="notification", detail={"ids": [r["id"] for r in rows]}
        )
    return rows


async def _mark_unread(actor: Actor, rows: list[dict[str, Any]]) -> None:
    """Say on each row whether the actor has read it (below their watermark, or one by one)."""
    seen = await _seen_up_to(actor)
    read = {
        r["notification"]
        for r in await NotificationRead.select(NotificationRead.notification).where(
            (NotificationRead.reader == actor.id)
            & NotificationRead.notification.is_in([r["id"] for r in rows] or [0])
        )
    }
    for row in rows:
        row["unread"] = row["id"] > seen and row["id"] not in read


async def get_for(actor: Actor, notification_id: int) -> dict[str, Any]:
    """One notification addressed to the actor, with ``unread``; anyone else is told it does not exist. Reading it
    changes nothing: marking it read is :func:`mark_read`, from a POST."""
    row = (
        await Notification.select()
        .where((Notification.id == notification_id) & _visible_where(actor, await _joined(actor)))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("No notification with that number exists")
    await _name_only_visible_cases(actor, [row])
    await _mark_unread(actor, [row])
    return row


#: kinds whose words name a case the reader's agency could open when it was written (a share, its own task or
#: panel action); referral and rule notices name a case by design, to agencies that may never see it
CASE_NAMING_KINDS = {"case_shared", "panel_action", "task_due"}


async def _referral_cases(rows: list[dict[str, Any]]) -> None:
    """A referral notification written before they carried their case: the case its referral came from."""
    from caseframe.core.referrals.tables import Referral

    wanted = {
        int(r["link"].rsplit("/", 1)[1]): r
        for r in rows
        if r["kind"] == "referral_waiting"
        and not r.get("case_id")
        and str(r.get("link") or "").rsplit("/", 1)[-1].isdigit()
    }
    if wanted:
        for ref in await Referral.select(Referral.id, Referral.from_case).where(
            Referral.id.is_in(sorted(wanted))
        ):
            wanted[ref["id"]]["case_id"] = ref["from_case"]


async def _name_only_visible_cases(actor: Actor, rows: list[dict[str, Any]]) -> None:
    """Words are stored when a notification is written; access can end later (a share stopped, an ISA ended,
    the action done). When read, a notification about a case the reader's agency can no longer see keeps
    only its kind: no reference, no link."""
    from caseframe.core.retention.service import withheld_from
    from caseframe.core.sharing.policy import visible_among

    # a case retention withholds from the reader (restricted or erased) is named by no notification, of any kind
    withheld = await withheld_from(actor)
    hidden = withheld.hidden
    await _referral_cases(rows)
    for row in rows:
        if row.get("case_id") in hidden:
            row["text"] = f"{KINDS.get(row['kind'], 'Notification')}: about a case no longer available"
            row["link"] = "/"
    await _words_for(actor, rows, withheld)
    ids = {r["case_id"] for r in rows if r.get("case_id") and r["kind"] in CASE_NAMING_KINDS}
    if not ids:
        return
    seen = await visible_among(actor, ids)
    for row in rows:
        # a notification written without naming the case (the due-task sweep's, for instance) keeps its words
        if (
            row.get("case_id") in ids
            and row["case_id"] not in seen
            and row["kind"] in CASE_NAMING_KINDS
            and row["link"] != "/"
        ):
            row["text"] = (
                f"{KINDS.get(row['kind'], 'Notification')}: about a case not shared with your agency"
            )
            row["link"] = "/"


async def _words_for(actor: Actor, rows: list[dict[str, Any]], withheld: Withheld | None = None) -> None:
    """No notification's words name a case the reader may not see (core/sharing/redaction.py): a referral or rule
    notice names the case it is about by design, unless retention withholds it."""
    words = await redactor_for(actor, [r["text"] for r in rows], withheld=withheld)
    for row in rows:
        told = row.get("case_id") if row["kind"] not in CASE_NAMING_KINDS else None
        row["text"] = words.text(row["text"], told=told)


async def email_text(user_id: int, text: str, case_id: int | None, kind: str) -> str:
    """A notification's words as its e-mail to ``user_id`` says them: as the list would show them to that user."""
    from caseframe.core.agencies.service import actor_for

    row = {"text": text, "case_id": case_id, "kind": kind, "link": ""}
    await _words_for(await actor_for(user_id), [row])
    return str(row["text"])


async def mark_read(actor: Actor, notification_id: int) -> dict[str, Any]:
    """Mark one of the actor's notifications read (again is harmless); returns it."""
    row = await get_for(actor, notification_id)
    async with transaction():
        already = await NotificationRead.count().where(
            (NotificationRead.reader == actor.id) & (NotificationRead.notification == notification_id)
        )
        if not already and row["id"] > await _seen_up_to(actor):
            await NotificationRead.insert(
                NotificationRead(notification=notification_id, reader=actor.id, read_at=clock.now())
            )
            await audit.record(
                "notification.read", actor, object_type="notification", object_id=notification_id
            )
    return row


async def _preference(actor: Actor) -> dict[str, Any]:
    """The actor's preference row, made on first use (inside the caller's transaction)."""
    row = await NotificationPreference.select().where(NotificationPreference.owner == actor.id).first()
    if row is None:
        await NotificationPreference.insert(NotificationPreference(owner=actor.id, email=False, seen_up_to=0))
        row = await NotificationPreference.select().where(NotificationPreference.owner == actor.id).first()
        assert row is not None  # inserted just above, in this transaction
    return row


async def mark_all_read(actor: Actor) -> int:
    """Everything addressed to the actor up to now counts as read; returns how many were unread."""
    unread = await unread_count(actor)
    async with transaction():
        newest = (
            await Notification.select(Notification.id)
            .where(_visible_where(actor, await _joined(actor)))
            .order_by(Notification.id, ascending=False)
            .first()
        )
        pref = await _preference(actor)
        if newest and newest["id"] > pref["seen_up_to"]:
            await NotificationPreference.update({NotificationPreference.seen_up_to: newest["id"]}).where(
                NotificationPreference.owner == actor.id
            )
            # the watermark covers them: the one-by-one receipts below it are not needed any more
            await NotificationRead.delete().where(
                (NotificationRead.reader == actor.id) & (NotificationRead.notification <= newest["id"])
            )
        await audit.record(
            "notification.read_all",
            actor,
            object_type="notification",
            detail={"up_to": newest["id"] if newest else None, "unread": unread},
        )
    return unread


async def email_preference(actor: Actor) -> bool:
    row = (
        await NotificationPreference.select(NotificationPreference.email)
        .where(NotificationPreference.owner == actor.id)
        .first()
    )
    return bool(row and row["email"])


async def set_email_preference(actor: Actor, on: bool) -> None:
    async with transaction():
        await _preference(actor)
        await NotificationPreference.update({NotificationPreference.email: on}).where(
            NotificationPreference.owner == actor.id
        )
        await audit.record(
            "notification.email_preference",
            actor,
            object_type="user",
            object_id=actor.id,
            detail={"email": on},
        )
