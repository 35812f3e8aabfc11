"""Fictional demo data: agencies, users, a panel, and the persons and cases every plugin offers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.agencies import service as agencies
from caseframe.core.agencies.tables import Agency
from caseframe.core.auth.actor import Actor
from caseframe.core.cases import service as cases
from caseframe.core.context import Context
from caseframe.core.db.tx import transaction
from caseframe.core.errors import DemoDataError
from caseframe.core.panels.tables import Panel
from caseframe.core.persons import service as persons
from caseframe.core.tasks import service as tasks

DEMO_PASSWORD = "demo-password-2026"

#: slug, name, type of the demo agencies (plugins may add more through demo_data's "agencies")
DEMO_AGENCIES = [
    ("northshire-police", "Northshire Police", "police"),
    ("ashdown-council", "Ashdown District Council", "district_council"),
    ("northshire-county", "Northshire County Council", "county_council"),
    ("ashdown-homes", "Ashdown Homes", "housing_provider"),
    ("northshire-mh", "Northshire Community Mental Health Team", "mental_health"),
    ("northshire-fire", "Northshire Fire and Rescue Service", "fire"),
    ("northshire-probation", "Northshire Probation Delivery Unit", "probation"),
    ("harbour-victim-support", "Harbour Victim Support", "victim_service"),
    ("northshire-youth-housing", "Northshire Youth Housing Trust", "youth_service"),
    ("northshire-recovery", "Northshire Recovery Partnership (drug and alcohol service)", "health"),
    ("northshire-childrens", "Northshire Children's Services", "social_care"),
]

#: (agency slug, email local part, name, roles)
DEMO_USERS = [
    ("ashdown-council", "casey.morgan", "Casey Morgan", ["caseworker"]),
    ("ashdown-council", "priya.shah", "Priya Shah", ["supervisor", "panel_chair"]),
    ("ashdown-council", "admin", "Dana Whitfield", ["local_admin"]),
    ("northshire-police", "sam.okafor", "PC Sam Okafor", ["caseworker"]),
    ("northshire-police", "lee.hartley", "Sgt Lee Hartley", ["supervisor"]),
    ("ashdown-homes", "ruth.ellis", "Ruth Ellis", ["caseworker"]),
    ("northshire-mh", "tom.baker", "Tom Baker", ["caseworker"]),
    ("harbour-victim-support", "amina.yusuf", "Amina Yusuf", ["caseworker"]),
    ("northshire-county", "sysadmin", "Jo Sinclair", ["system_admin"]),
]


def demo_email(agency_slug: str, local: str) -> str:
    return f"{local}@{agency_slug}.example"


async def is_empty() -> bool:
    return await Agency.count() == 0


def demo_contributions(ctx: Context) -> list[tuple[str, dict[str, Any]]]:
    """Each plugin's demo_data, with the plugin's name, in the order pluggy calls them."""
    out = []
    for impl in reversed(ctx.pm.hook.demo_data.get_hookimpls()):
        result = impl.function()
        if result:
            out.append((impl.plugin_name, result))
    return out


def check_demo_data(ctx: Context, contributions: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Every problem in the plugins' demo data: its shape (DemoData), and agencies, persons, areas' forms,
    transitions and roles that it names but that do not exist. [] when it can be loaded."""
    from caseframe.core.payloads import DemoData, shape_problems

    problems: list[str] = []
    for name, data in contributions:
        problems += shape_problems(data, DemoData, f"plugin {name}: demo_data()")
    if problems:
        return problems  # the names below are looked up in data of the right shape only
    agencies = {slug for slug, _, _ in DEMO_AGENCIES}
    agencies |= {a["slug"] for _, data in contributions for a in data.get("agencies", [])}
    persons = {p["key"] for _, data in contributions for p in data.get("persons", [])}
    for name, data in contributions:
        where = f"plugin {name}: demo_data()"
        for i, agency in enumerate(data.get("agencies", [])):
            if agency["agency_type"] not in ctx.areas.agency_types:
                problems.append(
                    f"{where}.agencies[{i}].agency_type: {agency['agency_type']!r} is not a kind of agency"
                )
        for i, person in enumerate(data.get("persons", [])):
            problems += [
                f"{where}.persons[{i}].flags[{j}]: {flag!r} is not a warning marker the core or an area declares"
                for j, flag in enumerate(person.get("flags", []))
                if flag not in ctx.areas.person_flags
            ]
        for i, panel in enumerate(data.get("panels", [])):
            problems += _demo_panel_problems(f"{where}.panels[{i}]", panel, agencies)
        for i, case in enumerate(data.get("cases", [])):
            at = f"{where}.cases[{i}]" + (f" ({case['key']})" if case.get("key") else "")
            problems += _demo_case_problems(ctx, at, case, agencies, persons)
    return problems


