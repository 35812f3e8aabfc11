"""Evaluate referral rules on case events and record referrals, each with the facts behind it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from caseframe.core import clock
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.tables import Case, CaseEvent, CaseSubject
from caseframe.core.cases.view import refuse_closed
from caseframe.core.context import Context
from caseframe.core.db.engine import is_sqlite
from caseframe.core.db.tx import transaction
from caseframe.core.errors import ValidationFailed
from caseframe.core.persons.service import age
from caseframe.core.persons.tables import Person
from caseframe.core.plugins import plugin_key
from caseframe.core.referrals.engine import Count, Rule
from caseframe.core.referrals.tables import Referral, ReferralMessage, RuleFiring

TARGET_KINDS = ("area", "agency_type", "agency", "panel")


def _answer(data: dict[str, Any], form: str, field: str) -> Any:
    node: Any = (data or {}).get(form, {})
    for part in field.strip("/").split("/"):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


async def inactive_case_ids() -> frozenset[int]:
    from caseframe.core.retention.service import inactive_case_ids as inactive

    return await inactive()


def _loaded(data: Any) -> Any:
    return json.loads(data) if isinstance(data, str) else data


async def _cases_answering(
    area: str, since: dt.datetime, form: str, field: str, value: Any
) -> list[dict[str, Any]]:
    """The id and answers of the area's cases opened since ``since`` that may have answered ``value`` at the
    form's ``field`` (the caller compares each exactly). A text answer, as a street or a location reference is,
    is picked out by the database from the JSON of the answers, so a save in a busy area reads the few cases on the
    same street, not every case of the window; any other answer reads the window's cases, compared in Python."""
    keys = [form, *field.strip("/").split("/")]
    window = "SELECT id, data FROM cf_case WHERE area = {} AND opened_at >= {}"
    if isinstance(value, str) and not any('"' in k or "\\" in k for k in keys):
        if is_sqlite(Case._meta.db):
            path = "$" + "".join(f'."{k}"' for k in keys)
            return await Case.raw(window + " AND json_extract(data, {}) = {}", area, since, path, value)
        return await Case.raw(window + " AND data #>> {} = {}", area, since, keys, value)
    return await Case.raw(window, area, since)


async def _count(count: Count, case: dict[str, Any], person_id: int | None) -> int:
    since = clock.now() - dt.timedelta(days=count.window_days)
    if count.by_form and count.by_field is not None:  # the loader sets both, from the count's ``by``
        value = _answer(case["data"], count.by_form, count.by_field)
        if value in (None, ""):
            return 0
        rows = await _cases_answering(count.area, since, count.by_form, count.by_field, value)
        inactive = await inactive_case_ids()  # restricted or erased: kept, not processed, so never counted
        return sum(
            1
            for r in rows
            if r["id"] not in inactive and _answer(_loaded(r["data"]), count.by_form, count.by_field) == value
        )
    if person_id is None:
        return 0
    query = CaseSubject.select(CaseSubject.case).where(
        (CaseSubject.person == person_id)
        & CaseSubject.removed_at.is_null()
        & (CaseSubject.case.area == count.area)
        & (CaseSubject.case.opened_at >= since)
    )
    if count.role:
        query = query.where(CaseSubject.role == count.role)
    return len({r["case"] for r in await query} - await inactive_case_ids())


ALL_FACTS = frozenset({"event", "area", "case", "subject", "counts", "extra"})


