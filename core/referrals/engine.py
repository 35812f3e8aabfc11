"""The referral rule engine: which rules a facts document satisfies, and the record of why."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from caseframe.core import clock
from caseframe.core.forms.fastcheck import compile_schema
from caseframe.core.workflows.dates import DaysSince

EVENTS = ("case_created", "form_saved", "case_transitioned", "subject_added")
#: how often a rule may fire on one case: once for each person on it (the default), or once for the case
ONCE = ("person", "case")


@dataclass(frozen=True)
class Target:
    """Where a referral (or a notice) goes: ``kind`` is area, agency_type, agency or panel; ``name`` its slug."""

    kind: str
    name: str


@dataclass
class Rule:
    id: str
    area: str
    on: frozenset[str]
    when: dict[str, Any]
    target: Target
    reason: str
    validator: Draft202012Validator = field(repr=False, default=None)  # type: ignore[assignment]
    #: top-level facts the rule tests, e.g. {"subject", "counts"}
    needs: frozenset[str] = frozenset({"event", "area", "case", "subject", "counts", "extra"})
    check: Any = field(repr=False, default=None)
    #: "person": at most once per person on a case; "case": at most once per case, about no one person
    once: str = "person"
    #: when set, the rule is only evaluated for subjects with one of these roles on the case
    subject_roles: frozenset[str] = frozenset()
    #: date conditions that must all hold as well as ``when``, read from the facts' form answers
    dates: tuple[DaysSince, ...] = ()
    #: "refer" raises a referral; "notify" only tells the target (a notification, no referral to accept)
    action: str = "refer"
    #: what a notify rule tells its target (the area author's words, shown with the case's reference)
    message: str = ""

    def matches(self, facts: dict[str, Any], today: dt.date) -> bool:
        if self.subject_roles and (facts.get("subject") or {}).get("role") not in self.subject_roles:
            return False
        if not self.check(facts):
            return False
        answers = (facts.get("case") or {}).get("forms") or {}
        return all(d.holds(answers, today) for d in self.dates)

    def __post_init__(self) -> None:
        if self.check is None:
            # rules run on every event: a compiled predicate where the schema allows, else jsonschema
            compiled = compile_schema(self.when)
            self.check = compiled if compiled is not None else self.validator.is_valid

    @property
    def qualified_id(self) -> str:
        return f"{self.area}:{self.id}"


@dataclass
class Count:
    """A number worked out for the facts: cases within a window, by person or by a form answer."""

    name: str
    window_days: int
    area: str
    role: str | None = None
    by_form: str | None = None
    by_field: str | None = None
    #: what the number means in plain words, for explaining why a rule fired
    label: str = ""


@dataclass(frozen=True)
class Firing:
    rule: Rule
    facts: dict[str, Any]


class RuleIndex:
    """Rules of all loaded areas, indexed by (area, event) so an event only sees its own rules."""

    def __init__(self, rules: list[Rule]):
        self._by_key: dict[tuple[str, str], list[Rule]] = {}
        for rule in rules:
            for event in rule.on:
                self._by_key.setdefault((rule.area, event), []).append(rule)

    def rules_for(self, area: str, event: str) -> list[Rule]:
        return self._by_key.get((area, event), [])

    def needs(self, area: str, event: str) -> frozenset[str]:
        """The facts the rules listening to this event test; the rest need not be worked out."""
        return frozenset().union(*(r.needs for r in self._by_key.get((area, event), ())))

    def evaluate(
        self, area: str, event: str, facts: dict[str, Any], today: dt.date | None = None
    ) -> list[Firing]:
        """Every rule of ``area`` listening to ``event`` whose conditions the facts satisfy (dates as of ``today``)."""
        today = today or clock.today()
        return [
            Firing(rule, facts) for rule in self._by_key.get((area, event), ()) if rule.matches(facts, today)
        ]
