"""Retention: when each case falls due for review, the local admin's decisions on it, erasure, and the nightly sweep.

Review, then erase: a UK local authority's records schedule expects a person to look at a file before it is
destroyed (a complaint, a claim or an inquiry may need it), so the sweep only *flags* the cases that fell due,
and erasure is always a local admin's decision on one case, confirmed, with a reason. Nothing is erased
automatically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.agencies.tables import Agency
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.tables import Case, CaseEvent, CaseSubject
from caseframe.core.context import Context
from caseframe.core.db.tx import transaction
from caseframe.core.errors import Forbidden, NotFound, ValidationFailed
from caseframe.core.numbers import whole_number
from caseframe.core.persons.tables import Person, PersonIdentifierKey, PersonNameWord
from caseframe.core.referrals.tables import Referral, RuleFiring
from caseframe.core.retention.tables import CaseRetention, RetentionOverride
from caseframe.core.tasks.tables import Task

#: how far ahead the review queue looks by default, so a local admin sees what falls due this month
DEFAULT_WITHIN_DAYS = 30
MAX_REASON = 500
ERASED_TEXT = "Removed under the retention policy"
ERASED_NAME = ("Erased", "person")


@dataclass
class DueCase:
    """A case whose retention date has passed or is near, with why, in words for the local admin."""

    id: int
    reference: str
    area: str
    area_title: str
    state_label: str
    due_on: dt.date
    reason: str
    years: int
    max_until: dt.date
    legal_hold: bool = False
    hold_reason: str = ""
    restricted: bool = False
    keep_until: dt.date | None = None
    extend_reason: str = ""
    flagged_at: dt.datetime | None = None

    @property
    def overdue(self) -> bool:
        return self.due_on <= clock.today()


@dataclass
class SweepReport:
    checked: int = 0
    due: list[DueCase] = field(default_factory=list)
    newly_flagged: int = 0
    on_hold: int = 0


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.datetime.fromisoformat(str(value)).date()


async def agency_periods(ctx: Context, agency_id: int) -> dict[str, dict[str, Any]]:
    """Each installed area's retention for the agency: the area's period, or the local admin's within bounds."""
    overrides = {
        r["area"]: r for r in await RetentionOverride.select().where(RetentionOverride.agency_id == agency_id)
    }
    out: dict[str, dict[str, Any]] = {}
    for area in ctx.areas:
        if area.retention is None:
            continue
        ret = area.retention
        own = overrides.get(area.slug)
        out[area.slug] = {
            "area": area.slug,
            "title": area.title,
            "default": ret.years_after_closure,
            "years": own["years"] if own else ret.years_after_closure,
            "idle_years": own["years"] if own else ret.years_after_last_activity,
            "min": ret.min_years,
            "max": ret.max_years,
            "basis": ret.basis,
            "overridden": own is not None,
            "override_reason": own["reason"] if own else "",
        }
    return out


def due_of(
    row: dict[str, Any], period: dict[str, Any], decision: dict[str, Any] | None
) -> tuple[dt.date, str, dt.date]:
    """When the case falls due, why (in words), and the latest date it may be extended to."""
    closed = _date(row["closed_at"])
    if closed is not None:
        due = add_years(closed, period["years"])
        reason = (
            f"Closed {closed:%-d %B %Y}; {period['title']} keeps cases {period['years']} years after closure"
        )
        latest = add_years(closed, period["max"])
    else:
        last = _date(row["updated_at"]) or _date(row["opened_at"])
        assert last is not None  # every case was opened at some moment
        due = add_years(last, period["idle_years"])
        reason = (
            f"Never closed; no change since {last:%-d %B %Y}, and {period['title']} reviews cases "
            f"{period['idle_years']} years after the last change"
        )
        latest = add_years(last, period["max"])
    keep = decision.get("keep_until") if decision else None
    keep = _date(keep)
    if keep is not None and keep > due:
        reason += (
            f"; kept until {keep:%-d %B %Y}: {(decision or {}).get('extend_reason') or 'no reason given'}"
        )
        due = keep
    return due, reason, latest


