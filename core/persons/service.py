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
from core.persons.tables import NameWord, Person, PersonIdentifierKey, PersonNameWord

GENDERS = ("female", "male", "non_binary", "other", "unknown")


def normalise(text: str) -> str:
    """Lower case, accents and punctuation removed: how names are compared in search."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9 ]+", " ", text.lower()).strip()


def search_text_of(given: str, family: str, aliases: list[str]) -> str:
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


def _text(value: Any, field: str, errors: list[dict[str, str]]) -> str:
    """A text field, stripped; an error naming the field when it is a number, a list or anything but text."""
    if value is None or isinstance(value, str):
        return (value or "").strip()
    errors.append({"field": f"/{field}", "message": f"{field.replace('_', ' ').capitalize()} must be text"})
    return ""


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
    given_name, family_name, gender = (_text(v, f, errors) for v, f in (
        (given_name, "given_name"), (family_name, "family_name"), (gender, "gender")))
    if not given_name and not any(e["field"] == "/given_name" for e in errors):
        errors.append({"field": "/given_name", "message": "Enter the person\u2019s first name"})
    if not family_name and not any(e["field"] == "/family_name" for e in errors):
        errors.append({"field": "/family_name", "message": "Enter the person\u2019s last name"})
    for field, value in (("given_name", given_name), ("family_name", family_name)):
        if len(value) > 100:
            errors.append({"field": f"/{field}", "message": "Names must be 100 characters or fewer"})
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
                        flags=flags, search_text=search_text_of(given_name, family_name, aliases),
                        created_by_agency=actor.agency_id, created_at=now, updated_at=now)
        await person.save()
        await index_persons([(person.id, person.search_text, identifiers)])
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


def _one_word_score(token: str, word: str) -> float:
    """How well one searched word matches one name word: 1 exact, prefix 0.95, close spelling by similarity."""
    if word == token:
        return 1.0
    if word.startswith(token) and len(token) >= 2:
        return 0.95
    if len(token) >= 4 and len(word) >= 3 and _shared_letters(token, word) * 2 >= 0.75 * (len(token) + len(word)):
        ratio = SequenceMatcher(None, token, word).ratio()
        if ratio >= 0.75:
            return ratio * 0.9
    return 0.0


def _shared_letters(a: str, b: str) -> int:
    """Letters two words have in common, with repeats: an upper bound of the letters SequenceMatcher matches,
    so most words fail the 0.75 similarity here without building a matcher (its quick_ratio, made cheap)."""
    left = {}
    for c in b:
        left[c] = left.get(c, 0) + 1
    shared = 0
    for c in a:
        if left.get(c, 0) > 0:
            left[c] -= 1
            shared += 1
    return shared


def _word_score(token: str, words: list[str]) -> float:
    """How well one searched word matches the best of a name's words."""
    return max((_one_word_score(token, word) for word in words), default=0.0)


def _score_names(tokens: list[str], search_text: str, word_score) -> float:
    best = 0.0
    for name in search_text.split(" | "):
        words = name.split()
        scores = [max((word_score(t, w) for w in words), default=0.0) for t in tokens]
        if all(scores):
            best = max(best, sum(scores) / len(scores))
    return best


def name_score(query: str, search_text: str) -> float:
    """0 unless every word of ``query`` matches a word of one name or alias; higher is closer."""
    tokens = normalise(query).split()
    if not tokens:
        return 0.0
    return _score_names(tokens, search_text, _one_word_score)


# --- the search index (tables in core.persons.tables) ---------------------------------------------------

def _name_words(search_text: str) -> set[str]:
    return {w for w in search_text.split() if w != "|"}


def identifier_key(value: Any) -> str:
    """An identifier as searched: normalised, without spaces ("AB 12 34 56 C" and "ab123456c" are one)."""
    return normalise(str(value if value is not None else "")).replace(" ", "")


def _identifier_keys(identifiers: Any) -> set[str]:
    keys = {identifier_key(i.get("value", "")) for i in identifiers or [] if isinstance(i, dict)}
    return keys - {""}


async def insert_rows(table: str, columns: tuple[str, ...], rows: list[tuple], conflict: str = "") -> None:
    """INSERT many rows, 1,000 to a statement (inside the caller's transaction, if any)."""
    per_chunk = 1000
    row_sql = "(" + ", ".join("{}" for _ in columns) + ")"
    for start in range(0, len(rows), per_chunk):
        chunk = rows[start:start + per_chunk]
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join(row_sql for _ in chunk)
               + (f" ON CONFLICT ({conflict}) DO NOTHING" if conflict else ""))
        await Person.raw(sql, *[value for row in chunk for value in row])


