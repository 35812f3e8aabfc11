"""A rule's ``notify`` action: tell agencies about a case without referring it, and show them why, as a referral would."""

from __future__ import annotations

from typing import Any

from caseframe.core import clock
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.tables import CaseEvent
from caseframe.core.context import Context
from caseframe.core.notifications.service import notify, referral_addressees
from caseframe.core.referrals.engine import Rule


async def notice_agencies(rule: Rule, owning_agency: int) -> list[int]:
    """Who a notify rule tells: the agency it names (even the case's own), or every agency of the kind, or the
    panel's chair and members, never the case's own agency unless it is the one named."""
    target = rule.target
    if target.kind == "panel":
        from caseframe.core.panels.tables import Panel

        panel = (
            await Panel.select(Panel.chair_agency, Panel.member_agencies)
            .where((Panel.slug == target.name) & (Panel.active == True))
            .output(load_json=True)
            .first()
        )  # noqa: E712
        ids = {panel["chair_agency"], *(panel["member_agencies"] or [])} if panel else set()
        return sorted(i for i in ids if i is not None and i != owning_agency)
    return await referral_addressees(target.kind, target.name, not_agency=owning_agency)


async def record_notice(
    rule: Rule, facts: dict[str, Any], case: dict[str, Any], person_id: int | None, event: str
) -> int:
    """Inside the case change's transaction: a notification for each agency told (once per case, person and agency,
    however often the rule fires again) and one line on the case's timeline; returns how many were told now."""
    label = rule.target.name.replace("_", " ").replace("-", " ")
    agencies = await notice_agencies(rule, case["owning_agency"])
    detail = {"rule_id": rule.qualified_id, "reason": rule.reason, "event": event, "facts": facts}
    told = []
    for agency_id in agencies:
        made = await notify(
            kind="rule_notice",
            text=f"{rule.message}: {case['reference']}",
            link="",
            agency_id=agency_id,
            case_id=case["id"],
            detail=detail,
            dedupe_key=f"notice:{rule.qualified_id}:{case['id']}:{person_id or 0}:{agency_id}",
        )
        if made is not None:
            told.append(made)
    if told:
        await CaseEvent.insert(
            CaseEvent(
                case=case["id"],
                kind="notice",
                at=clock.now(),
                summary=f"Rule {rule.id} fired ({rule.reason}): {label} told \u201c{rule.message}\u201d; no referral was made",
                detail={"rule_id": rule.qualified_id, "notification_ids": told},
            )
        )
        await audit.record(
            "notification.rule_notice",
            None,
            object_type="case",
            object_id=case["id"],
            detail={"rule": rule.qualified_id, "agencies": agencies, "notification_ids": told},
        )
    elif not agencies:
        summary = f"Rule {rule.id} fired ({rule.reason}), but no other agency is {label}, so no one was told"
        already = await CaseEvent.count().where(
            (CaseEvent.case == case["id"]) & (CaseEvent.summary == summary)
        )
        if not already:  # said once per case, not on every save
            await CaseEvent.insert(
                CaseEvent(
                    case=case["id"],
                    kind="notice",
                    at=clock.now(),
                    summary=summary,
                    detail={"rule_id": rule.qualified_id, "unaddressed": True},
                )
            )
    return len(told)


async def notice_view(ctx: Context, actor: Actor, row: dict[str, Any]) -> dict[str, Any]:
    """What the notice page shows the actor: for a rule's notice, its reason and each fact the rule tested, only as
    far as the actor may see the case (an agency told about a case it cannot see reads official-level answers, as a
    referral's addressee does); and whether the actor may open the case now (access may have ended since)."""
    from caseframe.core.cases.tables import Case
    from caseframe.core.referrals.explain import explain, facts_access, rule_by_id
    from caseframe.core.sharing.policy import case_access

    out: dict[str, Any] = {"reason": "", "why": [], "case_visible": False, "withheld": False}
    case_row = (
        await Case.select(Case.id, Case.owning_agency, Case.area).where(Case.id == row["case_id"]).first()
        if row["case_id"]
        else None
    )
    out["case_visible"] = case_row is not None and await case_access(actor, case_row) is not None
    if row["kind"] == "rule_notice":
        detail = row["detail"] or {}
        access = await facts_access(actor, row["case_id"], {}, addressee=True)
        rule = rule_by_id(ctx, detail.get("rule_id"))
        out["reason"] = detail.get("reason", "")
        # None: retention withholds the case (restricted, erased) or nothing of it is the actor's: none of the facts
        # the rule saw, where explain() without an access would give them all, as to the case's owner
        out["why"] = (
            explain(ctx, detail.get("rule_id"), rule.when if rule else {}, detail.get("facts") or {}, access)
            if access is not None
            else []
        )
        out["withheld"] = access is None
        async with _tx():
            await audit.record(
                "notification.view",
                actor,
                object_type="notification",
                object_id=row["id"],
                detail={"case_id": row["case_id"]},
            )
    return out


def _tx():
    from caseframe.core.db.tx import transaction

    return transaction()
