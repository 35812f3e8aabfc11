"""The shapes of what hooks receive (a case, an actor, a subject's facts, a referral, a task): one shape everywhere.

Every hook that is given a case gets a :class:`CasePayload`, every hook given the user acting or viewing gets an
:class:`ActorPayload` (as ``actor``; ``user`` is its old name, kept for plugins written before). docs/hooks.md is
generated from these definitions, and a test fails when the committed page differs.
"""

from __future__ import annotations

import difflib
import types
import typing
import warnings
from typing import Annotated, Any, NotRequired, TypedDict


class ActorPayload(TypedDict):
    """The signed-in user who acts or views: ``actor`` in every hook (``user`` in older plugins)."""

    id: Annotated[int, "the user's id"]
    email: Annotated[str, "the user's sign-in email address"]
    agency_id: Annotated[int, "the id of the user's agency"]
    roles: Annotated[
        list[str], "the user's roles, sorted: caseworker, supervisor, panel_chair, local_admin, system_admin"
    ]


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
    data: Annotated[
        dict[str, dict[str, Any]], "the answers, by form name (the facts document calls them case.forms)"
    ]
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
    flags: Annotated[list[str], "warning markers on their record (names the core or an area declares)"]


class FactsCase(TypedDict):
    """The case as the referral rules see it: ``case`` in the facts document."""

    reference: Annotated[str, "its reference"]
    area: Annotated[str, "the slug of its business area"]
    state: Annotated[str, "its workflow state's name"]
    risk_level: Annotated[str | None, "its risk level"]
    days_open: Annotated[int, "whole days since it was opened"]
    forms: Annotated[dict[str, dict[str, Any]], 'the answers by form name, except forms with "x-fact": false']


class FactsDocument(TypedDict, total=False):
    """What a rule's ``when`` (and a guard's) is tested against, and what is kept when a rule fires."""

    event: Annotated[str, "case_created, form_saved, case_transitioned or subject_added"]
    area: Annotated[str, "the slug of the case's area"]
    case: Annotated[FactsCase, "the case (FactsCase)"]
    subject: Annotated[SubjectFacts, "the person the rule is tested for, absent on a case with no one on it"]
    counts: Annotated[dict[str, int], "each [[counts]] of the area by name"]
    extra: Annotated[
        dict[str, dict[str, Any]],
        "each plugin's extra_referral_facts under its name (CASEFRAME_PLUGIN_NAME, else its module's import name)",
    ]


class ReferralPayload(TypedDict):
    """A referral just raised: ``referral`` in ``referral_made``."""

    id: Annotated[int, "the referral's id"]
    target_kind: Annotated[str, "area, agency_type, agency (a person's referral only) or panel"]
    target: Annotated[str, "the area slug, agency type, agency slug or panel slug it is addressed to"]
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


# -- what a plugin's demo_data hook returns -----------------------------------------------------------------


class DemoAgency(TypedDict):
    """An agency the demo adds (``agencies`` in ``demo_data``); a slug the core's demo already uses takes this
    name and kind."""

    slug: Annotated[str, "its slug, e.g. northshire-trading-standards; cases name their agency by it"]
    name: Annotated[str, "its name"]
    agency_type: Annotated[
        str, "its kind: a key of the kinds of agency (docs/area-reference.md) or one a plugin adds"
    ]


class DemoPanel(TypedDict):
    """A panel the demo adds (``panels`` in ``demo_data``); it covers every installed area."""

    slug: Annotated[str, "its slug"]
    name: Annotated[str, "its name"]
    chair: Annotated[str, "the slug of the agency that chairs it"]
    members: NotRequired[Annotated[list[str], "the slugs of its member agencies"]]
    frequency: NotRequired[
        Annotated[
            str, "how often it meets: weekly, fortnightly, monthly (the default), quarterly or as_needed"
        ]
    ]


DemoAddress = TypedDict(
    "DemoAddress",
    {
        "line1": Annotated[str, "the first line"],
        "town": NotRequired[Annotated[str, "the town"]],
        "postcode": NotRequired[Annotated[str, "the postcode"]],
        "from": NotRequired[Annotated[str, "when they moved in (ISO date)"]],
        "to": NotRequired[
            Annotated[str, "when they moved out (ISO date); empty or absent for where they live now"]
        ],
    },
)
DemoAddress.__doc__ = "A dated address of a demo person (one of ``addresses``)."


