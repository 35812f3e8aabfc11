"""The national search: anyone may learn whether another agency holds a record of a person, and nothing more."""

from __future__ import annotations

from typing import Any

from caseframe.core.agencies.tables import Agency
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.tables import CaseSubject
from caseframe.core.db.tx import transaction
from caseframe.core.errors import ValidationFailed
from caseframe.core.persons.service import _trigrams, name_score, normalise
from caseframe.core.persons.tables import Person
from caseframe.core.searching import name_search_problem
from caseframe.core.sharing.policy import PURPOSES


async def national_search(
    actor: Actor, *, purpose: str, name: str, date_of_birth: str = "", limit: int = 25
) -> list[dict[str, Any]]:
    """Name, date of birth and the holding agencies (with a contact) of matching persons; audited with the purpose."""
    errors = []
    if purpose not in PURPOSES:
        errors.append({"field": "/purpose", "message": "Select why you are searching"})
    tokens = normalise(name).split()
    if len(normalise(name).replace(" ", "")) < 2:
        errors.append({"field": "/name", "message": "Enter at least two letters of the person\u2019s name"})
    elif name_search_problem(name):
        errors.append({"field": "/name", "message": name_search_problem(name)})
    dob = None
    if date_of_birth:
        import datetime as dt

        try:
            dob = dt.date.fromisoformat(date_of_birth)
        except ValueError:
            errors.append({"field": "/date_of_birth", "message": "Date of birth must be a real date"})
    if errors:
        raise ValidationFailed("There is a problem with the search", errors=errors)
    grams = set().union(*(_trigrams(t) for t in tokens))
    condition = None
    for gram in sorted(grams):
        clause = Person.search_text.like(f"%{gram}%")
        condition = clause if condition is None else condition | clause
    query = Person.select(
        Person.id,
        Person.given_name,
        Person.family_name,
        Person.date_of_birth,
        Person.search_text,
        Person.created_by_agency,
    )
    query = query.where(Person.merged_into.is_null())  # a merged record is found as its survivor
    if condition is not None:
        query = query.where(condition)
    if dob:
        query = query.where(Person.date_of_birth == dob)
    rows = [r for r in await query.limit(5000) if name_score(name, r["search_text"])]
    rows.sort(key=lambda r: -name_score(name, r["search_text"]))
    rows = rows[:limit]
    holders: dict[int, set[int]] = {r["id"]: {r["created_by_agency"]} for r in rows}
    from caseframe.core.retention.service import inactive_case_ids

    inactive = await inactive_case_ids()  # a restricted case (kept, not processed) makes no agency a holder
    for link in await CaseSubject.select(
        CaseSubject.person, CaseSubject.case, CaseSubject.case.owning_agency.as_alias("agency")
    ).where(CaseSubject.person.is_in(list(holders) or [0]) & CaseSubject.removed_at.is_null()):
        if link["case"] not in inactive:
            holders[link["person"]].add(link["agency"])
    agencies = {
        a["id"]: a
        for a in await Agency.select(Agency.id, Agency.name, Agency.contact_email).where(
            Agency.id.is_in(sorted({a for s in holders.values() for a in s}) or [0])
        )
    }
    async with transaction():
        await audit.record(
            "person.national_search",
            actor,
            purpose=purpose,
            detail={
                "name": name.strip(),
                "date_of_birth": date_of_birth,
                "results": len(rows),
                # what the searcher was shown: the persons they may now ask about
                "person_ids": [r["id"] for r in rows],
            },
        )
    return [
        {
            "person_id": r["id"],
            "given_name": r["given_name"],
            "family_name": r["family_name"],
            "date_of_birth": r["date_of_birth"],
            "agencies": sorted(
                (
                    {
                        "id": a,
                        "name": agencies[a]["name"],
                        "contact_email": agencies[a]["contact_email"],
                        "mine": a == actor.agency_id,
                    }
                    for a in holders[r["id"]]
                    if a in agencies
                ),
                key=lambda a: a["name"],
            ),
        }
        for r in rows
    ]


#: how long a national-search result lets its searcher ask about the person it found
FOUND_FOR_HOURS = 24


async def may_know_of(actor: Actor, person_id: int) -> bool:
    """Whether the actor may be told who a person is: one the person pages show them (their agency recorded
    them or may see a case about them), or one their own national search showed them in the last day."""
    import datetime as dt

    from caseframe.core import clock
    from caseframe.core.audit.tables import AuditEvent
    from caseframe.core.persons.service import visible_person_ids

    if person_id in await visible_person_ids(actor, [person_id]):
        return True
    searches = (
        await AuditEvent.select(AuditEvent.detail)
        .where(
            (AuditEvent.actor_id == actor.id)
            & (AuditEvent.action == "person.national_search")
            & (AuditEvent.at >= clock.now() - dt.timedelta(hours=FOUND_FOR_HOURS))
        )
        .order_by(AuditEvent.id, ascending=False)
        .limit(500)
        .output(load_json=True)
    )
    return any(person_id in ((s["detail"] or {}).get("person_ids") or []) for s in searches)
