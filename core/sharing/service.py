"""Information sharing agreements and the cases shared under them; the only code that writes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.agencies.tables import Agency
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.cache import DIRECTORY
from caseframe.core.cases.tables import Case, CaseEvent
from caseframe.core.cases.view import refuse_closed
from caseframe.core.context import Context
from caseframe.core.db.tx import transaction
from caseframe.core.errors import NotFound, ValidationFailed
from caseframe.core.numbers import far_date, whole_number
from caseframe.core.retention.service import refuse_write
from caseframe.core.sharing.policy import PURPOSES, SENSITIVITY, case_access, isa_is_live, live_isas_between
from caseframe.core.sharing.tables import CaseShare, SharingAgreement

#: how far from today an agreement may start or end, either way: a year typed wrong (0001, 9999, 20027) is refused,
#: as every other date a person enters is; agreements run for a few years and are reviewed well within this
ISA_WITHIN_YEARS = 20


def _date(value: Any, field: str, label: str, errors: list[dict[str, str]]) -> dt.date | None:
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value or ""))
        except ValueError:
            errors.append(
                {"field": field, "message": f"Enter the {label} as a real date, for example 2026-04-01"}
            )
            return None
    if far := far_date(day, ISA_WITHIN_YEARS, label):
        errors.append({"field": field, "message": far})
        return None
    return day


async def create_isa(
    ctx: Context,
    actor: Actor,
    *,
    reference: str,
    title: str,
    parties: list[int],
    purposes: list[str],
    areas: list[str],
    legal_basis: str,
    starts_on: Any,
    ends_on: Any,
    max_sensitivity: str = "official",
) -> dict[str, Any]:
    """Record an ISA; only a system admin may. Every problem is reported together and nothing is written."""
    permissions.require(actor, "isa.manage")
    errors: list[dict[str, str]] = []
    reference, title, legal_basis = (
        (reference or "").strip(),
        (title or "").strip(),
        (legal_basis or "").strip(),
    )
    if not reference or len(reference) > 40:
        errors.append({"field": "/reference", "message": "Enter a reference of 40 characters or fewer"})
    elif await SharingAgreement.exists().where(SharingAgreement.reference == reference):
        errors.append({"field": "/reference", "message": "An agreement with that reference already exists"})
    if not title or len(title) > 200:
        errors.append({"field": "/title", "message": "Enter a title of 200 characters or fewer"})
    party_ids = sorted({n for n in map(whole_number, parties or []) if n is not None})
    known = {r["id"] for r in await Agency.select(Agency.id).where(Agency.id.is_in(party_ids or [0]))}
    if len(known) < 2 or len(known) != len(party_ids):
        errors.append(
            {"field": "/parties", "message": "Select at least two agencies that are party to the agreement"}
        )
    if not purposes or any(p not in PURPOSES for p in purposes):
        errors.append({"field": "/purposes", "message": "Select at least one purpose from the list"})
    if not areas or any(ctx.areas.get(a) is None for a in areas):
        errors.append({"field": "/areas", "message": "Select at least one installed business area"})
    if not legal_basis:
        errors.append({"field": "/legal_basis", "message": "Enter the legal basis for sharing"})
    if max_sensitivity not in SENSITIVITY:
        errors.append(
            {"field": "/max_sensitivity", "message": "Select how sensitive the shared answers may be"}
        )
    start = _date(starts_on, "/starts_on", "start date", errors)
    end = _date(ends_on, "/ends_on", "end date", errors)
    if start and end and end < start:
        errors.append(
            {"field": "/ends_on", "message": "The end date must be the same as or after the start date"}
        )
    if errors:
        raise ValidationFailed("There is a problem with the agreement", errors=errors)
    assert start is not None and end is not None  # a date that is not one is among the errors above
    now = clock.now()
    async with transaction():
        isa = SharingAgreement(
            reference=reference,
            title=title,
            parties=party_ids,
            purposes=list(purposes),
            areas=list(areas),
            legal_basis=legal_basis,
            max_sensitivity=max_sensitivity,
            starts_on=start,
            ends_on=end,
            created_by=actor.id or None,
            created_at=now,
            updated_at=now,
        )
        await isa.save()
        await audit.record(
            "isa.create",
            actor,
            object_type="isa",
            object_id=isa.id,
            detail={
                "reference": reference,
                "parties": party_ids,
                "purposes": list(purposes),
                "areas": list(areas),
                "starts_on": start.isoformat(),
                "ends_on": end.isoformat(),
                "max_sensitivity": max_sensitivity,
            },
        )
    DIRECTORY.clear()
    saved = (
        await SharingAgreement.select().where(SharingAgreement.id == isa.id).output(load_json=True).first()
    )
    assert saved is not None  # committed above; agreements are never deleted (one ends)
    return saved


async def end_isa(actor: Actor, isa_id: int, reason: str) -> None:
    """End an agreement early: it stops giving access today (its end date becomes yesterday)."""
    row = await isa_to_end(actor, isa_id, reason)
    yesterday = clock.today() - dt.timedelta(days=1)
    async with transaction():
        await SharingAgreement.update(
            {
                SharingAgreement.ends_on: min(row["ends_on"], yesterday),
                SharingAgreement.updated_at: clock.now(),
                SharingAgreement.version: SharingAgreement.version + 1,
            }
        ).where(SharingAgreement.id == isa_id)
        await audit.record(
            "isa.end",
            actor,
            object_type="isa",
            object_id=isa_id,
            detail={
                "ends_on": {"from": row["ends_on"].isoformat(), "to": yesterday.isoformat()},
                "reason": reason.strip(),
            },
        )
    DIRECTORY.clear()


async def isa_to_end(actor: Actor, isa_id: int, reason: str) -> dict[str, Any]:
    """The agreement if the actor may end it with this reason (checked before the confirmation step too)."""
    permissions.require(
        actor, "isa.manage", message="Only a system admin can end information sharing agreements"
    )
    row = await SharingAgreement.select().where(SharingAgreement.id == isa_id).first()
    if row is None:
        raise NotFound("No agreement with that number exists")
    if not (reason or "").strip():
        raise ValidationFailed(
            "Enter why the agreement is ending",
            errors=[{"field": "/reason", "message": "Enter why the agreement is ending"}],
        )
    return row


def _isa_status(isa: dict[str, Any]) -> str:
    today = clock.today()
    if isa["ends_on"] < today:
        return "ended"
    return "future" if isa["starts_on"] > today else "live"


def _area_title(ctx: Context, slug: str) -> str:
    area = ctx.areas.get(slug)
    return area.title if area else slug


async def agreements_for(ctx: Context, actor: Actor) -> dict[str, Any]:
    """The agreements the actor may read (latest ending first), each with its status (live, future, ended), its
    parties' names and its areas' titles, and every agency (id, name) to choose parties from."""
    rows = (
        await SharingAgreement.select()
        .order_by(SharingAgreement.ends_on, ascending=False)
        .output(load_json=True)
    )
    rows = permissions.allowed(actor, "isa.read", rows)
    agencies = await Agency.select(Agency.id, Agency.name).order_by(Agency.name)
    names = {a["id"]: a["name"] for a in agencies}
    for r in rows:
        r["status"] = _isa_status(r)
        r["party_names"] = [names.get(p, "Unknown agency") for p in r["parties"] or []]
        r["area_titles"] = [_area_title(ctx, a) for a in r["areas"] or []]
    return {"agreements": rows, "agencies": agencies}


async def partners_for(actor: Actor, case_row: dict[str, Any]) -> list[dict[str, Any]]:
    """Agencies the case may be shared with: parties to a live ISA with the owner covering its area.

    A list to choose from, kept for a few seconds (``caseframe.core.cache.DIRECTORY``): ``share_case`` checks the
    agreement again."""
    key = ("partners", case_row["owning_agency"], case_row["area"], clock.today())
    cached = DIRECTORY.get(key)
    if cached is None:
        cached = DIRECTORY.put(key, await _partners(case_row))
    return cached


async def _partners(case_row: dict[str, Any]) -> list[dict[str, Any]]:
    isas = await live_isas_between(case_row["owning_agency"], case_row["owning_agency"], case_row["area"])
    ids = sorted({p for isa in isas for p in isa["parties"] if p != case_row["owning_agency"]})
    agencies = (
        await Agency.select(Agency.id, Agency.name)
        .where(Agency.id.is_in(ids or [0]) & (Agency.active == True))  # noqa: E712  (a deactivated one: no one to read it)
        .order_by(Agency.name)
    )
    return [
        {
            **a,
            "isas": [
                {
                    "id": i["id"],
                    "reference": i["reference"],
                    "title": i["title"],
                    "purposes": i["purposes"],
                    "ends_on": i["ends_on"],
                }
                for i in isas
                if a["id"] in i["parties"]
            ],
        }
        for a in agencies
    ]


async def share_case(
    actor: Actor, case_id: int, *, agency_id: int, purpose: str, isa_id: int | None = None
) -> dict[str, Any]:
    """Share a case with a partner agency for a purpose under a live ISA covering the case's area."""
    row = await Case.select().where(Case.id == case_id).first()
    access = await case_access(actor, row) if row else None
    if row is None or access is None:
        if row and row["owning_agency"] == actor.agency_id:
            await refuse_write(case_id, actor)  # the owner's own staff are told why (restricted or erased)
        raise NotFound("No case with that number exists")
    permissions.require(
        actor, "case.share", access, message="Only the owning agency's caseworkers can share this case"
    )
    await refuse_write(case_id, actor)
    refuse_closed(
        row, reader_sees=True
    )  # a closed case is shared with no one new; stopping a share stays allowed
    errors: list[dict[str, str]] = []
    # a deactivated agency is shared with no longer (its users cannot sign in; a share would only e-mail them)
    partner_active = await Agency.exists().where((Agency.id == agency_id) & (Agency.active == True))  # noqa: E712
    isas = (
        await live_isas_between(row["owning_agency"], agency_id, row["area"])
        if agency_id != row["owning_agency"] and partner_active
        else []
    )
    if not isas:
        errors.append(
            {
                "field": "/agency_id",
                "message": "Select an agency your agency has a live information "
                "sharing agreement with for this kind of case",
            }
        )
    else:
        if isa_id is not None:
            isas = [i for i in isas if i["id"] == isa_id]
            if not isas:
                errors.append({"field": "/isa_id", "message": "Select a live agreement with that agency"})
        if isas and purpose not in {p for i in isas for p in i["purposes"]}:
            errors.append({"field": "/purpose", "message": "Select a purpose the agreement allows"})
    if errors:
        raise ValidationFailed("There is a problem with the share", errors=errors)
    isa = next(i for i in isas if purpose in i["purposes"])
    async with transaction():
        return await _insert_share(actor, case_id, agency_id, isa, purpose)