async def build_facts(
    ctx: Context,
    case: dict[str, Any],
    event: str,
    needs: frozenset[str] = ALL_FACTS,
    *,
    per_subject: bool = True,
) -> list[tuple[dict[str, Any], int | None]]:
    """One facts document per current subject of the case (or one without a subject).

    ``needs`` names the parts the caller will test; counts and plugin facts are only worked out
    when needed, since they cost queries. ``per_subject=False`` (workflow guards) skips reading the
    subjects when no needed fact depends on them.
    """
    area = ctx.area(case["area"])
    subjects = (
        []
        if not per_subject and not needs & {"subject", "counts", "extra"}
        else await CaseSubject.select(
            CaseSubject.person,
            CaseSubject.role,
            CaseSubject.person.date_of_birth.as_alias("dob"),
            CaseSubject.person.gender.as_alias("gender"),
            CaseSubject.person.flags.as_alias("flags"),
        )
        .where((CaseSubject.case == case["id"]) & CaseSubject.removed_at.is_null())
        .output(load_json=True)
    )
    opened = case["opened_at"]
    base_case = {
        "reference": case["reference"],
        "area": case["area"],
        "state": case["state"],
        "risk_level": case["risk_level"],
        "days_open": (clock.now() - opened).days,
        "forms": {
            name: answers
            for name, answers in (case["data"] or {}).items()
            if name in area.forms and area.forms[name].in_facts
        },
    }
    shown: list[Any] = []

    def payload() -> Any:
        # the case as every other hook gets it (a CasePayload), made once and only if a plugin asks;
        # the raw row's old keys still answer, with a DeprecationWarning
        if not shown:
            from caseframe.core.cases.view import case_dict
            from caseframe.core.payloads import case_payload
            from caseframe.core.sharing.policy import Access

            try:  # plugins are given the whole case, as the owning agency sees it
                shown.append(case_payload(case_dict(ctx, case, Access.owner())))
            except KeyError:  # a caller that read only some columns: what it has, under the same names
                shown.append(case_payload({k: v for k, v in case.items()}))
        return shown[0]

    out = []
    each: list[dict[str, Any] | None] = [*subjects] or [None]  # no subjects: one document without one
    for subject in each:
        facts: dict[str, Any] = {"event": event, "area": case["area"], "case": base_case}
        person_id = None
        if subject is not None:
            person_id = subject["person"]
            facts["subject"] = {
                "role": subject["role"],
                "age": age(subject["dob"]),
                "gender": subject["gender"],
                "flags": subject["flags"] or [],
            }
        if "counts" in needs:
            facts["counts"] = {c.name: await _count(c, case, person_id) for c in area.counts}
        extra = {}
        for impl in ctx.pm.hook.extra_referral_facts.get_hookimpls() if "extra" in needs else ():
            given = {"case": payload, "subject": lambda: facts.get("subject"), "event": lambda: event}  # noqa: B023 (called below)
            # only the arguments the implementation names, as pluggy calls every other hook
            result = impl.function(**{name: given[name]() for name in impl.argnames if name in given})
            if result:
                extra[plugin_key(impl.plugin)] = result
        if extra:
            facts["extra"] = extra
        out.append((facts, person_id))
    return out


async def _written(referral_id: int) -> dict[str, Any]:
    """The referral as a change just left it."""
    row = await Referral.select().where(Referral.id == referral_id).first()
    assert row is not None  # referrals are never deleted (one is closed)
    return row


async def record_firing(
    rule: Rule, facts: dict[str, Any], case: dict[str, Any], person_id: int | None, event: str
) -> tuple[dict[str, Any], bool]:
    """Store why a rule fired; raise a referral, or add to the open one for the same person and target.

    Returns the referral and whether it is new.
    """
    now = clock.now()
    query = Referral.select().where(
        (Referral.status.is_in(["open", "info_requested"]))
        & (Referral.target_kind == rule.target.kind)
        & (Referral.target == rule.target.name)
    )
    query = (
        query.where(Referral.person == person_id)
        if person_id
        else query.where(Referral.person.is_null() & (Referral.from_case == case["id"]))
    )
    existing = await query.first()
    new = existing is None
    if existing is None:
        referral = Referral(
            person=person_id,
            from_case=case["id"],
            source_area=case["area"],
            target_kind=rule.target.kind,
            target=rule.target.name,
            rule_id=rule.qualified_id,
            reason=rule.reason,
            status="open",
            created_at=now,
        )
        await referral.save()
        referral_id = referral.id
    else:
        referral_id = existing["id"]
    await RuleFiring.insert(
        RuleFiring(
            referral=referral_id,
            rule_id=rule.qualified_id,
            area=rule.area,
            event=event,
            case=case["id"],
            person=person_id,
            facts=facts,
            reason=rule.reason,
            fired_at=now,
        )
    )
    await CaseEvent.insert(
        CaseEvent(
            case=case["id"],
            kind="referral",
            at=now,
            summary=(
                f"Referred to {rule.target.name.replace('_', ' ').replace('-', ' ')}: {rule.reason}"
                if new
                else f"Rule {rule.id} fired again; added to the open referral to "
                f"{rule.target.name.replace('_', ' ').replace('-', ' ')}"
            ),
            detail={"referral_id": referral_id, "rule_id": rule.qualified_id, "merged": not new},
        )
    )
    await audit.record(
        "referral.rule_fired",
        None,
        object_type="referral",
        object_id=referral_id,
        detail={"rule": rule.qualified_id, "case_id": case["id"], "merged": not new},
    )
    row = await _written(referral_id)
    if new:
        from caseframe.core.notifications.service import notify_referral_waiting

        await notify_referral_waiting(row, case["reference"], not_agency=case["owning_agency"])
    return row, new