async def index_persons(rows: list[tuple[int, str, Any]]) -> None:
    """Write the search index of persons given as (id, search_text, identifiers): their name words, the
    vocabulary of words and their identifier keys. Called with each new person (inside its transaction),
    by the migration that built the index for existing persons, and by the search benchmark's bulk load."""
    words = [(pid, word) for pid, text, _ in rows for word in sorted(_name_words(text))]
    keys = [(pid, key) for pid, _, identifiers in rows for key in sorted(_identifier_keys(identifiers))]
    await insert_rows("cf_name_word", ("word",), [(w,) for w in sorted({w for _, w in words})], conflict="word")
    await insert_rows("cf_person_name_word", ("person", "word"), words)
    await insert_rows("cf_person_identifier_key", ("person", "value"), keys)


async def _matching_words(token: str) -> dict[str, float]:
    """The vocabulary words one searched word matches, with their scores: the word itself, words it begins
    (two letters or more) and, from four letters, close spellings sharing a three-letter run with it."""
    from core.db.engine import is_sqlite

    sqlite = is_sqlite(Person._meta.db)
    found: set[str] = set()
    if len(token) < 2:
        found |= {r["word"] for r in await NameWord.select(NameWord.word).where(NameWord.word == token)}
    elif sqlite:  # binary collation: a prefix is a range of the unique index
        found |= {r["word"] for r in await NameWord.raw(
            "SELECT word FROM cf_name_word WHERE word >= {} AND word < {}", token, token + "\x7f")}
    else:  # any collation: pg_trgm's index answers anchored patterns too
        found |= {r["word"] for r in await NameWord.raw(
            "SELECT word FROM cf_name_word WHERE word LIKE {}", token + "%")}
    if len(token) >= 4:
        # a close spelling (similarity >= 0.75) is between 0.6 and 1/0.6 times the searched word's length
        shortest, longest = -(-len(token) * 3 // 5), len(token) * 5 // 3
        grams = sorted(_trigrams(token))
        if sqlite:
            rows = await NameWord.raw(
                "SELECT word FROM cf_name_word_fts WHERE cf_name_word_fts MATCH {} AND length(word) BETWEEN {} AND {}",
                " OR ".join(f'"{g}"' for g in grams), shortest, longest)
        else:
            rows = await NameWord.raw(
                "SELECT word FROM cf_name_word WHERE (" + " OR ".join("word LIKE {}" for _ in grams)
                + ") AND length(word) BETWEEN {} AND {}", *[f"%{g}%" for g in grams], shortest, longest)
        found |= {r["word"] for r in rows}
    scores = {word: _one_word_score(token, word) for word in found}
    return {word: score for word, score in scores.items() if score}


def _holding(words: Any) -> tuple[str, list]:
    """SQL (and its arguments) for the ids of persons holding any of ``words``."""
    words = sorted(words)
    return ("SELECT person FROM cf_person_name_word WHERE word IN (" + ", ".join("{}" for _ in words) + ")",
            words)


#: up to this many vocabulary words of a length, close spellings are looked for among all of them
VOCABULARY_SCAN = 3000


async def _add_spellings_sharing_no_run(matches: dict[str, dict[str, float]]) -> None:
    """A close spelling may share no three-letter run with the searched word ("Reily" and "Riley"); the
    trigram index cannot find it, but when the other searched words found persons, it is looked for: among
    every vocabulary word of a fitting length while there are few, otherwise among the name words of the
    persons the other words found. Either way "Jordon Reily" still finds Jordana Riley (the search itself
    keeps only persons matching every word)."""
    for token in [t for t in matches if len(t) >= 4]:
        others = [_holding(words) for t, words in matches.items() if t != token]
        if not all(args for _, args in others):
            continue  # another searched word matched nobody's name
        shortest, longest = -(-len(token) * 3 // 5), len(token) * 5 // 3
        rows = await NameWord.raw("SELECT word FROM cf_name_word WHERE length(word) BETWEEN {} AND {} LIMIT {}",
                                  shortest, longest, VOCABULARY_SCAN + 1)
        if len(rows) > VOCABULARY_SCAN:
            sql = ("SELECT DISTINCT word FROM cf_person_name_word WHERE length(word) BETWEEN {} AND {} AND "
                   + " AND ".join(f"person IN ({sub})" for sub, _ in others))
            rows = await PersonNameWord.raw(sql, shortest, longest, *[a for _, args in others for a in args])
        for word in {r["word"] for r in rows} - set(matches[token]):
            if score := _one_word_score(token, word):
                matches[token][word] = score


def _chunks(ids: list[int], size: int = 5000):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


async def find_persons(actor: Actor, *, name: str = "", date_of_birth: str = "", identifier: str = "",
                       limit: int = 50) -> list[dict[str, Any]]:
    """Persons matching a name (any order, partial words, aliases, small typos), date of birth, identifier.

    Each searched word is looked up in the index of name words; only persons holding a match for every
    word are read and scored, so a search costs the same at 100 persons as at 100,000."""
    tokens = normalise(name).split()
    dob = None
    if date_of_birth:
        try:
            dob = dt.date.fromisoformat(date_of_birth)
        except ValueError:
            raise ValidationFailed("Date of birth must be a real date",
                                   errors=[{"field": "/date_of_birth", "message": "Date of birth must be a real date"}]) from None
    if not (tokens or date_of_birth or identifier.strip()):
        return []
    matches: dict[str, dict[str, float]] = {}
    for token in dict.fromkeys(tokens):
        matches[token] = await _matching_words(token)
    if len(matches) > 1:
        await _add_spellings_sharing_no_run(matches)
    if not all(matches.values()):
        return await _searched(actor, [])
    # the persons holding a match for every searched word (and the date of birth, the identifier), in one query
    where, args = [], []
    for words in matches.values():
        sub, sub_args = _holding(words)
        where.append(f"id IN ({sub})")
        args += sub_args
    if dob:
        where.append("date_of_birth = {}")
        args.append(dob)
    if identifier.strip():
        where.append("id IN (SELECT person FROM cf_person_identifier_key WHERE value = {})")
        args.append(identifier_key(identifier))
    rows = await Person.raw("SELECT id, given_name, family_name, search_text, created_by_agency FROM cf_person "
                            "WHERE " + " AND ".join(where) + " LIMIT 20000", *args)
    # the agency's own records are visible; visible_person_ids decides about the others
    visible = {r["id"] for r in rows if r["created_by_agency"] == actor.agency_id}
    for chunk in _chunks([r["id"] for r in rows if r["id"] not in visible]):
        visible |= await visible_person_ids(actor, chunk)
    scored = []
    for row in rows:
        if row["id"] in visible:
            score = (_score_names(tokens, row["search_text"], lambda t, w: matches[t].get(w, 0.0))
                     if tokens else 1.0)
            if score:
                scored.append((score, row))
    scored.sort(key=lambda pair: (-pair[0], pair[1]["family_name"], pair[1]["given_name"], pair[1]["id"]))
    return await _searched(actor, scored, limit)


async def _searched(actor: Actor, scored: list[tuple[float, dict]], limit: int = 50) -> list[dict[str, Any]]:
    """Audit a search and read the persons shown: the best ``limit`` of ``scored``."""
    async with transaction():
        await audit.record("person.search", actor, detail={"results": len(scored)})
    top = scored[:limit]
    full = {r["id"]: r for r in await Person.select().where(
        Person.id.is_in([row["id"] for _, row in top] or [0])).output(load_json=True)}
    return [dict(person_dict(full[row["id"]]), score=round(score, 2)) for score, row in top]


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
    return [{k: v for k, v in c.items() if k != "person_id"} for c in await cases_of_persons([person_id])]


async def cases_of_persons(person_ids: list[int]) -> list[dict[str, Any]]:
    """The cases naming any of ``person_ids`` (one query for a page of search results)."""
    if not person_ids:
        return []
    return await CaseSubject.select(
        CaseSubject.person.as_alias("person_id"),
        CaseSubject.case.id.as_alias("case_id"), CaseSubject.case.reference.as_alias("reference"),
        CaseSubject.case.area.as_alias("area"), CaseSubject.case.state.as_alias("state"),
        CaseSubject.case.owning_agency.as_alias("owning_agency_id"), CaseSubject.role,
    ).where(CaseSubject.person.is_in(list(person_ids)) & CaseSubject.removed_at.is_null()).order_by(CaseSubject.id)
