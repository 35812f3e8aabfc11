"""Who may do what: every role rule of Caseframe, by named action, in one place.

Services, route guards, the menu, buttons in templates and the API all ask the same question::

    from caseframe.core import permissions

    permissions.can(actor, "audit.read")                  # a yes or no, e.g. to show a link or a button
    permissions.require(actor, "case.edit", access)       # raises Forbidden, or NotFound where the
                                                          # answer must not say that the record exists

An action names what is done (``case.edit``, ``users.manage``); each lists the roles that may do it and,
for some, a rule about the object it is done to: the case's :class:`~caseframe.core.sharing.policy.Access` (from
:func:`~caseframe.core.sharing.policy.case_access`, which stays the one place deciding who sees a case), the agency
a user or task belongs to, the panel's chair agency, the agency that recorded a person. ``docs/permissions.md``
is generated from :data:`ACTIONS` (``caseframe docs``), so the table cannot drift from the code.

No role name is compared anywhere else in the code (a test fails if one is), and nothing here fails open:
an object rule given no object refuses, and an unknown action is an error, not a yes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from caseframe.core.errors import Forbidden, NotFound

if TYPE_CHECKING:
    from caseframe.core.auth.actor import Actor

# -- roles -------------------------------------------------------------------------------------------------

CASEWORKER = "caseworker"
SUPERVISOR = "supervisor"
PANEL_CHAIR = "panel_chair"
LOCAL_ADMIN = "local_admin"
SYSTEM_ADMIN = "system_admin"

#: every role a user can hold, in the order forms list them
ROLES = (CASEWORKER, SUPERVISOR, PANEL_CHAIR, LOCAL_ADMIN, SYSTEM_ADMIN)

#: the roles that work cases: open them, change them, lead them, work their tasks and decide referrals
CASEWORKING = (CASEWORKER, SUPERVISOR, PANEL_CHAIR)
#: roles that may make a workflow transition whose area.toml names no roles
DEFAULT_TRANSITION_ROLES = (CASEWORKER, SUPERVISOR)
#: the role an agency always keeps one active holder of (it manages the agency's users)
AGENCY_ADMIN_ROLE = LOCAL_ADMIN
#: roles nobody takes away from themselves (another admin must)
ADMIN_ROLES = (LOCAL_ADMIN, SYSTEM_ADMIN)
#: roles only a holder of ``users.grant_system_admin`` gives or takes
PROTECTED_ROLES = (SYSTEM_ADMIN,)


# -- actions -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Denial:
    """Why an actor may not: the words to show, and whether to answer as if the record did not exist."""

    message: str
    hidden: bool = False


@dataclass(frozen=True)
class Action:
    name: str
    #: the roles that may (one of them is enough)
    roles: tuple[str, ...]
    #: what the action is, in words (docs/permissions.md)
    summary: str
    #: the refusal when the actor holds none of the roles
    refusal: str
    #: what the object rule adds, in words; empty when the roles are the whole rule
    condition: str = ""
    #: the object rule: given the actor and the object, a Denial or None; roles are checked first unless
    #: ``scope_first`` (then a record outside the actor's reach is "not found" whatever their roles)
    rule: Callable[[Actor, Any], Denial | None] | None = None
    scope_first: bool = False


def _own_agency(message: str, *, hidden: bool = True) -> Callable[[Actor, Any], Denial | None]:
    """An object rule: the object (an agency id) is the actor's own agency."""

    def rule(actor: Actor, agency_id: Any) -> Denial | None:
        return None if agency_id is not None and agency_id == actor.agency_id else Denial(message, hidden)

    return rule


def _any_agency_for(role: str, message: str, *, hidden: bool = True) -> Callable[[Actor, Any], Denial | None]:
    """An object rule: the actor's own agency, or any agency for a holder of ``role``."""

    def rule(actor: Actor, agency_id: Any) -> Denial | None:
        if actor.has(role) or (agency_id is not None and agency_id == actor.agency_id):
            return None
        return Denial(message, hidden)

    return rule