class DemoIdentifier(TypedDict):
    """A reference number a demo person carries (one of ``identifiers``)."""

    type: Annotated[str, "its kind: a key of the kinds of identifier (docs/area-reference.md), e.g. pnc"]
    value: Annotated[str, "the number"]


class DemoPerson(TypedDict):
    """A fictional person (``persons`` in ``demo_data``), recorded by the agency of the oldest case they are on."""

    key: Annotated[
        str,
        "how cases name them; shared by every plugin, so one person can be on cases of several areas (the first plugin's record wins)",
    ]
    given_name: Annotated[str, "their given name"]
    family_name: Annotated[str, "their family name"]
    date_of_birth: NotRequired[Annotated[str | None, "ISO date"]]
    gender: NotRequired[Annotated[str, "their recorded gender"]]
    aliases: NotRequired[Annotated[list[str], "other names they are known by"]]
    addresses: NotRequired[Annotated[list[DemoAddress], "their addresses (DemoAddress)"]]
    identifiers: NotRequired[Annotated[list[DemoIdentifier], "their reference numbers (DemoIdentifier)"]]
    flags: NotRequired[
        Annotated[
            list[str],
            "warning markers on their record, e.g. vulnerable: names the core or an area declares (rules see them "
            "as subject.flags)",
        ]
    ]


class DemoSubject(TypedDict):
    """A person on a demo case (one of ``subjects``)."""

    person: Annotated[str, "the person's key"]
    role: Annotated[str, "their role: one the case's area declares"]


class DemoDocument(TypedDict):
    """A document attached to a demo case (one of ``documents``): a one-page PDF of its lines."""

    filename: Annotated[str, "its file name, ending .pdf"]
    text: NotRequired[Annotated[list[str], "the lines of the page (default: the file name)"]]
    sensitivity: NotRequired[Annotated[str, "official (the default), sensitive or special_category"]]


class DemoTask(TypedDict):
    """A task on a demo case (one of ``tasks``)."""

    title: Annotated[str, "what is to be done"]
    due_in_days: NotRequired[Annotated[int, "days from today it is due (default 7; negative is overdue)"]]


class DemoCase(TypedDict):
    """A fictional case (``cases`` in ``demo_data``), opened through the normal services on a clock set back, so
    its rules fire as they would in real use. Cases of every plugin are opened oldest first."""

    area: Annotated[str, "the slug of its area (a case of an area not installed is left out)"]
    agency: Annotated[str, "the slug of the agency that holds it: a demo agency or one in agencies"]
    forms: Annotated[
        dict[str, dict[str, Any]],
        "answers by form name; the area's opening form is required, the others are saved in order after it",
    ]
    key: NotRequired[Annotated[str, "a name for it in your own comments and tests (not stored)"]]
    opened_days_ago: NotRequired[Annotated[int, "how long ago it was opened (default 0)"]]
    done_days_ago: NotRequired[
        Annotated[
            int,
            "how long ago its later forms and transitions ended (default 0), so an old case can have been closed long ago",
        ]
    ]
    subjects: NotRequired[Annotated[list[DemoSubject], "the persons on it (DemoSubject)"]]
    transitions: NotRequired[Annotated[list[str], "workflow transitions to make, in order, after the forms"]]
    notes: NotRequired[Annotated[list[str], "case notes to add"]]
    documents: NotRequired[Annotated[list[DemoDocument], "documents to attach (DemoDocument)"]]
    tasks: NotRequired[Annotated[list[DemoTask], "tasks to add (DemoTask)"]]


