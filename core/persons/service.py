"""Create, find and read persons; the only code that writes the person table."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from difflib import SequenceMatcher
from typing import Any

from core import clock
from core.audit import service as audit
from core.auth.actor import Actor
from core.cases.tables import CaseSubject
from core.db.tx import transaction
from core.errors import NotFound, ValidationFailed
from core.persons.tables import Person

GENDERS = ("female", "male", "non_binary", "other", "unknown")


def normalise(text: str) -> str:
    """Lower case, accents and punctuation removed: how names are compared in search."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9 ]+", " ", text.lower()).strip()


def _search_text(given: str, family: str, aliases: list[str]) -> str:
    return " | ".join(normalise(n) for n in [f"{given} {family}", *aliases] if n)


def _parse_dob(value: Any, errors: list[dict[str, str]]) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        dob = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        errors.append({"field": "/date_of_birth", "message": "Date of birth must be a real date"})
        return None
    if dob > clock.today():
        errors.append({"field": "/date_of_birth", "message": "Date of birth must be in the past"})
    elif dob.year < 1900:
        errors.append({"field": "/date_of_birth", "message": "Date of birth must be after 1900"})
    return dob


def _clean_list(value: Any, field: str, errors: list[dict[str, str]], kind=str) -> list:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
        errors.append({"field": f"/{field}", "message": f"{field.capitalize()} must be a list"})
        return []
    return value


def person_dict(row: dict[str, Any]) -> dict[str, Any]:
    dob = row.get("date_of_birth")
    return {
        "id": row["id"], "given_name": row["given_name"], "family_name": row["family_name"],
        "display_name": f"{row['given_name']} {row['family_name']}".strip(),
        "date_of_birth": dob.isoformat() if dob else None, "age": age(dob),
        "gender": row["gender"], "aliases": row["aliases"] or [], "addresses": row["addresses"] or [],
        "identifiers": row["identifiers"] or [], "flags": row["flags"] or [], "version": row["version"],
    }


def age(dob: dt.date | None, on: dt.date | None = None) -> int | None:
    if dob is None:
        return None
    on = on or clock.today()
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


async def create_person(actor: Actor, *, given_name: str, family_name: str, date_of_birth: Any = None,
                        gender: str = "", aliases: list[str] | None = None,
                        addresses: list[dict] | None = None, identifiers: list[dict] | None = None,
                        flags: list[str] | None = None) -> dict[str, Any]:
    errors: list[dict[str, str]] = []
    given_name, family_name = (given_name or "").strip(), (family_name or "").strip()
    if not given_name:
        errors.append({"field": "/given_name", "message": "Enter the person\u2019s first name"})
    if not family_name:
        errors.append({"field": "/family_name", "message": "Enter the person\u2019s last name"})
    if len(given_name) > 100 or len(family_name) > 100:
        errors.append({"field": "/given_name", "message": "Names must be 100 characters or fewer"})
    dob = _parse_dob(date_of_birth, errors)
    if gender and gender not in GENDERS:
        errors.append({"field": "/gender", "message": "Select the person\u2019s gender from the list"})
    aliases = [a.strip() for a in _clean_list(aliases, "aliases", errors) if a.strip()]
    addresses = _clean_list(addresses, "addresses", errors, dict)
    identifiers = _clean_list(identifiers, "identifiers", errors, dict)
    flags = _clean_list(flags, "flags", errors)
    if errors:
        raise ValidationFailed("There is a problem with the person\u2019s details", errors=errors)
    now = clock.now()
    async with transaction():
        person = Person(given_name=given_name, family_name=family_name, date_of_birth=dob,
                        gender=gender or "", aliases=aliases, addresses=addresses, identifiers=identifiers,
                        flags=flags, search_text=_search_text(given_name, family_name, aliases),
                        created_by_agency=actor.agency_id, created_at=now, updated_at=now)
        await person.save()
        await audit.record("person.create", actor, object_type="person", object_id=person.id)
    return await get_person(actor, person.id, audit_view=False)


async def visible_person_ids(actor: Actor, person_ids: list[int]) -> set[int]:
    """Which of ``person_ids`` the actor may see: persons their agency recorded, or subjects of a case the
    agency owns or has shared with it under a live ISA. Everyone else is found only by the national search."""
    if not person_ids:
        return set()
    from core.sharing.policy import shared_case_ids

    ids = list(set(person_ids))
    own = {r["id"] for r in await Person.select(Person.id).where(
        Person.id.is_in(ids) & (Person.created_by_agency == actor.agency_id))}
    rest = [i for i in ids if i not in own]
    if rest:
        on_own_cases = await CaseSubject.select(CaseSubject.person).where(
            CaseSubject.person.is_in(rest) & CaseSubject.removed_at.is_null()
            & (CaseSubject.case.owning_agency == actor.agency_id))
        own |= {r["person"] for r in on_own_cases}
        rest = [i for i in rest if i not in own]
    if rest:
        shared = await shared_case_ids(actor.agency_id)
        if shared:
            on_shared = await CaseSubject.select(CaseSubject.person).where(
                CaseSubject.person.is_in(rest) & CaseSubject.removed_at.is_null() & CaseSubject.case.is_in(shared))
            own |= {r["person"] for r in on_shared}
    return own