def _case_worker(message_not_owner: str) -> Callable[[Actor, Any], Denial | None]:
    """An object rule for changing a case: the owning agency (sharing.policy's Access says which it is)."""

    def rule(actor: Actor, access: Any) -> Denial | None:
        if access is None:
            return Denial("No case with that number exists", hidden=True)
        # sharing.policy.can_work_case asks the same: the owning agency, in a role that changes cases
        if access.is_owner and role_allows(actor.roles, "case.edit"):
            return None
        if not access.is_owner:
            return Denial(message_not_owner)
        return Denial("Your role does not let you change cases")

    return rule


def _case_visible(actor: Actor, access: Any) -> Denial | None:
    return None if access is not None else Denial("No case with that number exists", hidden=True)


def _recorded_by_own_agency(actor: Actor, persons: Any) -> Denial | None:
    """The person (or every one of several) was recorded by the actor's agency."""
    group = [persons] if isinstance(persons, dict) else list(persons or [])
    if group and all(p.get("created_by_agency") == actor.agency_id for p in group):
        return None
    return Denial("Only the agency that recorded this person can change their record")


def _chair_agency(actor: Actor, panel: Any) -> Denial | None:
    if panel is not None and panel.get("chair_agency") == actor.agency_id:
        return None
    return Denial("No panel with that number exists", hidden=True)


def _panel_member(actor: Actor, panel: Any) -> Denial | None:
    if actor.has(SYSTEM_ADMIN):
        return None
    if panel is not None and actor.agency_id in (panel.get("members") or ()):
        return None
    return Denial("No panel with that number exists", hidden=True)


def _isa_party(actor: Actor, isa: Any) -> Denial | None:
    if actor.has(SYSTEM_ADMIN) or (isa is not None and actor.agency_id in (isa.get("parties") or [])):
        return None
    return Denial("No agreement with that number exists", hidden=True)


def _restricted_case(actor: Actor, row: Any) -> Denial | None:
    if row is not None and row.get("owning_agency") == actor.agency_id:
        return None
    return Denial("Ask your agency's local admin if you need it.")


#: no role needed: any signed-in user (an object rule decides)
_ANY: tuple[str, ...] = ()

