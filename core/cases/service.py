"""Open and work cases: forms, workflow, subjects, notes; the only code that writes cases."""

from __future__ import annotations

import json
from typing import Any

from piccolo.custom_types import Combinable

from caseframe.core import clock, permissions
from caseframe.core.agencies import service as _agencies
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.cases.tables import Case, CaseEvent, CaseSubject, ReferenceCounter
from caseframe.core.cases.view import case_dict, refuse_closed
from caseframe.core.context import Context
from caseframe.core.db.tx import transaction
from caseframe.core.errors import CaseClosed, Conflict, Forbidden, Gone, NotFound, ValidationFailed
from caseframe.core.persons.service import visible_person_ids
from caseframe.core.persons.tables import Person
from caseframe.core.referrals import service as referrals
from caseframe.core.sharing.policy import Access, FlagReader, may_see_field, readable_changes, sharing_access
from caseframe.core.sharing.redaction import NOTHING_HIDDEN, redactor_for

# -- reading -------------------------------------------------------------------------------

# a case as pages and the API show it: core/cases/view.py (below the services that need it)
# Every page and every change of a case reads its row first, and the case page a dozen more things: these reads are
# fixed statements written out once, where building them through the ORM on every request cost more CPU than the
# database took to answer them. tests/core/test_case_reads.py holds each to the ORM query it replaced.
_CASE_SQL = "SELECT * FROM cf_case WHERE id = {}"
# the row with its retention decision (restricted, erased), which every read of a case must respect
_VISIBLE_CASE_SQL = (
    "SELECT c.*, r.id AS retention_id, r.restricted AS retention_restricted, "
    "r.erased_at AS retention_erased_at FROM cf_case c "
    "LEFT JOIN cf_case_retention r ON r.case_id = c.id WHERE c.id = {}"
)


def _json(value: Any) -> Any:
    """A JSON column as a raw statement returns it (text on SQLite and PostgreSQL alike), loaded."""
    return json.loads(value) if isinstance(value, str) else value


def case_row(row: dict[str, Any]) -> dict[str, Any]:
    """A ``cf_case`` row read with raw SQL, as ``Case.select().output(load_json=True)`` gives it."""
    row["data"] = _json(row["data"])
    return row


async def _load(case_id: int) -> dict[str, Any]:
    rows = await Case.raw(_CASE_SQL, int(case_id))
    if not rows:
        raise NotFound("No case with that number exists")
    return case_row(rows[0])


