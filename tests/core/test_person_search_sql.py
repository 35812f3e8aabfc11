"""Person search's fixed SQL and in-process vocabulary give the answers of the queries they replaced.

Search reads with statements written out once (who may see a person, the rows shown, the cases named) and matches
searched words against the vocabulary of name words each process holds, where it used to build ORM queries and
ask the database's indexes two or three times a word. Here a partnership with every way of knowing of a person
(recorded it, owns a case naming them, a case shared under a live agreement, one shared under an agreement that
has since ended, a revoked share, a person taken off a case, merged records) is searched by every agency, and:

- who may see whom is the ORM answer the SQL replaced (kept below as the reference), today and after an
  agreement ended;
- each search finds, for each agency, exactly the persons matching it that the agency may see, best first;
- the vocabulary held in the process finds exactly what the database's indexes find (prefixes, close spellings
  with and without a shared three-letter run, short words), also when there are too many words of a length to
  scan them all;
- the rows and cases read for the results page are those the ORM read, and the cases listed are those retention
  lets the reader see (its rule in Python, ``Withheld.keep``, against the condition written into the statement);
- a search checks the vocabulary it holds against the head its own query reads, and a word added since is found
  at once, whether or not every searched word matched one it held;
- the scores of the persons found, worked out once a search, are ``_score_names``'s.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from caseframe.core import clock
from caseframe.core.cases.tables import CaseSubject
from caseframe.core.persons import service as persons
from caseframe.core.persons.tables import NameWord, Person
from caseframe.core.retention.service import withheld_from
from caseframe.core.retention.tables import CaseRetention
from caseframe.core.sharing import service as sharing
from caseframe.core.sharing.policy import shared_case_ids
from caseframe.core.testing import make_agency, make_context, make_person, make_user, open_case
from tests.fixtures.areas import noise_plugin

REPORT = {"date_of_incident": "2026-11-01", "street": "Kestrel Way", "kind": "music"}
GIVEN = [
    "Jordan",
    "Jordana",
    "Jordon",
    "Morgan",
    "Megan",
    "Riley",
    "Casey",
    "Kasey",
    "Siobhan",
    "Sean",
    "Shaun",
    "Aaron",
    "Aron",
    "Al",
    "Ali",
    "Alistair",
    "Mia",
    "Maya",
    "Zoe",
    "Chloe",
    "Reece",
    "Rhys",
]
FAMILY = [
    "Reilly",
    "Riley",
    "Reid",
    "Ried",
    "Smith",
    "Smyth",
    "Smythe",
    "O'Connor",
    "Connor",
    "Conner",
    "Ashcombe",
    "Ashcomb",
    "Kaur",
    "Khan",
    "Kahn",
    "Li",
    "Lee",
    "Leigh",
    "Dunmore",
    "Dunmoor",
    "Fairbrother",
    "Okafor",
]


async def visible_by_orm(actor, person_ids: list[int]) -> set[int]:
    """Who may see whom, as ``visible_person_ids`` answered it through the ORM before it was one statement."""
    ids = list(set(person_ids))
    own = {
        r["id"]
        for r in await Person.select(Person.id).where(
            Person.id.is_in(ids)
            & (Person.created_by_agency == actor.agency_id)
            & Person.merged_into.is_null()
        )
    }
    rest = [i for i in ids if i not in own]
    if rest:
        on_own_cases = await CaseSubject.select(CaseSubject.person).where(
            CaseSubject.person.is_in(rest)
            & CaseSubject.removed_at.is_null()
            & (CaseSubject.case.owning_agency == actor.agency_id)
        )
        own |= {r["person"] for r in on_own_cases}
        rest = [i for i in rest if i not in own]
    if rest:
        shared = await shared_case_ids(actor.agency_id)
        if shared:
            on_shared = await CaseSubject.select(CaseSubject.person).where(
                CaseSubject.person.is_in(rest)
                & CaseSubject.removed_at.is_null()
                & CaseSubject.case.is_in(shared)
            )
            own |= {r["person"] for r in on_shared}
    return own


def misspelt(word: str, rng: random.Random) -> str:
    """A letter changed, or two neighbours swapped (then often no three-letter run is shared)."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + ("e" if word[i] != "e" else "a") + word[i + 1 :]


