"""Create, find and read persons; the only code that writes the person table."""

from __future__ import annotations

import bisect
import datetime as dt
import json
import re
import unicodedata
from difflib import SequenceMatcher
from functools import cache
from operator import methodcaller
from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.agencies.types import CORE_PERSON_FLAGS
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.cache import register as register_cache
from caseframe.core.cases.tables import Case, CaseSubject
from caseframe.core.context import Context
from caseframe.core.db.tx import in_transaction, transaction
from caseframe.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionRequired,
    ServiceError,
    ValidationFailed,
)
from caseframe.core.persons.tables import NameWord, Person, PersonIdentifierKey, PersonMerge, PersonNameWord
from caseframe.core.sharing.policy import FlagReader

GENDERS = ("female", "male", "non_binary", "other", "unknown")
#: the most warning markers one record carries
MAX_FLAGS = 30
#: the core's markers and their levels: what a caller that passes no ``flag_levels`` (a registry's) goes by
CORE_FLAG_LEVELS = {name: flag.sensitivity for name, flag in CORE_PERSON_FLAGS.items()}


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


def person_dict(row: dict[str, Any], flags: list[str] | None = None) -> dict[str, Any]:
    """A person as services give them. ``flags``: the warning markers the reader may see (a
    :class:`~caseframe.core.sharing.policy.FlagReader`'s answer); without them the dict carries none, so a
    marker is never shown by a caller that forgot to filter."""
    dob = row.get("date_of_birth")
    out = {
        "id": row["id"],
        "given_name": row["given_name"],
        "family_name": row["family_name"],
        "display_name": f"{row['given_name']} {row['family_name']}".strip(),
        "date_of_birth": dob.isoformat() if dob else None,
        "age": age(dob),
        "gender": row["gender"],
        "aliases": row["aliases"] or [],
        "addresses": row["addresses"] or [],
        "identifiers": row["identifiers"] or [],
        "version": row["version"],
    }
    if flags is not None:
        out["flags"] = flags
    return out


def age(dob: dt.date | None, on: dt.date | None = None) -> int | None:
    if dob is None:
        return None
    on = on or clock.today()
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