def _demo_panel_problems(at: str, panel: dict[str, Any], agencies: set[str]) -> list[str]:
    """A demo panel meets at a known frequency, chaired by and made of demo agencies."""
    from caseframe.core.panels.service import FREQUENCIES

    problems = []
    if panel.get("frequency", "monthly") not in FREQUENCIES:
        problems.append(f"{at}.frequency: {panel['frequency']!r} is not one of " + ", ".join(FREQUENCIES))
    for j, slug in [(None, panel["chair"]), *enumerate(panel.get("members", []))]:
        if slug not in agencies:
            field = "chair" if j is None else f"members[{j}]"
            problems.append(f"{at}.{field}: no demo agency {slug!r}")
    return problems


def _demo_case_problems(
    ctx: Context, at: str, case: dict[str, Any], agencies: set[str], persons: set[str]
) -> list[str]:
    """A demo case belongs to a demo agency, its subjects are demo persons, and (if its area is installed)
    its forms, transitions and roles are the area's, the opening form among the forms."""
    problems = []
    if case["agency"] not in agencies:
        problems.append(f"{at}.agency: no demo agency {case['agency']!r}; add it in agencies")
    for j, subject in enumerate(case.get("subjects", [])):
        if subject["person"] not in persons:
            problems.append(f"{at}.subjects[{j}].person: no demo person has the key {subject['person']!r}")
    area = ctx.areas.get(case["area"])
    if area is None:
        return problems  # an area not installed: its cases are left out
    if area.opening_form not in case["forms"]:
        problems.append(
            f"{at}.forms: {area.slug} opens a case with the form {area.opening_form!r}, which is missing"
        )
    problems += [
        f"{at}.forms.{form}: {area.slug} has no form {form!r}"
        for form in case["forms"]
        if form not in area.forms
    ]
    problems += [
        f"{at}.transitions[{j}]: {area.slug} has no transition {t!r}"
        for j, t in enumerate(case.get("transitions", []))
        if t not in area.workflow.transitions
    ]
    problems += [
        f"{at}.subjects[{j}].role: {area.slug} has no role {s['role']!r}"
        for j, s in enumerate(case.get("subjects", []))
        if s["role"] not in area.roles
    ]
    return problems


