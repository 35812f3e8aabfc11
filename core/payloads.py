"""The shapes of what hooks receive (a case, an actor, a subject's facts, a referral, a task): one shape everywhere.

Every hook that is given a case gets a :class:`CasePayload`, every hook given the user acting or viewing gets an
:class:`ActorPayload` (as ``actor``; ``user`` is its old name, kept for plugins written before). docs/hooks.md is
generated from these definitions, and a test fails when the committed page differs.
"""
from __future__ import annotations

import warnings
from typing import Annotated, Any, TypedDict


class ActorPayload(TypedDict):
    """The signed-in user who acts or views: ``actor`` in every hook (``user`` in older plugins)."""

    id: Annotated[int, "the user's id"]
    email: Annotated[str, "the user's sign-in email address"]
    agency_id: Annotated[int, "the id of the user's agency"]
    roles: Annotated[list[str], "the user's roles, sorted: caseworker, supervisor, panel_chair, local_admin, system_admin"]


class CasePayload(TypedDict):
    """A case, as the JSON API returns it: ``case`` in every hook that is given one."""

    id: Annotated[int, "the case's id"]
    reference: Annotated[str, "its reference, e.g. NOI-2026-000012"]
    area: Annotated[str, "the slug of its business area"]
    area_title: Annotated[str, "the area's title"]
    area_installed: Annotated[bool, "false once the area's plugin is no longer installed"]
    state: Annotated[str, "its workflow state's name"]
    state_label: Annotated[str, "the state's label"]
    risk_level: Annotated[str | None, "its risk level, if the area assesses one"]
    data: Annotated[dict[str, dict[str, Any]], "the answers, by form name (the facts document calls them case.forms)"]
    owning_agency_id: Annotated[int, "the agency holding the case"]
    lead_officer_id: Annotated[int | None, "the user leading it"]
    opened_at: Annotated[str, "when it was opened (ISO 8601, UTC)"]
    closed_at: Annotated[str | None, "when it was closed, if it is"]
    version: Annotated[int, "its version, raised by every change (optimistic locking)"]
    access: Annotated[str, "why the reader may see it: owner, share or panel"]


class SubjectFacts(TypedDict):
    """One person on the case as the referral rules see them: ``subject`` in ``extra_referral_facts``."""

    role: Annotated[str, "their role on the case (a role the area declares)"]
    age: Annotated[int | None, "their age in whole years, if their date of birth is known"]
    gender: Annotated[str | None, "their recorded gender"]
    flags: Annotated[list[str], "flags on their record"]


class FactsCase(TypedDict):
    """The case as the referral rules see it: ``case`` in the facts document."""

    reference: Annotated[str, "its reference"]
    area: Annotated[str, "the slug of its business area"]
    state: Annotated[str, "its workflow state's name"]
    risk_level: Annotated[str | None, "its risk level"]
    days_open: Annotated[int, "whole days since it was opened"]
    forms: Annotated[dict[str, dict[str, Any]], "the answers by form name, except forms with \"x-fact\": false"]


class FactsDocument(TypedDict, total=False):
    """What a rule's ``when`` (and a guard's) is tested against, and what is kept when a rule fires."""

    event: Annotated[str, "case_created, form_saved, case_transitioned or subject_added"]
    area: Annotated[str, "the slug of the case's area"]
    case: Annotated[FactsCase, "the case (FactsCase)"]
    subject: Annotated[SubjectFacts, "the person the rule is tested for, absent on a case with no one on it"]
    counts: Annotated[dict[str, int], "each [[counts]] of the area by name"]
    extra: Annotated[dict[str, dict[str, Any]], "each plugin's extra_referral_facts under its name (CASEFRAME_PLUGIN_NAME, else its module's import name)"]


class ReferralPayload(TypedDict):
    """A referral just raised: ``referral`` in ``referral_made``."""

    id: Annotated[int, "the referral's id"]
    target_kind: Annotated[str, "area, agency_type or panel"]
    target: Annotated[str, "the area slug, agency type or panel slug it is addressed to"]
    reason: Annotated[str, "why it was made"]
    rule_id: Annotated[str | None, "the rule that raised it (area:rule), or None for a person's referral"]
    person_id: Annotated[int | None, "the person it is about"]
    status: Annotated[str, "open, info_requested, accepted, declined or withdrawn"]


class TaskPayload(TypedDict):
    """A task or panel action: ``task`` in ``action_completed``."""

    id: Annotated[int, "the task's id"]
    case_id: Annotated[int | None, "the case it belongs to"]
    title: Annotated[str, "what is to be done"]
    description: Annotated[str, "more about it"]
    owner_agency_id: Annotated[int, "the agency that must do it"]
    assignee_id: Annotated[int | None, "the user it is assigned to"]
    due_date: Annotated[str | None, "when it is due (ISO date)"]
    status: Annotated[str, "open or done"]
    overdue: Annotated[bool, "open and past its due date"]
    source: Annotated[str, "case (a caseworker's task) or panel (an action agreed at a panel meeting)"]


#: every payload shape, in the order docs/hooks.md lists them
SHAPES: tuple[type, ...] = (CasePayload, ActorPayload, ReferralPayload, TaskPayload, FactsDocument, FactsCase,
                            SubjectFacts)

#: keys a case passed to ``extra_referral_facts`` had before it was a CasePayload (a raw table row)
CASE_ALIASES = {"owning_agency": "owning_agency_id", "lead_officer": "lead_officer_id"}


class _WithOldKeys(dict):
    """A payload that still answers the keys it had before, with a DeprecationWarning naming the new key."""

    aliases: dict[str, str] = {}
    what = "payload"

    def __missing__(self, key: str) -> Any:
        new = self.aliases.get(key)
        if new is None or new not in self:
            raise KeyError(key)
        warnings.warn(f"{self.what}[{key!r}] is deprecated: read {self.what}[{new!r}]", DeprecationWarning,
                      stacklevel=2)
        return self[new]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


class _CaseWithOldKeys(_WithOldKeys):
    aliases = CASE_ALIASES
    what = "case"


def case_payload(case: dict[str, Any]) -> CasePayload:
    """``case`` (a CasePayload) answering its old keys too, with a DeprecationWarning."""
    return _CaseWithOldKeys(case)  # type: ignore[return-value]


#: hook arguments renamed: (hook, old name) -> new name. An implementation asking for the old name still
#: gets the value; loading it warns (DeprecationWarning) so its author can rename the argument
RENAMED_ARGUMENTS = {("case_panels", "user"): "actor", ("menu_links", "user"): "actor"}


def warn_about_renamed_arguments(pm: Any) -> None:
    """Warn once per plugin implementation that still asks for an argument by its old name."""
    for (hook, old), new in RENAMED_ARGUMENTS.items():
        for impl in getattr(pm.hook, hook).get_hookimpls():
            if old in impl.argnames:
                warnings.warn(f"plugin {impl.plugin_name}: {hook}({old}=...) is deprecated, name the argument "
                              f"{new!r} (the same value)", DeprecationWarning, stacklevel=2)