@pytest.fixture
async def partnership(db):
    ctx = make_context(noise_plugin)
    agencies = {
        slug: await make_agency(ctx, slug) for slug in ("ashdown", "wealden", "brightwell", "far-away")
    }
    workers = {
        slug: await make_user(a, ("caseworker", "supervisor"), name=f"{slug} worker")
        for slug, a in agencies.items()
    }
    admin = await make_user(agencies["ashdown"], ("system_admin",), name="Sam Sysadmin")
    rng = random.Random(13)
    recorded: dict[int, str] = {}
    people: dict[int, dict] = {}
    for slug, worker in workers.items():
        for n in range(30):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            person = await make_person(
                worker,
                given_name=given,
                family_name=family,
                date_of_birth=(dt.date(1970, 1, 1) + dt.timedelta(days=rng.randrange(12000))).isoformat(),
                aliases=[f"{rng.choice(GIVEN)} {family}"] if n % 5 == 0 else [],
                identifiers=[{"type": "nhs_number", "value": f"{4000000000 + len(people)}"}]
                if n % 3 == 0
                else [],
            )
            recorded[person["id"]] = slug
            people[person["id"]] = person
    of = {slug: [pid for pid, s in recorded.items() if s == slug] for slug in agencies}
    today = clock.today()
    for partner, days in (("wealden", 100), ("brightwell", 5)):
        await sharing.create_isa(
            ctx,
            admin,
            reference=f"ISA-{partner}",
            title=f"With {partner}",
            parties=[agencies["ashdown"]["id"], agencies[partner]["id"]],
            purposes=["crime_prevention"],
            areas=["noise"],
            legal_basis="CDA 1998 s.115",
            starts_on=today - dt.timedelta(days=10),
            ends_on=today + dt.timedelta(days=days),
            max_sensitivity="official",
        )
    ashdown = agencies["ashdown"]["id"]
    # wealden's case shared with ashdown (live), another shared and then revoked, a third with a person taken off
    shared = await open_case(
        ctx, workers["wealden"], "noise", REPORT, [(p, "subject") for p in of["wealden"][:8]]
    )
    await sharing.share_case(workers["wealden"], shared["id"], agency_id=ashdown, purpose="crime_prevention")
    revoked = await open_case(
        ctx, workers["wealden"], "noise", REPORT, [(p, "subject") for p in of["wealden"][8:12]]
    )
    share = await sharing.share_case(
        workers["wealden"], revoked["id"], agency_id=ashdown, purpose="crime_prevention"
    )
    await sharing.revoke_share(workers["wealden"], revoked["id"], share["id"])
    taken_off = await open_case(
        ctx, workers["wealden"], "noise", REPORT, [(p, "subject") for p in of["wealden"][12:15]]
    )
    await sharing.share_case(
        workers["wealden"], taken_off["id"], agency_id=ashdown, purpose="crime_prevention"
    )
    subject = (
        await CaseSubject.select(CaseSubject.id)
        .where((CaseSubject.case == taken_off["id"]) & (CaseSubject.person == of["wealden"][12]))
        .first()
    )
    from caseframe.core.cases import service as cases

    await cases.remove_subject(ctx, workers["wealden"], taken_off["id"], subject["id"])
    # brightwell's case shared under the agreement that ends in five days
    ending = await open_case(
        ctx, workers["brightwell"], "noise", REPORT, [(p, "subject") for p in of["brightwell"][:6]]
    )
    await sharing.share_case(
        workers["brightwell"], ending["id"], agency_id=ashdown, purpose="crime_prevention"
    )
    # ashdown's own case naming its persons and two of wealden's it sees through the shared case
    await open_case(
        ctx,
        workers["ashdown"],
        "noise",
        REPORT,
        [(p, "subject") for p in of["ashdown"][:4] + of["wealden"][:2]],
    )
    # merged records: one of ashdown's into another, and one of wealden's on the shared case into one that was not
    merged = []
    for slug, (survivor, gone) in (
        ("ashdown", of["ashdown"][20:22]),
        ("wealden", (of["wealden"][20], of["wealden"][0])),
    ):
        rows = {
            r["id"]: r["version"]
            for r in await Person.select(Person.id, Person.version).where(Person.id.is_in([survivor, gone]))
        }
        await persons.merge_persons(ctx, workers[slug], survivor, gone, versions=rows)
        merged.append(gone)
    return {
        "workers": workers,
        "recorded": recorded,
        "people": people,
        "merged": merged,
        "rng": rng,
        "agencies": agencies,
    }