_ACTIONS = [
    # cases
    Action(
        "case.open",
        CASEWORKING,
        "Open a case in an area enabled for the agency",
        "Your role does not let you open cases",
    ),
    Action(
        "case.read",
        _ANY,
        "Read a case and its timeline, subjects and documents",
        "No case with that number exists",
        "the owning agency; a partner it is shared with under a live ISA, or "
        "a panel member agency, up to the agreement's sensitivity level (sharing.policy.case_access)",
        _case_visible,
        scope_first=True,
    ),
    Action(
        "case.edit",
        CASEWORKING,
        "Change a case: forms, people, notes, tasks, lead officer, referrals",
        "Your role does not let you change cases",
        "the owning agency only (sharing.policy.can_work_case)",
        _case_worker("This case is shared with your agency to read. Only its owning agency can change it."),
    ),
    Action(
        "case.transition",
        CASEWORKING,
        "Move a case through its workflow",
        "Your role does not let you change cases",
        "the owning agency only, and one of the roles the transition names in area.toml "
        f"(default: {', '.join(DEFAULT_TRANSITION_ROLES)}); its guards must pass",
        _case_worker("This case is shared with your agency to read. Only its owning agency can change it."),
    ),
    Action(
        "case.share",
        CASEWORKING,
        "Share a case with a partner agency, or stop sharing it",
        "Only the owning agency's caseworkers can share this case",
        "the owning agency only",
        _case_worker("Only the owning agency's caseworkers can share this case"),
    ),
    Action(
        "case.reassign_bulk",
        (SUPERVISOR, LOCAL_ADMIN),
        "Move many cases of the agency to a new lead officer",
        "Only a supervisor or a local admin can reassign cases in bulk",
    ),
    Action(
        "case.read_restricted",
        (LOCAL_ADMIN,),
        "Read a case restricted under the retention policy",
        "Ask your agency's local admin if you need it.",
        "the owning agency's local admin only",
        _restricted_case,
    ),
    # tasks and referrals
    Action(
        "task.edit",
        CASEWORKING,
        "Complete, change or hand over a task",
        "Your role does not let you change tasks",
        "the agency that owns the task (for a panel action, the agency the panel gave it to)",
        _own_agency("No task with that number exists"),
        scope_first=True,
    ),
    Action(
        "referral.decide",
        CASEWORKING,
        "Accept, decline or ask about a referral addressed to the agency",
        "Your role does not let you decide referrals",
    ),
    Action(
        "referral.answer",
        CASEWORKING,
        "Answer a question about a referral the agency made",
        "Your role does not let you answer referrals",
    ),
    Action(
        "referral.to_panel",
        (PANEL_CHAIR, SUPERVISOR),
        "Take a referred case onto a panel's list",
        "Only a panel chair or supervisor can take a case onto the panel",
    ),
    # persons
    Action(
        "person.edit",
        (*CASEWORKING, LOCAL_ADMIN),
        "Change a person's details",
        "Your role does not let you change a person's details",
        "the agency that recorded the person",
        _recorded_by_own_agency,
    ),
    Action(
        "person.merge",
        (SUPERVISOR, LOCAL_ADMIN, SYSTEM_ADMIN),
        "Merge two records of one person",
        "Your role does not let you merge records",
        "both records recorded by the actor's agency",
        _recorded_by_own_agency,
    ),
    Action(
        "person.merge_undo",
        (SYSTEM_ADMIN,),
        "List every merge and undo one",
        "Only a system admin can undo a merge",
    ),
    # panels
    Action(
        "panel.create",
        (LOCAL_ADMIN, PANEL_CHAIR, SYSTEM_ADMIN),
        "Set up a panel",
        "Only a panel chair or an admin can set up a panel",
    ),
    Action(
        "panel.read",
        _ANY,
        "See a panel and its meetings",
        "No panel with that number exists",
        "a member or chair agency of the panel; a system admin sees every panel",
        _panel_member,
        scope_first=True,
    ),
    Action(
        "panel.chair",
        (PANEL_CHAIR, LOCAL_ADMIN, SYSTEM_ADMIN),
        "Run a panel: change it, plan, publish, run and close its meetings",
        "No panel with that number exists",
        "the panel's chair agency only (a system admin of another agency does not)",
        _chair_agency,
    ),
    Action(
        "panel.pack",
        (PANEL_CHAIR, LOCAL_ADMIN),
        "Prepare a meeting's pack for every attendee",
        "Only the chair agency can prepare packs",
        "the meeting's chair agency only",
        _chair_agency,
    ),
    Action(
        "panel.any_chair_agency",
        (SYSTEM_ADMIN,),
        "Set up a panel chaired by another agency",
        "Only a system admin can set up a panel for another agency",
    ),
    # dashboards
    Action(
        "dashboard.read",
        (SUPERVISOR, PANEL_CHAIR, LOCAL_ADMIN, SYSTEM_ADMIN),
        "See the governance dashboards",
        "Only supervisors, panel chairs and admins can see the dashboards",
    ),
    Action(
        "dashboard.partnership",
        (PANEL_CHAIR,),
        "See a panel's partnership dashboard",
        "Only a panel chair can see the partnership dashboard",
        "panels the actor's agency chairs",
    ),
    # sharing
    Action(
        "isa.list",
        (SUPERVISOR, LOCAL_ADMIN, SYSTEM_ADMIN),
        "Find the agreements page in the menu",
        "Only supervisors and admins have the agreements page in their menu",
    ),
    Action(
        "isa.read",
        _ANY,
        "See an information sharing agreement",
        "No agreement with that number exists",
        "agreements the agency is party to; a system admin sees all",
        _isa_party,
        scope_first=True,
    ),
    Action(
        "isa.manage",
        (SYSTEM_ADMIN,),
        "Set up and end information sharing agreements",
        "Only a system admin can set up information sharing agreements",
    ),
    Action(
        "access_request.decide",
        (SUPERVISOR, LOCAL_ADMIN),
        "Grant or refuse a partner's request for access",
        "Only a supervisor or local admin can decide access requests",
    ),
    Action(
        "mou.publish",
        (SYSTEM_ADMIN,),
        "Publish the memorandum of understanding",
        "Only a system admin can publish the memorandum of understanding",
    ),
    # administration
    Action(
        "agency.admin",
        (LOCAL_ADMIN,),
        "Manage the agency's areas and see its admin pages",
        "Only a local admin can manage your agency’s areas and users",
        "the actor's own agency",
        _own_agency("Only a local admin can manage your agency’s areas and users", hidden=False),
    ),
    Action(
        "agencies.manage",
        (SYSTEM_ADMIN,),
        "Set up, rename, deactivate and reactivate agencies",
        "Only a system admin can manage agencies",
    ),
    Action(
        "users.manage",
        (LOCAL_ADMIN, SYSTEM_ADMIN),
        "Add users, change their roles, deactivate them",
        "Only a local admin or a system admin can manage users",
        "a local admin for their own agency's users; a system admin for any agency's",
        _any_agency_for(SYSTEM_ADMIN, "No user with that number exists"),
    ),
    Action(
        "users.grant_system_admin",
        (SYSTEM_ADMIN,),
        "Give or take the system admin role",
        "Only a system admin can make someone a system admin",
    ),
    Action(
        "users.reset_credentials",
        (LOCAL_ADMIN,),
        "Reset a user's password or two-step verification",
        "No user with that number exists",
        "users of the local admin's own agency",
        _own_agency("No user with that number exists"),
    ),
    Action(
        "mfa.configure",
        (LOCAL_ADMIN, SYSTEM_ADMIN),
        "Choose which roles must use two-step verification",
        "Only a local admin or a system admin can change who must use two-step verification",
        "a local admin for their own agency; a system admin for any",
        _any_agency_for(
            SYSTEM_ADMIN, "You can only change two-step verification rules for your own agency", hidden=False
        ),
    ),
    Action(
        "audit.read",
        (LOCAL_ADMIN, SYSTEM_ADMIN),
        "Read the audit trail",
        "Only an admin can read the audit trail",
        "a local admin reads their own agency's events; a system admin everyone's",
    ),
    Action(
        "audit.read_all",
        (SYSTEM_ADMIN,),
        "Read the whole partnership's audit trail",
        "Only a system admin can read every agency's events",
    ),
    Action(
        "sar.handle",
        (LOCAL_ADMIN, SYSTEM_ADMIN),
        "Record, export, extend and close subject access requests",
        "Only a local admin or a system admin can handle subject access requests",
        "a local admin for what their agency holds; a system admin for what the partnership holds (sar.partnership)",
    ),
    Action(
        "sar.partnership",
        (SYSTEM_ADMIN,),
        "Answer a subject access request for the whole partnership",
        "Only a system admin answers for the whole partnership",
    ),
    Action(
        "retention.review",
        (LOCAL_ADMIN,),
        "Review cases due under the retention policy: keep, hold, restrict, erase; set the agency's periods",
        "Only a local admin can make retention decisions",
        "cases of the local admin's own agency",
    ),
]