async def _record_unaddressed_firing(rule: Rule, case: dict[str, Any]) -> None:
    summary = (
        f"Rule {rule.id} fired ({rule.reason}), but no other agency receives referrals to "
        f"{rule.target.name.replace('_', ' ').replace('-', ' ')}, so none was raised"
    )
    already = await CaseEvent.count().where(
        (CaseEvent.case == case["id"]) & (CaseEvent.kind == "referral") & (CaseEvent.summary == summary)
    )
    if not already:  # said once per case, not on every save
        await CaseEvent.insert(
            CaseEvent(
                case=case["id"],
                kind="referral",
                at=clock.now(),
                summary=summary,
                detail={"rule_id": rule.qualified_id, "unaddressed": True},
            )
        )


async def evaluate_rules(ctx: Context, case: dict[str, Any], event: str) -> list[dict[str, Any]]:
    """Evaluate every rule of the case's area for ``event``; return the new referrals.

    A rule fires at most once on a case for each person on it (``once = "case"``: once for the case), so
    an event that re-evaluates everything, such as a person added later, raises only what is new.
    Runs inside the caller's transaction, so a failed write leaves no referral behind.
    """
    if not ctx.areas.rules.rules_for(case["area"], event):
        return []
    # a restricted or erased case is kept, not processed: no rule acts
    if case["id"] in await inactive_case_ids():
        return []
    # what already fired on this case: (rule, person), person None for a rule that fires once per case
    fired = {
        (r["rule_id"], r["person"])
        for r in await RuleFiring.select(RuleFiring.rule_id, RuleFiring.person).where(
            RuleFiring.case == case["id"]
        )
    }
    today = clock.today()
    new_referrals = []
    for facts, person_id in await build_facts(ctx, case, event, ctx.areas.rules.needs(case["area"], event)):
        for firing in ctx.areas.rules.evaluate(case["area"], event, facts, today):
            about = None if firing.rule.once == "case" else person_id
            key = (firing.rule.qualified_id, about)
            if key in fired:
                continue  # said already: firing again would only repeat it on the timeline and in the inbox
            fired.add(key)
            target = firing.rule.target
            if firing.rule.action == "notify":
                from caseframe.core.notifications.notices import record_notice

                await record_notice(firing.rule, facts, case, about, event)
                continue
            if target.kind in ("area", "agency_type") and await _only_own_agency_answers(
                case["owning_agency"], target.kind, target.name
            ):
                # the case's own agency is not its own addressee: a referral only it could receive would
                # sit unanswered in its "sent" list; the case's timeline says the rule fired instead.
                # (A target no agency answers yet is still raised: it waits for a partner to join.)
                await _record_unaddressed_firing(firing.rule, case)
                continue
            referral, new = await record_firing(firing.rule, facts, case, about, event)
            if new:
                new_referrals.append(referral)
    return new_referrals


async def _reaches_another_agency(agency_id: int, kind: str, target: str) -> bool:
    """Whether an area or kind of agency describes an active agency other than ``agency_id``."""
    from caseframe.core.agencies.tables import Agency, AgencyArea

    if kind == "area":
        return (
            await AgencyArea.count().where(
                (AgencyArea.area == target)
                & (AgencyArea.agency != agency_id)
                & (AgencyArea.agency.active == True)
            )
            > 0
        )  # noqa: E712
    return (
        await Agency.count().where(
            (Agency.agency_type == target) & (Agency.id != agency_id) & (Agency.active == True)
        )
        > 0
    )  # noqa: E712