async def _load_with_retention(case_id: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The case's row and its retention decision (None if retention never touched it), in one statement."""
    rows = await Case.raw(_VISIBLE_CASE_SQL, int(case_id))
    if not rows:
        raise NotFound("No case with that number exists")
    row = rows[0]
    decision = None
    if row.pop("retention_id") is not None:
        decision = {"restricted": bool(row["retention_restricted"]), "erased_at": row["retention_erased_at"]}
    del row["retention_restricted"], row["retention_erased_at"]
    return case_row(row), decision


async def _load_visible(actor: Actor, case_id: int) -> dict[str, Any]:
    return (await visible_case(actor, case_id))[0]


async def visible_case(actor: Actor, case_id: int) -> tuple[dict[str, Any], Access]:
    """The case's row and why the actor may see it; "not found" if they may not (ids are no oracle)."""
    row, decision = await _load_with_retention(case_id)
    access = await sharing_access(actor, row)
    if access is None:
        # the same answer as for a case that does not exist: ids are not an oracle
        raise NotFound("No case with that number exists")
    from caseframe.core.retention.service import refusal_given

    refusal = refusal_given(actor, row, decision)
    if refusal is not None:
        if refusal == "No case with that number exists":
            raise NotFound(refusal)
        if refusal.startswith(f"Case {row['reference']} was erased"):
            raise Gone(refusal)
        raise Forbidden(refusal)
    return row, access


async def _refuse_retained(row: dict[str, Any], actor: Actor) -> None:
    """A restricted case is kept, not processed (UK GDPR Art. 18): even its local admin, who may read it, changes
    nothing on it until the restriction is lifted; nor anyone an erased one. Every write on a case passes here."""
    from caseframe.core.retention.service import write_refusal

    refusal = await write_refusal(row, actor)
    if refusal is not None:
        raise Forbidden(refusal)


async def _load_workable(actor: Actor, case_id: int) -> dict[str, Any]:
    """The case's row for a change on it: seen, worked by the actor's role, not held by retention, not closed."""
    row, access = await visible_case(actor, case_id)
    permissions.require(actor, "case.edit", access)
    await _refuse_retained(row, actor)
    refuse_closed(row, reader_sees=True)
    return row


async def _still_open(case_id: int) -> None:
    """Inside the write's transaction: refused if the case was closed since it was read."""
    refuse_closed(await _load(case_id), reader_sees=True)  # only after _load_workable found they see it


async def get_case(ctx: Context, actor: Actor, case_id: int, *, audit_view: bool = True) -> dict[str, Any]:
    """The case as the API shows it (a CasePayload, without answers the actor's agency may not read); NotFound
    if the actor may not see it. The view is audited unless ``audit_view=False``."""
    return (await view_case(ctx, actor, case_id, audit_view=audit_view))[1]


async def view_case(
    ctx: Context, actor: Actor, case_id: int, *, audit_view: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The case's row and its API form (answers a partner may not see removed); the view is audited."""
    row, access = await visible_case(actor, case_id)
    if audit_view:
        await record_view(actor, case_id, access)
    return row, case_dict(ctx, row, access)


async def visible_row(actor: Actor, case_id: int) -> dict[str, Any]:
    """The case's row if the actor may see it (not found otherwise); the caller audits the view."""
    return await _load_visible(actor, case_id)


async def workable_row(actor: Actor, case_id: int) -> dict[str, Any]:
    """The case's row if the actor may change it: not found if they may not see it, refused if they only read it,
    if retention holds it, or (CaseClosed, 409) if it is closed."""
    return await _load_workable(actor, case_id)


async def holder_of(row: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """Who holds a case, for a reader from another agency: the owning agency (name and contact address) and the
    lead officer's name."""
    from caseframe.core.agencies.tables import Agency

    rows = await Agency.raw(
        "SELECT a.name, a.contact_email, u.name AS lead_name FROM cf_agency a LEFT JOIN cf_user u ON u.id = {} "
        "WHERE a.id = {}",
        row["lead_officer"],
        row["owning_agency"],
    )
    if not rows:  # the owning agency is a foreign key: never, short of a damaged database
        return None, ""
    found = rows[0]
    return {"name": found["name"], "contact_email": found["contact_email"]}, found["lead_name"] or ""


# the last views come from the partial index of case views by case, newest first (migration 2026-12-06T20:30:00),
# however many views the case has had: its terms on action and object_type are that index's condition
VIEWERS_SQL = (
    "SELECT g.times, g.last_id, v.at, v.purpose, u.name AS user_name, a.name AS agency_name FROM ("
    "SELECT actor_id, agency_id, purpose, COUNT(*) AS times, MAX(id) AS last_id FROM ("
    "SELECT id, actor_id, agency_id, purpose FROM cf_audit WHERE object_id = {} AND object_type = 'case' "
    "AND action = 'case.view' ORDER BY id DESC LIMIT {}) r GROUP BY actor_id, agency_id, purpose) g "
    "JOIN cf_audit v ON v.id = g.last_id LEFT JOIN cf_user u ON u.id = g.actor_id "
    "LEFT JOIN cf_agency a ON a.id = g.agency_id ORDER BY g.last_id DESC"
)


async def viewers_of(
    case_id: int, recent: int = 200, rows: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Who has opened the case lately, from the audit trail (shown to the owning agency only): one line per
    person, agency and purpose in the last ``recent`` views, with how many times and when last, newest first.
    The audit viewer holds every view."""
    import datetime as dt

    from caseframe.core.audit.tables import AuditEvent

    # one statement: the last views grouped by person, agency and purpose in the database (a line each, not the
    # 200 views), each group's newest view for when, and the viewer's and the agency's names joined on. Newest first:
    # the order of each group's last view. tests/core/test_case_reads.py holds it to grouping the 200 rows in Python.
    # ``rows``: what it gives, when the caller read it already (core/cases/page_reads.py)
    if rows is None:
        rows = await AuditEvent.raw(VIEWERS_SQL, case_id, recent)
    return [
        {
            "at": dt.datetime.fromisoformat(g["at"]) if isinstance(g["at"], str) else g["at"],
            "times": int(g["times"]),
            "user": g["user_name"] or "Unknown user",
            "agency": g["agency_name"] or "",
            "purpose": g["purpose"],
        }
        for g in rows
    ]


async def visible_reference(actor: Actor, case_id: int | None) -> str:
    """The case's reference if the actor may see the case now, else "" (a task's page names its case only then)."""
    from caseframe.core.sharing.policy import visible_among

    if case_id is None or case_id not in await visible_among(actor, [case_id]):
        return ""
    row = await Case.select(Case.reference).where(Case.id == case_id).first()
    return row["reference"] if row else ""


def _view_event(access: Access | None) -> dict[str, Any]:
    """The view's audit detail and purpose: how a reader who is not the owner came to see the case."""
    detail = (
        {}
        if access is None or access.is_owner
        else {"access": access.kind, "isa_id": access.isa_id, "meeting_id": access.meeting_id}
    )
    return {"detail": detail, "purpose": access.purpose if access else ""}


async def record_view(actor: Actor, case_id: int, access: Access | None = None) -> None:
    await audit.record_read("case.view", actor, "case", case_id, **_view_event(access))


def view_statement(actor: Actor, case_id: int, access: Access | None = None) -> tuple[str, list[Any]]:
    """:func:`record_view`'s insert as SQL and values (``audit.read_statement``): the case page on PostgreSQL sends
    it with its reads, as one statement."""
    return audit.read_statement("case.view", actor, "case", case_id, **_view_event(access))


async def subjects_of(
    case_id: int,
    rows: list[dict[str, Any]] | None = None,
    *,
    reader: Actor | None = None,
    flag_levels: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The persons on the case; ``rows``: what ``SUBJECTS_OF_CASE_SQL`` gives, when the caller read it already
    (core/cases/page_reads.py). Given a ``reader`` (and the registry's ``flag_levels``), each person carries the
    warning markers that reader may see (``flags``); without one, none."""
    if rows is None:
        rows = await CaseSubject.raw(SUBJECTS_OF_CASE_SQL, case_id)
    shown = _subjects_from(rows).get(case_id, [])
    if reader is not None:
        markers = FlagReader(reader, flag_levels)
        by_id = {r["id"]: r for r in rows}
        for subject in shown:
            row = by_id[subject["id"]]
            subject["flags"] = await markers.visible(
                {"flags": row["flags"], "created_by_agency": row["holder"]}
            )
    return shown


def _subjects_sql(count: int) -> str:
    return (
        'SELECT s.id, s."case" AS case_id, s.person, s.role, p.given_name, p.family_name, p.date_of_birth, '
        "p.flags, p.created_by_agency AS holder FROM cf_case_subject s JOIN cf_person p ON p.id = s.person "
        f'WHERE s."case" IN ({", ".join("{}" for _ in range(count))}) AND s.removed_at IS NULL ORDER BY s.id'
    )


SUBJECTS_OF_CASE_SQL = _subjects_sql(1)


async def subjects_of_cases(case_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The persons on each of the cases (one query however many), by case id."""
    ids = [int(i) for i in case_ids] or [0]
    return _subjects_from(await CaseSubject.raw(_subjects_sql(len(ids)), *ids))


def _subjects_from(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["case_id"], []).append(
            {
                "id": r["id"],
                "person_id": r["person"],
                "role": r["role"],
                "name": f"{r['given_name']} {r['family_name']}",
                "date_of_birth": _iso(r["date_of_birth"]),
            }
        )
    return out


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()


TIMELINE_SQL = (
    "SELECT e.id, e.kind, e.summary, e.detail, e.actor, e.at, u.name AS actor_name FROM cf_case_event e "
    'LEFT JOIN cf_user u ON u.id = e.actor WHERE e."case" = {} ORDER BY e.id DESC LIMIT {}'
)


async def timeline(
    case_id: int,
    limit: int = 500,
    access: Access | None = None,
    reader: Actor | None = None,
    ctx: Context | None = None,
    area: str | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The case's timeline, newest first; with ``access``, without the entries about documents above its level,
    nor those about a rule whose firing tells of an answer above it (its referral or notice, and what became of
    the referral: ``explain.tells_hidden``, by ``ctx``'s rules), nor those about forms it may see nothing of (the
    case's ``area`` slug, read if not given); for a ``reader``, naming no other case they may not see
    (core/sharing/redaction.py). ``rows``: what ``TIMELINE_SQL`` gives, when the caller read it already
    (core/cases/page_reads.py)."""
    if rows is None:
        rows = await CaseEvent.raw(TIMELINE_SQL, int(case_id), int(limit))
    words = NOTHING_HIDDEN if reader is None else await redactor_for(reader, [r["summary"] for r in rows])
    referrer = access is None or access.is_owner
    details = [_json(r["detail"]) or {} for r in rows]
    untold = set() if referrer else await _rules_untold(ctx, access, details)
    forms = (
        {} if referrer or not any(r["kind"] == "form" for r in rows) else await _forms_of(ctx, case_id, area)
    )
    out = []
    for r, detail in zip(rows, details, strict=True):
        if not isinstance(detail, dict):
            detail = {}
        if not referrer and _rule_of(detail) in untold:
            continue
        if not referrer and r["kind"] == "form" and not _change_told(access, forms, detail):
            continue
        # an entry about a document above the reader's level is not listed (one without a level counts as the
        # most sensitive)
        if (
            access is not None
            and r["kind"] == "document"
            and not access.may_see(detail.get("sensitivity", "special_category"))
        ):
            continue
        # a referral's decision names the case it became to the referrer, by design (referrals' own page does too):
        # the case's owner, not a partner reading its timeline, who is told of no other agency's case by it
        told = detail.get("resulting_case") if r["kind"] == "referral" and referrer else None
        if r["kind"] == "referral" and not referrer and detail.get("resulting_case", case_id) != case_id:
            # nor its number (the API gives an entry's detail as it is); a referral that became this very case
            # (taken onto a panel's list) names the case being read
            detail = {k: v for k, v in detail.items() if k != "resulting_case"}
        out.append(
            {
                "id": r["id"],
                "kind": r["kind"],
                "summary": words.text(r["summary"], told=told),
                "detail": detail,
                "actor_id": r["actor"],
                "actor_name": r["actor_name"],
                "at": r["at"].isoformat(),
            }
        )
    return out


async def _forms_of(ctx: Context | None, case_id: int, slug: str | None) -> dict[str, Any]:
    """The case's area's forms by name (none when the area, or the context, is not known); the area's slug is
    read only when the caller did not give it."""
    if ctx is None:
        return {}
    if slug is None:
        row = await Case.select(Case.area).where(Case.id == case_id).first()
        slug = row["area"] if row is not None else None
    area = ctx.areas.get(slug) if slug is not None else None
    return dict(area.forms) if area is not None else {}


def _change_told(access: Access | None, forms: dict[str, Any], detail: dict[str, Any]) -> bool:
    """Whether a reader below the owner is told a form was saved: not a form it may see nothing of (one marked above
    its level as a whole, or one no longer known), nor a save that changed only answers above its level - that the
    entry is there says an answer it may not read was given or changed, and when."""
    name = detail.get("form")
    form = forms.get(name) if isinstance(name, str) else None
    if access is None or form is None or not may_see_field(access, form.schema, ""):
        return False
    changes = detail.get("changes")
    return not (isinstance(changes, list) and changes and not readable_changes(access, form.schema, changes))


def _rule_of(detail: dict[str, Any]) -> Any:
    """The rule a timeline entry is about: named, or the rule that raised the referral it names (``("referral",
    id)`` until :func:`_rules_untold` has read which)."""
    if isinstance(detail.get("rule_id"), str) and detail["rule_id"]:
        return detail["rule_id"]
    if detail.get("referral_id") is not None:
        return ("referral", detail["referral_id"] if isinstance(detail["referral_id"], int) else None)
    return None


async def _rules_untold(ctx: Context | None, access: Access | None, details: list[Any]) -> set[Any]:
    """Of the rules the entries are about (as :func:`_rule_of` says), those whose firing ``access`` may not be told
    of (``explain.tells_hidden``), and the referrals such a rule raised: one query for a page's referrals."""
    from caseframe.core.referrals.explain import tells_hidden
    from caseframe.core.referrals.tables import Referral

    if access is None or access.is_owner:
        return set()
    keys = {_rule_of(d) for d in details if isinstance(d, dict)} - {None}
    referral_ids = sorted({k[1] for k in keys if isinstance(k, tuple) and isinstance(k[1], int)})
    raised = (
        {
            r["id"]: r["rule_id"]
            for r in await Referral.select(Referral.id, Referral.rule_id).where(
                Referral.id.is_in(referral_ids)
            )
        }
        if referral_ids
        else {}
    )

    def untold(key: Any) -> bool:
        if not isinstance(key, tuple):
            return tells_hidden(ctx, key, access)
        if key[1] not in raised:  # a referral no longer kept: which rule raised it is not known
            return True
        return tells_hidden(ctx, raised[key[1]], access)  # one made by hand (no rule) is told

    return {key for key in keys if untold(key)}


def redact_timeline(
    ctx: Context, area_slug: str, events: list[dict[str, Any]], access: Access
) -> list[dict[str, Any]]:
    """Remove, for a partner, the old and new values of answers above the level its access allows."""
    area = ctx.areas.get(area_slug)
    if access.is_owner:
        return events
    for event in events:
        changes = event["detail"].get("changes")
        if event["kind"] != "form" or not changes:
            continue
        form = area.forms.get(event["detail"].get("form")) if area else None
        event["detail"] = {
            **event["detail"],
            "changes": readable_changes(access, form.schema if form is not None else None, changes),
        }
    return events


async def list_cases(
    ctx: Context,
    actor: Actor,
    *,
    area: str | None = None,
    state: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The actor's agency's cases, newest first, optionally in one area or state: ``(a page of them, how many in
    all)``; without the cases retention withholds from the actor (a restricted one its local admin sees, marked)."""
    from caseframe.core.retention.service import withheld_from

    where: Combinable = Case.owning_agency == actor.agency_id
    withheld = await withheld_from(actor)
    hidden = withheld.hidden
    if hidden:
        where &= Case.id.not_in(sorted(hidden))
    if area:
        where &= Case.area == area
    if state:
        where &= Case.state == state
    total = await Case.count().where(where)
    rows = (
        await Case.select()
        .where(where)
        .output(load_json=True)
        .order_by(Case.opened_at, ascending=False)
        .limit(limit)
        .offset(offset)
    )
    if rows:  # the items carry every answer: a read of each case, recorded once for the list
        async with transaction():
            await audit.record(
                "case.list",
                actor,
                object_type="case",
                detail={
                    "ids": [r["id"] for r in rows],
                    "area": area or "",
                    "state": state or "",
                    "offset": offset,
                },
            )
    # a restricted case its local admin still sees is marked, as the lists mark it
    return [
        dict(case_dict(ctx, r, Access.owner()), restricted=r["id"] in withheld.marked) for r in rows
    ], total


# -- helpers for writes ----------------------------------------------------------------------

# the areas an agency has enabled live with the agency (core.agencies.service); named here too, as before
ENABLED_CACHE_SECONDS = _agencies.ENABLED_CACHE_SECONDS
enabled_areas = _agencies.enabled_areas
forget_enabled_areas = _agencies.forget_enabled_areas


def _validate(ctx: Context, area, form_name: str, answers: Any, case: dict | None) -> None:
    form = area.forms.get(form_name)
    if form is None:
        raise NotFound(f"The form \u2018{form_name}\u2019 is not part of {area.title}")
    if not isinstance(answers, dict):
        raise ValidationFailed(
            "The answers must be a set of named answers (a JSON object)",
            errors=[{"field": "", "message": "Send the answers as a JSON object"}],
        )
    errors = [e.as_dict() for e in form.errors(answers)]
    if not errors:
        for result in ctx.pm.hook.validate_case(area=area.slug, form=form_name, data=answers, case=case):
            errors.extend(result or [])
    if errors:
        raise ValidationFailed(f"There is a problem with the {form.title.lower()} answers", errors=errors)


def _risk(area, data: dict[str, Any], current: str | None) -> str | None:
    if area.risk_from is None:
        return current
    value = referrals._answer(data, *area.risk_from)
    return value if value in area.risk_levels else current


async def _next_reference(prefix: str) -> str:
    year = clock.now().year
    key = f"{prefix}-{year}"
    # inside the write transaction: SQLite's immediate lock or PostgreSQL's row lock serialise this
    row = await ReferenceCounter.select().where(ReferenceCounter.key == key).first()
    if row is None:
        await ReferenceCounter.insert(ReferenceCounter(key=key, value=1))
        number = 1
    else:
        bumped = (
            await ReferenceCounter.update({ReferenceCounter.value: ReferenceCounter.value + 1})
            .where(ReferenceCounter.key == key)
            .returning(ReferenceCounter.value)
        )
        number = bumped[0]["value"]
    return f"{key}-{number:06d}"


async def _bump(case_id: int, expected_version: int | None, values: dict) -> int:
    """Write ``values`` if the case is still at ``expected_version``; return the new version."""
    row = await Case.select(Case.version).where(Case.id == case_id).first()
    # the caller has read the case; cases are never deleted (an erased one stays a stub)
    assert row is not None
    current = row["version"]
    if expected_version is not None and expected_version != current:
        raise Conflict(
            "Someone else changed this case since you opened it. Nothing you entered has been "
            "saved over their change: look at the case again, then make your change."
        )
    where = (Case.id == case_id) & (Case.version == current)
    updated = (
        await Case.update({**values, Case.version: current + 1, Case.updated_at: clock.now()})
        .where(where)
        .returning(Case.id)
    )
    if not updated:
        raise Conflict("Someone else changed this case at the same moment. Look at the case again.")
    return current + 1


def _diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in list(old) + [k for k in new if k not in old]:
            out += _diff(old.get(key), new.get(key), f"{path}/{key}")
        return out
    return [] if old == new else [{"field": path, "from": old, "to": new}]


async def _after_commit(ctx: Context, new_referrals: list[dict], case: dict) -> None:
    for referral in new_referrals:
        await ctx.emit("referral_made", referral=_referral_out(referral), case=case)


def _referral_out(r: dict) -> dict:
    return {
        "id": r["id"],
        "target_kind": r["target_kind"],
        "target": r["target"],
        "reason": r["reason"],
        "rule_id": r["rule_id"],
        "person_id": r["person"],
        "status": r["status"],
    }


# -- writes ------------------------------------------------------------------------------------


async def check_may_open(actor: Actor, area) -> None:
    """Refuse, in words, opening a case in an area the agency has disabled, or by a role that opens none."""
    permissions.require(actor, "case.open")
    if area.slug not in await enabled_areas(actor.agency_id):
        raise Forbidden(
            f"{area.title} is not enabled for your agency, so no new cases can be opened in it. "
            "Its cases stay readable; a local admin can enable it again."
        )


async def open_case(
    ctx: Context,
    actor: Actor,
    area_slug: str,
    answers: Any,
    *,
    subjects: list[tuple[int, str]] | None = None,
    lead_officer_id: int | None = None,
    trusted_person_ids: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """Open a case in an area enabled for the actor's agency, from valid opening-form answers.

    ``trusted_person_ids`` are persons the agency may record though it cannot see them yet: the person
    of a referral it is accepting.
    """
    area = ctx.area(area_slug)
    await check_may_open(actor, area)
    _validate(ctx, area, area.opening_form, answers, None)
    subjects = subjects or []
    errors = []
    for i, (person_id, role) in enumerate(subjects):
        if role not in area.roles:
            errors.append({"field": f"/subjects/{i}/role", "message": "Select a role from the list"})
        if person_id not in trusted_person_ids and person_id not in await visible_person_ids(
            actor, [person_id]
        ):
            errors.append({"field": f"/subjects/{i}/person_id", "message": "Select a person who exists"})
    if errors:
        raise ValidationFailed("There is a problem with the people on the case", errors=errors)
    now = clock.now()
    async with transaction():
        reference = await _next_reference(area.reference_prefix)
        data = {area.opening_form: answers}
        case = Case(
            reference=reference,
            area=area.slug,
            state=area.workflow.initial,
            data=data,
            owning_agency=actor.agency_id,
            lead_officer=lead_officer_id or actor.id,
            risk_level=_risk(area, data, None),
            opened_at=now,
            updated_at=now,
            version=1,
        )
        await case.save()
        for person_id, role in subjects:
            await CaseSubject.insert(CaseSubject(case=case.id, person=person_id, role=role, added_at=now))
        await CaseEvent.insert(
            CaseEvent(
                case=case.id,
                kind="created",
                actor=actor.id,
                at=now,
                summary=f"Case opened: {area.forms[area.opening_form].title}",
                detail={"form": area.opening_form},
            )
        )
        await audit.record(
            "case.create",
            actor,
            object_type="case",
            object_id=case.id,
            detail={"area": area.slug, "reference": reference},
        )
        row = await _load(case.id)
        new_referrals = await referrals.evaluate_rules(ctx, row, "case_created")
    out = case_dict(ctx, row, Access.owner())
    await ctx.emit("case_created", case=out, actor=actor.as_dict())
    await _after_commit(ctx, new_referrals, out)
    return out


async def save_form(
    ctx: Context, actor: Actor, case_id: int, form_name: str, answers: Any, *, expected_version: int | None
) -> dict[str, Any]:
    """Save one form's answers on a case; refuse if the case is closed or someone else changed it meanwhile."""
    row = await _load_workable(actor, case_id)
    area = ctx.area(row["area"])
    _validate(ctx, area, form_name, answers, case_dict(ctx, row, Access.owner()))
    now = clock.now()
    async with transaction():
        row = await _load(case_id)
        refuse_closed(row, reader_sees=True)  # closed since it was read
        old = (row["data"] or {}).get(form_name)
        data = {**(row["data"] or {}), form_name: answers}
        await _bump(
            case_id,
            expected_version,
            {Case.data: data, Case.risk_level: _risk(area, data, row["risk_level"])},
        )
        changes = _diff(old or {}, answers)
        title = area.forms[form_name].title
        await CaseEvent.insert(
            CaseEvent(
                case=case_id,
                kind="form",
                actor=actor.id,
                at=now,
                summary=f"{title} {'changed' if old is not None else 'added'}",
                detail={"form": form_name, "changes": changes},
            )
        )
        await audit.record(
            "case.form_saved",
            actor,
            object_type="case",
            object_id=case_id,
            detail={"form": form_name, "fields": [c["field"] for c in changes], "changes": changes},
        )
        row = await _load(case_id)
        new_referrals = await referrals.evaluate_rules(ctx, row, "form_saved")
    out = case_dict(ctx, row, Access.owner())
    await _after_commit(ctx, new_referrals, out)
    return out


async def available_transitions(ctx: Context, actor: Actor, row: dict[str, Any], access: Access | None):
    """The workflow steps ``actor`` is offered on the case now, each with its refusal if a guard fails:
    none for a reader (a partner, a role that works no cases, an uninstalled area). The one answer the case
    page, the API and :func:`transition_case` give."""
    area = ctx.areas.get(row["area"])
    if area is None or not permissions.can(actor, "case.transition", access):
        return []
    needs = area.workflow.needs_facts(row["state"])
    facts = (
        (await referrals.build_facts(ctx, row, "case_transitioned", needs, per_subject=False))[0][0]
        if needs
        else {}
    )
    return area.workflow.available(
        row["state"], set(actor.roles), facts, set((row["data"] or {}).keys()), row["data"] or {}
    )


async def transition_case(
    ctx: Context, actor: Actor, case_id: int, transition: str, *, expected_version: int | None = None
) -> dict[str, Any]:
    """Move a case through a workflow transition the actor is allowed to make, or say why not. A closed case
    takes only its area's reopen step (refused as the workflow says for one not allowed to take it); any other
    step asked for on it is refused as every write on a closed case is (``CaseClosed``, 409)."""
    row, access = await visible_case(actor, case_id)
    permissions.require(actor, "case.transition", access)
    await _refuse_retained(row, actor)
    area = ctx.area(row["area"])
    async with transaction():
        row = await _load(case_id)
        if not area.workflow.reopens(transition, row["state"]):
            refuse_closed(row, reader_sees=True)
        offered = {t.name: refusal for t, refusal in await available_transitions(ctx, actor, row, access)}
        # a step not offered (no such step, not from this state, not for the actor's roles) says which it is
        refusal = (
            offered[transition]
            if transition in offered
            else area.workflow.check(
                transition,
                row["state"],
                set(actor.roles),
                {},
                set((row["data"] or {}).keys()),
                row["data"] or {},
            )
        )
        if refusal is not None:
            raise Forbidden(refusal.reason)
        t = area.workflow.transitions[transition]
        now = clock.now()
        terminal = area.workflow.is_terminal(t.target)
        await _bump(
            case_id, expected_version, {Case.state: t.target, Case.closed_at: now if terminal else None}
        )
        await CaseEvent.insert(
            CaseEvent(
                case=case_id,
                kind="transition",
                actor=actor.id,
                at=now,
                summary=f"{t.label}: {area.workflow.label(row['state'])} \u2192 {area.workflow.label(t.target)}",
                detail={"transition": t.name, "from": row["state"], "to": t.target},
            )
        )
        await audit.record(
            "case.transition",
            actor,
            object_type="case",
            object_id=case_id,
            detail={"transition": t.name, "from": row["state"], "to": t.target},
        )
        from_state = row["state"]
        row = await _load(case_id)
        new_referrals = await referrals.evaluate_rules(ctx, row, "case_transitioned")
    out = case_dict(ctx, row, Access.owner())
    await ctx.emit(
        "case_transitioned",
        case=out,
        transition=transition,
        from_state=from_state,
        to_state=row["state"],
        actor=actor.as_dict(),
    )
    await _after_commit(ctx, new_referrals, out)
    return out


async def add_subject(ctx: Context, actor: Actor, case_id: int, person_id: int, role: str) -> dict[str, Any]:
    """Put a person on a case with one of its area's roles; the rules on ``subject_added`` fire."""
    row = await _load_workable(actor, case_id)
    area = ctx.area(row["area"])
    if role not in area.roles:
        raise ValidationFailed(
            "Select a role from the list",
            errors=[{"field": "/role", "message": "Select the person\u2019s role on the case"}],
        )
    person = await Person.select(Person.given_name, Person.family_name).where(Person.id == person_id).first()
    if person is None or person_id not in await visible_person_ids(actor, [person_id]):
        raise NotFound("No person with that number exists")
    existing = await CaseSubject.count().where(
        (CaseSubject.case == case_id)
        & (CaseSubject.person == person_id)
        & (CaseSubject.role == role)
        & CaseSubject.removed_at.is_null()
    )
    if existing:
        raise ValidationFailed(
            "That person already has that role on this case",
            errors=[{"field": "/role", "message": "That person already has that role on this case"}],
        )
    now = clock.now()
    async with transaction():
        await _still_open(case_id)
        await CaseSubject.insert(CaseSubject(case=case_id, person=person_id, role=role, added_at=now))
        await _bump(case_id, None, {})
        await CaseEvent.insert(
            CaseEvent(
                case=case_id,
                kind="subject",
                actor=actor.id,
                at=now,
                summary=f"{person['given_name']} {person['family_name']} added as {area.roles[role].lower()}",
                detail={"person_id": person_id, "role": role, "added": True},
            )
        )
        await audit.record(
            "case.subject_added",
            actor,
            object_type="case",
            object_id=case_id,
            detail={"person_id": person_id, "role": role},
        )
        row = await _load(case_id)
        new_referrals = await referrals.evaluate_rules(ctx, row, "subject_added")
    out = case_dict(ctx, row, Access.owner())
    await _after_commit(ctx, new_referrals, out)
    return out


async def remove_subject(ctx: Context, actor: Actor, case_id: int, subject_id: int) -> None:
    row = await _load_workable(actor, case_id)
    area = ctx.area(row["area"])
    subject = (
        await CaseSubject.select(
            *CaseSubject.all_columns(),
            CaseSubject.person.given_name.as_alias("g"),
            CaseSubject.person.family_name.as_alias("f"),
        )
        .where(
            (CaseSubject.id == subject_id) & (CaseSubject.case == case_id) & CaseSubject.removed_at.is_null()
        )
        .first()
    )
    if subject is None:
        raise NotFound("That person is not on this case")
    now = clock.now()
    async with transaction():
        await _still_open(case_id)
        await CaseSubject.update({CaseSubject.removed_at: now}).where(CaseSubject.id == subject_id)
        await _bump(case_id, None, {})
        await CaseEvent.insert(
            CaseEvent(
                case=case_id,
                kind="subject",
                actor=actor.id,
                at=now,
                summary=f"{subject['g']} {subject['f']} removed "
                f"({area.roles.get(subject['role'], subject['role']).lower()})",
                detail={"person_id": subject["person"], "role": subject["role"], "added": False},
            )
        )
        await audit.record(
            "case.subject_removed",
            actor,
            object_type="case",
            object_id=case_id,
            detail={"person_id": subject["person"], "role": subject["role"]},
        )


async def add_note(ctx: Context, actor: Actor, case_id: int, text: str) -> dict[str, Any]:
    """Add a note to the case's timeline (ValidationFailed if the text is empty)."""
    await _load_workable(actor, case_id)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("Enter the note", errors=[{"field": "/text", "message": "Enter the note"}])
    if len(text) > 20000:
        raise ValidationFailed(
            "The note is too long",
            errors=[{"field": "/text", "message": "The note must be 20,000 characters or fewer"}],
        )
    now = clock.now()
    async with transaction():
        await _still_open(case_id)
        event = CaseEvent(case=case_id, kind="note", actor=actor.id, at=now, summary=text, detail={})
        await event.save()
        await audit.record("case.note_added", actor, object_type="case", object_id=case_id)
    return {"id": event.id, "kind": "note", "summary": text, "at": now.isoformat(), "actor_id": actor.id}


# -- lead officers ------------------------------------------------------------------------------

#: most cases one bulk reassignment moves: a leaver's caseload fits, one transaction stays short
MAX_BULK_REASSIGN = 500


_AGENCY_USERS_SQL = "SELECT id, name, active, roles FROM cf_user WHERE agency = {} ORDER BY name, id"


async def agency_users(agency_id: int) -> list[dict[str, Any]]:
    """Every user of the agency (id, name, active, roles), deactivated ones too (a leaver still leads cases until
    they are handed over), by name: the names of lead officers, the area list's lead officers to filter by, and
    (``lead_officer_choices(users=)``) those who may be given its cases, in one read."""
    from caseframe.core.auth.tables import User

    users = await User.raw(_AGENCY_USERS_SQL, int(agency_id))
    for u in users:
        u["active"] = bool(u["active"])
        if isinstance(u["roles"], str):
            u["roles"] = json.loads(u["roles"])
    return users


async def lead_officer_choices(
    agency_id: int, users: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Active users of the agency who work cases (a caseworking role), by name: who can lead a case. ``users``: the
    agency's users as ``agency_users`` reads them, when the caller has them already."""
    if users is None:
        users = await agency_users(agency_id)
    return [
        {"id": u["id"], "name": u["name"]}
        for u in users
        if u["active"] and permissions.role_allows(u["roles"], "case.edit")
    ]


async def _new_lead(agency_id: int, user_id: int | None) -> dict[str, Any]:
    """The chosen lead officer, checked: an active user of the case's agency with a caseworking role."""
    for user in await lead_officer_choices(agency_id):
        if user["id"] == user_id:
            return user
    raise ValidationFailed(
        "Select the new lead officer",
        errors=[{"field": "/lead_officer_id", "message": "Select someone in your agency who works cases"}],
    )


async def _user_names(ids: list[int | None]) -> dict[int, str]:
    from caseframe.core.auth.tables import User

    wanted = sorted({i for i in ids if i})
    return {
        u["id"]: u["name"] for u in await User.select(User.id, User.name).where(User.id.is_in(wanted or [0]))
    }


async def _change_lead(
    actor: Actor,
    row: dict[str, Any],
    lead: dict[str, Any],
    expected_version: int | None,
    names: dict[int, str],
    *,
    bulk: bool,
    move_tasks: bool,
) -> list[int]:
    """Inside a transaction: make ``lead`` the case's lead officer, on its timeline and in the audit trail;
    with ``move_tasks`` the old lead's open tasks on the case go too. Returns the tasks moved."""
    old = row["lead_officer"]
    await _bump(row["id"], expected_version, {Case.lead_officer: lead["id"]})
    moved: list[int] = []
    if move_tasks and old:
        from caseframe.core.tasks.handover import hand_over_tasks

        moved = await hand_over_tasks(actor, row["id"], old, lead["id"])
    old_name = names.get(old, "no one") if old else "no one"
    summary = f"Lead officer changed: {old_name} → {lead['name']}"
    if moved:
        summary += f" ({len(moved)} open task{'s' if len(moved) != 1 else ''} handed over too)"
    await CaseEvent.insert(
        CaseEvent(
            case=row["id"],
            kind="lead",
            actor=actor.id,
            at=clock.now(),
            summary=summary,
            detail={"from": old, "to": lead["id"], "tasks": moved, "bulk": bulk},
        )
    )
    await audit.record(
        "case.lead_changed",
        actor,
        object_type="case",
        object_id=row["id"],
        detail={"from": old, "to": lead["id"], "tasks": moved, "bulk": bulk},
    )
    return moved


async def reassign_lead(
    ctx: Context, actor: Actor, case_id: int, lead_officer_id: int | None, *, expected_version: int | None
) -> dict[str, Any]:
    """Make another officer of the owning agency the case's lead; refused if the case is closed or changed
    meanwhile."""
    row = await _load_workable(actor, case_id)
    lead = await _new_lead(row["owning_agency"], lead_officer_id)
    if row["lead_officer"] == lead["id"]:
        raise ValidationFailed(
            "Nothing to change",
            errors=[{"field": "/lead_officer_id", "message": f"{lead['name']} is already the lead officer"}],
        )
    async with transaction():
        row = await _load(case_id)
        refuse_closed(row, reader_sees=True)  # closed since it was read
        names = await _user_names([row["lead_officer"]])
        await _change_lead(actor, row, lead, expected_version, names, bulk=False, move_tasks=False)
        row = await _load(case_id)
    return case_dict(ctx, row, Access.owner())


def check_may_bulk_reassign(actor: Actor) -> None:
    permissions.require(actor, "case.reassign_bulk")


def refuse_closed_in_bulk(closed_references: list[str]) -> None:
    """A bulk reassignment holding a closed case moves none: as for one case, a closed case keeps its lead."""
    if closed_references:
        one = len(closed_references) == 1
        raise CaseClosed(
            f"{_listed(closed_references)} {'is' if one else 'are'} closed, so {'its' if one else 'their'} "
            "lead officer cannot be changed. Nothing has been reassigned: choose open cases only."
        )


async def reassign_cases(
    ctx: Context,
    actor: Actor,
    chosen: list[tuple[int, int]],
    lead_officer_id: int | None,
    *,
    move_tasks: bool = False,
) -> dict[str, Any]:
    """Give every chosen case (id, version read) of the actor's agency a new lead officer, all or nothing.

    A case someone changed since it was chosen refuses the lot, naming it, so no one's change is lost and
    the list is never half moved; so does a closed case (its record is read, not worked), or one retention
    restricts. Each case's timeline says so and each gets its own audit event. With
    ``move_tasks`` each case's open tasks of its old lead officer are handed over too."""
    check_may_bulk_reassign(actor)
    lead = await _new_lead(actor.agency_id, lead_officer_id)
    wanted = dict(chosen)
    if len(wanted) != len(chosen):  # the same case twice, perhaps at two versions: which was meant is unknown
        raise ValidationFailed(
            "A case is listed twice",
            errors=[{"field": "/case", "message": "Each case can be listed once: choose the cases again"}],
        )
    if not wanted:
        raise ValidationFailed(
            "Select the cases to reassign", errors=[{"field": "/case", "message": "Select at least one case"}]
        )
    if len(wanted) > MAX_BULK_REASSIGN:
        raise ValidationFailed(
            "Too many cases",
            errors=[
                {
                    "field": "/case",
                    "message": f"Reassign at most {MAX_BULK_REASSIGN} cases at once: narrow the filters",
                }
            ],
        )
    moved_cases, moved_tasks = [], []
    async with transaction():
        rows = await Case.select().where(Case.id.is_in(list(wanted))).order_by(Case.id).output(load_json=True)
        mine = [r for r in rows if r["owning_agency"] == actor.agency_id]
        if len(mine) != len(wanted):  # another agency's case, or none: the same answer, ids are no oracle
            raise NotFound("No case with that number exists")
        from caseframe.core.retention.service import withheld_from

        withheld = await withheld_from(actor)
        if any(r["id"] in withheld.hidden for r in mine):  # listed nowhere for this reader: as if not there
            raise NotFound("No case with that number exists")
        kept = [r["reference"] for r in mine if r["id"] in withheld.inactive]
        if kept:
            raise Forbidden(
                f"{_listed(kept)} {'is' if len(kept) == 1 else 'are'} restricted under the retention "
                "policy, so nothing on them can be changed. Nothing has been reassigned."
            )
        stale = [r["reference"] for r in mine if r["version"] != wanted[r["id"]]]
        if stale:
            raise Conflict(
                f"Someone else changed {_listed(stale)} since you chose {'it' if len(stale) == 1 else 'them'}. "
                "Nothing has been reassigned: choose the cases again from the list."
            )
        refuse_closed_in_bulk([r["reference"] for r in mine if r["closed_at"]])
        names = await _user_names([r["lead_officer"] for r in mine])
        for row in mine:
            if row["lead_officer"] == lead["id"]:
                continue  # already theirs: nothing to record
            moved_tasks += await _change_lead(
                actor, row, lead, wanted[row["id"]], names, bulk=True, move_tasks=move_tasks
            )
            moved_cases.append(row["id"])
    return {"cases": moved_cases, "tasks": moved_tasks, "lead": lead}


def _listed(references: list[str]) -> str:
    shown = references[:5]
    more = f" and {len(references) - 5} more" if len(references) > 5 else ""
    return (
        ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 and not more else ", ".join(shown)
    ) + more


__all__ = [
    "CaseClosed",
    "add_note",
    "add_subject",
    "get_case",
    "lead_officer_choices",
    "list_cases",
    "open_case",
    "reassign_cases",
    "reassign_lead",
    "refuse_closed",
    "remove_subject",
    "save_form",
    "subjects_of",
    "timeline",
    "transition_case",
]


# -- a form's one-time key: a double click or a resent form is handled once -----------------------------------

#: how long a repeat waits for the first submission of its key to finish
SUBMISSION_WAIT_SECONDS = 15.0


async def claim_submission(actor: Actor, key: str, url: str) -> str | None:
    """Claim a form's one-time key for the actor. Returns None the first time; a repeat returns where the first
    went (``url``, the form's own address, if the first has not said by the time the wait is over).

    A repeat arriving while the first is still being handled (a double click: two posts at once) waits for the
    first one's result and leads there too; if the first was refused and released its key, the repeat is handled
    as itself. On PostgreSQL both may try to insert the key at once: the loser's unique violation is a repeat.
    Another user's key is never theirs to follow."""
    import asyncio
    import re

    from caseframe.core.cases.tables import Submission

    if not key or not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", key):
        return None
    try:
        async with transaction():
            existing = await Submission.select().where(Submission.key == key).first()
            if existing is None:
                await Submission.insert(Submission(key=key, user_id=actor.id, created_at=clock.now()))
                return None
    except Exception as exc:
        if type(exc).__name__ not in ("UniqueViolationError", "IntegrityError"):
            raise
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SUBMISSION_WAIT_SECONDS
    while True:
        existing = await Submission.select().where(Submission.key == key).first()
        if existing is None:  # the first was refused and released the key: this one is handled as itself
            return await claim_submission(actor, key, url)
        if existing["user_id"] != actor.id:
            return None
        if existing["result_url"] or loop.time() > deadline:
            return existing["result_url"] or url
        await asyncio.sleep(0.05)


async def finish_submission(key: str, url: str) -> None:
    """Say where the submission of ``key`` went, for its repeats."""
    from caseframe.core.cases.tables import Submission

    if key:  # in a write transaction: on SQLite a bare write on the read connection fails when busy
        async with transaction():
            await Submission.update({Submission.result_url: url}).where(Submission.key == key)


async def release_submission(key: str) -> None:
    """A submission that failed validation may be sent again with corrections."""
    from caseframe.core.cases.tables import Submission

    if key:
        async with transaction():
            await Submission.delete().where(Submission.key == key)