#: every action by name
ACTIONS: dict[str, Action] = {a.name: a for a in _ACTIONS}


class UnknownAction(KeyError):
    """A permission check named an action that does not exist: a programming error, never a yes."""


def action(name: str) -> Action:
    try:
        return ACTIONS[name]
    except KeyError:
        raise UnknownAction(f"No action called {name!r}: see core/permissions.py") from None


def role_allows(roles: Iterable[str], name: str) -> bool:
    """Whether holding ``roles`` (e.g. a user row's, not a signed-in actor's) is enough for the action's roles
    (its object rule aside): who may lead a case."""
    wanted = action(name).roles
    return not wanted or bool(set(roles or ()).intersection(wanted))


def decide(actor: Actor | None, name: str, obj: Any = None) -> Denial | None:
    """None if ``actor`` may do ``name`` (to ``obj``), or why not. No actor never may.

    An object rule given no object refuses, except for the actions in :data:`OBJECT_OPTIONAL`, where leaving
    the object out asks about the kind of action as a whole (a route guard, a menu link): the roles are then
    the answer, and the service asks again with the object."""
    act = action(name)
    if actor is None:
        return Denial(act.refusal)
    if act.rule is not None and act.scope_first:
        denial = act.rule(actor, obj)
        if denial is not None:
            return denial
    if act.roles and not actor.has(*act.roles):
        return Denial(act.refusal)
    if act.rule is not None and not act.scope_first and not (obj is None and name in OBJECT_OPTIONAL):
        return act.rule(actor, obj)
    return None


