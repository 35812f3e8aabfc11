"""A case as pages, the API and hooks show it: one function of the row and the reader's access, below every
service that shows a case (the referral rules' hooks among them), so none has to depend on the case service."""

from __future__ import annotations

from typing import Any

from caseframe.core.auth.actor import Actor
from caseframe.core.cases.tables import Case
from caseframe.core.context import Context
from caseframe.core.errors import CaseClosed
from caseframe.core.sharing.policy import Access, case_access, filter_answers


def refuse_closed(case: dict[str, Any], *, reader_sees: bool = False) -> None:
    """The one rule for a closed case (its workflow reached a terminal state, so ``closed_at`` is set): it is
    read, not changed, until the area's own reopen step, if it has one, opens it again. Every write on a case
    passes here (notes, people, new and changed tasks, documents, answers, referrals, new shares, the lead
    officer, workflow steps but the reopen step, panel actions, a place on a panel's list or agenda); reading
    it, stopping a share, completing a task, retention and the reopen step do not. ``case`` is a case's row or
    its ``case_dict``: both say ``closed_at``. ``reader_sees``: the caller found the reader may see the case, so
    the refusal may name it (its page links back to the case); a caller that did not uses
    :func:`refuse_closed_for`."""
    if case.get("closed_at"):
        raise CaseClosed(case_id=case.get("id") if reader_sees else None)


async def refuse_closed_for(actor: Actor, case: dict[str, Any]) -> None:
    """:func:`refuse_closed` for a write whose service did not itself find that ``actor`` may see the case (a
    panel's chair, the agency a panel gave an action to): its refusal links back to the case only if they may.
    ``case`` holds the row's ``id``, ``owning_agency``, ``area`` and ``closed_at``."""
    if case.get("closed_at"):
        refuse_closed(case, reader_sees=await case_access(actor, case) is not None)


async def refuse_closed_case(actor: Actor, case_id: int) -> None:
    """:func:`refuse_closed_for` by the case's number: no new work on a closed case from a panel (an action, a
    place on an agenda) or a referral (taken onto a panel's list, linked to a case), the refusal naming the case
    only to a reader who may see it. Nothing happens when no case has that number (the caller says what is
    missing)."""
    row = (
        await Case.select(Case.id, Case.owning_agency, Case.area, Case.closed_at)
        .where(Case.id == case_id)
        .first()
    )
    if row is not None:
        await refuse_closed_for(actor, row)


def case_dict(ctx: Context, row: dict[str, Any], access: Access) -> dict[str, Any]:
    """A case as pages and the API show it, with the answers ``access`` may see: a partner's only those up to
    its agreement's level, ``Access.reference_only()`` none. The access is always said (``Access.owner()`` for
    the owning agency): a missing one is refused, never taken for the owner's."""
    if not isinstance(access, Access):
        raise TypeError("case_dict needs the reader's access (sharing.policy.case_access, or Access.owner())")
    area = ctx.areas.get(row["area"])
    data = row["data"] or {}
    if access.kind == "reference":
        data = {}
    elif not access.is_owner:
        readable = {
            name: filter_answers(answers, area.forms[name].schema, access)
            for name, answers in data.items()
            if area is not None and name in area.forms
        }
        # a form whose every answer is withheld is not there for the reader: an empty one would say it was filled in
        data = {name: answers for name, answers in readable.items() if answers or not data[name]}
    return {
        "id": row["id"],
        "reference": row["reference"],
        "area": row["area"],
        "area_title": area.title if area else row["area"],
        "area_installed": area is not None,
        "state": row["state"],
        "state_label": area.workflow.label(row["state"]) if area else row["state"],
        "risk_level": row["risk_level"],
        "data": data,
        "owning_agency_id": row["owning_agency"],
        "lead_officer_id": row["lead_officer"],
        "opened_at": row["opened_at"].isoformat(),
        "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
        "version": row["version"],
        "access": access.kind,
    }