class DemoData(TypedDict):
    """What ``demo_data`` returns. ``caseframe demo load`` (and ``caseframe serve --demo``) checks every plugin's
    against these shapes, and that the agencies, persons and roles named exist, before it writes anything."""

    persons: NotRequired[Annotated[list[DemoPerson], "fictional persons (DemoPerson)"]]
    cases: NotRequired[Annotated[list[DemoCase], "fictional cases (DemoCase)"]]
    agencies: NotRequired[Annotated[list[DemoAgency], "agencies to add to the demo's (DemoAgency)"]]
    panels: NotRequired[
        Annotated[list[DemoPanel], "panels to add to the demo's complex case panel (DemoPanel)"]
    ]


#: the demo data shapes, in the order docs/hooks.md lists them
DEMO_SHAPES: tuple[type, ...] = (
    DemoData,
    DemoCase,
    DemoSubject,
    DemoDocument,
    DemoTask,
    DemoPerson,
    DemoAddress,
    DemoIdentifier,
    DemoAgency,
    DemoPanel,
)


def _plain(hint: Any) -> Any:
    """The type inside NotRequired[...] and Annotated[...]."""
    while typing.get_origin(hint) in (NotRequired, typing.Required, Annotated):
        hint = hint.__origin__ if typing.get_origin(hint) is Annotated else typing.get_args(hint)[0]
    return hint


def required_keys(shape: type) -> list[str]:
    """The keys a shape must have (its __required_keys__ cannot see NotRequired[...] under postponed annotations)."""
    hints = typing.get_type_hints(shape, include_extras=True)
    return [
        key
        for key, hint in hints.items()
        if key in getattr(shape, "__required_keys__", ()) and typing.get_origin(hint) is not NotRequired
    ]


def shape_problems(value: Any, shape: type, where: str) -> list[str]:
    """What in ``value`` does not have ``shape`` (a TypedDict): missing and unknown keys (with the nearest
    known one), and values of the wrong kind, each as '<where>.<key>: reason'."""
    if not isinstance(value, dict):
        return [f"{where}: should be a dict ({shape.__name__}), not {type(value).__name__}"]
    hints = typing.get_type_hints(shape, include_extras=True)
    out = [f"{where}: '{key}' is missing" for key in required_keys(shape) if key not in value]
    for key, item in value.items():
        if key not in hints:
            near = difflib.get_close_matches(str(key), list(hints), n=1)
            out.append(
                f"{where}: unknown key '{key}'"
                + (f" (did you mean '{near[0]}'?)" if near else f"; {shape.__name__} has " + ", ".join(hints))
            )
        else:
            out += _value_problems(item, _plain(hints[key]), f"{where}.{key}")
    return out


def _value_problems(value: Any, kind: Any, where: str) -> list[str]:
    origin = typing.get_origin(kind)
    if kind is Any:
        return []
    if typing.is_typeddict(kind):
        return shape_problems(value, kind, where)
    if origin in (typing.Union, types.UnionType):
        tries = [_value_problems(value, k, where) for k in typing.get_args(kind)]
        return [] if any(not t for t in tries) else tries[0]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: should be a list, not {type(value).__name__}"]
        (item,) = typing.get_args(kind)
        return [p for i, v in enumerate(value) for p in _value_problems(v, item, f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: should be a dict, not {type(value).__name__}"]
        _, item = typing.get_args(kind)
        return [p for k, v in value.items() for p in _value_problems(v, item, f"{where}.{k}")]
    if kind is type(None):
        return [] if value is None else [f"{where}: should be None"]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        return [f"{where}: should be a whole number, not {value!r}"]
    if isinstance(kind, type) and not isinstance(value, kind):
        return [f"{where}: should be {'text' if kind is str else kind.__name__}, not {type(value).__name__}"]
    return []


#: every payload shape, in the order docs/hooks.md lists them
SHAPES: tuple[type, ...] = (
    CasePayload,
    ActorPayload,
    ReferralPayload,
    TaskPayload,
    FactsDocument,
    FactsCase,
    SubjectFacts,
)

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
        warnings.warn(
            f"{self.what}[{key!r}] is deprecated: read {self.what}[{new!r}]", DeprecationWarning, stacklevel=2
        )
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
                warnings.warn(
                    f"plugin {impl.plugin_name}: {hook}({old}=...) is deprecated, name the argument "
                    f"{new!r} (the same value)",
                    DeprecationWarning,
                    stacklevel=2,
                )