def searches(people: dict[int, dict], rng: random.Random) -> list[dict]:
    sample = rng.sample(sorted(people), 24)
    out: list[dict] = []
    for pid in sample[:8]:
        p = people[pid]
        out.append({"name": f"{p['given_name']} {p['family_name']}"})
        out.append({"name": f"{misspelt(p['given_name'], rng)} {misspelt(p['family_name'], rng)}"})
    for pid in sample[8:14]:
        p = people[pid]
        out.append({"name": misspelt(p["family_name"], rng)})
        out.append({"name": p["family_name"][:3]})
    for pid in sample[14:18]:
        p = people[pid]
        out.append({"name": p["given_name"], "date_of_birth": p["date_of_birth"]})
        out.append({"name": f"{p['family_name']} {p['given_name']} {p['family_name'][:2]}"})
    out += [
        {"identifier": people[pid]["identifiers"][0]["value"]} for pid in sample if people[pid]["identifiers"]
    ][:4]
    out += [
        {"name": "jordon reily"},
        {"name": "morgan ried"},
        {"name": "a"},
        {"name": "al"},
        {"name": "o connor"},
        {"name": "siobhan smythe kaur"},
        {"name": "zebedee"},
        {"name": "li"},
        {"name": "Shaun Conor"},
    ]
    return out


async def found(actor, search: dict) -> list[tuple[int, float]]:
    return [(p["id"], p["score"]) for p in await persons.find_persons(actor, limit=1000, **search)]


@pytest.fixture
def from_database(monkeypatch):
    """Search with the vocabulary read through the database's indexes, as for one too large to hold."""

    def switch(on: bool = True) -> None:
        persons._HELD.clear()
        monkeypatch.setattr(persons, "VOCABULARY_HELD", -1 if on else 50_000)

    yield switch
    persons._HELD.clear()


async def test_who_may_see_whom_is_the_orm_answer_today_and_after_an_agreement_ended(partnership):
    everyone = sorted(partnership["recorded"])
    for days in (0, 10):
        with clock.travel(days):
            for worker in partnership["workers"].values():
                assert await persons.visible_person_ids(worker, everyone) == await visible_by_orm(
                    worker, everyone
                )
    ashdown = partnership["workers"]["ashdown"]
    seen_today = await persons.visible_person_ids(ashdown, everyone)
    # brightwell's agreement has ended: its persons on the shared case are not seen now
    with clock.travel(10):
        assert len(await persons.visible_person_ids(ashdown, everyone)) < len(seen_today)
    assert not seen_today & set(partnership["merged"])
    assert await persons.visible_person_ids(ashdown, []) == set()


async def test_each_agency_finds_the_matching_persons_it_may_see_best_first(partnership):
    recorded, people, workers = partnership["recorded"], partnership["people"], partnership["workers"]
    everyone = sorted(recorded)
    for days in (0, 10):
        with clock.travel(days):
            for search in searches(people, random.Random(days)):
                # every person matching the search, from the agency that recorded them (which always sees them)
                results = {slug: await found(worker, search) for slug, worker in workers.items()}
                matching = {
                    pid: score
                    for slug, answer in results.items()
                    for pid, score in answer
                    if recorded[pid] == slug
                }
                assert not set(matching) & set(partnership["merged"]), search
                for slug, worker in workers.items():
                    visible = await visible_by_orm(worker, everyone)
                    expected = sorted(
                        (pid for pid in matching if pid in visible),
                        key=lambda pid: (
                            -matching[pid],
                            people[pid]["family_name"],
                            people[pid]["given_name"],
                            pid,
                        ),
                    )
                    assert [pid for pid, _ in results[slug]] == expected, (slug, search)
                    assert [score for _, score in results[slug]] == [matching[pid] for pid in expected]


@pytest.mark.parametrize("scan", [3000, 4])
async def test_the_vocabulary_held_in_the_process_finds_what_the_indexes_find(
    partnership, from_database, monkeypatch, scan
):
    # with scan=4, most lengths have too many words to scan: close spellings sharing no three-letter run are looked
    # for among the words of the persons the other searched words found, on both ways
    monkeypatch.setattr(persons, "VOCABULARY_SCAN", scan)
    people, workers = partnership["people"], partnership["workers"]
    rng = random.Random(5)
    all_searches = searches(people, rng) + [
        {"name": f"{misspelt(w, rng)} {w2}"}
        for w, w2 in zip(
            [p["family_name"] for p in people.values()][:30],
            [p["given_name"] for p in people.values()][30:60],
            strict=False,
        )
    ]
    held, indexed = [], []
    for switch, out in ((False, held), (True, indexed)):
        from_database(switch)
        for search in all_searches:
            for worker in (workers["ashdown"], workers["far-away"]):
                out.append(await found(worker, search))
    assert held == indexed
    assert sum(1 for answer in held if answer) > len(held) // 4  # the searches find people