async def _insert_share(
    actor: Actor, case_id: int, agency_id: int, isa: dict[str, Any], purpose: str, note: str = ""
) -> dict[str, Any]:
    """Write one share (inside the caller's transaction) with its timeline line and audit row."""
    existing = (
        await CaseShare.select(CaseShare.id)
        .where(
            (CaseShare.case == case_id)
            & (CaseShare.agency == agency_id)
            & (CaseShare.isa == isa["id"])
            & (CaseShare.purpose == purpose)
            & CaseShare.revoked_at.is_null()
        )
        .first()
    )
    if existing:
        return {"id": existing["id"], "new": False}
    agency = await Agency.select(Agency.name).where(Agency.id == agency_id).first()
    assert agency is not None  # a party to the agreement (callers checked); agencies are never deleted
    now = clock.now()
    share = CaseShare(
        case=case_id, agency=agency_id, isa=isa["id"], purpose=purpose, shared_by=actor.id, shared_at=now
    )
    await share.save()
    await CaseEvent.insert(
        CaseEvent(
            case=case_id,
            kind="share",
            actor=actor.id,
            at=now,
            summary=f"Shared with {agency['name']} for "
            f"{PURPOSES[purpose].lower()} under {isa['reference']}{note}",
            detail={"share_id": share.id, "agency_id": agency_id, "isa_id": isa["id"]},
        )
    )
    await audit.record(
        "case.share",
        actor,
        object_type="case",
        object_id=case_id,
        purpose=purpose,
        detail={"agency_id": agency_id, "isa_id": isa["id"], "share_id": share.id},
    )
    from caseframe.core.notifications.service import case_reference, notify

    reference = await case_reference(case_id)
    await notify(
        kind="case_shared",
        text=f"A case was shared with your agency: {reference}",
        link=f"/cases/{case_id}",
        agency_id=agency_id,
        case_id=case_id,
    )
    return {"id": share.id, "new": True}