async def load_demo(ctx: Context, progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Load the demo into an empty database; returns how many of each thing were made.

    The plugins' demo data is checked first (:func:`check_demo_data`): a mistake raises DemoDataError listing
    every problem, before anything is written. The demo is then written in one transaction, so a load that stops
    part-way (Ctrl+C, a failure, the machine going down) leaves the database as empty as it found it, and the next
    start loads the whole demo, never half of one. (Files a demo document stored before the stop stay in document
    storage, unreferenced.)"""
    named = demo_contributions(ctx)
    problems = check_demo_data(ctx, named)
    if problems:
        raise DemoDataError(problems)
    async with transaction():
        return await _load_checked(ctx, [data for _, data in named], progress)


async def _load_checked(
    ctx: Context, contributions: list[dict[str, Any]], progress: Callable[[str], None]
) -> dict[str, int]:
    agency_ids = await _demo_agencies(ctx, contributions)
    progress(f"{len(agency_ids)} agencies")
    await _enable_demo_areas(ctx, contributions, agency_ids)
    actors = await _demo_users(agency_ids)
    progress(f"{len(DEMO_USERS)} users")
    await _demo_panels(ctx, contributions, agency_ids)
    from caseframe.core.sharing.demo import create_demo_isas, load_sharing_demo, publish_demo_mou

    await create_demo_isas(ctx, agency_ids)
    await publish_demo_mou()
    person_ids = await _demo_persons(contributions, actors, agency_ids, ctx.areas.flag_levels)
    progress(f"{len(person_ids)} persons")
    all_cases = [c for contribution in contributions for c in contribution.get("cases", [])]
    # oldest first, so counts over time windows see the history a real partnership would have
    all_cases.sort(key=lambda c: -c.get("opened_days_ago", 0))
    made = 0
    closings = []
    for spec in all_cases:
        if ctx.areas.get(spec["area"]) is None:
            continue
        closings.append(await _demo_case(ctx, spec, actors, agency_ids, person_ids))
        made += 1
    # last, once every case is made (a later case may need a partner to see a person only a closed case holds,
    # shared while it was open): nothing is added to a closed case (cases.refuse_closed)
    for close in closings:
        await close()
    progress(f"{made} cases")
    duplicates = await _record_a_person_twice(ctx, actors.get("ashdown-council"))
    shared = await load_sharing_demo(ctx, agency_ids, progress)
    from caseframe.core.panels.pack_demo import create_demo_meeting

    await create_demo_meeting(agency_ids)  # next month's meeting, published, for the pack and live minutes
    from caseframe.core.panels.demo import load_panel_demo

    panel_counts = await load_panel_demo(ctx, agency_ids)
    progress(
        f"{panel_counts.get('panel cases', 0)} cases taken onto the panel, "
        f"{panel_counts.get('minuted meetings', 0)} meeting minuted"
    )
    return {
        "agencies": len(agency_ids),
        "users": len(DEMO_USERS),
        "persons": len(person_ids) + duplicates,
        "cases": made,
        "shared cases": shared,
        "panel cases": panel_counts.get("panel cases", 0),
    }


async def _demo_agencies(ctx: Context, contributions: list[dict[str, Any]]) -> dict[str, dict]:
    """The demo agencies, by slug: a plugin may add demo agencies, or give a core one a more specific type it
    declares."""
    wanted = {slug: (name, kind) for slug, name, kind in DEMO_AGENCIES}
    for contribution in contributions:
        for agency in contribution.get("agencies", []):
            wanted[agency["slug"]] = (agency["name"], agency["agency_type"])
    agency_ids: dict[str, dict] = {}
    for slug, (name, kind) in wanted.items():
        agency_ids[slug] = await agencies.create_agency(
            ctx, None, slug=slug, name=name, agency_type=kind, contact_email=f"team@{slug}.example"
        )
    return agency_ids


async def _enable_demo_areas(
    ctx: Context, contributions: list[dict[str, Any]], agency_ids: dict[str, dict]
) -> None:
    """Each agency runs the areas of its demo cases; partners can open cases in the areas they commonly work."""
    owners: dict[str, set[str]] = {}
    for contribution in contributions:
        for case in contribution.get("cases", []):
            owners.setdefault(case["agency"], set()).add(case["area"])
    for slug, areas in owners.items():
        for area in sorted(areas):
            if ctx.areas.get(area):
                await agencies.enable_area(ctx, None, agency_ids[slug]["id"], area)
    for slug in (
        "ashdown-homes",
        "northshire-mh",
        "harbour-victim-support",
        "northshire-youth-housing",
        "northshire-recovery",
        "northshire-childrens",
    ):
        for area in sorted(ctx.areas.areas):
            await agencies.enable_area(ctx, None, agency_ids[slug]["id"], area)


async def _demo_users(agency_ids: dict[str, dict]) -> dict[str, Actor]:
    """The demo users; returns the first caseworker of each agency that has one, by agency slug."""
    actors: dict[str, Actor] = {}
    for agency_slug, local, name, roles in DEMO_USERS:
        # the demo's people joined before its (back-dated) cases: their agency's notifications reach them
        with clock.travel(-400):
            user = await agencies.create_user(
                None,
                email=demo_email(agency_slug, local),
                name=name,
                agency_id=agency_ids[agency_slug]["id"],
                roles=roles,
                password=DEMO_PASSWORD,
            )
        actor = await agencies.actor_for(user["id"])
        if permissions.CASEWORKER in roles and agency_slug not in actors:
            actors[agency_slug] = actor
    return actors


async def _demo_panels(
    ctx: Context, contributions: list[dict[str, Any]], agency_ids: dict[str, dict]
) -> None:
    """The core's complex case panel (every demo agency a member) and the plugins' panels."""
    panels = [
        {
            "slug": "complex-case-panel",
            "name": "Ashdown Complex Case Panel",
            "chair": "ashdown-council",
            "members": list(agency_ids),
            "frequency": "monthly",
        }
    ]
    panels += [p for contribution in contributions for p in contribution.get("panels", [])]
    async with transaction():
        for panel in panels:
            await Panel.insert(
                Panel(
                    slug=panel["slug"],
                    name=panel["name"],
                    chair_agency=agency_ids[panel["chair"]]["id"],
                    member_agencies=[
                        agency_ids[m]["id"] for m in panel.get("members", []) if m in agency_ids
                    ],
                    areas=sorted(ctx.areas.areas),
                    frequency=panel.get("frequency", "monthly"),
                    created_at=clock.now(),
                )
            )


async def _demo_persons(
    contributions: list[dict[str, Any]],
    actors: dict[str, Actor],
    agency_ids: dict[str, dict],
    flag_levels: dict[str, str],
) -> dict[str, int]:
    """The demo persons, by key; each is recorded by the agency of the oldest case about them (as a
    partnership's data grows). ``actors`` gains an actor for each agency that records one."""
    person_ids: dict[str, int] = {}
    first_holder: dict[str, str] = {}
    for spec in sorted(
        (c for con in contributions for c in con.get("cases", [])), key=lambda c: -c.get("opened_days_ago", 0)
    ):
        for subject in spec.get("subjects", []):
            first_holder.setdefault(subject["person"], spec["agency"])
    for contribution in contributions:
        for p in contribution.get("persons", []):
            if p["key"] in person_ids:
                continue
            holder = first_holder.get(p["key"], "ashdown-council")
            creator = actors.get(holder) or await _agency_actor(holder, agency_ids)
            actors[holder] = creator
            fields = {k: v for k, v in p.items() if k != "key"}
            person_ids[p["key"]] = (await persons.create_person(creator, **fields, flag_levels=flag_levels))[
                "id"
            ]
    return person_ids


async def _demo_case(
    ctx: Context,
    spec: dict[str, Any],
    actors: dict[str, Actor],
    agency_ids: dict[str, dict],
    person_ids: dict[str, int],
) -> Callable[[], Awaitable[None]]:
    """One demo case of an installed area: opened back-dated, its later forms and transitions spread over its
    life, then its notes, documents and tasks. A case the demo closes is closed by the step returned, to be run
    last (at the time its closing was due all the same), since nothing is added to a closed case
    (``cases.refuse_closed``)."""
    from caseframe.core.sharing.demo import share_so_partner_can_see

    actor = actors.get(spec["agency"]) or await _agency_actor(spec["agency"], agency_ids)
    with clock.travel(-spec.get("opened_days_ago", 0)):
        area = ctx.area(spec["area"])
        forms = spec.get("forms", {})
        subjects = [(person_ids[s["person"]], s["role"]) for s in spec.get("subjects", [])]
        for person_id, _ in subjects:
            await share_so_partner_can_see(actor, person_id)
        case = await cases.open_case(ctx, actor, spec["area"], forms[area.opening_form], subjects=subjects)
    steps = [("form", n, a) for n, a in forms.items() if n != area.opening_form]
    steps += [("transition", t, None) for t in spec.get("transitions", [])]
    days = spec.get("opened_days_ago", 0)
    # an old case may say when its work ended ("done_days_ago"), so it can be closed years ago
    done = min(spec.get("done_days_ago", 0), days)
    closing = _first_closing_step(area, steps)
    for i, (kind, name, answers) in enumerate(steps[:closing]):
        await _demo_step(
            ctx, actor, agency_ids[spec["agency"]], case["id"], kind, name, answers, days, done, i, steps
        )
    for note in spec.get("notes", []):
        await cases.add_note(ctx, actor, case["id"], note)
    for document in spec.get("documents", []):
        await add_demo_document(ctx, actor, case["id"], document)
    for task in spec.get("tasks", []):
        due = clock.today().fromordinal(clock.today().toordinal() + task.get("due_in_days", 7))
        await tasks.add_task(ctx, actor, case["id"], title=task["title"], due_date=due)

    async def close() -> None:
        for i, (kind, name, answers) in enumerate(steps[closing:], start=closing):
            await _demo_step(
                ctx, actor, agency_ids[spec["agency"]], case["id"], kind, name, answers, days, done, i, steps
            )

    return close


def _first_closing_step(area, steps: list[tuple[str, str, Any]]) -> int:
    """Where the steps reach a closed (terminal) state; their length if they never do."""
    for i, (kind, name, _) in enumerate(steps):
        if kind == "transition" and area.workflow.is_terminal(area.workflow.transitions[name].target):
            return i
    return len(steps)


async def _demo_step(
    ctx: Context,
    actor: Actor,
    agency: dict[str, Any],
    case_id: int,
    kind: str,
    name: str,
    answers: Any,
    days: float,
    done: float,
    i: int,
    steps: list[tuple[str, str, Any]],
) -> None:
    """One later form or transition of a demo case, at its place in the case's life (spread over it)."""
    with clock.travel(-days + (i + 1) * max(days - done, 1) / (len(steps) + 1)):
        if kind == "form":
            await cases.save_form(ctx, actor, case_id, name, answers, expected_version=None)
        else:
            await cases.transition_case(ctx, await _supervisor_like(actor, agency), case_id, name)


#: one person the council recorded twice, years apart: a spelling of the first name, an old address and a
#: different identifier on each, the same date of birth. The person page lists each as the other's likely
#: duplicate, so merging (and undoing a merge) can be tried in the demo.
DUPLICATE_PAIR = (
    {
        "given_name": "Connor",
        "family_name": "Fitzgerald",
        "date_of_birth": "1995-06-12",
        "gender": "male",
        "addresses": [
            {
                "line1": "12 Alder Rise",
                "town": "Ashdown",
                "postcode": "AN4 7QT",
                "from": "2022-09-01",
                "to": "",
            }
        ],
        "identifiers": [{"type": "nhs_number", "value": "943 476 5919"}],
    },
    {
        "given_name": "Conor",
        "family_name": "Fitzgerald",
        "date_of_birth": "1995-06-12",
        "aliases": ["Con Fitz"],
        "addresses": [
            {
                "line1": "Flat 3, 40 Mill Street",
                "town": "Ashdown",
                "postcode": "AN2 5LP",
                "from": "2019-03-01",
                "to": "2022-08-31",
            }
        ],
        "identifiers": [{"type": "pnc", "value": "19/0234567K"}],
    },
)


async def _record_a_person_twice(ctx: Context, actor: Actor | None) -> int:
    """The duplicate pair, each on one of the council's open cases (in the last role its area names, a
    bystander's, so no referral rule fires); returns how many persons were made. Open cases, not the first two
    by number: those include the demo's cases past retention, and retention refuses to undo a merge that would
    change who is on a case waiting for review, so the merge could not be undone in the demo."""
    if actor is None:
        return 0
    from caseframe.core.cases.tables import Case

    case_rows = (
        await Case.select(Case.id, Case.area)
        .where((Case.owning_agency == actor.agency_id) & Case.closed_at.is_null())
        .order_by(Case.id)
        .limit(2)
    )
    for fields, case in zip(DUPLICATE_PAIR, [*case_rows, None, None], strict=False):
        person = await persons.create_person(actor, **fields)
        area = ctx.areas.get(case["area"]) if case else None
        if area and area.roles:
            await cases.add_subject(ctx, actor, case["id"], person["id"], list(area.roles)[-1])
    return len(DUPLICATE_PAIR)


async def _agency_actor(slug: str, agency_ids: dict[str, dict]) -> Actor:
    user = await agencies.create_user(
        None,
        email=demo_email(slug, "caseworker"),
        name="Demo Caseworker",
        agency_id=agency_ids[slug]["id"],
        roles=["caseworker"],
        password=DEMO_PASSWORD,
    )
    return await agencies.actor_for(user["id"])


async def _supervisor_like(actor: Actor, agency: dict[str, Any]) -> Actor:
    # demo workflows move through transitions any caseworking role may make; give the demo
    # actor every caseworking role so guarded supervisor-only steps can be shown too
    return Actor(
        id=actor.id,
        email=actor.email,
        name=actor.name,
        agency_id=actor.agency_id,
        agency_name=actor.agency_name,
        agency_type=actor.agency_type,
        roles=frozenset({"caseworker", "supervisor", "panel_chair"}),
    )


async def add_demo_document(ctx: Context, actor: Actor, case_id: int, spec: dict[str, Any]) -> None:
    """A small PDF made in code from the spec's lines of text, attached as a caseworker would."""
    import io

    from caseframe.core.documents import service as documents
    from caseframe.core.documents.samples import tiny_pdf

    await documents.add_document(
        ctx,
        actor,
        case_id,
        io.BytesIO(tiny_pdf(spec.get("text") or [spec["filename"]])),
        spec["filename"],
        spec.get("sensitivity", "official"),
    )