async def test_a_new_word_is_found_at_once_by_a_process_holding_the_vocabulary(partnership):
    worker = partnership["workers"]["ashdown"]
    assert await found(worker, {"name": "Quenby"}) == []
    quenby = await make_person(worker, given_name="Tamsin", family_name="Quenby")
    assert [pid for pid, _ in await found(worker, {"name": "Quenbey Tamsin"})] == [quenby["id"]]
    assert [pid for pid, _ in await found(worker, {"name": "tams"})] == [quenby["id"]]


async def test_the_rows_and_cases_read_for_the_results_are_the_orm_rows(partnership):
    ids = sorted(partnership["recorded"])
    rows = {r["id"]: r for r in await persons.persons_by_id(ids)}
    assert rows == {
        r["id"]: r for r in await Person.select().where(Person.id.is_in(ids)).output(load_json=True)
    }
    assert isinstance(rows[ids[0]]["date_of_birth"], dt.date)
    orm = (
        await CaseSubject.select(
            CaseSubject.person.as_alias("person_id"),
            CaseSubject.case.id.as_alias("case_id"),
            CaseSubject.case.reference.as_alias("reference"),
            CaseSubject.case.area.as_alias("area"),
            CaseSubject.case.state.as_alias("state"),
            CaseSubject.case.owning_agency.as_alias("owning_agency_id"),
            CaseSubject.role,
        )
        .where(CaseSubject.person.is_in(ids) & CaseSubject.removed_at.is_null())
        .order_by(CaseSubject.id)
    )
    assert len(orm) > 10
    assert await persons.cases_of_persons(ids) == orm
    ashdown = partnership["agencies"]["ashdown"]["id"]
    assert await persons.cases_of_persons(ids, owning_agency=ashdown) == [
        c for c in orm if c["owning_agency_id"] == ashdown
    ]


async def test_the_cases_listed_for_a_reader_are_those_retention_lets_them_see(partnership):
    """The search page lists the reader's own agency's cases naming each person; an erased case for no one, a
    restricted one only for a local admin of the agency (who sees it marked)."""
    ashdown = partnership["agencies"]["ashdown"]
    worker = partnership["workers"]["ashdown"]
    admin = await make_user(ashdown, ("local_admin",), name="Ash Admin")
    ctx = make_context(noise_plugin)
    people = sorted(partnership["recorded"])
    cases = [
        await open_case(ctx, worker, "noise", REPORT, [(p, "subject") for p in people[n : n + 3]])
        for n in (0, 2, 4)
    ]
    # one case restricted, one erased (as retention records them), one as it was
    await CaseRetention.insert(
        CaseRetention(case_id=cases[0]["id"], restricted=True),
        CaseRetention(case_id=cases[1]["id"], erased_at=clock.now()),
        CaseRetention(case_id=cases[2]["id"], legal_hold=True),
    )
    for reader in (worker, admin, partnership["workers"]["wealden"]):
        withheld = await withheld_from(reader)
        for agency in {reader.agency_id, ashdown["id"]}:
            every = await persons.cases_of_persons(people, owning_agency=agency)
            expected = [c for c in every if withheld.keep(c["case_id"])]
            assert await persons.cases_of_persons(people, reader, owning_agency=agency) == expected
            assert await persons.cases_of_persons(people, reader) == [
                c for c in await persons.cases_of_persons(people) if withheld.keep(c["case_id"])
            ]
    listed = {
        c["case_id"] for c in await persons.cases_of_persons(people, worker, owning_agency=ashdown["id"])
    }
    assert cases[2]["id"] in listed and not listed & {cases[0]["id"], cases[1]["id"]}
    listed = {
        c["case_id"] for c in await persons.cases_of_persons(people, admin, owning_agency=ashdown["id"])
    }
    assert {cases[0]["id"], cases[2]["id"]} <= listed and cases[1]["id"] not in listed


async def test_a_word_added_since_the_vocabulary_was_read_is_found_when_every_searched_word_matched_one(
    partnership,
):
    worker = partnership["workers"]["ashdown"]
    before = await found(worker, {"name": "Fairbroth"})
    assert before and persons._HELD.get("vocabulary") is not None
    # a person with a new word beginning the same: the vocabulary this process holds is out of date, and
    # "fairbroth" still matches a word it holds, so only the head read with the persons tells
    added = await make_person(worker, given_name="Zed", family_name="Fairbrothers")
    assert not persons._HELD["vocabulary"].has("fairbrothers")
    after = await found(worker, {"name": "Fairbroth"})
    assert sorted(pid for pid, _ in after) == sorted([pid for pid, _ in before] + [added["id"]])
    assert persons._HELD["vocabulary"].has("fairbrothers")
    assert (await NameWord.count()) == persons._HELD["vocabulary"].key[0]