async def create_person(
    actor: Actor,
    *,
    given_name: str,
    family_name: str,
    date_of_birth: Any = None,
    gender: str = "",
    aliases: list[str] | None = None,
    addresses: list[dict] | None = None,
    identifiers: list[dict] | None = None,
    flags: list[str] | None = None,
    flag_levels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Record a person. ``flags``: warning markers, each one ``flag_levels`` declares (the registry's
    ``flag_levels``; without it, the core's)."""
    errors: list[dict[str, str]] = []
    given_name, family_name, gender = (
        _text(v, f, errors)
        for v, f in ((given_name, "given_name"), (family_name, "family_name"), (gender, "gender"))
    )
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
    flags = clean_flags(flags, _levels(flag_levels), errors)
    if errors:
        raise ValidationFailed("There is a problem with the person\u2019s details", errors=errors)
    now = clock.now()
    async with transaction():
        person = Person(
            given_name=given_name,
            family_name=family_name,
            date_of_birth=dob,
            gender=gender or "",
            aliases=aliases,
            addresses=addresses,
            identifiers=identifiers,
            flags=flags,
            search_text=search_text_of(given_name, family_name, aliases),
            created_by_agency=actor.agency_id,
            created_at=now,
            updated_at=now,
        )
        await person.save()
        await index_persons([(person.id, person.search_text, identifiers)])
        await audit.record("person.create", actor, object_type="person", object_id=person.id)
    return await get_person(actor, person.id, audit_view=False, flag_levels=flag_levels)


def _levels(flag_levels: dict[str, str] | None) -> dict[str, str]:
    return CORE_FLAG_LEVELS if flag_levels is None else flag_levels


def clean_flags(
    value: Any, levels: dict[str, str], errors: list[dict[str, str]], held: list[str] | tuple[str, ...] = ()
) -> list[str]:
    """Warning markers, each a name ``levels`` declares (or one the record ``held`` already, which an area that
    no longer declares it leaves on the record), each once, in the order given."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append({"field": "/flags", "message": "Warning markers must be a list of names"})
        return []
    flags = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    unknown = [f for f in flags if f not in levels and f not in held]
    if unknown:
        errors.append(
            {
                "field": "/flags",
                "message": "Choose warning markers from the list (not known: "
                + ", ".join(repr(f[:40]) for f in unknown[:5])
                + ")",
            }
        )
        return []
    if len(flags) > MAX_FLAGS:
        errors.append({"field": "/flags", "message": f"Give up to {MAX_FLAGS} warning markers"})
        return []
    return flags


# Who may see a person, as one SQL condition on ``cf_person p`` (its arguments from ``_visible_args``): the agency
# that recorded them, or an agency that owns or was shared (under an ISA live today, the share not revoked) a case
# naming them. A merged record (a tombstone) is no one's to see or act on: its address leads to the survivor
# instead; it is on no case either (its case rows moved to the survivor). Written out once: it is part of every
# search, where building it through the ORM for each cost more than the database took to answer it.
_VISIBLE = (
    "p.merged_into IS NULL AND (p.created_by_agency = {} OR EXISTS ("
    'SELECT 1 FROM cf_case_subject s JOIN cf_case c ON c.id = s."case" '
    "WHERE s.person = p.id AND s.removed_at IS NULL AND (c.owning_agency = {} OR c.id IN ("
    'SELECT sh."case" FROM cf_case_share sh JOIN cf_isa i ON i.id = sh.isa '
    "WHERE sh.agency = {} AND sh.revoked_at IS NULL AND i.starts_on <= {} AND i.ends_on >= {})) "
    # retention's rule (core.retention.service.withheld_from): an erased case shows no one, nor a restricted one
    # but to a local admin of its own agency (the last argument: their agency, or none)
    "AND NOT EXISTS (SELECT 1 FROM cf_case_retention r WHERE r.case_id = c.id AND (r.erased_at IS NOT NULL "
    "OR (r.restricted AND c.owning_agency <> {})))))"
)


def _visible_args(actor: Actor) -> list[Any]:
    today = clock.today()
    admin_of = (
        actor.agency_id
        if permissions.can(actor, "case.read_restricted", {"owning_agency": actor.agency_id})
        else -1
    )
    return [actor.agency_id, actor.agency_id, actor.agency_id, today, today, admin_of]


def _placeholders(values: list) -> str:
    return ", ".join("{}" for _ in values)


async def visible_person_ids(actor: Actor, person_ids: list[int]) -> set[int]:
    """Which of ``person_ids`` the actor may see: persons their agency recorded, or subjects of a case the
    agency owns or has shared with it under a live ISA. Everyone else is found only by the national search."""
    ids = sorted(set(person_ids))
    visible: set[int] = set()
    for chunk in _chunks(ids):
        visible |= {
            r["id"]
            for r in await Person.raw(
                f"SELECT p.id FROM cf_person p WHERE p.id IN ({_placeholders(chunk)}) AND {_VISIBLE}",
                *chunk,
                *_visible_args(actor),
            )
        }
    return visible


async def get_person(
    actor: Actor, person_id: int, *, audit_view: bool = True, flag_levels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A person the actor may see, with the warning markers they may read (``flag_levels``: the registry's;
    without it the core's, and an area's marker is read as the most sensitive)."""
    row = await Person.select().where(Person.id == person_id).output(load_json=True).first()
    if row is None or person_id not in await visible_person_ids(actor, [person_id]):
        # the same answer for a person held only by another agency: ids are no oracle
        raise NotFound("No person with that number exists")
    if audit_view:
        async with transaction():
            await audit.record("person.view", actor, object_type="person", object_id=person_id)
    return person_dict(row, await FlagReader(actor, _levels(flag_levels)).visible(row))


def _trigrams(word: str) -> set[str]:
    return {word[i : i + 3] for i in range(max(len(word) - 2, 1))}


def _one_word_score(token: str, word: str) -> float:
    """How well one searched word matches one name word: 1 exact, prefix 0.95, close spelling by similarity."""
    if word == token:
        return 1.0
    if word.startswith(token) and len(token) >= 2:
        return 0.95
    if (
        len(token) >= 4
        and len(word) >= 3
        and _shared_letters(token, word) * 2 >= 0.75 * (len(token) + len(word))
    ):
        ratio = SequenceMatcher(None, token, word).ratio()
        if ratio >= 0.75:
            return ratio * 0.9
    return 0.0


def _shared_letters(a: str, b: str) -> int:
    """Letters two words have in common, with repeats: an upper bound of the letters SequenceMatcher matches,
    so most words fail the 0.75 similarity here without building a matcher (its quick_ratio, made cheap)."""
    left: dict[str, int] = {}
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


def _scorer(tokens: list[str], matches: dict[str, dict[str, float]]):
    """``_score_names(tokens, search_text, word_score)`` of each person found, where a word scores what ``matches``
    found it to: the lists of matches looked up once a search, and a name text scored once however many persons
    share it (``tokens`` empty: every person found scores 1)."""
    if not tokens:
        return lambda search_text: 1.0
    found = [matches[token] for token in tokens]
    known: dict[str, float] = {}

    def score(search_text: str) -> float:
        best = known.get(search_text)
        if best is not None:
            return best
        best = 0.0
        for name in search_text.split(" | "):
            words = name.split()
            total = 0.0
            for scores in found:
                word_score = max([scores.get(word, 0.0) for word in words], default=0.0)
                if not word_score:
                    break
                total += word_score
            else:
                best = max(best, total / len(found))
        known[search_text] = best
        return best

    return score


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
        chunk = rows[start : start + per_chunk]
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            + ", ".join(row_sql for _ in chunk)
            + (f" ON CONFLICT ({conflict}) DO NOTHING" if conflict else "")
        )
        await Person.raw(sql, *[value for row in chunk for value in row])


async def index_persons(rows: list[tuple[int, str, Any]]) -> None:
    """Write the search index of persons given as (id, search_text, identifiers): their name words, the
    vocabulary of words and their identifier keys. Called with each new person (inside its transaction),
    by the migration that built the index for existing persons, and by the search benchmark's bulk load."""
    words = [(pid, word) for pid, text, _ in rows for word in sorted(_name_words(text))]
    keys = [(pid, key) for pid, _, identifiers in rows for key in sorted(_identifier_keys(identifiers))]
    await insert_rows(
        "cf_name_word", ("word",), [(w,) for w in sorted({w for _, w in words})], conflict="word"
    )
    await insert_rows("cf_person_name_word", ("person", "word"), words)
    await insert_rows("cf_person_identifier_key", ("person", "value"), keys)


def _close_bounds(token: str) -> tuple[int, int]:
    """The shortest and longest a close spelling (similarity >= 0.75) of ``token`` can be: between 0.6 and 1/0.6
    times its length."""
    return -(-len(token) * 3 // 5), len(token) * 5 // 3


#: a server process holds the vocabulary of name words while it has up to this many (about 60 bytes a word)
VOCABULARY_HELD = 50_000


#: a word's count of one letter is a byte (see ``_Vocabulary.close_spellings``): longer words are scored one by one
_LONGEST_COUNTED = 255


@cache
def _at_most(limit: int) -> bytes:
    """A ``bytes.translate`` table: each byte to itself, or ``limit`` if it is more."""
    return bytes(min(value, limit) for value in range(256))


@cache
def _at_least(limit: int) -> bytes:
    """A ``bytes.translate`` table: each byte to 1 if it is ``limit`` or more, else to 0."""
    return bytes(value >= limit for value in range(256))


class _Vocabulary:
    """The vocabulary of name words as one process holds it: sorted (the words a searched word begins are a
    range) and by length (close spellings are of a length near the searched word's)."""

    __slots__ = ("key", "words", "by_length", "counted", "runs", "letters")

    def __init__(self, key: tuple[int, int], words: list[str]) -> None:
        self.key = key
        self.words = sorted(words)
        self.by_length: dict[int, list[str]] = {}
        for word in self.words:
            self.by_length.setdefault(len(word), []).append(word)
        # the words of up to _LONGEST_COUNTED letters by length, then in order, and where each length's run is in it
        self.counted: list[str] = []
        self.runs: dict[int, tuple[int, int]] = {}
        for length in sorted(n for n in self.by_length if n <= _LONGEST_COUNTED):
            self.runs[length] = (len(self.counted), len(self.counted) + len(self.by_length[length]))
            self.counted += self.by_length[length]
        # for a letter, how many times it occurs in each word of ``counted``, a byte a word (when first needed)
        self.letters: dict[str, bytes] = {}

    def has(self, word: str) -> bool:
        at = bisect.bisect_left(self.words, word)
        return at < len(self.words) and self.words[at] == word

    def beginning_with(self, token: str) -> list[str]:
        # the same range as the SQL below: binary order, the words being letters and digits
        return self.words[
            bisect.bisect_left(self.words, token) : bisect.bisect_left(self.words, token + "\x7f")
        ]

    def count_of_length(self, shortest: int, longest: int) -> int:
        return sum(len(self.by_length.get(n, ())) for n in range(shortest, longest + 1))

    def _counts(self, letter: str) -> bytes:
        counts = self.letters.get(letter)
        if counts is None:
            counts = self.letters[letter] = bytes(map(methodcaller("count", letter), self.counted))
        return counts

    def close_spellings(self, token: str) -> dict[str, float]:
        """``_one_word_score(token, word)`` of every word of a fitting length, those above 0 only.

        Most words are nothing like the searched one. A word scores only if it has at least ``need`` letters of the
        searched word, counting repeats, where ``8 * need >= 3 * (both lengths)``: the close-spelling test asks
        that of the letters the two share, the word itself and a word it begins (of a fitting length) have all its
        letters. Those shared letters are counted for all the words of the fitting lengths at once, in C: for each
        letter of the searched word, the bytes of that letter's counts (capped at its count in the searched word)
        read as one large number, and those numbers added, so that each byte of the sum is one word's shared
        letters (at most the word's length, so no byte carries into the next). Only the words with enough are
        scored. tests/core/test_person_search_sql.py holds it to scoring every word of a fitting length."""
        shortest, longest = _close_bounds(token)
        runs = [self.runs[n] for n in range(shortest, longest + 1) if n in self.runs]
        out: dict[str, float] = {}
        if runs:
            first, last = runs[0][0], runs[-1][1]
            total = 0
            for letter in set(token):
                capped = self._counts(letter)[first:last].translate(_at_most(token.count(letter)))
                total += int.from_bytes(capped, "little")
            shared = total.to_bytes(last - first, "little")
            for start, end in runs:
                need = -(-3 * (len(token) + len(self.counted[start])) // 8)
                enough = shared[start - first : end - first].translate(_at_least(need))
                at = enough.find(1)
                while at >= 0:
                    word = self.counted[start + at]
                    if score := _one_word_score(token, word):
                        out[word] = score
                    at = enough.find(1, at + 1)
        for length in range(max(shortest, _LONGEST_COUNTED + 1), longest + 1):
            for word in self.by_length.get(length, ()):
                if score := _one_word_score(token, word):
                    out[word] = score
        return out


_HELD: dict[str, Any] = {}
register_cache(_HELD.clear)


#: the vocabulary's size and version, which say whether what a process holds is current: one row, kept by triggers
#: in the transaction of every change to cf_name_word (migration 2026-12-06T20:00:00), so it costs the same to read
#: at any size and agrees with the words of the same snapshot
_VOCABULARY_HEAD = "SELECT words AS n, version AS last FROM cf_name_vocabulary"


async def _held_vocabulary(*, as_held: bool = False) -> _Vocabulary | None:
    """The vocabulary, held in this process and brought up to date; None inside a transaction (which may add
    words it could still roll back) or when it is too large to hold.

    The vocabulary's head (its size and version) says whether what is held is current; one row read a search
    instead of two or three queries a searched word. ``as_held``: what is held, unchecked, when something is (the
    caller checks it against the head its own query reads, ``_VOCABULARY_HEAD``)."""
    if _HELD.get("too_large") or in_transaction():
        return None
    if as_held and (held := _HELD.get("vocabulary")) is not None:
        return held
    head = (await NameWord.raw(_VOCABULARY_HEAD))[0]
    key = (head["n"], head["last"] or 0)
    if key[0] > VOCABULARY_HELD:
        _HELD.clear()
        _HELD["too_large"] = True  # it only grows: stop asking
        return None
    held = _HELD.get("vocabulary")
    if held is None or held.key != key:
        # the words and the head in one statement: one snapshot, whatever is added meanwhile
        rows = await NameWord.raw(
            "SELECT h.words AS n, h.version AS last, w.word FROM cf_name_vocabulary h "
            "LEFT JOIN cf_name_word w ON 1 = 1"
        )
        held = _HELD["vocabulary"] = _Vocabulary(
            (rows[0]["n"], rows[0]["last"]), [r["word"] for r in rows if r["word"] is not None]
        )
    return held


async def _matching_words(token: str) -> dict[str, float]:
    """The vocabulary words one searched word matches, with their scores: the word itself, words it begins
    (two letters or more) and, from four letters, close spellings sharing a three-letter run with it."""
    return (await _words_matching([token], await _held_vocabulary()))[0][token]


async def _words_matching(
    tokens: list[str], vocabulary: _Vocabulary | None
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """``_matching_words`` of each searched word, and for ``_add_spellings_sharing_no_run`` every close spelling of
    it in the vocabulary, whether or not they share a three-letter run (for words of four letters or more, when
    there are few enough words of a fitting length to scan). From ``vocabulary`` (held in this process) when it can
    be, else from the database's indexes: tests/core/test_person_search_sql.py holds the two ways to the same
    results."""
    matches: dict[str, dict[str, float]] = {}
    close: dict[str, dict[str, float]] = {}
    for token in tokens:
        if vocabulary is None or (
            len(token) >= 4 and vocabulary.count_of_length(*_close_bounds(token)) > VOCABULARY_SCAN
        ):
            matches[token] = await _matching_words_in_database(token)
            continue
        if len(token) < 2:
            found = {token: 1.0} if vocabulary.has(token) else {}
        else:
            found = {
                word: score
                for word in vocabulary.beginning_with(token)
                if (score := _one_word_score(token, word))
            }
        if len(token) >= 4:  # close spellings sharing a three-letter run, as the trigram index finds them
            grams = _trigrams(token)
            close[token] = vocabulary.close_spellings(token)
            found.update(
                (word, score) for word, score in close[token].items() if any(g in word for g in grams)
            )
        matches[token] = found
    return matches, close


async def _matching_words_in_database(token: str) -> dict[str, float]:
    """``_matching_words`` through the database's indexes (a prefix range, and trigrams: an FTS5 trigram table on
    SQLite, pg_trgm on PostgreSQL): for a vocabulary too large to hold, inside a transaction, or a searched word with
    too many words of its length to scan."""
    from caseframe.core.db.engine import is_sqlite

    sqlite = is_sqlite(Person._meta.db)
    found: set[str] = set()
    if len(token) < 2:
        found |= {r["word"] for r in await NameWord.select(NameWord.word).where(NameWord.word == token)}
    elif sqlite:  # binary collation: a prefix is a range of the unique index
        found |= {
            r["word"]
            for r in await NameWord.raw(
                "SELECT word FROM cf_name_word WHERE word >= {} AND word < {}", token, token + "\x7f"
            )
        }
    else:  # any collation: pg_trgm's index answers anchored patterns too
        found |= {
            r["word"]
            for r in await NameWord.raw("SELECT word FROM cf_name_word WHERE word LIKE {}", token + "%")
        }
    if len(token) >= 4:
        shortest, longest = _close_bounds(token)
        grams = sorted(_trigrams(token))
        if sqlite:
            rows = await NameWord.raw(
                "SELECT word FROM cf_name_word_fts WHERE cf_name_word_fts MATCH {} AND length(word) BETWEEN {} AND {}",
                " OR ".join(f'"{g}"' for g in grams),
                shortest,
                longest,
            )
        else:
            rows = await NameWord.raw(
                "SELECT word FROM cf_name_word WHERE ("
                + " OR ".join("word LIKE {}" for _ in grams)
                + ") AND length(word) BETWEEN {} AND {}",
                *[f"%{g}%" for g in grams],
                shortest,
                longest,
            )
        found |= {r["word"] for r in rows}
    scores = {word: _one_word_score(token, word) for word in found}
    return {word: score for word, score in scores.items() if score}


def _holding(words: Any) -> tuple[str, list]:
    """SQL (and its arguments) for the ids of persons holding any of ``words``."""
    words = sorted(words)
    return (
        "SELECT person FROM cf_person_name_word WHERE word IN (" + ", ".join("{}" for _ in words) + ")",
        words,
    )


def _visible_holding(actor: Actor, words: Any) -> tuple[str, list]:
    """SQL (and its arguments) for the ids of persons holding any of ``words`` whom the actor's agency may come to
    see: its postings of the words (cf_name_posting, kept by triggers: the migration of 2026-12-06T22:40 says how).
    A superset of whom it may see today (an ISA's dates and retention are not in it): the search's ``_VISIBLE``
    decides. A common name alone matches about 1,200 of 100,000 persons and an agency may see a quarter of them;
    reading only those spares the search reading the others to learn that it may not."""
    words = sorted(words)
    return (
        "SELECT person FROM cf_name_posting WHERE agency = {} AND word IN ("
        + ", ".join("{}" for _ in words)
        + ")",
        [actor.agency_id, *words],
    )


#: up to this many vocabulary words of a length, close spellings are looked for among all of them
VOCABULARY_SCAN = 3000


async def _add_spellings_sharing_no_run(
    matches: dict[str, dict[str, float]], close: dict[str, dict[str, float]] | None = None
) -> None:
    """A close spelling may share no three-letter run with the searched word ("Reily" and "Riley"); the
    trigram index cannot find it, but when the other searched words found persons, it is looked for: among
    every vocabulary word of a fitting length while there are few (``close``, when ``_words_matching`` scanned
    them already), otherwise among the name words of the persons the other words found. Either way "Jordon Reily"
    still finds Jordana Riley (the search itself keeps only persons matching every word)."""
    for token in [t for t in matches if len(t) >= 4]:
        others = [_holding(words) for t, words in matches.items() if t != token]
        if not all(args for _, args in others):
            continue  # another searched word matched nobody's name
        if close and token in close:
            matches[token].update(close[token])  # the same scores for the words it has already
            continue
        shortest, longest = _close_bounds(token)
        rows = await NameWord.raw(
            "SELECT word FROM cf_name_word WHERE length(word) BETWEEN {} AND {} LIMIT {}",
            shortest,
            longest,
            VOCABULARY_SCAN + 1,
        )
        if len(rows) > VOCABULARY_SCAN:
            sql = (
                "SELECT DISTINCT word FROM cf_person_name_word WHERE length(word) BETWEEN {} AND {} AND "
                + " AND ".join(f"person IN ({sub})" for sub, _ in others)
            )
            rows = await PersonNameWord.raw(sql, shortest, longest, *[a for _, args in others for a in args])
        matches[token].update(_close_spellings(token, {r["word"] for r in rows} - set(matches[token])))


def _close_spellings(token: str, words: Any) -> dict[str, float]:
    """``_one_word_score(token, word)`` of each of ``words``, those above 0 only."""
    return {word: score for word in words if (score := _one_word_score(token, word))}


def _chunks(ids: list[int], size: int = 5000):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


async def find_persons(
    actor: Actor,
    *,
    name: str = "",
    date_of_birth: str = "",
    identifier: str = "",
    limit: int = 50,
    flag_levels: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Persons matching a name (any order, partial words, aliases, small typos), date of birth, identifier.

    Each searched word is looked up in the index of name words; only persons holding a match for every
    word are read and scored, so a search costs the same at 100 persons as at 100,000."""
    tokens = normalise(name).split()
    dob = None
    if date_of_birth:
        try:
            dob = dt.date.fromisoformat(date_of_birth)
        except ValueError:
            raise ValidationFailed(
                "Date of birth must be a real date",
                errors=[{"field": "/date_of_birth", "message": "Date of birth must be a real date"}],
            ) from None
    if not (tokens or date_of_birth or identifier.strip()):
        return []
    words = list(dict.fromkeys(tokens))
    # the vocabulary this process holds, checked by the head the search's own query reads with the persons (one
    # statement fewer than asking first); read again, and the search made again, when words were added meanwhile
    vocabulary = await _held_vocabulary(as_held=True) if words else None
    matches, rows, head = await _candidates(actor, words, vocabulary, dob, identifier)
    if vocabulary is not None and head != vocabulary.key:
        _HELD.pop("vocabulary", None)
        matches, rows, _ = await _candidates(actor, words, await _held_vocabulary(), dob, identifier)
    score = _scorer(tokens, matches)
    scored = [(value, row) for row in rows if (value := score(row["search_text"]))]
    scored.sort(key=lambda pair: (-pair[0], pair[1]["family_name"], pair[1]["given_name"], pair[1]["id"]))
    return await _searched(actor, scored, limit, flag_levels)


#: what a search reads of each person it finds: what it scores and sorts them by, and what ``person_dict`` shows
#: (not the timestamps, agency and merge, which SQLite's driver would convert for every person found)
_SHOWN = ", ".join(
    f"p.{column}"
    for column in (
        "id",
        "given_name",
        "family_name",
        "search_text",
        "date_of_birth",
        "gender",
        "aliases",
        "addresses",
        "identifiers",
        "flags",
        "created_by_agency",
        "version",
    )
)


async def _candidates(
    actor: Actor, words: list[str], vocabulary: _Vocabulary | None, dob: dt.date | None, identifier: str
) -> tuple[dict[str, dict[str, float]], list[dict[str, Any]], tuple[int, int] | None]:
    """The vocabulary words each searched word matches, and the whole rows of the persons holding a match for
    every word (and the date of birth, the identifier) whom the actor may see, in one query; with ``vocabulary``,
    the vocabulary's head as that query read it (its key when it was current)."""
    matches, close = await _words_matching(words, vocabulary)
    if len(matches) > 1:
        await _add_spellings_sharing_no_run(matches, close)
    if not all(matches.values()):  # a word matches no name: no one, if the vocabulary searched was current
        head = (await NameWord.raw(_VOCABULARY_HEAD))[0] if vocabulary is not None else None
        return matches, [], (head["n"], head["last"] or 0) if head else None
    where, args = [], []
    if matches:  # the persons holding a match for each word: one list, not one per word to meet at each row
        holding = [_visible_holding(actor, words) for words in matches.values()]
        where.append(f"p.id IN ({' INTERSECT '.join(sub for sub, _ in holding)})")
        args += [arg for _, sub_args in holding for arg in sub_args]
    if dob:
        where.append("p.date_of_birth = {}")
        args.append(dob)
    if identifier.strip():
        where.append("p.id IN (SELECT person FROM cf_person_identifier_key WHERE value = {})")
        args.append(identifier_key(identifier))
    condition = " AND ".join([*where, _VISIBLE])
    if vocabulary is None:
        rows = await Person.raw(
            f"SELECT {_SHOWN} FROM cf_person p WHERE {condition} LIMIT 20000", *args, *_visible_args(actor)
        )
        return matches, rows, None
    # the head on every row, and on the one row of NULLs when no one is found
    rows = await Person.raw(
        f"SELECT h.n AS vocabulary_n, h.last AS vocabulary_last, {_SHOWN} FROM ({_VOCABULARY_HEAD}) h "
        f"LEFT JOIN cf_person p ON {condition} LIMIT 20000",
        *args,
        *_visible_args(actor),
    )
    head = (rows[0]["vocabulary_n"], rows[0]["vocabulary_last"] or 0)
    return matches, [row for row in rows if row["id"] is not None], head


async def _searched(
    actor: Actor, scored: list[tuple[float, dict]], limit: int = 50, flag_levels: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Audit a search and give the persons shown: the best ``limit`` of ``scored`` (whole person rows), each with
    the warning markers the actor may read."""
    await audit.record_read("person.search", actor, "", detail={"results": len(scored)})
    reader = FlagReader(actor, _levels(flag_levels))
    out = []
    for score, row in scored[:limit]:
        row = _decoded(row)
        out.append(dict(person_dict(row, await reader.visible(row)), score=round(score, 2)))
    return out


_JSON_COLUMNS = ("aliases", "addresses", "identifiers", "flags")


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    """A person row read with raw SQL as Piccolo's select gives it: its lists decoded, its date a date."""
    for column in _JSON_COLUMNS:
        if isinstance(value := row[column], str):
            row[column] = [] if value == "[]" else json.loads(value)
    if isinstance(row["date_of_birth"], str):  # SQLite gives back the text it stored
        row["date_of_birth"] = dt.date.fromisoformat(row["date_of_birth"])
    return row


async def persons_by_id(ids: list[int]) -> list[dict[str, Any]]:
    """Whole person rows (their lists decoded), in no order: one fixed statement, where Piccolo's select built its
    query and decoded every column for each search."""
    return [
        _decoded(row)
        for row in await Person.raw(f"SELECT * FROM cf_person WHERE id IN ({_placeholders(ids)})", *ids)
    ]


async def likely_duplicates(given_name: str, family_name: str, date_of_birth: Any) -> list[dict[str, Any]]:
    """Existing persons who may be the same person: close name and (when given) the same date of birth."""
    query = Person.select()
    try:
        dob = dt.date.fromisoformat(str(date_of_birth)) if date_of_birth else None
    except ValueError:
        dob = None
    query = query.where(Person.merged_into.is_null())
    rows = await query.output(load_json=True).where(Person.date_of_birth == dob) if dob else []
    full = f"{given_name} {family_name}"
    out = [
        person_dict(r)
        for r in rows
        if name_score(full, r["search_text"]) >= 0.6 or name_score(family_name, r["search_text"]) >= 0.9
    ]
    if not dob:
        target = normalise(full)
        candidates = (
            await Person.select()
            .where(Person.search_text.like(f"%{normalise(family_name)}%") & Person.merged_into.is_null())
            .output(load_json=True)
            .limit(200)
        )
        out = [person_dict(r) for r in candidates if target in r["search_text"].split(" | ")]
    return out


async def cases_of_person(person_id: int, reader: Actor | None = None) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in c.items() if k != "person_id"} for c in await cases_of_persons([person_id], reader)
    ]


async def cases_of_persons(
    person_ids: list[int], reader: Actor | None = None, *, owning_agency: int | None = None
) -> list[dict[str, Any]]:
    """The cases naming any of ``person_ids`` (one query for a page of search results), in the order the persons
    were added to them; with ``owning_agency``, only that agency's cases; for a ``reader``, without the cases
    retention withholds from them (restricted, but for its own local admin; erased)."""
    if not person_ids:
        return []
    ids = list(person_ids)
    retention = ""
    if reader is not None and owning_agency is not None:
        # retention's rule (core.retention.service.Withheld) within the one agency's cases, in the same statement:
        # an erased case is withheld from everyone, a restricted one from all but who may read it restricted
        may_read_restricted = permissions.can(
            reader, "case.read_restricted", {"owning_agency": owning_agency}
        )
        retention = (
            " AND NOT EXISTS (SELECT 1 FROM cf_case_retention r WHERE r.case_id = c.id AND (r.erased_at IS NOT NULL"
            + ("))" if may_read_restricted else " OR r.restricted))")
        )
    rows = await CaseSubject.raw(
        "SELECT s.person AS person_id, c.id AS case_id, c.reference, c.area, c.state, "
        'c.owning_agency AS owning_agency_id, s.role FROM cf_case_subject s JOIN cf_case c ON c.id = s."case" '
        f"WHERE s.person IN ({_placeholders(ids)}) AND s.removed_at IS NULL"
        + (" AND c.owning_agency = {}" if owning_agency is not None else "")
        + retention
        + " ORDER BY s.id",
        *ids,
        *([owning_agency] if owning_agency is not None else []),
    )
    if reader is None or retention:
        return rows
    from caseframe.core.retention.service import withheld_from

    withheld = await withheld_from(reader)
    return [r for r in rows if withheld.keep(r["case_id"])]


async def person_case_links(actor: Actor, person_id: int) -> tuple[list[dict[str, Any]], int]:
    """The person page's cases: those of the actor's own agency naming the person (each link with its case's
    risk level), and how many other agencies' cases name them (a count only, never which)."""
    links = await cases_of_person(person_id, actor)
    mine = [link for link in links if link["owning_agency_id"] == actor.agency_id]
    others = len({link["case_id"] for link in links}) - len({m["case_id"] for m in mine})
    risk = {
        r["id"]: r["risk_level"]
        for r in await Case.select(Case.id, Case.risk_level).where(
            Case.id.is_in([m["case_id"] for m in mine] or [0]) & (Case.owning_agency == actor.agency_id)
        )
    }
    return [{**link, "risk_level": risk.get(link["case_id"])} for link in mine], others


# --- editing a person -----------------------------------------------------------------------------------
# Who may change a person's details: the agency that recorded them, since it answers for the record (a partner
# who sees the person through a shared case reads them, and asks the recording agency to correct them). Any of
# its caseworking roles or its local admin may; the change is audited with each field's old and new value.

# (permissions: person.edit). Who may merge two records their agency recorded: as with editing, only the
# recording agency rewrites a record (person.merge); undoing a merge is a system admin's alone (person.merge_undo).
MAX_ALIASES = 20
MAX_ENTRIES = 20
ADDRESS_PARTS = {"line1": 200, "town": 100, "postcode": 10}


def may_edit(actor: Actor, person: dict[str, Any]) -> bool:
    """Whether the actor may change this (visible) person's details."""
    return permissions.can(actor, "person.edit", person)


def may_merge(actor: Actor, first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether the actor may merge these two (visible) persons."""
    return permissions.can(actor, "person.merge", [first, second])


def _iso_date(value: Any, field: str, label: str, errors: list[dict[str, str]]) -> str:
    """An optional date given as ISO text, checked: "" when empty."""
    if value in (None, ""):
        return ""
    try:
        date = dt.date.fromisoformat(str(value)) if isinstance(value, str) and len(value) <= 10 else None
    except ValueError:
        date = None
    if date is None:
        errors.append({"field": field, "message": f"{label} must be a real date"})
        return ""
    if date > clock.today():
        errors.append({"field": field, "message": f"{label} must be today or in the past"})
    elif date.year < 1900:
        errors.append({"field": field, "message": f"{label} must be after 1900"})
    return date.isoformat()


def clean_identifiers(
    value: Any, known_types: dict[str, str] | None, errors: list[dict[str, str]]
) -> list[dict]:
    """Typed identifiers ({type, value}), each checked; the same number twice is kept once."""
    out: list[dict] = []
    seen: set[tuple[str, str]] = set()
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        errors.append({"field": "/identifiers", "message": f"Give up to {MAX_ENTRIES} identifiers"})
        return out
    for i, entry in enumerate(value):
        kind = entry.get("type") if isinstance(entry, dict) else None
        number = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(kind, str) or not isinstance(number, str):
            errors.append(
                {"field": f"/identifiers/{i}", "message": "Each identifier needs a kind and a number"}
            )
            continue
        number = number.strip()
        if known_types is not None and kind not in known_types:
            errors.append({"field": f"/identifiers/{i}/type", "message": "Select the kind of identifier"})
        elif not identifier_key(number):
            errors.append(
                {"field": f"/identifiers/{i}/value", "message": "Enter the identifier\u2019s number"}
            )
        elif len(number) > 40:
            errors.append(
                {"field": f"/identifiers/{i}/value", "message": "Identifiers must be 40 characters or fewer"}
            )
        elif (kind, identifier_key(number)) not in seen:
            seen.add((kind, identifier_key(number)))
            out.append({"type": kind, "value": number})
    return out


def clean_addresses(value: Any, errors: list[dict[str, str]]) -> list[dict]:
    """Dated addresses ({line1, town, postcode, from, to}), most recent first; "to" empty means current."""
    out: list[dict] = []
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        errors.append({"field": "/addresses", "message": f"Give up to {MAX_ENTRIES} addresses"})
        return out
    for i, entry in enumerate(value):
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k, ""), str) for k in (*ADDRESS_PARTS, "from", "to")
        ):
            errors.append({"field": f"/addresses/{i}", "message": "Each address must be text"})
            continue
        address = {k: entry.get(k, "").strip() for k in ADDRESS_PARTS}
        address["postcode"] = address["postcode"].upper()
        if not (address["line1"] or address["postcode"]):
            errors.append(
                {
                    "field": f"/addresses/{i}/line1",
                    "message": "Enter the first line of the address or its postcode",
                }
            )
            continue
        for key, longest in ADDRESS_PARTS.items():
            if len(address[key]) > longest:
                errors.append(
                    {
                        "field": f"/addresses/{i}/{key}",
                        "message": f"{'Postcode' if key == 'postcode' else 'Each part of an address'} must be "
                        f"{longest} characters or fewer",
                    }
                )
        address["from"] = _iso_date(
            entry.get("from"), f"/addresses/{i}/from", "The date they moved in", errors
        )
        address["to"] = _iso_date(entry.get("to"), f"/addresses/{i}/to", "The date they moved out", errors)
        if address["from"] and address["to"] and address["to"] < address["from"]:
            errors.append(
                {
                    "field": f"/addresses/{i}/to",
                    "message": "The date they moved out must be after they moved in",
                }
            )
        out.append(address)
    # current addresses first, then the most recently left
    out.sort(
        key=lambda a: (a["to"] != "", "" if not a["to"] else _reverse(a["to"]), _reverse(a["from"] or "0"))
    )
    return out


def _reverse(iso: str) -> str:
    """A sort key that puts later ISO dates first."""
    return "".join(chr(255 - ord(c)) for c in iso)


def _clean_details(
    fields: dict[str, Any], known_types: dict[str, str] | None
) -> tuple[dict[str, Any], list[dict]]:
    """Every editable field of a person, checked: (clean values, errors)."""
    errors: list[dict[str, str]] = []
    out: dict[str, Any] = {}
    for field, label in (("given_name", "first"), ("family_name", "last")):
        value = _text(fields.get(field), field, errors)
        if not value and not any(e["field"] == f"/{field}" for e in errors):
            errors.append({"field": f"/{field}", "message": f"Enter the person\u2019s {label} name"})
        elif len(value) > 100:
            errors.append({"field": f"/{field}", "message": "Names must be 100 characters or fewer"})
        out[field] = value
    out["date_of_birth"] = _parse_dob(fields.get("date_of_birth"), errors)
    gender = _text(fields.get("gender"), "gender", errors)
    if gender and gender not in GENDERS:
        errors.append({"field": "/gender", "message": "Select the person\u2019s gender from the list"})
    out["gender"] = gender
    aliases = fields.get("aliases") or []
    if (
        not isinstance(aliases, list)
        or not all(isinstance(a, str) for a in aliases)
        or len(aliases) > MAX_ALIASES
    ):
        errors.append(
            {"field": "/aliases", "message": f"Give up to {MAX_ALIASES} other names, one to a line"}
        )
        aliases = []
    aliases = list(dict.fromkeys(a.strip() for a in aliases if a.strip()))
    if any(len(a) > 100 for a in aliases):
        errors.append({"field": "/aliases", "message": "Other names must be 100 characters or fewer each"})
    out["aliases"] = aliases
    out["identifiers"] = clean_identifiers(fields.get("identifiers") or [], known_types, errors)
    out["addresses"] = clean_addresses(fields.get("addresses") or [], errors)
    return out, errors


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """What an edit changed, for the audit trail: a plain field's old and new value, and only the entries a list
    gained or lost (the rest of a person's record is not copied into the trail)."""
    out = []
    for field in ("given_name", "family_name", "date_of_birth", "gender"):
        before, after = old.get(field), new.get(field)
        before = before.isoformat() if isinstance(before, dt.date) else before
        after = after.isoformat() if isinstance(after, dt.date) else after
        if (before or "") != (after or ""):
            out.append({"field": field, "from": before, "to": after})
    for field in ("aliases", "identifiers", "addresses", "flags"):
        if field not in new:
            continue
        before, after = list(old.get(field) or []), list(new.get(field) or [])
        added, removed = [x for x in after if x not in before], [x for x in before if x not in after]
        if added or removed:
            out.append({"field": field, "added": added, "removed": removed})
    return out


async def reindex_person(person_id: int, search_text: str, identifiers: Any) -> None:
    """Rewrite one person's rows of the search index after their names or identifiers changed (inside the
    caller's transaction). Words no one holds any more stay in the vocabulary: they match no person."""
    await PersonNameWord.delete().where(PersonNameWord.person == person_id)
    await PersonIdentifierKey.delete().where(PersonIdentifierKey.person == person_id)
    if search_text or identifiers:
        await index_persons([(person_id, search_text, identifiers)])


async def _visible_row(actor: Actor, person_id: int) -> dict[str, Any]:
    row = await Person.select().where(Person.id == person_id).output(load_json=True).first()
    if row is None or person_id not in await visible_person_ids(actor, [person_id]):
        raise NotFound("No person with that number exists")
    return row


async def _write_person(person_id: int, version: int, values: dict[str, Any]) -> int:
    """Write ``values`` if the person is still at ``version``; return the new version. Conflict if not."""
    values = dict(values)
    if "given_name" in values:
        values["search_text"] = search_text_of(values["given_name"], values["family_name"], values["aliases"])
    updated = (
        await Person.update(
            {
                **{getattr(Person, k): v for k, v in values.items()},
                Person.version: version + 1,
                Person.updated_at: clock.now(),
            }
        )
        .where((Person.id == person_id) & (Person.version == version) & Person.merged_into.is_null())
        .returning(Person.id)
    )
    if not updated:
        raise Conflict(
            "Someone else changed this person at the same moment. Nothing you entered has been saved "
            "over their change: look at the person again, then make your change."
        )
    if "given_name" in values:
        await reindex_person(person_id, values["search_text"], values["identifiers"])
    return version + 1


async def update_person(
    actor: Actor,
    person_id: int,
    *,
    expected_version: int | None,
    fields: dict[str, Any],
    identifier_types: dict[str, str] | None = None,
    flag_levels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Change a person's names, other names, date of birth, gender, identifiers, dated addresses and (when
    ``fields`` has ``flags``) warning markers, each one ``flag_levels`` declares or the record held already.

    ``expected_version`` is the version the form was read at: a change made since by someone else is never
    overwritten (Conflict, nothing saved). Audited as ``person.update`` with each changed field's old and new
    value."""
    if expected_version is None:
        raise PreconditionRequired(
            "Say which version of the person you changed: reload the page and try again"
        )
    async with transaction():
        row = await _visible_row(actor, person_id)
        if not may_edit(actor, row):
            raise Forbidden(
                "Only the agency that recorded this person can change their details. Ask them to "
                "correct the record."
            )
        values, errors = _clean_details(fields, identifier_types)
        if "flags" in fields:
            values["flags"] = clean_flags(fields["flags"], _levels(flag_levels), errors, row["flags"] or [])
        if errors:
            raise ValidationFailed("There is a problem with the person\u2019s details", errors=errors)
        if expected_version != row["version"]:
            raise Conflict(
                "Someone else changed this person since you opened the page. Nothing you entered has "
                "been saved over their change: look at the person again, then make your change."
            )
        changes = _changes(row, values)
        if changes:
            version = await _write_person(person_id, row["version"], values)
            await audit.record(
                "person.update",
                actor,
                object_type="person",
                object_id=person_id,
                detail={"changes": changes, "version": version},
            )
    return await get_person(actor, person_id, audit_view=False, flag_levels=flag_levels)


# --- duplicates: which records may be the same person, and why ------------------------------------------

MATCH_WEIGHTS = {
    "identifier": 4,
    "exact_name": 3,
    "alias": 3,
    "close_name": 2,
    "date_of_birth": 3,
    "date_of_birth_swapped": 2,
    "postcode": 1,
}


def _names_of(row: dict[str, Any]) -> list[str]:
    return [n for n in row["search_text"].split(" | ") if n]


def _swapped(dob: dt.date | None) -> dt.date | None:
    """The date with day and month swapped (a common slip between forms), if that is another real date."""
    if dob is None or dob.day > 12 or dob.day == dob.month:
        return None
    try:
        return dob.replace(month=dob.day, day=dob.month)
    except ValueError:
        return None


def explain_match(
    a: dict[str, Any], b: dict[str, Any], identifier_types: dict[str, str] | None = None
) -> list[dict]:
    """Why two person rows may be the same person: each matching field, how it matched, in words."""
    labels = identifier_types or {}
    reasons: list[dict[str, str]] = []
    names_a, names_b = _names_of(a), _names_of(b)
    full_a, full_b = (
        normalise(f"{a['given_name']} {a['family_name']}"),
        normalise(f"{b['given_name']} {b['family_name']}"),
    )
    if full_a and full_a == full_b:
        reasons.append({"kind": "exact_name", "field": "Name", "how": "Exactly the same name"})
    else:
        shared = [n for n in names_a if n in names_b]
        if shared:
            reasons.append(
                {
                    "kind": "alias",
                    "field": "Name",
                    "how": "One record\u2019s name is the other\u2019s other name"
                    if full_a in names_b or full_b in names_a
                    else "The same other name on both records",
                }
            )
        else:
            best = max((name_score(n, b["search_text"]) for n in names_a), default=0.0)
            if best >= 0.75:
                reasons.append(
                    {
                        "kind": "close_name",
                        "field": "Name",
                        "how": f"Close spelling ({round(best * 100)}% alike)",
                    }
                )
    dob_a, dob_b = a.get("date_of_birth"), b.get("date_of_birth")
    if dob_a and dob_b:
        if dob_a == dob_b:
            reasons.append(
                {"kind": "date_of_birth", "field": "Date of birth", "how": "The same date of birth"}
            )
        elif _swapped(dob_a) == dob_b:
            reasons.append(
                {
                    "kind": "date_of_birth_swapped",
                    "field": "Date of birth",
                    "how": "The same date of birth with day and month swapped",
                }
            )
    keys_b = {
        (i.get("type"), identifier_key(i.get("value"))): i
        for i in b.get("identifiers") or []
        if isinstance(i, dict)
    }
    for ident in a.get("identifiers") or []:
        if not isinstance(ident, dict) or not identifier_key(ident.get("value")):
            continue
        key = identifier_key(ident.get("value"))
        if (ident.get("type"), key) in keys_b:
            label = labels.get(ident.get("type") or "")
            reasons.append(
                {
                    "kind": "identifier",
                    "field": label or "Identifier",
                    "how": f"The same {label or 'identifier'}",
                }
            )
        elif any(k == key for _, k in keys_b):
            reasons.append(
                {
                    "kind": "identifier",
                    "field": "Identifier",
                    "how": "The same number, recorded as a different kind of identifier",
                }
            )
    codes_a = {
        normalise(x.get("postcode", "")).replace(" ", "")
        for x in a.get("addresses") or []
        if isinstance(x, dict)
    }
    codes_b = {
        normalise(x.get("postcode", "")).replace(" ", "")
        for x in b.get("addresses") or []
        if isinstance(x, dict)
    }
    if (codes_a & codes_b) - {""}:
        reasons.append({"kind": "postcode", "field": "Address", "how": "An address with the same postcode"})
    return reasons


async def explain_pair(
    first_id: int, second_id: int, identifier_types: dict[str, str] | None = None
) -> list[dict]:
    """Why two records (the caller has checked the user may see both) may be the same person."""
    rows = {
        r["id"]: r
        for r in await Person.select().where(Person.id.is_in([first_id, second_id])).output(load_json=True)
    }
    return explain_match(rows[first_id], rows[second_id], identifier_types)


def _is_likely(reasons: list[dict], a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Worth a person's look: the same identifier, or a matching name and a date of birth that agrees (the
    same, swapped, or not known on one of them), or a matching name and the same postcode."""
    kinds = {r["kind"] for r in reasons}
    named = bool(kinds & {"exact_name", "alias", "close_name"})
    if "identifier" in kinds:
        return True
    if not named:
        return False
    dob_unknown = not a.get("date_of_birth") or not b.get("date_of_birth")
    return bool(kinds & {"date_of_birth", "date_of_birth_swapped", "postcode"}) or dob_unknown


async def duplicate_candidates(
    actor: Actor, person_id: int, *, identifier_types: dict[str, str] | None = None, limit: int = 10
) -> list[dict[str, Any]]:
    """Persons the actor may see who may be the same person as ``person_id``, strongest first, each with the
    reasons (which fields matched and how). Found through the search index: the same identifier, the same
    (or swapped) date of birth, or a family name spelt alike; then each is explained and judged."""
    row = await _visible_row(actor, person_id)
    pool: set[int] = set()
    keys = sorted(_identifier_keys(row["identifiers"]))
    if keys:
        pool |= {
            r["person"]
            for r in await PersonIdentifierKey.select(PersonIdentifierKey.person)
            .where(PersonIdentifierKey.value.is_in(keys))
            .limit(200)
        }
    dates = [d for d in (row["date_of_birth"], _swapped(row["date_of_birth"])) if d]
    if dates:
        pool |= {
            r["id"]
            for r in await Person.select(Person.id)
            .where(Person.date_of_birth.is_in(dates) & Person.merged_into.is_null())
            .limit(500)
        }
    family_words = {n.split()[-1] for n in _names_of(row) if n.split()}
    words: set[str] = set()
    for word in sorted(family_words)[:MAX_ALIASES]:
        words |= set(await _matching_words(word))
    if words:
        pool |= {
            r["person"]
            for r in await PersonNameWord.select(PersonNameWord.person)
            .where(PersonNameWord.word.is_in(sorted(words)))
            .limit(2000)
        }
    pool.discard(person_id)
    if not pool:
        return []
    visible = await visible_person_ids(actor, sorted(pool))
    others = (
        await Person.select()
        .where(Person.id.is_in(sorted(visible) or [0]) & Person.merged_into.is_null())
        .output(load_json=True)
    )
    found = []
    for other in others:
        reasons = explain_match(row, other, identifier_types)
        if _is_likely(reasons, row, other):
            strength = sum(MATCH_WEIGHTS[r["kind"]] for r in reasons)
            found.append(
                (
                    strength,
                    dict(
                        person_dict(other),
                        reasons=reasons,
                        strength=strength,
                        created_by_agency=other["created_by_agency"],
                    ),
                )
            )
    found.sort(key=lambda pair: (-pair[0], pair[1]["family_name"], pair[1]["given_name"], pair[1]["id"]))
    return [p for _, p in found[:limit]]


# --- merging two records of one person -------------------------------------------------------------------

#: the fields a merge chooses one record's value of; aliases, identifiers and addresses are joined instead
MERGE_CHOICE_FIELDS = ("given_name", "family_name", "date_of_birth", "gender")
#: the person's own index rows: rewritten, never moved
_INDEX_TABLES = {"cf_person_name_word", "cf_person_identifier_key"}


def _references() -> dict[str, Any]:
    """Every column anywhere (core or plugin tables) that holds a person's id, by "table.column": a merge moves
    their rows, so a table added later is moved too without changing this code."""
    out = {}
    for column in Person._meta.foreign_key_references:
        table = column._meta.table
        if table._meta.tablename not in _INDEX_TABLES:
            out[f"{table._meta.tablename}.{column._meta.db_column_name}"] = column
    return out


def _snapshot(row: dict[str, Any]) -> dict[str, Any]:
    """What a merge may change of a person, as JSON, so undoing it can put it back."""
    dob = row.get("date_of_birth")
    return {
        "given_name": row["given_name"],
        "family_name": row["family_name"],
        "date_of_birth": dob.isoformat() if isinstance(dob, dt.date) else dob,
        "gender": row["gender"],
        "aliases": list(row["aliases"] or []),
        "identifiers": list(row["identifiers"] or []),
        "addresses": list(row["addresses"] or []),
        "flags": list(row["flags"] or []),
    }


def union_of(*lists: list) -> list:
    """The entries of both records' lists, each once, in order: what a merge offers to keep (the comparison
    page numbers its checkboxes by this order)."""
    out: list = []
    for items in lists:
        for item in items or []:
            if item not in out:
                out.append(item)
    return out


def merged_values(
    keep: dict[str, Any],
    other: dict[str, Any],
    *,
    take_from_other: set[str],
    aliases: list[str] | None = None,
    identifiers: list[dict] | None = None,
    addresses: list[dict] | None = None,
) -> dict[str, Any]:
    """The survivor's details after a merge: each chosen field from the record chosen, the lists joined (or the
    entries of them chosen, which must come from one of the two records), and the name not kept as another name."""
    values = {f: (other if f in take_from_other else keep)[f] for f in MERGE_CHOICE_FIELDS}
    errors: list[dict[str, str]] = []
    for field, chosen in (("aliases", aliases), ("identifiers", identifiers), ("addresses", addresses)):
        union = union_of(keep[field], other[field])
        if chosen is None:
            values[field] = union
        elif all(item in union for item in chosen):
            values[field] = [item for item in union if item in chosen]
        else:
            errors.append({"field": f"/{field}", "message": "Choose only entries the two records hold"})
    if errors:
        raise ValidationFailed("There is a problem with what to keep", errors=errors)
    kept = normalise(f"{values['given_name']} {values['family_name']}")
    for row in (keep, other):
        name = f"{row['given_name']} {row['family_name']}".strip()
        if normalise(name) != kept and name not in values["aliases"]:
            values["aliases"] = [*values["aliases"], name]  # still found by the name it was known by
    values["flags"] = union_of(keep["flags"], other["flags"])
    if isinstance(values["date_of_birth"], str):
        values["date_of_birth"] = dt.date.fromisoformat(values["date_of_birth"])
    return values


async def merge_persons(
    ctx: Context,
    actor: Actor,
    survivor_id: int,
    merged_id: int,
    *,
    versions: dict[int, int | None],
    take_from_merged: set[str] | frozenset[str] = frozenset(),
    aliases: list[str] | None = None,
    identifiers: list[dict] | None = None,
    addresses: list[dict] | None = None,
) -> dict[str, Any]:
    """Merge ``merged_id`` into ``survivor_id`` in one transaction.

    The survivor takes the chosen details; every row anywhere naming the merged record (case subjects,
    referrals, rule firings, access requests, a plugin's tables) moves to the survivor, except that the same
    person in the same role on one case stays once (the merged record's row is retired, not duplicated). The
    merged record stays as a tombstone whose address leads to the survivor and which no search finds. What
    moved is kept in a ``PersonMerge`` row, so a system admin can undo exactly this. ``versions`` are both
    records' versions as the comparison page showed them: a change since is never merged over."""
    if survivor_id == merged_id:
        raise ValidationFailed(
            "Choose two different records to merge",
            errors=[{"field": "/other", "message": "Choose two different records to merge"}],
        )
    unknown = set(take_from_merged) - set(MERGE_CHOICE_FIELDS)
    if unknown:
        raise ValidationFailed(
            "Choose each value from one of the two records",
            errors=[{"field": "/fields", "message": "Choose each value from one of the two records"}],
        )
    now = clock.now()
    async with transaction():
        keep = await _visible_row(actor, survivor_id)
        other = await _visible_row(actor, merged_id)
        if not may_merge(actor, keep, other):
            raise Forbidden(
                "Only a supervisor, local admin or system admin of the agency that recorded both "
                "persons can merge them"
            )
        if versions.get(survivor_id) is None or versions.get(merged_id) is None:
            raise PreconditionRequired("Say which versions of the two records you compared: reload the page")
        if versions[survivor_id] != keep["version"] or versions[merged_id] != other["version"]:
            raise Conflict(
                "Someone changed one of these records since you compared them. Nothing has been merged: "
                "compare them again."
            )
        # the merged record's rows move to the survivor: on a case retention keeps as it stands (restricted,
        # erased, on hold, due for review) that is a change on it, so nothing is merged; the rule an undo uses
        refusal = _erased_person_refusal([keep, other]) or await _kept_refusal(
            ctx, await _cases_a_merge_moves(merged_id)
        )
        if refusal:
            raise Forbidden(f"These records cannot be merged: {refusal}. Nothing has been merged.")
        before = {"survivor": _snapshot(keep), "merged": _snapshot(other)}
        values = merged_values(
            before["survivor"],
            before["merged"],
            take_from_other=set(take_from_merged),
            aliases=aliases,
            identifiers=identifiers,
            addresses=addresses,
        )
        moved: dict[str, list[int]] = {}
        # the same person in the same role on one case: keep the survivor's row, retire the merged one's
        held = {
            (r["case"], r["role"])
            for r in await CaseSubject.select(CaseSubject.case, CaseSubject.role).where(
                (CaseSubject.person == survivor_id) & CaseSubject.removed_at.is_null()
            )
        }
        theirs = await CaseSubject.select(
            CaseSubject.id, CaseSubject.case, CaseSubject.role, CaseSubject.removed_at
        ).where(CaseSubject.person == merged_id)
        retired = [r["id"] for r in theirs if r["removed_at"] is None and (r["case"], r["role"]) in held]
        if retired:
            await CaseSubject.update({CaseSubject.removed_at: now}).where(CaseSubject.id.is_in(retired))
        for name, column in _references().items():
            table = column._meta.table
            ids = [
                r["id"]
                for r in await table.select(table.id).where(column == merged_id)
                if not (table is CaseSubject and r["id"] in retired)
            ]
            if ids:
                await table.update({column: survivor_id}).where(table.id.is_in(ids))
                moved[name] = ids
        version = await _write_person(survivor_id, keep["version"], values)
        tombstoned = (
            await Person.update(
                {
                    Person.merged_into: survivor_id,
                    Person.version: other["version"] + 1,
                    Person.updated_at: now,
                }
            )
            .where(
                (Person.id == merged_id) & (Person.version == other["version"]) & Person.merged_into.is_null()
            )
            .returning(Person.id)
        )
        if not tombstoned:
            raise Conflict(
                "Someone changed one of these records at the same moment. Nothing has been merged: "
                "compare them again."
            )
        await reindex_person(merged_id, "", [])
        merge = (
            await PersonMerge.insert(
                PersonMerge(
                    survivor_id=survivor_id,
                    merged_id=merged_id,
                    merged_by=actor.id,
                    merging_agency=actor.agency_id,
                    merged_at=now,
                    detail={
                        "before": before,
                        "moved": moved,
                        "retired_subjects": retired,
                        "survivor_version": version,
                    },
                )
            ).returning(PersonMerge.id)
        )[0]["id"]
        case_ids = {r["case"] for r in theirs}
        await _note_on_cases(
            actor,
            case_ids,
            now,
            f"Two records of {values['given_name']} {values['family_name']} "
            "were found to be the same person and merged",
            merge,
        )
        summary = {
            "merge_id": merge,
            "survivor_id": survivor_id,
            "merged_id": merged_id,
            "moved": {k: len(v) for k, v in moved.items()},
            "retired_subjects": len(retired),
            "taken_from_merged": sorted(take_from_merged),
            "changes": _changes(keep, values),
        }
        await audit.record("person.merge", actor, object_type="person", object_id=survivor_id, detail=summary)
        await audit.record(
            "person.merged_away",
            actor,
            object_type="person",
            object_id=merged_id,
            detail={"merge_id": merge, "survivor_id": survivor_id},
        )
    return {
        "merge_id": merge,
        "survivor_id": survivor_id,
        "merged_id": merged_id,
        "moved": summary["moved"],
        "retired_subjects": len(retired),
    }


async def _note_on_cases(
    actor: Actor, case_ids: set[int], at: dt.datetime, summary: str, merge_id: int
) -> None:
    """A line on the timeline of each case whose people a merge (or its undoing) changed."""
    from caseframe.core.cases.tables import CaseEvent

    for case_id in sorted(case_ids):
        await CaseEvent.insert(
            CaseEvent(
                case=case_id,
                kind="subject",
                summary=summary,
                actor=actor.id,
                at=at,
                detail={"person_merge": merge_id},
            )
        )


async def _retention_refusal(
    ctx: Context, detail: dict[str, Any], people: list[dict[str, Any]]
) -> str | None:
    """Why undoing a merge would go against retention, in words, or None. Undoing puts back both records' details
    as they were and moves rows back onto the cases they came from: never onto a person or a case retention has
    erased (that would bring back what it removed), nor a case it restricts, holds or has due for review."""
    from caseframe.core.referrals.tables import Referral, RuleFiring

    erased = _erased_person_refusal(people)
    if erased:
        return erased + ", and undoing would bring its details back"
    moved = detail.get("moved") or {}
    subject_ids = list(moved.get("cf_case_subject.person") or []) + list(detail.get("retired_subjects") or [])
    subjects = await CaseSubject.select(CaseSubject.case).where(CaseSubject.id.is_in(subject_ids or [0]))
    if len(subjects) < len(set(subject_ids)):  # only erasure deletes a case's people
        return "a case it moved people on was erased under the retention policy"
    case_ids = {r["case"] for r in subjects}
    case_ids |= {
        r["from_case"]
        for r in await Referral.select(Referral.from_case).where(
            Referral.id.is_in(moved.get("cf_referral.person") or [0])
        )
    }
    case_ids |= {
        r["case"]
        for r in await RuleFiring.select(RuleFiring.case).where(
            RuleFiring.id.is_in(moved.get("cf_rule_firing.person") or [0])
        )
    }
    return await _kept_refusal(ctx, case_ids)


def _erased_person_refusal(people: list[dict[str, Any]]) -> str | None:
    from caseframe.core.retention.service import ERASED_NAME

    if any((p["given_name"], p["family_name"]) == ERASED_NAME for p in people):
        return "one of the two records was erased under the retention policy"
    return None


async def _kept_refusal(ctx: Context, case_ids: set[int]) -> str | None:
    """Why retention keeps these cases as they stand (:func:`retention.kept_as_they_are`), or None: the one rule a
    merge and its undoing follow, since both change who is on those cases."""
    from caseframe.core.retention.service import kept_as_they_are

    return "; ".join(await kept_as_they_are(ctx, case_ids)) or None


async def _cases_a_merge_moves(merged_id: int) -> set[int]:
    """The cases whose rows a merge of ``merged_id`` would move (people, referrals raised from them, rule
    firings): those an undo would move back, so the same ones retention is asked about."""
    from caseframe.core.referrals.tables import Referral, RuleFiring

    cases = {
        r["case"] for r in await CaseSubject.select(CaseSubject.case).where(CaseSubject.person == merged_id)
    }
    cases |= {
        r["from_case"] for r in await Referral.select(Referral.from_case).where(Referral.person == merged_id)
    }
    cases |= {
        r["case"] for r in await RuleFiring.select(RuleFiring.case).where(RuleFiring.person == merged_id)
    }
    return cases


async def undo_merge(ctx: Context, actor: Actor, merge_id: int) -> dict[str, Any]:
    """Undo a merge (a system admin only): both records get back the details they had, the merged one is a
    record again, and exactly the rows that moved move back (rows added to the survivor since stay with it).
    Refused, with nothing changed, where retention stands in the way (:func:`_retention_refusal`)."""
    # asked first, so no one else learns which merge numbers exist
    permissions.require(actor, "person.merge_undo")
    now = clock.now()
    async with transaction():
        merge = await PersonMerge.select().where(PersonMerge.id == merge_id).output(load_json=True).first()
        if merge is None:
            raise NotFound("No merge with that number exists")
        if merge["undone_at"] is not None:
            raise ServiceError("This merge has already been undone")
        survivor = (
            await Person.select().where(Person.id == merge["survivor_id"]).output(load_json=True).first()
        )
        merged = await Person.select().where(Person.id == merge["merged_id"]).output(load_json=True).first()
        if survivor is None or merged is None or merged["merged_into"] != survivor["id"]:
            raise ServiceError(
                "This merge can no longer be undone: one of the records has since been removed"
            )
        if survivor["merged_into"] is not None:
            raise ServiceError(
                "The surviving record has since been merged into another: undo that merge first"
            )
        detail = merge["detail"]
        refusal = await _retention_refusal(ctx, detail, [survivor, merged])
        if refusal:
            raise Forbidden(f"This merge cannot be undone: {refusal}. Nothing has been changed.")
        references = _references()
        for name, ids in (detail.get("moved") or {}).items():
            column = references.get(name)
            if column is None or not ids:
                continue  # a plugin's table no longer installed: nothing of it to move back
            table = column._meta.table
            await table.update({column: merged["id"]}).where(table.id.is_in(ids) & (column == survivor["id"]))
        retired = detail.get("retired_subjects") or []
        if retired:
            await CaseSubject.update({CaseSubject.removed_at: None}).where(
                CaseSubject.id.is_in(retired) & (CaseSubject.person == merged["id"])
            )
        restore = {}
        for key in ("survivor", "merged"):
            values = dict(detail["before"][key])
            values["date_of_birth"] = (
                dt.date.fromisoformat(values["date_of_birth"]) if values["date_of_birth"] else None
            )
            restore[key] = values
        await Person.update({Person.merged_into: None}).where(Person.id == merged["id"])
        await _write_person(survivor["id"], survivor["version"], restore["survivor"])
        await _write_person(merged["id"], merged["version"], restore["merged"])
        await PersonMerge.update({PersonMerge.undone_at: now, PersonMerge.undone_by: actor.id}).where(
            PersonMerge.id == merge_id
        )
        case_ids = {
            r["case"]
            for r in await CaseSubject.select(CaseSubject.case).where(
                CaseSubject.id.is_in(
                    (detail.get("moved") or {}).get("cf_case_subject.person", []) + retired or [0]
                )
            )
        }
        await _note_on_cases(
            actor,
            case_ids,
            now,
            "A merge of two person records was undone: they are two records again",
            merge_id,
        )
        edited_since = survivor["version"] != detail.get("survivor_version")
        for person_id in (survivor["id"], merged["id"]):
            await audit.record(
                "person.unmerge",
                actor,
                object_type="person",
                object_id=person_id,
                detail={
                    "merge_id": merge_id,
                    "survivor_id": survivor["id"],
                    "merged_id": merged["id"],
                    "survivor_edited_since": edited_since,
                    **(
                        {"changes": _changes(survivor, restore["survivor"])}
                        if person_id == survivor["id"]
                        else {}
                    ),
                },
            )
    return {"survivor_id": merge["survivor_id"], "merged_id": merge["merged_id"]}


async def _merge_rows(where: Any, limit: int = 200) -> list[dict[str, Any]]:
    """Merges as the pages show them: who merged which record into which, when, from which agency, how many rows
    moved, and whether it was undone."""
    from caseframe.core.agencies.tables import Agency
    from caseframe.core.auth.tables import User

    rows = (
        await PersonMerge.select()
        .where(where)
        .order_by(PersonMerge.id, ascending=False)
        .limit(limit)
        .output(load_json=True)
    )
    users = {
        u["id"]: u["name"]
        for u in await User.select(User.id, User.name).where(
            User.id.is_in([r["merged_by"] for r in rows] + [r["undone_by"] or 0 for r in rows] or [0])
        )
    }
    agencies = {
        a["id"]: a["name"]
        for a in await Agency.select(Agency.id, Agency.name).where(
            Agency.id.is_in([r["merging_agency"] for r in rows] or [0])
        )
    }
    out = []
    for r in rows:
        merged = (r["detail"].get("before") or {}).get("merged") or {}
        out.append(
            {
                "id": r["id"],
                "survivor_id": r["survivor_id"],
                "merged_id": r["merged_id"],
                "merged_at": r["merged_at"],
                "undone_at": r["undone_at"],
                "merged_by": users.get(r["merged_by"], ""),
                "undone_by": users.get(r["undone_by"] or 0, ""),
                "agency": agencies.get(r["merging_agency"], ""),
                "merged_name": " ".join(filter(None, (merged.get("given_name"), merged.get("family_name")))),
                "moved": sum(len(v) for v in (r["detail"].get("moved") or {}).values())
                + len(r["detail"].get("retired_subjects") or []),
            }
        )
    return out


async def merges_into(actor: Actor, person_id: int) -> list[dict[str, Any]]:
    """The merges that made this (visible) record what it is, newest first."""
    await _visible_row(actor, person_id)
    return await _merge_rows(PersonMerge.survivor_id == person_id)


async def list_merges(actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """Every merge, newest first, for a system admin (who may be asked to undo one): record numbers, agency and
    who merged, never the names (those only on the person pages, to those who may see the person)."""
    permissions.require(actor, "person.merge_undo", message="Only a system admin can see every merge")
    rows = await _merge_rows(PersonMerge.id > 0, limit)
    async with transaction():
        await audit.record("person.merge_list", actor, detail={"merge_ids": [r["id"] for r in rows]})
    return [{k: v for k, v in r.items() if k != "merged_name"} for r in rows]


async def merge_record(actor: Actor, merge_id: int) -> dict[str, Any]:
    """One merge, for the page that undoes it (a system admin's): the names only when the admin may see the
    record that survived."""
    permissions.require(actor, "person.merge_undo")
    rows = await _merge_rows(PersonMerge.id == merge_id, 1)
    if not rows:
        raise NotFound("No merge with that number exists")
    merge = rows[0]
    merge["survivor_visible"] = merge["survivor_id"] in await visible_person_ids(
        actor, [merge["survivor_id"]]
    )
    if not merge["survivor_visible"]:
        merge["merged_name"] = ""
    await audit.record_read("person.merge_view", actor, "person_merge", merge_id)
    return merge


async def current_record_id(person_id: int) -> int | None:
    """The record a person's data now lives on: the record itself, or the one it was (since) merged into,
    following later merges; None if there is no such record."""
    current, seen = person_id, set()
    while current not in seen:
        seen.add(current)
        row = await Person.select(Person.merged_into).where(Person.id == current).first()
        if row is None:
            return None
        if row["merged_into"] is None:
            return current
        current = row["merged_into"]
    return current


async def survivor_of(actor: Actor, person_id: int) -> int | None:
    """Where a merged record's address leads: the record it was merged into (following later merges), when the
    actor may see that one; None if ``person_id`` is no merged record or the actor may not see where it went."""
    current = await current_record_id(person_id)
    if current is None or current == person_id:
        return None
    return current if current in await visible_person_ids(actor, [current]) else None


async def person_rights(actor: Actor, person_id: int) -> dict[str, bool]:
    """What the actor may do to a person they can see: edit their details, merge them with another."""
    row = await Person.select(Person.created_by_agency).where(Person.id == person_id).first()
    recorded = {"created_by_agency": row["created_by_agency"] if row else None}
    return {
        "edit": may_edit(actor, recorded),
        "merge": permissions.can(actor, "person.merge", recorded),
        "undo_merge": permissions.can(actor, "person.merge_undo"),
    }
