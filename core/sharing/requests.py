"""Access requests: from the national search, ask the agency holding a person's record to share it; it grants or refuses."""

from __future__ import annotations

from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.agencies.tables import Agency
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.tables import Case, CaseSubject
from caseframe.core.db.tx import transaction
from caseframe.core.errors import NotFound, ValidationFailed
from caseframe.core.persons.tables import Person
from caseframe.core.sharing.policy import PURPOSES, live_isas_between
from caseframe.core.sharing.redaction import redactor_for
from caseframe.core.sharing.service import _insert_share
from caseframe.core.sharing.tables import AccessRequest


async def _holders(person_id: int) -> set[int]:
    person = (
        await Person.select(Person.created_by_agency, Person.merged_into)
        .where(Person.id == person_id)
        .first()
    )
    if person is None or person["merged_into"] is not None:  # a merged record: ask about the one it became
        return set()
    links = await CaseSubject.select(
        CaseSubject.case, CaseSubject.case.owning_agency.as_alias("agency")
    ).where((CaseSubject.person == person_id) & CaseSubject.removed_at.is_null())
    from caseframe.core.retention.service import inactive_case_ids

    inactive = await inactive_case_ids()  # a restricted case makes no agency a holder to ask
    return {person["created_by_agency"], *(link["agency"] for link in links if link["case"] not in inactive)}


async def _check_may_ask(actor: Actor, person_id: int, holding_agency_id: int) -> None:
    """A request is about a person the actor may know of (a person page or their own national search shows
    them) held by another agency; anything else is "not found", so a guessed id says nothing."""
    from caseframe.core.sharing.national import may_know_of

    if (
        holding_agency_id == actor.agency_id
        or holding_agency_id not in await _holders(person_id)
        or not await may_know_of(actor, person_id)
    ):
        raise NotFound("That agency holds no record of that person")


async def asking_form(actor: Actor, person_id: int, holding_agency_id: int) -> dict[str, Any]:
    """The person's name and the holding agency's, for the form asking for access; naming the person is audited."""
    await _check_may_ask(actor, person_id, holding_agency_id)
    person = await Person.select(Person.given_name, Person.family_name).where(Person.id == person_id).first()
    agency = await Agency.select(Agency.name).where(Agency.id == holding_agency_id).first()
    async with transaction():
        await audit.record(
            "access.request_form",
            actor,
            object_type="person",
            object_id=person_id,
            detail={"holding_agency_id": holding_agency_id},
        )
    return {
        "person_id": person_id,
        "agency_id": holding_agency_id,
        "person": f"{person['given_name']} {person['family_name']}",
        "agency": agency["name"],
    }


async def request_access(
    actor: Actor, *, person_id: int, holding_agency_id: int, purpose: str, reason: str
) -> dict[str, Any]:
    """Ask ``holding_agency_id`` for the records it holds about a person; nothing is shared until it grants."""
    await _check_may_ask(actor, person_id, holding_agency_id)
    errors = []
    if purpose not in PURPOSES:
        errors.append({"field": "/purpose", "message": "Select why you need access"})
    if not (reason or "").strip() or len(reason) > 2000:
        errors.append(
            {"field": "/reason", "message": "Enter why you need access (2,000 characters or fewer)"}
        )
    if errors:
        raise ValidationFailed("There is a problem with the request", errors=errors)
    pending = (
        await AccessRequest.select(AccessRequest.id)
        .where(
            (AccessRequest.person == person_id)
            & (AccessRequest.requesting_agency == actor.agency_id)
            & (AccessRequest.holding_agency == holding_agency_id)
            & (AccessRequest.status == "pending")
        )
        .first()
    )
    if pending:
        return {"id": pending["id"], "new": False}
    async with transaction():
        row = AccessRequest(
            person=person_id,
            requested_by=actor.id,
            requesting_agency=actor.agency_id,
            holding_agency=holding_agency_id,
            purpose=purpose,
            reason=reason.strip(),
            status="pending",
            created_at=clock.now(),
        )
        await row.save()
        await audit.record(
            "access.request",
            actor,
            object_type="access_request",
            object_id=row.id,
            purpose=purpose,
            detail={"person_id": person_id, "holding_agency_id": holding_agency_id},
        )
    return {"id": row.id, "new": True}


async def _load_for_holder(actor: Actor, request_id: int) -> dict[str, Any]:
    row = await AccessRequest.select().where(AccessRequest.id == request_id).first()
    if row is None or row["holding_agency"] != actor.agency_id:
        raise NotFound("No request with that number exists")
    permissions.require(actor, "access_request.decide")
    if row["status"] != "pending":
        raise ValidationFailed(
            "This request has already been decided",
            errors=[{"field": "/status", "message": "This request has already been decided"}],
        )
    return row


#: a grant finding only closed cases: as on a case page, a closed case is shared with no one new
ALL_CLOSED = (
    "Every case your agency holds about this person is closed, and a closed case is not shared with anyone "
    "new: reopen a case to share it, or refuse the request. Nothing has been shared."
)