async def _only_own_agency_answers(agency_id: int, kind: str, target: str) -> bool:
    """Whether ``agency_id`` is of the kind (or runs the area) a target names, and no other active agency is."""
    from caseframe.core.agencies.tables import Agency, AgencyArea

    if kind == "area":
        own = (
            await AgencyArea.count().where((AgencyArea.area == target) & (AgencyArea.agency == agency_id)) > 0
        )
    else:
        own = await Agency.count().where((Agency.agency_type == target) & (Agency.id == agency_id)) > 0
    return own and not await _reaches_another_agency(agency_id, kind, target)


async def raise_referral(
    ctx: Context,
    actor: Actor,
    *,
    target_kind: str,
    target: str,
    reason: str,
    person_id: int | None = None,
    case: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A referral made by a person (not a rule), e.g. from a case to another area, an agency or a panel.

    A referral for the same person (or, without one, from the same case) to the same target while one is
    still open is added to that one, not repeated: the returned row then has ``merged`` set.
    """
    if case is not None:
        from caseframe.core.retention.service import refuse_write

        await refuse_write(case["id"], actor)
        refuse_closed(case)  # a closed case refers no one until it is reopened
    target, label = await _target_and_label(target_kind, (target or "").strip())
    problem, target_agency = await _target_problem(ctx, actor, target_kind, target)
    errors = [{"field": "/target", "message": problem}] if problem else []
    errors += await _reason_and_person_problems(reason, person_id, case)
    if errors:
        raise ValidationFailed("There is a problem with the referral", errors=errors)
    reason = reason.strip()
    now = clock.now()
    async with transaction():
        query = Referral.select().where(
            Referral.status.is_in(["open", "info_requested"])
            & (Referral.target_kind == target_kind)
            & (Referral.target == target)
        )
        query = (
            query.where(Referral.person == person_id)
            if person_id
            else query.where(
                Referral.person.is_null() & (Referral.from_case == (case["id"] if case else None))
            )
        )
        existing = await query.first() if (person_id or case) else None
        if existing is not None:
            await _add_to_open_referral(actor, existing, case, label, reason, now)
            return {**await _written(existing["id"]), "merged": True}
        referral = Referral(
            person=person_id,
            from_case=case["id"] if case else None,
            source_area=case["area"] if case else "",
            target_kind=target_kind,
            target=target,
            target_agency=target_agency,
            rule_id=None,
            reason=reason,
            status="open",
            raised_by=actor.id,
            raised_by_agency=actor.agency_id,
            created_at=now,
        )
        await referral.save()
        if case:
            await CaseEvent.insert(
                CaseEvent(
                    case=case["id"],
                    kind="referral",
                    at=now,
                    actor=actor.id,
                    summary=f"Referred to {label}: {reason}",
                    detail={"referral_id": referral.id},
                )
            )
        await audit.record("referral.create", actor, object_type="referral", object_id=referral.id)
        from caseframe.core.notifications.service import notify_referral_waiting

        await notify_referral_waiting(
            {"id": referral.id, "target_kind": target_kind, "target": target, "target_agency": target_agency},
            case["reference"] if case else "",
            not_agency=actor.agency_id,
        )
    row = await _written(referral.id)
    await ctx.emit(
        "referral_made",
        referral={
            "id": row["id"],
            "target_kind": target_kind,
            "target": target,
            "reason": reason,
            "rule_id": None,
            "person_id": person_id,
            "status": "open",
        },
        case=case,
    )
    return {**row, "merged": False}


async def _target_and_label(target_kind: str, target: str) -> tuple[str, str]:
    """The target as stored, and how the referring case's timeline names it. A panel is chosen by its number
    (``#12``: its slug was made from the name it first had, which may name a case, so the choice list does not
    show it) or its slug, and named by its name: stored as typed, a reference in it stays one the timeline's
    redactor recognises (the slug's words, ``noi 2026 12``, would not be)."""
    from caseframe.core.db import MAX_ID
    from caseframe.core.numbers import whole_number
    from caseframe.core.panels.tables import Panel

    label = target.replace("_", " ").replace("-", " ")
    if target_kind != "panel":
        return target, label
    if target.startswith("#"):
        number = whole_number(target[1:])
        if number is None or number > MAX_ID:
            return target, label  # names no panel: refused as one not on the list
        where = Panel.id == number
    else:
        where = Panel.slug == target
    row = await Panel.select(Panel.slug, Panel.name).where(where).first()
    return (row["slug"], row["name"]) if row else (target, label)


async def _target_problem(
    ctx: Context, actor: Actor, target_kind: str, target: str
) -> tuple[str, int | None]:
    """What is wrong with a referral's addressee ("" if nothing), and the agency it names (None unless one)."""
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.panels.tables import Panel

    if target_kind not in TARGET_KINDS:
        return "Select who the referral is for", None
    if target_kind == "area" and ctx.areas.get(target) is None:
        return "Select an installed business area", None
    if target_kind == "agency_type" and target not in ctx.areas.agency_types:
        return "Select a kind of agency from the list", None
    if target_kind in ("area", "agency_type") and not await _reaches_another_agency(
        actor.agency_id, target_kind, target
    ):
        # the referring agency is never its own addressee (see the inbox): this one would reach no one
        return "No other agency would receive this referral: select another", None
    if target_kind == "agency":
        agency = (
            await Agency.select(Agency.id).where((Agency.slug == target) & (Agency.active == True)).first()
        )  # noqa: E712
        if agency is None:
            return "Select an agency from the list", None
        if agency["id"] == actor.agency_id:
            return "Select another agency: a referral does not go to your own", None
        return "", agency["id"]
    if (
        target_kind == "panel"
        and await Panel.count().where((Panel.slug == target) & (Panel.active == True)) == 0
    ):  # noqa: E712
        return "Select a panel from the list", None
    return "", None


async def _reason_and_person_problems(
    reason: str, person_id: int | None, case: dict[str, Any] | None
) -> list[dict[str, str]]:
    """What is wrong with a referral's reason and the person it is about (who must be on the case, if any)."""
    errors = []
    if not (reason or "").strip():
        errors.append({"field": "/reason", "message": "Enter why you are making the referral"})
    elif len(reason) > 4000:
        errors.append({"field": "/reason", "message": "The reason must be 4,000 characters or fewer"})
    if person_id is not None and await Person.count().where(Person.id == person_id) == 0:
        errors.append({"field": "/person_id", "message": "Select a person who exists"})
    if (
        person_id is not None
        and case is not None
        and await CaseSubject.count().where(
            (CaseSubject.case == case["id"])
            & (CaseSubject.person == person_id)
            & CaseSubject.removed_at.is_null()
        )
        == 0
    ):
        errors.append({"field": "/person_id", "message": "Select a person on this case"})
    return errors


async def _add_to_open_referral(
    actor: Actor,
    existing: dict[str, Any],
    case: dict[str, Any] | None,
    label: str,
    reason: str,
    now: dt.datetime,
) -> None:
    """Inside the caller's transaction: a repeated referral becomes a note on the open one (and the case's
    timeline says so)."""
    await ReferralMessage.insert(
        ReferralMessage(
            referral=existing["id"],
            kind="note",
            author=actor.id,
            agency=actor.agency_id,
            at=now,
            text=f"Also referred: {reason}",
        )
    )
    await Referral.update({Referral.version: existing["version"] + 1}).where(Referral.id == existing["id"])
    if case:
        await CaseEvent.insert(
            CaseEvent(
                case=case["id"],
                kind="referral",
                at=now,
                actor=actor.id,
                summary=f"Added to the open referral to {label}: {reason}",
                detail={"referral_id": existing["id"], "merged": True},
            )
        )
    await audit.record(
        "referral.merged",
        actor,
        object_type="referral",
        object_id=existing["id"],
        detail={"case_id": case["id"] if case else None},
    )


async def firings_of(referral_id: int) -> list[dict[str, Any]]:
    return (
        await RuleFiring.select()
        .where(RuleFiring.referral == referral_id)
        .order_by(RuleFiring.id)
        .output(load_json=True)
    )