async def get_person(actor: Actor, person_id: int, *, audit_view: bool = True) -> dict[str, Any]:
    row = await Person.select().where(Person.id == person_id).output(load_json=True).first()
    if row is None or person_id not in await visible_person_ids(actor, [person_id]):
        # the same answer for a person held only by another agency: ids are no oracle
        raise NotFound("No person with that number exists")
    if audit_view:
        async with transaction():
            await audit.record("person.view", actor, object_type="person", object_id=person_id)
    return person_dict(row)


def _trigrams(word: str) -> set[str]:
    return {word[i:i + 3] for i in range(max(len(word) - 2, 1))}


def _word_score(token: str, words: list[str]) -> float:
    """How well one searched word matches a name: 1 exact, prefix 0.95, close spelling by similarity."""
    best = 0.0
    for word in words:
        if word == token:
            return 1.0
        if word.startswith(token) and len(token) >= 2:
            best = max(best, 0.95)
        elif len(token) >= 4 and len(word) >= 3:
            ratio = SequenceMatcher(None, token, word).ratio()
            if ratio >= 0.75:
                best = max(best, ratio * 0.9)
    return best


def name_score(query: str, search_text: str) -> float:
    """0 unless every word of ``query`` matches a word of one name or alias; higher is closer."""
    tokens = normalise(query).split()
    if not tokens:
        return 0.0
    best = 0.0
    for name in search_text.split(" | "):
        words = name.split()
        scores = [_word_score(t, words) for t in tokens]
        if all(scores):
            best = max(best, sum(scores) / len(scores))
    return best


async def find_persons(actor: Actor, *, name: str = "", date_of_birth: str = "", identifier: str = "",
                       limit: int = 50) -> list[dict[str, Any]]:
    """Persons matching a name (any order, partial words, aliases, small typos), date of birth, identifier."""
    query = Person.select()
    tokens = normalise(name).split()
    if tokens:
        # candidates share a three-letter run with some searched word; scoring decides
        grams = set().union(*(_trigrams(t) for t in tokens))
        condition = None
        for gram in sorted(grams):
            clause = Person.search_text.like(f"%{gram}%")
            condition = clause if condition is None else condition | clause
        query = query.where(condition)
    if date_of_birth:
        try:
            query = query.where(Person.date_of_birth == dt.date.fromisoformat(date_of_birth))
        except ValueError:
            raise ValidationFailed("Date of birth must be a real date",
                                   errors=[{"field": "/date_of_birth", "message": "Date of birth must be a real date"}]) from None
    if not (tokens or date_of_birth or identifier.strip()):
        return []
    rows = await query.output(load_json=True).limit(5000)
    visible = await visible_person_ids(actor, [r["id"] for r in rows])
    rows = [r for r in rows if r["id"] in visible]
    scored = []
    for row in rows:
        score = name_score(name, row["search_text"]) if tokens else 1.0
        if not score:
            continue
        if identifier.strip():
            needle = normalise(identifier).replace(" ", "")
            if not any(normalise(str(i.get("value", ""))).replace(" ", "") == needle for i in row["identifiers"] or []):
                continue
        scored.append((score, row))
    scored.sort(key=lambda pair: (-pair[0], pair[1]["family_name"], pair[1]["given_name"]))
    async with transaction():
        await audit.record("person.search", actor, detail={"results": len(scored)})
    return [dict(person_dict(r), score=round(score, 2)) for score, r in scored[:limit]]


async def likely_duplicates(given_name: str, family_name: str, date_of_birth: Any) -> list[dict[str, Any]]:
    """Existing persons who may be the same person: close name and (when given) the same date of birth."""
    query = Person.select()
    try:
        dob = dt.date.fromisoformat(str(date_of_birth)) if date_of_birth else None
    except ValueError:
        dob = None
    rows = await query.output(load_json=True).where(Person.date_of_birth == dob) if dob else []
    full = f"{given_name} {family_name}"
    out = [person_dict(r) for r in rows if name_score(full, r["search_text"]) >= 0.6
           or name_score(family_name, r["search_text"]) >= 0.9]
    if not dob:
        target = normalise(full)
        candidates = await Person.select().where(Person.search_text.like(f"%{normalise(family_name)}%")).output(
            load_json=True).limit(200)
        out = [person_dict(r) for r in candidates if target in r["search_text"].split(" | ")]
    return out


async def cases_of_person(person_id: int) -> list[dict[str, Any]]:
    return await CaseSubject.select(
        CaseSubject.case.id.as_alias("case_id"), CaseSubject.case.reference.as_alias("reference"),
        CaseSubject.case.area.as_alias("area"), CaseSubject.case.state.as_alias("state"),
        CaseSubject.case.owning_agency.as_alias("owning_agency_id"), CaseSubject.role,
    ).where((CaseSubject.person == person_id) & CaseSubject.removed_at.is_null())