#: actions whose object may be left out to ask about the page as a whole (see :func:`decide`)
OBJECT_OPTIONAL = frozenset({"agency.admin", "users.manage", "mfa.configure"})


def can(actor: Actor | None, name: str, obj: Any = None) -> bool:
    """Whether ``actor`` may do the action named ``name`` (to ``obj``, where the action has an object rule)."""
    return decide(actor, name, obj) is None


def require(actor: Actor | None, name: str, obj: Any = None, *, message: str | None = None) -> None:
    """Refuse unless ``actor`` may: NotFound where the answer must not say the record exists, Forbidden
    otherwise; ``message`` replaces the words of a Forbidden refusal (a page that says what was asked)."""
    denial = decide(actor, name, obj)
    if denial is None:
        return
    if denial.hidden:
        raise NotFound(denial.message)
    raise Forbidden(message or denial.message)


def for_actor(actor: Actor | None) -> Callable[..., bool]:
    """``can`` with the actor filled in, for templates: ``{% if can("audit.read") %}``."""

    def bound(name: str, obj: Any = None) -> bool:
        return can(actor, name, obj)

    return bound


def allowed(actor: Actor | None, name: str, objects: Iterable[Any]) -> list[Any]:
    """The objects of a list the actor may do the action to (e.g. the panels they may read), in order."""
    return [o for o in objects if can(actor, name, o)]


def restrict(query: Any, actor: Actor, name: str, agency_column: Any) -> Any:
    """``query`` narrowed to the rows the actor may do ``name`` to, where the rule is "own agency, or every
    agency for the action's wider role" (audit events, users): ``agency_column`` is the rows' agency."""
    require(actor, name)
    wider = _WIDER.get(name)
    if wider is not None and can(actor, wider):
        return query
    return query.where(agency_column == actor.agency_id)


#: for :func:`restrict`: the action that lifts the own-agency limit of a list
_WIDER = {"audit.read": "audit.read_all", "mfa.configure": "agencies.manage"}


def assignable_roles(actor: Actor | None) -> list[str]:
    """The roles an admin may give: protected ones (system admin) only by whoever may grant them, so no one
    escalates themselves. No actor: the demo loader and tests."""
    if actor is None or can(actor, "users.grant_system_admin"):
        return list(ROLES)
    return [r for r in ROLES if r not in PROTECTED_ROLES]


def kept_roles(actor: Actor, before: Iterable[str]) -> list[str]:
    """The roles a user keeps whatever ``actor`` asks: the protected ones the actor may not take away."""
    if can(actor, "users.grant_system_admin"):
        return []
    return [r for r in before if r in PROTECTED_ROLES]


__all__ = [
    "ACTIONS",
    "ADMIN_ROLES",
    "AGENCY_ADMIN_ROLE",
    "Action",
    "CASEWORKING",
    "DEFAULT_TRANSITION_ROLES",
    "Denial",
    "PROTECTED_ROLES",
    "ROLES",
    "UnknownAction",
    "allowed",
    "assignable_roles",
    "can",
    "decide",
    "for_actor",
    "kept_roles",
    "require",
    "restrict",
    "role_allows",
]
