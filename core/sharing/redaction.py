"""Stored free text as its reader may see it: the cases it names that the reader may not see are not named.

Words are stored as someone who could see a case wrote them (a note, a task, a referral's reason, an agenda item,
a minute, a notification) and read later by someone who may not see that case: another agency outside the
agreement, anyone once the case is restricted or erased. Every service that shows such words reads them through a
:class:`Redactor`, built once per list by :func:`redactor_for` in a fixed number of queries (one for the cases, the
sharing policy's own for who sees them, one for the people on the hidden ones), then applied to each text.

What is replaced:

- a case reference (``NOI-2026-000123``; also typed short or in lower case, ``noi-2026-123``) naming an existing
  case the reader may not see becomes :data:`HIDDEN_CASE`. A reference-shaped word naming no case is left as
  written (it names nothing; references are sequential, so whether one exists tells little);
- in a text that names such a case, or that belongs to an item linked to one (a task, a notification, an agenda
  item on it), the names of the people on that case become :data:`HIDDEN_PERSON`: the full name, then the
  given and family names and aliases each as a whole word, as the person record spells them.

The limit, on purpose: a name is only recognised in a text that also points at the hidden case (by its reference or
its link). "Spoke to Jo Bloggs" on another case, with no reference, stays as written: telling which of all the names
in a text belong to some case the reader may not see would mean matching every text against every person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from caseframe.core.auth.actor import Actor
from caseframe.core.retention.service import Withheld, withheld_from
from caseframe.core.sharing.policy import visible_case_ids

#: the case (or cases) a text may name where it is shown whoever reads it, by design (see Redactor.text)
Told = int | frozenset[int] | set[int] | tuple[int, ...] | None

#: what a hidden case's reference reads as
HIDDEN_CASE = "[a case you cannot see]"
#: what the name of a person on a hidden case reads as
HIDDEN_PERSON = "[a person]"

#: a case reference as core.cases.service writes it (PREFIX-YEAR-NUMBER, the prefix as area.schema.json allows),
#: also typed in lower case or without the number's leading zeros
CASE_REFERENCE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2,6})-([0-9]{4})-([0-9]{1,9})(?![A-Za-z0-9])")


def _normal(prefix: str, year: str, number: str) -> str:
    return f"{prefix.upper()}-{year}-{int(number):06d}"


def references_in(text: Any) -> set[str]:
    """The case references a text holds, as stored (``noi-2026-12`` is ``NOI-2026-000012``)."""
    if not isinstance(text, str) or "-" not in text:
        return set()
    return {_normal(*m.groups()) for m in CASE_REFERENCE.finditer(text)}


def _name_patterns(given: str, family: str, aliases: Any) -> list[re.Pattern[str]]:
    """The full name (any case, any spacing), then each name word as the record spells it."""
    out: list[re.Pattern[str]] = []
    given, family = (given or "").strip(), (family or "").strip()
    if given and family:
        full = r"\s+".join(re.escape(w) for w in f"{given} {family}".split())
        out.append(re.compile(rf"(?<!\w){full}(?!\w)", re.IGNORECASE))
    words = [*given.split(), *family.split()]
    for alias in aliases if isinstance(aliases, list) else []:
        if isinstance(alias, str) and alias.strip():
            out.append(re.compile(rf"(?<!\w){re.escape(alias.strip())}(?!\w)", re.IGNORECASE))
    # one word alone only as spelt on the record and of two letters or more ("Al", not "a")
    out += [re.compile(rf"(?<!\w){re.escape(w)}(?!\w)") for w in dict.fromkeys(words) if len(w) >= 2]
    return out


@dataclass(frozen=True)
class Redactor:
    """Which of the cases some texts name or point at the reader may see, and how to say the others."""

    #: case ids asked about (named or linked) that the reader may see
    visible: frozenset[int] = frozenset()
    #: reference -> id, of the named cases the reader may not see
    hidden_references: dict[str, int] = field(default_factory=dict)
    #: the cases asked about that retention withholds from the reader (restricted or erased)
    withheld: frozenset[int] = frozenset()
    #: hidden case id -> patterns of the names of the people on it
    names: dict[int, list[re.Pattern[str]]] = field(default_factory=dict)
    #: case id -> reference, of every case asked about
    references: dict[int, str] = field(default_factory=dict)

    @property
    def names_nothing_hidden(self) -> bool:
        """No text asked about names a case the reader may not see: a text is then shown as written unless its
        item points at a hidden case (:meth:`text` would change nothing; a list may skip it)."""
        return not self.hidden_references

    def may_see(self, case_id: int | None) -> bool:
        """Whether an item linked to ``case_id`` may show the case (its reference, a link, its people)."""
        return case_id is None or case_id in self.visible

    def reference(self, case_id: int | None, told: Told = None) -> str | None:
        """The reference of a linked case, or None when the reader may not see it."""
        if case_id is None or not (self.may_see(case_id) or self._told(case_id, told)):
            return None
        return self.references.get(case_id)

    def _told(self, case_id: int, told: Told) -> bool:
        if told is None or case_id in self.withheld:
            return False
        return case_id == told if isinstance(told, int) else case_id in told

    def text(self, text: Any, case_id: int | None = None, told: Told = None) -> Any:
        """``text`` without the references and people of the cases the reader may not see.

        ``case_id`` is the case the text's item points at (its people are not named if it is hidden); ``told`` a
        case the reader is told of by design where the text is shown (a referral's own source case, to the agency
        it was sent to), named unless retention withholds it."""
        if not isinstance(text, str) or not text:
            return text
        hidden: list[int] = []

        def replace(match: re.Match[str]) -> str:
            case = self.hidden_references.get(_normal(*match.groups()))
            if case is None or self._told(case, told):
                return match.group(0)
            hidden.append(case)
            return HIDDEN_CASE

        out = CASE_REFERENCE.sub(replace, text) if self.hidden_references and "-" in text else text
        if case_id is not None and not self.may_see(case_id) and not self._told(case_id, told):
            hidden.append(case_id)
        for case in dict.fromkeys(hidden):
            for pattern in self.names.get(case, ()):
                out = pattern.sub(HIDDEN_PERSON, out)
        return out

    def texts(
        self, row: dict[str, Any], keys: Iterable[str], case_key: str | None = None, told: Told = None
    ) -> dict[str, Any]:
        """``row`` with each of ``keys`` read through :meth:`text` (in place; returned for chaining)."""
        case_id = row.get(case_key) if case_key else None
        for key in keys:
            if key in row:
                row[key] = self.text(row[key], case_id, told)
        return row


#: the redactor of nothing: no text named a case and no item pointed at one
NOTHING_HIDDEN = Redactor()


async def redactor_for(
    actor: Actor,
    texts: Iterable[Any],
    case_ids: Iterable[int | None] = (),
    withheld: Withheld | None = None,
    cases: Iterable[dict[str, Any]] = (),
) -> Redactor:
    """A :class:`Redactor` for ``actor`` over ``texts`` (the words to be shown) and ``case_ids`` (the cases their
    items point at): no query when neither names a case, else three and the sharing policy's, however many texts
    (two when the caller passes what ``retention.withheld_from(actor)`` answered it). ``cases``: rows (id,
    reference, owning_agency, area) of cases the caller has read already (those its items point at, read with
    them): the cases are read only for what they leave out."""
    from caseframe.core.cases.tables import Case

    named = set().union(*(references_in(t) for t in texts))
    linked = sorted({int(i) for i in case_ids if i})
    if not named and not linked:
        return NOTHING_HIDDEN
    # of the rows the caller read, those the texts name or the items point at: the rest are not asked about
    asked = set(linked)
    known = {
        r["id"]: {k: r[k] for k in ("id", "reference", "owning_agency", "area")}
        for r in cases
        if r.get("id") is not None and (r["id"] in asked or r["reference"] in named)
    }
    if known:
        named -= {r["reference"] for r in known.values()}
        linked = [i for i in linked if i not in known]
    rows = list(known.values())
    if named or linked:
        # written out once: every list of tasks, notifications and referrals asks it (Piccolo's select cost more
        # to build than the database took to answer it)
        conditions, args = [], []
        if named:
            conditions.append(f"reference IN ({', '.join('{}' for _ in named)})")
            args += sorted(named)
        if linked:
            conditions.append(f"id IN ({', '.join('{}' for _ in linked)})")
            args += linked
        rows += [
            r
            for r in await Case.raw(
                f"SELECT id, reference, owning_agency, area FROM cf_case WHERE {' OR '.join(conditions)}",
                *args,
            )
            if r["id"] not in known
        ]
    retained = (withheld or await withheld_from(actor)).hidden
    visible = await visible_case_ids(actor, rows, retained)
    hidden = {r["id"] for r in rows if r["id"] not in visible}
    return Redactor(
        visible=frozenset(visible),
        hidden_references={r["reference"]: r["id"] for r in rows if r["id"] in hidden},
        withheld=retained & {r["id"] for r in rows},
        names=await _names_on(hidden),
        references={r["id"]: r["reference"] for r in rows},
    )


async def _names_on(case_ids: set[int]) -> dict[int, list[re.Pattern[str]]]:
    """The name patterns of the people on each case (removed ones too: the words were written while they were)."""
    from caseframe.core.cases.tables import CaseSubject

    if not case_ids:
        return {}
    rows = (
        await CaseSubject.select(
            CaseSubject.case,
            CaseSubject.person.given_name.as_alias("given_name"),
            CaseSubject.person.family_name.as_alias("family_name"),
            CaseSubject.person.aliases.as_alias("aliases"),
        )
        .where(CaseSubject.case.is_in(sorted(case_ids)))
        .output(load_json=True)
    )
    out: dict[int, list[re.Pattern[str]]] = {}
    for r in rows:
        out.setdefault(r["case"], []).extend(_name_patterns(r["given_name"], r["family_name"], r["aliases"]))
    # a longer pattern first, so "Jo Bloggs" goes whole before "Jo" alone
    return {case: sorted(patterns, key=lambda p: -len(p.pattern)) for case, patterns in out.items()}