async def revoke_share(actor: Actor, case_id: int, share_id: int) -> None:
    row = await Case.select().where(Case.id == case_id).first()
    access = await case_access(actor, row) if row else None
    if access is None:
        if row and row["owning_agency"] == actor.agency_id:
            await refuse_write(case_id, actor)  # the owner's own staff are told why (restricted or erased)
        raise NotFound("No case with that number exists")
    permissions.require(
        actor, "case.share", access, message="Only the owning agency's caseworkers can stop sharing this case"
    )
    await refuse_write(case_id, actor)
    share = (
        await CaseShare.select(*CaseShare.all_columns(), CaseShare.agency.name.as_alias("agency_name"))
        .where((CaseShare.id == share_id) & (CaseShare.case == case_id) & CaseShare.revoked_at.is_null())
        .first()
    )
    if share is None:
        raise NotFound("That share does not exist or has already ended")
    now = clock.now()
    async with transaction():
        await CaseShare.update({CaseShare.revoked_at: now, CaseShare.revoked_by: actor.id}).where(
            CaseShare.id == share_id
        )
        await CaseEvent.insert(
            CaseEvent(
                case=case_id,
                kind="share",
                actor=actor.id,
                at=now,
                summary=f"Stopped sharing with {share['agency_name']}",
                detail={"share_id": share_id, "revoked": True},
            )
        )
        await audit.record(
            "case.share_revoked",
            actor,
            object_type="case",
            object_id=case_id,
            purpose=share["purpose"],
            detail={"agency_id": share["agency"], "share_id": share_id},
        )


# written out once: the case page reads it on every view by the owner (tests/core/test_case_reads.py holds it to
# the ORM's)
SHARES_OF_SQL = (
    "SELECT s.id, s.purpose, s.shared_at, a.name AS agency_name, i.reference AS isa_reference, i.starts_on, "
    "i.ends_on FROM cf_case_share s LEFT JOIN cf_agency a ON a.id = s.agency LEFT JOIN cf_isa i ON i.id = s.isa "
    'WHERE s."case" = {} AND s.revoked_at IS NULL ORDER BY s.id'
)


async def shares_of(case_id: int, rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The case's shares that are in force today (live ISA, not revoked), for the owner to see. ``rows``: what
    ``SHARES_OF_SQL`` gives, when the caller read it already (core/cases/page_reads.py)."""
    if rows is None:
        rows = await CaseShare.raw(SHARES_OF_SQL, int(case_id))
    return [
        {**r, "purpose_label": PURPOSES.get(r["purpose"], r["purpose"]), "live": isa_is_live(r)} for r in rows
    ]