async def _decisions(case_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not case_ids:
        return {}
    rows = []
    for i in range(0, len(case_ids), 500):
        rows += await CaseRetention.select().where(CaseRetention.case_id.is_in(case_ids[i : i + 500]))
    return {r["case_id"]: r for r in rows}


async def decision_of(case_id: int) -> dict[str, Any] | None:
    return await CaseRetention.select().where(CaseRetention.case_id == case_id).first()


async def due_cases(
    ctx: Context, agency_id: int, *, within_days: int = DEFAULT_WITHIN_DAYS, limit: int | None = None
) -> list[DueCase]:
    """The agency's cases due for review on or before today + ``within_days``, oldest due first; erased cases are
    done with, so not listed."""
    periods = await agency_periods(ctx, agency_id)
    if not periods:
        return []
    horizon = clock.today() + dt.timedelta(days=within_days)
    # only cases old enough to be due under the shortest period can be: the rest are never read
    shortest = min(min(p["years"], p["idle_years"]) for p in periods.values())
    cutoff = dt.datetime.combine(add_years(horizon, -shortest), dt.time.max, tzinfo=dt.UTC)
    rows = (
        await Case.select(
            Case.id, Case.reference, Case.area, Case.state, Case.opened_at, Case.closed_at, Case.updated_at
        )
        .where(
            (Case.owning_agency == agency_id)
            & Case.area.is_in(list(periods))
            & (
                (Case.closed_at.is_not_null() & (Case.closed_at <= cutoff))
                | (Case.closed_at.is_null() & (Case.updated_at <= cutoff))
            )
        )
        .order_by(Case.id)
    )
    decisions = await _decisions([r["id"] for r in rows])
    out: list[DueCase] = []
    for row in rows:
        decision = decisions.get(row["id"])
        if decision and decision["erased_at"] is not None:
            continue
        period = periods[row["area"]]
        due, reason, latest = due_of(row, period, decision)
        if due > horizon:
            continue
        area = ctx.areas.get(row["area"])
        out.append(
            DueCase(
                id=row["id"],
                reference=row["reference"],
                area=row["area"],
                area_title=period["title"],
                state_label=area.workflow.label(row["state"]) if area else row["state"],
                due_on=due,
                reason=reason,
                years=period["years"],
                max_until=latest,
                legal_hold=bool(decision and decision["legal_hold"]),
                hold_reason=(decision or {}).get("hold_reason", ""),
                restricted=bool(decision and decision["restricted"]),
                keep_until=_date((decision or {}).get("keep_until")),
                extend_reason=(decision or {}).get("extend_reason", ""),
                flagged_at=(decision or {}).get("flagged_at"),
            )
        )
    out.sort(key=lambda d: (d.due_on, d.id))
    return out[:limit] if limit else out


async def view_queue(ctx: Context, actor: Actor, *, within_days: int = DEFAULT_WITHIN_DAYS) -> list[DueCase]:
    """The review queue a local admin sees for their own agency; the view is audited."""
    items = await due_cases(ctx, actor.agency_id, within_days=within_days)
    await audit.record_read(
        "retention.queue_view",
        actor,
        "agency",
        actor.agency_id,
        detail={"within_days": within_days, "ids": [d.id for d in items][:500]},
    )
    return items


# -- decisions on one case ----------------------------------------------------------------------


def _reason(text: Any, field_name: str = "reason", what: str = "the reason") -> str:
    value = str(text or "").strip()
    if not value:
        raise ValidationFailed(
            f"Enter {what}", errors=[{"field": f"/{field_name}", "message": f"Enter {what}"}]
        )
    if len(value) > MAX_REASON:
        raise ValidationFailed(
            f"{what.capitalize()} is too long",
            errors=[
                {
                    "field": f"/{field_name}",
                    "message": f"{what.capitalize()} must be {MAX_REASON} characters or fewer",
                }
            ],
        )
    return value


async def _own_case(ctx: Context, actor: Actor, case_id: int) -> dict[str, Any]:
    """A case of the local admin's own agency, not yet erased; anything else is 'not found' (ids are no oracle)."""
    permissions.require(actor, "retention.review")
    row = (
        await Case.select()
        .where((Case.id == case_id) & (Case.owning_agency == actor.agency_id))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFound("No case with that number exists")
    return row


async def _save_decision(case_id: int, values: dict[str, Any]) -> None:
    """Insert or update the case's retention row; call inside the write transaction."""
    now = clock.now()
    existing = await CaseRetention.select(CaseRetention.id).where(CaseRetention.case_id == case_id).first()
    if existing is None:
        await CaseRetention.insert(CaseRetention(case_id=case_id, updated_at=now, **values))
    else:
        await CaseRetention.update(
            {getattr(CaseRetention, k): v for k, v in values.items()} | {CaseRetention.updated_at: now}
        ).where(CaseRetention.case_id == case_id)


async def case_summary(ctx: Context, actor: Actor, case_id: int) -> dict[str, Any]:
    """What the local admin's decision pages show about one of their cases: due date, reason, bounds, decisions."""
    row = await _own_case(ctx, actor, case_id)
    periods = await agency_periods(ctx, actor.agency_id)
    period = periods.get(row["area"])
    if period is None:
        raise NotFound("This case's area declares no retention period")
    decision = await decision_of(case_id) or {}
    due, reason, latest = due_of(row, period, decision)
    area = ctx.areas.get(row["area"])
    return {
        "id": row["id"],
        "reference": row["reference"],
        "area_title": period["title"],
        "state_label": area.workflow.label(row["state"]) if area else row["state"],
        "due_on": due,
        "reason": reason,
        "max_until": latest,
        "legal_hold": bool(decision.get("legal_hold")),
        "hold_reason": decision.get("hold_reason", ""),
        "restricted": bool(decision.get("restricted")),
        "erased_at": decision.get("erased_at"),
        "keep_until": _date(decision.get("keep_until")),
    }


async def view_case(ctx: Context, actor: Actor, case_id: int) -> dict[str, Any]:
    """The decision page's summary of one case; the view is audited."""
    info = await case_summary(ctx, actor, case_id)
    await audit.record_read(
        "retention.case_view", actor, "case", case_id, detail={"reference": info["reference"]}
    )
    return info


async def extend(ctx: Context, actor: Actor, case_id: int, until: Any, reason: Any) -> dict[str, Any]:
    """Keep a case until a later date, never past the area's max_years; audited with the reason."""
    info = await case_summary(ctx, actor, case_id)
    if info["erased_at"]:
        raise Forbidden("This case has already been erased")
    errors = []
    try:
        day = dt.date.fromisoformat(str(until or "").strip())
    except ValueError:
        day = None
        errors.append(
            {"field": "/until", "message": "Enter the date to keep the case until, like 2031-03-01"}
        )
    if day is not None and day <= clock.today():
        errors.append({"field": "/until", "message": "The date to keep the case until must be in the future"})
    elif day is not None and day > info["max_until"]:
        errors.append(
            {
                "field": "/until",
                "message": f"{info['area_title']} keeps cases at most until "
                f"{info['max_until']:%-d %B %Y}; choose that date or an earlier one",
            }
        )
    try:
        text = _reason(reason, "extend_reason", "why the case is kept longer")
    except ValidationFailed as exc:
        errors += exc.errors
    if errors:
        raise ValidationFailed("There is a problem with the extension", errors=errors)
    assert day is not None  # no date is one of the errors above
    async with transaction():
        await _save_decision(case_id, {"keep_until": day, "extend_reason": text, "flagged_at": None})
        await audit.record(
            "retention.extend",
            actor,
            object_type="case",
            object_id=case_id,
            detail={
                "reference": info["reference"],
                "from": info["due_on"].isoformat(),
                "until": day.isoformat(),
                "reason": text,
            },
        )
    return await case_summary(ctx, actor, case_id)


async def set_legal_hold(ctx: Context, actor: Actor, case_id: int, hold: bool, reason: Any) -> None:
    """Put a case on legal hold (it cannot be erased, by anyone, until released) or release it; audited."""
    info = await case_summary(ctx, actor, case_id)
    if info["erased_at"]:
        raise Forbidden("This case has already been erased")
    text = _reason(
        reason, "hold_reason", "the reason for the legal hold" if hold else "why the hold is released"
    )
    async with transaction():
        await _save_decision(case_id, {"legal_hold": hold, "hold_reason": text if hold else ""})
        await audit.record(
            "retention.hold" if hold else "retention.release",
            actor,
            object_type="case",
            object_id=case_id,
            detail={"reference": info["reference"], "reason": text},
        )


async def set_restricted(ctx: Context, actor: Actor, case_id: int, restricted: bool, reason: Any) -> None:
    """Restrict a case (hidden from everyone but the agency's local admin) or lift it; audited."""
    info = await case_summary(ctx, actor, case_id)
    if info["erased_at"]:
        raise Forbidden("This case has already been erased")
    text = _reason(
        reason,
        "restrict_reason",
        "the reason for restricting the case" if restricted else "why the restriction ends",
    )
    async with transaction():
        await _save_decision(
            case_id, {"restricted": restricted, "restrict_reason": text if restricted else ""}
        )
        await audit.record(
            "retention.restrict" if restricted else "retention.unrestrict",
            actor,
            object_type="case",
            object_id=case_id,
            detail={"reference": info["reference"], "reason": text},
        )


async def set_period(ctx: Context, actor: Actor, area_slug: str, years: Any, reason: Any) -> None:
    """The agency's own retention period for an area, within the area's bounds; audited."""
    permissions.require(actor, "retention.review", message="Only a local admin can set retention periods")
    periods = await agency_periods(ctx, actor.agency_id)
    period = periods.get(area_slug)
    if period is None:
        raise ValidationFailed(
            "Select an area",
            errors=[
                {"field": "/period_area", "message": "Select the area whose retention period you are setting"}
            ],
        )
    errors = []
    value = whole_number(years)  # ASCII digits only: int() also took "١٢" and "1_0"
    if value is None:
        errors.append(
            {"field": "/period_years", "message": "Enter the number of years as a whole number, like 6"}
        )
    if value is not None and not period["min"] <= value <= period["max"]:
        errors.append(
            {
                "field": "/period_years",
                "message": f"Enter a number of years from {period['min']} to {period['max']}",
            }
        )
    try:
        text = _reason(reason, "period_reason", "why your agency keeps these cases for this long")
    except ValidationFailed as exc:
        errors += exc.errors
    if errors:
        raise ValidationFailed("There is a problem with the retention period", errors=errors)
    async with transaction():
        await RetentionOverride.delete().where(
            (RetentionOverride.agency_id == actor.agency_id) & (RetentionOverride.area == area_slug)
        )
        await RetentionOverride.insert(
            RetentionOverride(
                agency_id=actor.agency_id,
                area=area_slug,
                years=value,
                reason=text,
                set_by=actor.id,
                set_at=clock.now(),
            )
        )
        await audit.record(
            "retention.period_set",
            actor,
            object_type="agency",
            object_id=actor.agency_id,
            detail={"area": area_slug, "from": period["years"], "to": value, "reason": text},
        )


# -- erasure ------------------------------------------------------------------------------------


async def _erase_documents(case_id: int, actor: Actor, reason: str) -> int:
    """The documents held on the case; a no-op where no document store is installed (the hook point)."""
    try:
        from caseframe.core.documents.erasure import erase_case_documents
    except ImportError:
        return 0
    return await erase_case_documents(case_id, actor, reason=reason)


async def _persons_to_anonymise(case_id: int, owner: int) -> list[int]:
    """Persons on the case whose record the erasing agency made and who appear nowhere else: on no other case
    (even one they were removed from), named by no referral or rule firing about another case. Anyone else stays
    as they are: another case, or another agency's referral, still relies on them."""
    on_case = {
        r["person"] for r in await CaseSubject.select(CaseSubject.person).where(CaseSubject.case == case_id)
    }
    if not on_case:
        return []
    ids = list(on_case)
    own = {
        r["id"]
        for r in await Person.select(Person.id).where(
            Person.id.is_in(ids) & (Person.created_by_agency == owner)
        )
    }
    elsewhere = {
        r["person"]
        for r in await CaseSubject.select(CaseSubject.person).where(
            CaseSubject.person.is_in(ids) & (CaseSubject.case != case_id)
        )
    }
    elsewhere |= {
        r["person"]
        for r in await Referral.select(Referral.person).where(
            Referral.person.is_in(ids) & ((Referral.from_case != case_id) | Referral.from_case.is_null())
        )
    }
    elsewhere |= {
        r["person"]
        for r in await RuleFiring.select(RuleFiring.person).where(
            RuleFiring.person.is_in(ids) & ((RuleFiring.case != case_id) | RuleFiring.case.is_null())
        )
    }
    return sorted(own - elsewhere)


async def _erase_notice_facts(case_id: int) -> None:
    """The facts a rule saw, as its notices to other agencies keep them (``detail["facts"]``), go with the case's
    answers: the notice keeps which rule told the agency and why, as the referrals it made do."""
    from caseframe.core.notifications.tables import Notification

    for n in (
        await Notification.select(Notification.id, Notification.detail)
        .where((Notification.case_id == case_id) & (Notification.kind == "rule_notice"))
        .output(load_json=True)
    ):
        detail = n["detail"] if isinstance(n["detail"], dict) else {}
        if "facts" in detail:
            await Notification.update({Notification.detail: {**detail, "facts": {}}}).where(
                Notification.id == n["id"]
            )


async def erase(ctx: Context, actor: Actor, case_id: int, reason: Any) -> dict[str, Any]:
    """Erase a case under the retention policy, in one transaction: answers, timeline text, tasks' text, the
    facts referral rules saw, the links to persons and the case's documents are removed; persons found nowhere
    else are anonymised. The case row stays as a tombstone stub (reference, area, dates) so references still
    resolve, and a ``retention.erase`` audit event records what was erased, when, by whom and why."""
    info = await case_summary(ctx, actor, case_id)
    if info["erased_at"]:
        raise Forbidden("This case has already been erased")
    if info["legal_hold"]:
        raise Forbidden(
            f"This case is on legal hold ({info['hold_reason']}), so it cannot be erased. "
            "Release the hold first if it no longer applies."
        )
    if info["due_on"] > clock.today():
        raise Forbidden(
            f"This case is not due for review until {info['due_on']:%-d %B %Y}, so it cannot be erased yet"
        )
    text = _reason(reason, "erase_reason", "why the case is erased")
    now = clock.now()
    async with transaction():
        row = await Case.select().where(Case.id == case_id).first()
        # read by case_summary above; cases are never deleted (this one becomes a stub)
        assert row is not None
        decision = await decision_of(case_id)
        if (decision or {}).get("legal_hold") or (decision or {}).get("erased_at"):
            raise Forbidden("This case changed while you were deciding: look at the review queue again")
        persons = await _persons_to_anonymise(case_id, row["owning_agency"])
        # who was on the case, by record number only: a subject access request still finds the tombstone
        on_case = sorted(
            {
                r["person"]
                for r in await CaseSubject.select(CaseSubject.person).where(CaseSubject.case == case_id)
            }
        )
        documents = await _erase_documents(case_id, actor, text)
        await Case.update(
            {Case.data: {}, Case.risk_level: None, Case.version: row["version"] + 1, Case.updated_at: now}
        ).where(Case.id == case_id)
        await CaseEvent.update({CaseEvent.summary: ERASED_TEXT, CaseEvent.detail: {}}).where(
            CaseEvent.case == case_id
        )
        await Task.update({Task.title: ERASED_TEXT, Task.description: ""}).where(Task.case == case_id)
        await RuleFiring.update({RuleFiring.facts: {}}).where(RuleFiring.case == case_id)
        await _erase_notice_facts(case_id)
        await CaseSubject.delete().where(CaseSubject.case == case_id)
        if persons:
            await PersonNameWord.delete().where(PersonNameWord.person.is_in(persons))
            await PersonIdentifierKey.delete().where(PersonIdentifierKey.person.is_in(persons))
            await Person.update(
                {
                    Person.given_name: ERASED_NAME[0],
                    Person.family_name: ERASED_NAME[1],
                    Person.date_of_birth: None,
                    Person.gender: "",
                    Person.aliases: [],
                    Person.addresses: [],
                    Person.identifiers: [],
                    Person.flags: [],
                    Person.search_text: "",
                    Person.updated_at: now,
                }
            ).where(Person.id.is_in(persons))
        await CaseEvent.insert(
            CaseEvent(
                case=case_id,
                kind="retention",
                actor=actor.id,
                at=now,
                summary=f"Erased on {now:%-d %B %Y} under the retention policy",
                detail={},
            )
        )
        await _save_decision(case_id, {"erased_at": now, "restricted": False, "flagged_at": None})
        # the tombstone: what was erased and why, kept in the append-only audit trail
        await audit.record(
            "retention.erase",
            actor,
            object_type="case",
            object_id=case_id,
            detail={
                "reference": info["reference"],
                "area": row["area"],
                "opened_at": row["opened_at"].isoformat(),
                "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
                "due_on": info["due_on"].isoformat(),
                "policy": info["reason"],
                "reason": text,
                "persons_anonymised": persons,
                "persons_on_case": on_case,
                "documents_erased": documents,
            },
        )
    return {"reference": info["reference"], "persons_anonymised": len(persons), "documents_erased": documents}


# -- what case reads, lists and writes must respect ------------------------------------------------

#: what a write on a restricted case is told (UK GDPR Art. 18: a restricted record is kept, not processed)
RESTRICTED_WRITE = (
    "Case {reference} is restricted under the retention policy: it is kept but not worked on, so "
    "nothing on it can be changed. Ask your agency's local admin if the restriction should be lifted."
)
#: what another agency's reader of a restricted or erased case gets: the answer for a case that does not exist
NOT_FOUND = "No case with that number exists"
ERASED_WRITE = "Case {reference} was erased under the retention policy: nothing on it can be changed."


@dataclass(frozen=True)
class Withheld:
    """Which cases retention keeps out of one reader's lists, counts and words (the one rule every list applies).

    ``hidden``: listed nowhere for this reader: every erased case (it appears only on the retention pages and in the
    audit), and every restricted case unless the reader is a local admin of its owning agency. ``marked``: the
    restricted cases this reader (that local admin) still sees listed, marked "Restricted". ``inactive``: every
    restricted or erased case, whoever reads: no count, rule, reminder or write acts on them."""

    hidden: frozenset[int] = frozenset()
    marked: frozenset[int] = frozenset()

    @property
    def inactive(self) -> frozenset[int]:
        return self.hidden | self.marked

    def keep(self, case_id: int | None) -> bool:
        """Whether a list may show the case (an item with no case is kept)."""
        return case_id is None or case_id not in self.hidden


NOTHING_WITHHELD = Withheld()


async def _withheld_rows() -> list[dict[str, Any]]:
    return await CaseRetention.raw(
        "SELECT r.case_id, r.restricted, r.erased_at, c.owning_agency FROM cf_case_retention r "
        "JOIN cf_case c ON c.id = r.case_id WHERE r.restricted OR r.erased_at IS NOT NULL"
    )


async def withheld_from(actor: Actor | None) -> Withheld:
    """The cases retention keeps from ``actor``'s lists (``None``: a system reader, e.g. a sweep, that sees none of
    them). One query over the few cases retention restricted or erased, whatever the list."""
    hidden: set[int] = set()
    marked: set[int] = set()
    for row in await _withheld_rows():
        if (
            row["erased_at"] is None
            and actor is not None
            and permissions.can(actor, "case.read_restricted", {"owning_agency": row["owning_agency"]})
        ):
            marked.add(row["case_id"])
        else:
            hidden.add(row["case_id"])
    return Withheld(frozenset(hidden), frozenset(marked))


async def inactive_case_ids() -> frozenset[int]:
    """Every restricted or erased case: no rule fires, no reminder goes, no count includes them."""
    return frozenset(r["case_id"] for r in await _withheld_rows())


#: what a write on such a case is told in another agency (a panel action's agency): it names no case
ELSEWHERE_WRITE = (
    "The case this is about is held under the retention policy by its owning agency, so nothing on "
    "it can be changed now."
)


async def write_refusal(row: dict[str, Any], actor: Actor | None = None) -> str | None:
    """Why nothing may be written on this case (restricted or erased), or None. Told to another agency than the
    owner's, the words name no case."""
    decision = (
        await CaseRetention.select(CaseRetention.restricted, CaseRetention.erased_at)
        .where(CaseRetention.case_id == row["id"])
        .first()
    )
    if decision is None or (decision["erased_at"] is None and not decision["restricted"]):
        return None
    if actor is not None and "owning_agency" in row and actor.agency_id != row["owning_agency"]:
        return ELSEWHERE_WRITE
    if decision["erased_at"] is not None:
        return ERASED_WRITE.format(reference=row["reference"])
    return RESTRICTED_WRITE.format(reference=row["reference"])


async def refuse_write(case_id: int | None, actor: Actor | None = None) -> None:
    """Raise Forbidden (nothing changed) if the case is restricted or erased: the write gate every service that
    changes something on a case passes (forms, workflow, notes, subjects, tasks, shares, documents, panels)."""
    if not case_id:
        return
    row = await Case.select(Case.id, Case.reference, Case.owning_agency).where(Case.id == case_id).first()
    if row is None:
        return
    reason = await write_refusal(row, actor)
    if reason is not None:
        raise Forbidden(reason)


async def withholds(actor: Actor, row: dict[str, Any]) -> bool:
    """Whether retention keeps this case (a row with id and owning_agency) from the actor: erased, or restricted and
    they are not a local admin of its owning agency."""
    decision = (
        await CaseRetention.select(CaseRetention.restricted, CaseRetention.erased_at)
        .where(CaseRetention.case_id == row["id"])
        .first()
    )
    if decision is None:
        return False
    if decision["erased_at"] is not None:
        return True
    return bool(decision["restricted"]) and not permissions.can(
        actor, "case.read_restricted", {"owning_agency": row["owning_agency"]}
    )


async def refusal_for(actor: Actor, row: dict[str, Any]) -> str | None:
    """Why the actor may not read this case because of retention (erased, or restricted and they are not the
    owning agency's local admin); None when retention does not stand in the way."""
    decision = (
        await CaseRetention.select(CaseRetention.restricted, CaseRetention.erased_at)
        .where(CaseRetention.case_id == row["id"])
        .first()
    )
    return refusal_given(actor, row, decision)


def refusal_given(actor: Actor, row: dict[str, Any], decision: dict[str, Any] | None) -> str | None:
    """:func:`refusal_for` on the case's retention decision already read (its ``restricted`` and ``erased_at``;
    None when retention has never touched the case): the case page reads it with the case row."""
    if decision is None:
        return None
    if (decision["erased_at"] is not None or decision["restricted"]) and actor.agency_id != row[
        "owning_agency"
    ]:
        # another agency (a partner, a panel member) is told nothing about it: no case, as for one never shared
        return NOT_FOUND
    if decision["erased_at"] is not None:
        return (
            f"Case {row['reference']} was erased on {decision['erased_at']:%-d %B %Y} under the retention "
            "policy. Only a record that it existed is kept."
        )
    if decision["restricted"] and not permissions.can(actor, "case.read_restricted", row):
        return (
            f"Case {row['reference']} is restricted while it is reviewed under the retention policy. "
            "Ask your agency's local admin if you need it."
        )
    return None


async def kept_as_they_are(ctx: Context, case_ids: Any) -> list[str]:
    """Why retention keeps each of these cases as it stands, one line naming the case: erased, restricted, on legal
    hold, or past its retention date and waiting for the local admin's review (a change to who is on such a case
    would bring back or alter what retention is deciding on). [] when none is."""
    ids = sorted({i for i in case_ids if i})
    if not ids:
        return []
    rows = (
        await Case.select(
            Case.id,
            Case.reference,
            Case.area,
            Case.owning_agency,
            Case.opened_at,
            Case.closed_at,
            Case.updated_at,
        )
        .where(Case.id.is_in(ids))
        .order_by(Case.reference)
    )
    decisions = await _decisions(ids)
    periods: dict[int, dict[str, dict[str, Any]]] = {}
    out = []
    for row in rows:
        decision = decisions.get(row["id"]) or {}
        if row["owning_agency"] not in periods:
            periods[row["owning_agency"]] = await agency_periods(ctx, row["owning_agency"])
        period = periods[row["owning_agency"]].get(row["area"])
        due = due_of(row, period, decision)[0] if period else None
        if decision.get("erased_at") is not None:
            out.append(f"{row['reference']} was erased under the retention policy")
        elif decision.get("restricted"):
            out.append(f"{row['reference']} is restricted under the retention policy")
        elif decision.get("legal_hold"):
            out.append(f"{row['reference']} is on legal hold")
        elif due is not None and due <= clock.today():
            out.append(
                f"{row['reference']} is past its retention date ({due:%-d %B %Y}) and waits for review"
            )
    return out


# -- the nightly sweep --------------------------------------------------------------------------


async def sweep(
    ctx: Context,
    *,
    agency_slug: str | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int, str], None] = lambda done, total, name: None,
) -> SweepReport:
    """Find every case due for review in each agency (or one), and flag those not flagged before (audited as
    ``retention.flagged``). Safe to re-run: a case is flagged once. ``dry_run`` changes nothing."""
    query = Agency.select(Agency.id, Agency.slug, Agency.name).order_by(Agency.id)
    if agency_slug:
        query = query.where(Agency.slug == agency_slug)
    agencies = await query
    if agency_slug and not agencies:
        raise NotFound(
            f"No agency {agency_slug!r}: use the slug shown on the agencies page, like ashdown-council"
        )
    report = SweepReport()
    for i, agency in enumerate(agencies):
        remaining = None if limit is None else limit - len(report.due)
        if remaining is not None and remaining <= 0:
            break
        due = [d for d in await due_cases(ctx, agency["id"], within_days=0, limit=remaining)]
        report.checked += 1
        report.due += due
        report.on_hold += sum(1 for d in due if d.legal_hold)
        fresh = [d for d in due if d.flagged_at is None and not d.legal_hold]
        report.newly_flagged += len(fresh)
        if fresh and not dry_run:
            async with transaction():
                now = clock.now()
                for d in fresh:
                    await _save_decision(d.id, {"flagged_at": now})
                await audit.record(
                    "retention.flagged",
                    None,
                    object_type="agency",
                    object_id=agency["id"],
                    detail={"ids": [d.id for d in fresh], "references": [d.reference for d in fresh]},
                )
        progress(i + 1, len(agencies), agency["slug"])
    return report
