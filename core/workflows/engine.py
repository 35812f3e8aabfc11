"""The state machine of an area: which transitions a user may make now, and why one is refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from caseframe.core import clock

# the roles that may make a transition whose area.toml names none (kept importable from here)
from caseframe.core.permissions import DEFAULT_TRANSITION_ROLES  # noqa: F401
from caseframe.core.workflows.dates import DaysSince


@dataclass(frozen=True)
class State:
    name: str
    label: str
    terminal: bool = False


@dataclass
class Guard:
    """A condition on a transition: a completed form, facts matching a JSON Schema, or days since a date answer."""

    message: str
    form: str | None = None
    when: Draft202012Validator | None = field(default=None, repr=False)
    #: top-level facts the condition tests, e.g. {"case", "counts"}
    needs: frozenset[str] = frozenset()
    days: DaysSince | None = None

    def refusal(
        self,
        facts: dict[str, Any],
        completed_forms: set[str],
        answers: dict[str, Any] | None = None,
        today: dt.date | None = None,
    ) -> str | None:
        """None when the guard holds, else what to tell the user (a date guard also says from or until when)."""
        if self.form is not None:
            return None if self.form in completed_forms else self.message
        if self.days is not None:
            why = self.days.why_not(answers, today or clock.today())
            return None if why is None else f"{self.message.rstrip('.')}. {why}"
        return None if self.when is None or self.when.is_valid(facts) else self.message

    def passes(
        self, facts: dict[str, Any], completed_forms: set[str], answers: dict[str, Any] | None = None
    ) -> bool:
        return self.refusal(facts, completed_forms, answers) is None


@dataclass
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    guards: list[Guard]


@dataclass(frozen=True)
class Refusal:
    """Why a transition cannot be made, in words for the user."""

    transition: str
    reason: str


@dataclass
class Workflow:
    initial: str
    states: dict[str, State]
    transitions: dict[str, Transition]

    def is_terminal(self, state: str) -> bool:
        return self.states[state].terminal if state in self.states else False

    def label(self, state: str) -> str:
        return self.states[state].label if state in self.states else state

    def reopens(self, name: str, state: str) -> bool:
        """Whether ``name`` is a reopen step from ``state``: a transition out of that terminal state into one
        that is not (the one workflow step a closed case still takes)."""
        transition = self.transitions.get(name)
        return (
            transition is not None
            and self.is_terminal(state)
            and state in transition.sources
            and not self.is_terminal(transition.target)
        )

    def from_state(self, state: str) -> list[Transition]:
        return [t for t in self.transitions.values() if state in t.sources]

    def check(
        self,
        name: str,
        state: str,
        user_roles: set[str],
        facts: dict[str, Any],
        completed_forms: set[str],
        answers: dict[str, Any] | None = None,
    ) -> Refusal | None:
        """Return why ``name`` cannot be made now by a user with ``user_roles``, or None if it can.

        ``answers`` are the case's form answers, which date guards read (with today from core.clock).
        """
        transition = self.transitions.get(name)
        if transition is None:
            return Refusal(name, f"There is no action called \u2018{name}\u2019 in this area")
        if state not in transition.sources:
            return Refusal(
                name,
                f"\u2018{transition.label}\u2019 cannot be done while the case is "
                f"{self.label(state).lower()}",
            )
        if not user_roles.intersection(transition.roles):
            allowed = " or ".join(r.replace("_", " ") for r in transition.roles)
            return Refusal(name, f"Only a {allowed} can \u2018{transition.label.lower()}\u2019")
        today = clock.today()
        for guard in transition.guards:
            reason = guard.refusal(facts, completed_forms, answers, today)
            if reason is not None:
                return Refusal(name, reason)
        return None

    def available(
        self,
        state: str,
        user_roles: set[str],
        facts: dict[str, Any],
        completed_forms: set[str],
        answers: dict[str, Any] | None = None,
    ) -> list[tuple[Transition, Refusal | None]]:
        """Transitions from ``state`` the user's roles allow, each with its refusal if a guard fails."""
        return [
            (t, self.check(t.name, state, user_roles, facts, completed_forms, answers))
            for t in self.from_state(state)
            if user_roles.intersection(t.roles)
        ]

    def needs_facts(self, state: str) -> frozenset[str]:
        """The facts guards of transitions from ``state`` test; empty when none (facts cost queries)."""
        return frozenset().union(
            *(g.needs for t in self.from_state(state) for g in t.guards if g.when is not None)
        )

    def reachable(self) -> set[str]:
        seen = {self.initial}
        frontier = [self.initial]
        while frontier:
            state = frontier.pop()
            for t in self.from_state(state):
                if t.target not in seen:
                    seen.add(t.target)
                    frontier.append(t.target)
        return seen