async def _head() -> tuple[int, int]:
    row = (await NameWord.raw(persons._VOCABULARY_HEAD))[0]
    return row["n"], row["last"]


async def test_the_vocabulary_head_is_one_row_kept_in_step_with_the_words_by_whoever_writes_them(partnership):
    """The head a search reads is one row, not a count of the vocabulary, and triggers keep it right: words
    added (by a new person or straight into the table), an insert that adds none, words removed."""
    assert "cf_name_word" not in persons._VOCABULARY_HEAD  # one row read, however large the vocabulary
    words, version = await _head()
    assert words == await NameWord.count() > 0
    worker = partnership["workers"]["ashdown"]
    made = await make_person(worker, given_name="Quennell", family_name="Abernethy-Xu")
    after = await _head()
    assert after[0] == await NameWord.count() > words and after[1] > version
    # every word already known (ON CONFLICT DO NOTHING adds none): the head, and so every process's vocabulary,
    # stays as it was
    await persons.index_persons([(made["id"], "quennell abernethy xu", [])])
    assert await _head() == after
    await NameWord.raw("INSERT INTO cf_name_word (word) VALUES ('zzfirst'), ('zzsecond')")
    assert (await _head())[0] == after[0] + 2 == await NameWord.count()
    before_delete = await _head()
    await NameWord.delete().where(NameWord.word.is_in(["zzfirst", "zzsecond"]))
    words, version = await _head()
    assert words == after[0] == await NameWord.count() and version > before_delete[1]
    # the vocabulary a search loads carries the head it was read with
    await found(worker, {"name": "Quennell"})
    assert persons._HELD["vocabulary"].key == (words, version)
    assert persons._HELD["vocabulary"].has("quennell")


def test_the_scores_worked_out_once_a_search_are_those_of_score_names():
    rng = random.Random(7)
    words = [w.lower() for w in GIVEN + FAMILY] + ["o", "connor", "smythe", "kaur"]
    texts = [
        " | ".join(" ".join(rng.sample(words, rng.randrange(1, 4))) for _ in range(rng.randrange(1, 4)))
        for _ in range(300)
    ] + ["", "a |  | b", "smith | "]
    for _ in range(200):
        tokens = [rng.choice(words)[: rng.randrange(1, 8)] for _ in range(rng.randrange(1, 4))]
        matches = {
            t: {w: s for w in words if (s := persons._one_word_score(t, w))} for t in dict.fromkeys(tokens)
        }
        score = persons._scorer(tokens, matches)
        for text in texts + texts:  # the second time from what it worked out the first
            assert score(text) == persons._score_names(tokens, text, lambda t, w, m=matches: m[t].get(w, 0.0))
    assert persons._scorer([], {})("anything") == 1.0


def test_close_spellings_are_every_word_of_a_fitting_length_that_scores():
    """The held vocabulary's close spellings (shared letters counted for all words at once) are what scoring every
    word of a fitting length one by one gives: words with repeated letters and digits, and words too long for a
    letter's count to be a byte, which are scored one by one."""
    rng = random.Random(11)
    letters = "aaeeiorstnlmhy0123"
    base = [w.lower().replace("'", "") for w in GIVEN + FAMILY]
    words = set(base)
    for word in base:
        for _ in range(6):
            words.add(misspelt(word, rng))
            words.add(
                word[: rng.randrange(2, len(word) + 1)] + "".join(rng.sample(letters, rng.randrange(0, 4)))
            )
    words |= {"".join(rng.choice(letters) for _ in range(rng.randrange(1, 14))) for _ in range(400)}
    words |= {"a" * 300, "ab" * 140, "r" * 256 + "eilly", "s" * 600}
    vocabulary = persons._Vocabulary((len(words), 1), sorted(words))
    tokens = (
        [misspelt(w, rng) for w in base] + base + ["aaaa", "0123", "reilly", "sss", "a" * 160, "ab" * 150]
    )
    for token in tokens:
        shortest, longest = persons._close_bounds(token)
        expected = {
            w: score
            for w in sorted(words, key=lambda w: (len(w), w))
            if shortest <= len(w) <= longest and (score := persons._one_word_score(token, w))
        }
        assert vocabulary.close_spellings(token) == expected, token
    assert vocabulary.close_spellings("ab" * 150) == {
        "ab" * 140: persons._one_word_score("ab" * 150, "ab" * 140)
    }