async def grant_access(actor: Actor, request_id: int, note: str = "") -> int:
    """Share every open case of ours about the person that a live ISA with the requester covers; return how many.

    A closed case is left out, as a new share of it is refused on its page (``cases.view.refuse_closed``); if
    every case is closed, nothing is granted and the holder is told why."""
    row = await _load_for_holder(actor, request_id)
    if not await Agency.exists().where((Agency.id == row["requesting_agency"]) & (Agency.active == True)):  # noqa: E712
        raise ValidationFailed(
            "The agency that asked has been deactivated",
            errors=[
                {
                    "field": "/isa",
                    "message": "The agency that asked has been deactivated, so no access can be granted to it",
                }
            ],
        )
    cases = await Case.select(Case.id, Case.area, Case.closed_at).where(
        Case.id.is_in(
            [
                r["case"]
                for r in await CaseSubject.select(CaseSubject.case).where(
                    (CaseSubject.person == row["person"]) & CaseSubject.removed_at.is_null()
                )
            ]
            or [0]
        )
        & (Case.owning_agency == actor.agency_id)
    )
    from caseframe.core.retention.service import inactive_case_ids

    inactive = await inactive_case_ids()  # a restricted or erased case is shared with no one
    cases = [c for c in cases if c["id"] not in inactive]
    if cases and all(c["closed_at"] for c in cases):
        raise ValidationFailed("Every case is closed", errors=[{"field": "/isa", "message": ALL_CLOSED}])
    cases = [c for c in cases if not c["closed_at"]]
    isas = [
        i
        for i in await live_isas_between(actor.agency_id, row["requesting_agency"])
        if row["purpose"] in i["purposes"]
    ]
    coverable = [(c, next((i for i in isas if c["area"] in i["areas"]), None)) for c in cases]
    coverable = [(c, i) for c, i in coverable if i is not None]
    if not coverable:
        raise ValidationFailed(
            "No live agreement covers this",
            errors=[
                {
                    "field": "/isa",
                    "message": (
                        "No live information sharing agreement between your agencies covers these records for that purpose. "
                        "A system admin must set one up before access can be granted."
                    ),
                }
            ],
        )
    async with transaction():
        for case, isa in coverable:
            await _insert_share(
                actor,
                case["id"],
                row["requesting_agency"],
                isa,
                row["purpose"],
                note=" (access request granted)",
            )
        await AccessRequest.update(
            {
                AccessRequest.status: "granted",
                AccessRequest.decided_by: actor.id,
                AccessRequest.decided_at: clock.now(),
                AccessRequest.decision_note: note.strip(),
                AccessRequest.isa: coverable[0][1]["id"],
            }
        ).where(AccessRequest.id == request_id)
        await audit.record(
            "access.grant",
            actor,
            object_type="access_request",
            object_id=request_id,
            purpose=row["purpose"],
            detail={"cases": [c["id"] for c, _ in coverable]},
        )
    return len(coverable)


async def refuse_access(actor: Actor, request_id: int, reason: str) -> None:
    row = await _load_for_holder(actor, request_id)
    if not (reason or "").strip():
        raise ValidationFailed(
            "Enter why you are refusing",
            errors=[{"field": "/reason", "message": "Enter why you are refusing access"}],
        )
    async with transaction():
        await AccessRequest.update(
            {
                AccessRequest.status: "refused",
                AccessRequest.decided_by: actor.id,
                AccessRequest.decided_at: clock.now(),
                AccessRequest.decision_note: reason.strip(),
            }
        ).where(AccessRequest.id == request_id)
        await audit.record(
            "access.refuse", actor, object_type="access_request", object_id=request_id, purpose=row["purpose"]
        )


async def requests_for(actor: Actor) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(requests my agency made, requests made to my agency), newest first."""
    columns = (
        AccessRequest.all_columns(),
        AccessRequest.person.given_name.as_alias("given_name"),
        AccessRequest.person.family_name.as_alias("family_name"),
        AccessRequest.person.date_of_birth.as_alias("date_of_birth"),
        AccessRequest.requested_by.name.as_alias("requester"),
        AccessRequest.requesting_agency.name.as_alias("requesting_agency_name"),
        AccessRequest.holding_agency.name.as_alias("holding_agency_name"),
    )
    made = (
        await AccessRequest.select(*columns)
        .where(AccessRequest.requesting_agency == actor.agency_id)
        .order_by(AccessRequest.id, ascending=False)
        .limit(100)
    )
    received = (
        await AccessRequest.select(*columns)
        .where(AccessRequest.holding_agency == actor.agency_id)
        .order_by(AccessRequest.id, ascending=False)
        .limit(100)
    )
    # why it was asked and why it was decided: words naming no case the reader may not see
    words = await redactor_for(actor, [r[k] for r in made + received for k in ("reason", "decision_note")])
    for r in made + received:
        words.texts(r, ("reason", "decision_note"))
    return made, received
