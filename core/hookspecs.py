"""Every hook a Caseframe plugin may implement: when it is called and what it may return.

Hooks come in families, in the style of datasette's: *registration* hooks are called once at
start-up and their results are collected from every plugin; *event* hooks are called after a
write has committed and their results are ignored (after the *outermost* transaction: when one
service calls another inside its own change, say accepting a referral by opening a case, the hooks
wait for the whole change and are never called if it rolls back; an event hook may be ``async def``,
and is awaited before the service call returns); *extension* hooks let a plugin add to
something the core builds (facts for referral rules, checks on a case, pages, panels, links).

Unless a hook says otherwise, every plugin's result is collected into a list (pluggy's default)
and ``None`` results are dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from caseframe.core import hookspec
from caseframe.core.payloads import ActorPayload, CasePayload, ReferralPayload, SubjectFacts, TaskPayload

# -- registration ---------------------------------------------------------------------------


@hookspec
def register_areas() -> list[Path] | None:
    """Return the business areas this plugin provides, as a list of directories.

    Called once at start-up (and by ``caseframe areas``). Each directory must hold ``area.toml``
    and a ``forms/`` folder; see docs/area-format.md. The directories are loaded and checked
    against the meta-schemas in ``schemas/``; any mistake stops start-up with the file, a JSON
    pointer and the reason. Results of all plugins are concatenated.
    """


@hookspec
def agency_types() -> list[dict[str, str]] | None:
    """Return extra kinds of agency, as ``[{"name": "...", "label": "..."}]``.

    Called once at start-up. The core knows common kinds (police, district council, housing
    provider, health...); add one here when a referral rule targets an ``agency_type`` the core
    does not know. Names are lower case with underscores. Results of all plugins are merged;
    the first label given for a name wins.
    """


@hookspec
def demo_data() -> dict[str, list[dict[str, Any]]] | None:
    """Return fictional demo persons and cases for ``caseframe demo load``.

    Called only when demo data is loaded. Return a DemoData: ``{"persons": [...], "cases": [...]}`` and
    optionally ``"agencies": [{"slug", "name", "agency_type"}]`` (a slug the core already uses
    takes the plugin's name and type) and ``"panels": [{"slug", "name", "chair", "members"}]``
    (agency slugs). Person ``key`` values are shared by all plugins so one person
    can appear in several areas. Cases are created through the normal services, oldest first, so
    their referral rules fire as they would in real use. A case may list
    ``"documents": [{"filename": "....pdf", "text": [lines], "sensitivity"}]``: each becomes a one-page
    PDF of those lines, attached to the case. Every key is listed under "Demo data shapes" below; a
    mistake (an unknown key, a person, agency, form, transition or role that does not exist) stops
    ``caseframe demo load`` with every problem listed, before anything is written.
    """


# -- events (called after the write has committed; results ignored) --------------------------


@hookspec
def case_created(case: CasePayload, actor: ActorPayload) -> None:
    """Called after a case has been opened and committed.

    ``case`` is the case as the JSON API returns it; ``actor`` is the user who opened it. Use it to notify another system or start work
    outside Caseframe. Exceptions are logged (without case content) and do not undo the case.
    """


@hookspec
def case_transitioned(
    case: CasePayload, transition: str, from_state: str, to_state: str, actor: ActorPayload
) -> None:
    """Called after a case has moved through a workflow transition and the change committed.

    ``transition`` is the transition's name from area.toml. Results are ignored; exceptions are
    logged and do not undo the transition.
    """


@hookspec
def referral_made(referral: ReferralPayload, case: CasePayload | None) -> None:
    """Called after a referral has been raised, by a rule or a person, and committed.

    ``referral`` is a ReferralPayload: ``id``, ``target_kind`` (area, agency_type, agency or panel),
    ``target``, ``reason``, ``rule_id`` (None for a person's referral), ``person_id`` and ``status``.
    ``case`` is the case it came from, a CasePayload like every other hook's, whether a rule raised the
    referral or a person made it (on the case page or through the API), or None for one made from no case.
    A person's referral to a target that already has an open one for the same person (or case) is added to
    that one and raises no second call. Results are ignored.
    """


@hookspec
def action_completed(task: TaskPayload, case: CasePayload | None, actor: ActorPayload) -> None:
    """Called after a task or panel action has been marked complete and the change committed.

    Results are ignored; exceptions are logged and do not undo the completion.
    """


# -- extension ------------------------------------------------------------------------------


@hookspec
def extra_referral_facts(
    case: CasePayload, subject: SubjectFacts | None, event: str
) -> dict[str, Any] | None:
    """Return extra facts for the referral rules to see, or ``None``.

    Called for every case event before the rules are evaluated, once per subject of the case
    (``subject`` is ``None`` for a case with no subjects); ``case`` is a CasePayload like every
    other hook's, and only the arguments your implementation names are passed. Each plugin's dict is put in the facts
    document under ``extra.<plugin name>``, where rules can test it; the name is the plugin's
    ``CASEFRAME_PLUGIN_NAME`` if it sets one, else its module's import name, however it was loaded.
    Declare how sensitive each fact is with ``extra_referral_facts_sensitivity``: an undeclared one
    is shown to no partner. Must be fast and must not write: it runs inside the transaction of the
    change.
    """


@hookspec
def extra_referral_facts_sensitivity() -> dict[str, str] | None:
    """Return how sensitive each fact your ``extra_referral_facts`` adds is, as ``{"fact": "level"}``.

    Called once at start-up. The levels are those of a form's ``x-sensitivity`` (``official``,
    ``sensitive``, ``special_category``); the key ``"*"`` sets the level of every fact not named.
    A partner agency, a referral's addressee or a panel member reads one of your facts (in why a
    rule fired, in the facts list and in the API) only when its sharing agreement allows that level.
    A fact with no declared level counts as ``special_category``, so it is withheld from anyone who
    cannot see everything. An unknown level stops start-up with the plugin's name.
    """


@hookspec
def validate_case(
    area: str, form: str, data: dict[str, Any], case: CasePayload | None
) -> list[dict[str, str]] | None:
    """Return cross-field errors that JSON Schema cannot express, or ``None``.

    Called when a form is submitted, after it has passed its JSON Schema. Return a list of
    ``{"field": "/json/pointer", "message": "Human message in the GOV.UK style"}``; any error
    refuses the save and is shown in the error summary. ``case`` is ``None`` when the form opens
    a new case. Results of all plugins are concatenated.
    """


@hookspec
def register_routes() -> list[Any] | None:
    """Return Litestar route handlers or controllers to mount in the web app.

    Called once when the app is built. Routes are deny-by-default like the core's: they need a
    signed-in user unless the handler sets ``opt={"public": True}``. A handler is given what it
    names among its parameters (``caseframe.api.ROUTE_DEPENDENCIES``): ``ctx: Context`` (the app's
    plugins and areas) and ``actor: Actor`` (the signed-in user), as service calls take them. A
    public route that asks for ``actor`` stops start-up, naming the route; so does, naming the plugin,
    a hook that fails, an item that is not a handler, or a path and method already served.
    """


@hookspec
def case_panels(case: CasePayload, actor: ActorPayload, user: ActorPayload) -> list[dict[str, str]] | None:
    """Return extra panels for the case page, as ``[{"title": ..., "template": ..., }]``.

    Called when a case page is rendered for a user who may see the case; ``actor`` is that user
    (``user`` is its old name: the same value, deprecated). ``template`` names a Jinja template
    found in a plugin's template directory; it is rendered with ``case`` and ``user`` in its
    context. Results of all plugins are concatenated, in plugin order.
    """


@hookspec
def menu_links(
    actor: ActorPayload, areas: list[dict[str, Any]], user: ActorPayload
) -> list[dict[str, str]] | None:
    """Return extra navigation links, as ``[{"href": "/path", "label": "Text"}]``.

    Called on every page render for the signed-in user, ``actor`` (``user`` is its old name: the
    same value, deprecated); ``areas`` are the areas enabled for the user's agency, each as
    ``GET /api/v1/areas`` lists it. Results of all plugins are concatenated after the core's links.
    """


@hookspec
def template_directories() -> list[Path] | None:
    """Return directories of Jinja templates, searched before the core's own.

    Called once when the app is built. A template with the same path as a core template
    overrides it; new templates can be used by ``case_panels`` or by plugin routes. A folder that
    is not there stops start-up, naming the plugin.
    """


@hookspec
def scan_document(path: Path, filename: str, kind: str) -> dict[str, str] | None:
    """Check an uploaded document for malware before anyone can see it; return a verdict, or ``None``.

    Called once per upload, after its type and size are checked and before it is stored or listed.
    ``path`` is a temporary file holding the whole upload (read it, do not move or change it);
    ``filename`` is the name the uploader's file had (already cleaned of paths and control characters);
    ``kind`` is what its content was found to be (``pdf``, ``png``, ``docx``...). Return
    ``{"verdict": "clean" | "infected" | "error", "scanner": "name", "detail": "..."}``. Any
    ``infected`` refuses the upload (the uploader is told, the refusal is audited, nothing is kept);
    ``error`` refuses it too, asking to try again. With no scanner installed a document is stored as
    "not scanned", which its readers see, unless ``CASEFRAME_DOCUMENTS_REQUIRE_SCAN=1`` refuses it.
    The hook runs in a worker thread, so it may block (a clamd socket, a command). Results of all
    plugins are collected.
    """
