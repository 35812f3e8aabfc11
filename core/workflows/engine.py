"""The state machine of an area: which transitions a user may make now, and why one is refused."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

#: Roles that may make a transition whose area.toml names no roles.
DEFAULT_TRANSITION_ROLES = ("caseworker", "supervisor")


@dataclass(frozen=True)
class State:
    name: str
    label: str
    terminal: bool = False


@dataclass
class Guard:
    """A condition on a transition: a completed form, or facts matching a JSON Schema."""

    message: str
    form: str | None = None
    when: Draft202012Validator | None = field(default=None, repr=False)
    #: top-level facts the condition tests, e.g. {"case", "counts"}
    needs: frozenset[str] = frozenset()

    def passes(self, facts: dict[str, Any], completed_forms: set[str]) -> bool:
        if self.form is not None:
            return self.form in completed_forms
        return self.when is None or self.when.is_valid(facts)


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

    def from_state(self, state: str) -> list[Transition]:
        return [t for t in self.transitions.values() if state in t.sources]

    def check(self, name: str, state: str, user_roles: set[str], facts: dict[str, Any],
              completed_forms: set[str]) -> Refusal | None:
        """Return why ``name`` cannot be made now by a user with ``user_roles``, or None if it can."""
        transition = self.transitions.get(name)
        if transition is None:
            return Refusal(name, f"There is no action called \u2018{name}\u2019 in this area")
        if state not in transition.sources:
            return Refusal(name, f"\u2018{transition.label}\u2019 cannot be done while the case is "
                                 f"{self.label(state).lower()}")
        if not user_roles.intersection(transition.roles):
            allowed = " or ".join(r.replace("_", " ") for r in transition.roles)
            return Refusal(name, f"Only a {allowed} can \u2018{transition.label.lower()}\u2019")
        for guard in transition.guards:
            if not guard.passes(facts, completed_forms):
                return Refusal(name, guard.message)
        return None

    def available(self, state: str, user_roles: set[str], facts: dict[str, Any],
                  completed_forms: set[str]) -> list[tuple[Transition, Refusal | None]]:
        """Transitions from ``state`` the user's roles allow, each with its refusal if a guard fails."""
        return [(t, self.check(t.name, state, user_roles, facts, completed_forms))
                for t in self.from_state(state) if user_roles.intersection(t.roles)]

    def needs_facts(self, state: str) -> frozenset[str]:
        """The facts guards of transitions from ``state`` test; empty when none (facts cost queries)."""
        return frozenset().union(*(g.needs for t in self.from_state(state) for g in t.guards if g.when is not None))

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
