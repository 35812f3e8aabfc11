"""The referral inbox: who a referral is for, and deciding it (accept, link, put to a panel, decline, ask).

A referral is addressed to every agency its target describes (an area an agency has enabled, a kind of
agency, one agency, or the agency chairing a panel) until one of them acts on it; from then on it is
that agency's. The referring agency (the person's, or the owner of the case a rule fired on) follows it
from its case: every decision is written on the source case's timeline.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from caseframe.core import clock, permissions
from caseframe.core.agencies.tables import Agency
from caseframe.core.audit import service as audit
from caseframe.core.auth.actor import Actor
from caseframe.core.auth.tables import User
from caseframe.core.cases import service as cases
from caseframe.core.cases.tables import Case, CaseEvent, CaseSubject
from caseframe.core.cases.view import refuse_closed_case, refuse_closed_for
from caseframe.core.context import Context
from caseframe.core.db.tx import transaction
from caseframe.core.errors import Conflict, Forbidden, Gone, NotFound, ValidationFailed
from caseframe.core.numbers import far_date
from caseframe.core.panels.tables import Panel, PanelCase
from caseframe.core.persons.tables import Person
from caseframe.core.referrals.explain import REFERRAL_ACCESS, explain, facts_access, filter_facts, rule_by_id
from caseframe.core.referrals.tables import Referral, ReferralMessage, RuleFiring
from caseframe.core.retention.service import Withheld, inactive_case_ids, refuse_write, withheld_from
from caseframe.core.schemas import Validator
from caseframe.core.sharing.policy import filter_answers
from caseframe.core.sharing.redaction import redactor_for

OPEN = ("open", "info_requested")
STATUS_LABELS = {
    "open": "Waiting",
    "info_requested": "More information asked for",
    "accepted": "Accepted",
    "declined": "Declined",
}


async def _addressee_where(actor: Actor):
    # what the agency answers to, read fresh in one statement: its name, its enabled areas, the panels it chairs
    rows = await Agency.raw(
        "SELECT 'agency' AS kind, slug AS value FROM cf_agency WHERE id = {} "
        "UNION ALL SELECT 'area', area FROM cf_agency_area WHERE agency = {} "
        "UNION ALL SELECT 'panel', slug FROM cf_panel WHERE chair_agency = {}",
        actor.agency_id,
        actor.agency_id,
        actor.agency_id,
    )
    areas = sorted(r["value"] for r in rows if r["kind"] == "area")
    panels = [r["value"] for r in rows if r["kind"] == "panel"]
    agency = next(({"slug": r["value"]} for r in rows if r["kind"] == "agency"), None)
    where = (Referral.target_kind == "agency_type") & (Referral.target == actor.agency_type)
    if areas:
        where |= (Referral.target_kind == "area") & Referral.target.is_in(areas)
    # an area or a kind of agency describes others: the referring agency is not its own addressee (its
    # case's own agency would see its referral come back); a target naming it (agency, its panel) still does
    where &= (Referral.raised_by_agency.is_not_null() & (Referral.raised_by_agency != actor.agency_id)) | (
        Referral.raised_by_agency.is_null()
        & (Referral.from_case.is_null() | (Referral.from_case.owning_agency != actor.agency_id))
    )
    if panels:
        where |= (Referral.target_kind == "panel") & Referral.target.is_in(panels)
    if agency:
        where |= (Referral.target_kind == "agency") & (Referral.target == agency["slug"])
    # once one agency has acted on it, it is that agency's alone
    return where & (Referral.target_agency.is_null() | (Referral.target_agency == actor.agency_id))


async def _referrer_agency(row: dict[str, Any]) -> int | None:
    if row["raised_by_agency"]:
        return row["raised_by_agency"]
    if row["from_case"]:
        case = await Case.select(Case.owning_agency).where(Case.id == row["from_case"]).first()
        return case["owning_agency"] if case else None
    return None


async def _is_addressee(actor: Actor, referral_id: int) -> bool:
    return await Referral.count().where((Referral.id == referral_id) & await _addressee_where(actor)) > 0


#: the words of a referral its people write: why it was made, and why it was decided so
REFERRAL_WORDS = ("reason", "decision_note")


#: whom a referral is for, as shown: a panel's name (and its slug, made from the name it first had) is what its
#: chair typed, and may name a case the reader may not see
TARGET_WORDS = ("target", "target_label")


async def readable_referrals(
    reader: Actor, rows: list[dict[str, Any]], ctx: Context | None = None, withheld: Withheld | None = None
) -> list[dict[str, Any]]:
    """Referral rows with their words as ``reader`` may read them (core/sharing/redaction.py): a case they may not
    see is not named, but for the case the referral came from, named to its addressee by design (unless retention
    withholds it). Each row gets its ``target_label`` (:func:`target_labels`), read the same way: one batch for the
    list (``withheld``: what ``retention.withheld_from(reader)`` answered, when the caller has read it). Changed in
    place; returned."""
    labels = await target_labels(ctx, [(r["target_kind"], r["target"]) for r in rows])
    for r in rows:
        r["target_label"] = labels[(r["target_kind"], r["target"])]
    words = await redactor_for(
        reader, [r.get(k) for r in rows for k in (*REFERRAL_WORDS, *TARGET_WORDS)], withheld=withheld
    )
    referrers = await referrer_agencies(rows)
    for r in rows:
        told = told_of(reader, r, referrers.get(r.get("id")))
        words.texts(r, (*REFERRAL_WORDS, *TARGET_WORDS), told=told)
        if r.get("resulting_case") not in told:  # nor the number of a case the referral became, untold
            r["resulting_case"] = None
    return rows


def told_of(reader: Actor, row: dict[str, Any], referrer_agency: int | None) -> set[int]:
    """The cases a referral names to ``reader`` by design: the case it came from (to whoever reads the referral:
    its addressee, or the referrer and its partners, for whom it is the case they are reading), and the case it
    became only to the agency that referred it (or that opened it). A partner reading the source case's referrals
    is not told of another agency's case by them."""
    told = {row["from_case"]} if row.get("from_case") else set()
    if row.get("resulting_case") and reader.agency_id in (referrer_agency, row.get("target_agency")):
        told.add(row["resulting_case"])
    return told


async def referrer_agencies(rows: list[dict[str, Any]]) -> dict[int, int | None]:
    """Referral id -> the agency that referred it (:func:`_referrer_agency`), for a list: one query at most."""
    from_cases = sorted(
        {r["from_case"] for r in rows if not r.get("raised_by_agency") and r.get("from_case")}
    )
    owners = (
        {
            c["id"]: c["owning_agency"]
            for c in await Case.select(Case.id, Case.owning_agency).where(Case.id.is_in(from_cases))
        }
        if from_cases
        else {}
    )
    return {r.get("id"): r.get("raised_by_agency") or owners.get(r.get("from_case")) for r in rows}


async def inbox(
    ctx: Context, actor: Actor, *, box: str = "waiting", area: str = "", limit: int = 200
) -> list[dict[str, Any]]:
    """``waiting`` and ``decided`` referrals addressed to the agency, or those it ``sent``; newest first."""
    cols = (
        Referral.all_columns(),
        Referral.person.given_name.as_alias("given_name"),
        Referral.person.family_name.as_alias("family_name"),
        Referral.person.date_of_birth.as_alias("dob"),
        Referral.from_case.reference.as_alias("from_reference"),
    )
    if box == "sent":
        own_cases = Case.select(Case.id).where(Case.owning_agency == actor.agency_id)
        where = (Referral.raised_by_agency == actor.agency_id) | (
            Referral.raised_by_agency.is_null()
            & Referral.from_case.is_in([r["id"] for r in await own_cases] or [0])
        )
    else:
        where = await _addressee_where(actor)
        where &= Referral.status.is_in(list(OPEN)) if box == "waiting" else Referral.status.not_in(list(OPEN))
    if area:
        where &= ((Referral.target_kind == "area") & (Referral.target == area)) | (
            Referral.source_area == area
        )
    rows = (
        await Referral.select(*cols).where(where).order_by(Referral.created_at, ascending=False).limit(limit)
    )
    hidden = (await withheld_from(actor)).hidden
    await readable_referrals(actor, rows, ctx)
    for r in rows:
        if r["from_case"] in hidden:  # the referral stays its addressee's; the withheld case is not named
            r["from_reference"] = None
        r["status_label"] = STATUS_LABELS.get(r["status"], r["status"])
    if rows:  # each row shows why the referral was made and whom it is about: recorded once for the list
        async with transaction():
            await audit.record(
                "referral.list",
                actor,
                object_type="referral",
                detail={"ids": [r["id"] for r in rows], "box": box, "area": area},
            )
    return rows


async def target_label(ctx: Context, kind: str, name: str) -> str:
    """Whom a referral is for, as written (a panel's name as its chair typed it: read it through the redactor)."""
    return (await target_labels(ctx, [(kind, name)]))[(kind, name)]


async def target_labels(ctx: Context | None, targets: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """:func:`target_label` of each ``(kind, name)``, in at most two queries (agencies', panels' names) however
    many; without a ``ctx`` an area or a kind of agency is named by its slug in words."""
    wanted = {kind: sorted({n for k, n in targets if k == kind}) for kind in ("agency", "panel")}
    names: dict[tuple[str, str], str] = {}
    if wanted["agency"]:
        rows = await Agency.select(Agency.slug, Agency.name).where(Agency.slug.is_in(wanted["agency"]))
        names |= {("agency", r["slug"]): r["name"] for r in rows}
    if wanted["panel"]:
        rows = await Panel.select(Panel.slug, Panel.name).where(Panel.slug.is_in(wanted["panel"]))
        names |= {("panel", r["slug"]): r["name"] for r in rows}
    return {(k, n): names.get((k, n)) or _configured_label(ctx, k, n) for k, n in targets}


def _configured_label(ctx: Context | None, kind: str, name: str) -> str:
    if ctx is None:  # as the pages' humanise filter reads a slug
        return name.replace("_", " ").replace("-", " ")
    if kind == "area":
        area = ctx.areas.get(name)
        return area.title if area else name
    if kind == "agency_type":
        return ctx.areas.agency_types.get(name, name.replace("_", " ")).capitalize()
    return name


async def get_referral(
    ctx: Context, actor: Actor, referral_id: int, *, audit_view: bool = True
) -> dict[str, Any]:
    """The referral, why it was made, its conversation and what the actor may do; 404 to anyone else."""
    row = await Referral.select().where(Referral.id == referral_id).first()
    if row is None:
        raise NotFound("No referral with that number exists")
    addressee = await _is_addressee(actor, referral_id)
    referrer_agency = await _referrer_agency(row)
    is_referrer = referrer_agency == actor.agency_id
    if not (addressee or is_referrer):
        raise NotFound("No referral with that number exists")
    out = dict(row)
    out["addressee"], out["is_referrer"] = addressee, is_referrer
    out["can_decide"] = addressee and row["status"] in OPEN and permissions.can(actor, "referral.decide")
    out["can_answer"] = (
        is_referrer and row["status"] == "info_requested" and permissions.can(actor, "referral.answer")
    )
    out["status_label"] = STATUS_LABELS.get(row["status"], row["status"])
    out["target_label"] = await target_label(ctx, row["target_kind"], row["target"])
    out["person_id"] = row["person"]
    out["person"] = (
        await Person.select(Person.id, Person.given_name, Person.family_name, Person.date_of_birth)
        .where(Person.id == row["person"])
        .first()
        if row["person"]
        else None
    )
    agencies = {a["id"]: a["name"] for a in await Agency.select(Agency.id, Agency.name)}
    out["referrer_agency_name"] = agencies.get(referrer_agency, "")
    raiser = (
        await User.select(User.name).where(User.id == row["raised_by"]).first() if row["raised_by"] else None
    )
    out["raised_by_name"] = raiser["name"] if raiser else ""
    out["rule"] = rule_by_id(ctx, row["rule_id"])
    source = (
        await Case.select(Case.id, Case.reference, Case.area, Case.closed_at)
        .where(Case.id == row["from_case"])
        .first()
        if row["from_case"]
        else None
    )
    hidden = (await withheld_from(actor)).hidden
    if source and source["id"] in hidden:  # restricted or erased: the case is not named, nor its facts read
        source = None
    # said only to whom decides a referral to a panel: a closed case is not offered onto the panel's list
    closed_at = source.pop("closed_at") if source else None
    out["source_closed_at"] = (
        closed_at if out["can_decide"] and row["target_kind"] == "panel" and closed_at else None
    )
    out["source_case"] = source
    out["source_visible"] = False
    if source:
        try:
            await cases.visible_case(actor, source["id"])
            out["source_visible"] = True
        except (NotFound, Forbidden, Gone):
            pass
    firings = (
        await RuleFiring.select()
        .where(RuleFiring.referral == referral_id)
        .order_by(RuleFiring.id)
        .output(load_json=True)
    )
    seen: dict[int | None, Any] = {}
    shown = []
    for f in firings:
        # a referral may gather firings on several cases: each one's answers only as far as the actor may see
        # that case; the referrer does not read why a rule fired on another agency's case it cannot see
        access = await facts_access(actor, f["case"], seen, addressee=addressee)
        if access is None:
            continue
        rule = rule_by_id(ctx, f["rule_id"])
        # explain walks the rule over the facts as stored and hides each answer above the access itself:
        # walked over already filtered facts, a tested answer that is withheld vanished from the why
        f["why"] = explain(ctx, f["rule_id"], rule.when if rule else {}, f["facts"] or {}, access)
        f["facts"] = filter_facts(ctx, f["facts"] or {}, access)
        shown.append(f)
    out["firings"] = shown
    messages = (
        await ReferralMessage.select()
        .where(ReferralMessage.referral == referral_id)
        .order_by(ReferralMessage.id)
    )
    users = {
        u["id"]: u["name"]
        for u in await User.select(User.id, User.name).where(
            User.id.is_in([m["author"] for m in messages if m["author"]] or [0])
        )
    }
    for m in messages:
        m["author_name"], m["agency_name"] = users.get(m["author"], ""), agencies.get(m["agency"], "")
    out["messages"] = messages
    # the words people wrote name no case the actor may not see, but the one the referral came from (by design);
    # nor does whom it is for (a panel's name, as its chair typed it)
    words = await redactor_for(
        actor,
        [
            row["reason"],
            row["decision_note"],
            *[m["text"] for m in messages],
            *[out[k] for k in TARGET_WORDS],
        ],
    )
    told = told_of(actor, row, referrer_agency)
    words.texts(out, (*REFERRAL_WORDS, *TARGET_WORDS), told=told)
    for m in messages:
        words.texts(m, ("text",), told=told)
    if row["resulting_case"]:
        res = await Case.select(Case.id, Case.reference).where(Case.id == row["resulting_case"]).first()
        out["resulting"] = res if res and res["id"] not in hidden else None
    if audit_view:
        await record_referral_view(actor, referral_id)
    return out


async def record_referral_view(actor: Actor, referral_id: int, **detail: Any) -> None:
    async with transaction():
        await audit.record(
            "referral.view", actor, object_type="referral", object_id=referral_id, detail=detail
        )


async def _claim(
    actor: Actor, referral_id: int, version: int | None, *, need_open: bool = True
) -> dict[str, Any]:
    """Load a referral the actor's agency may decide, checking nobody decided it meanwhile."""
    row = await Referral.select().where(Referral.id == referral_id).first()
    if row is None or not await _is_addressee(actor, referral_id):
        raise NotFound("No referral with that number exists")
    permissions.require(actor, "referral.decide")
    if version is not None and row["version"] != version:
        raise Conflict(
            "Someone else dealt with this referral while you were reading it. Check what they did "
            "below before doing anything more."
        )
    if need_open and row["status"] not in OPEN:
        raise Conflict("This referral has already been decided.")
    return row


async def _decide(
    actor: Actor,
    row: dict[str, Any],
    *,
    status: str,
    message_kind: str,
    text: str,
    resulting_case: int | None = None,
    source_summary: str,
) -> None:
    now = clock.now()
    values = {
        Referral.status: status,
        Referral.version: row["version"] + 1,
        Referral.target_agency: actor.agency_id,
    }
    if status in ("accepted", "declined"):
        values.update({Referral.decided_at: now, Referral.decided_by: actor.id, Referral.decision_note: text})
    if resulting_case:
        values[Referral.resulting_case] = resulting_case
    updated = (
        await Referral.update(values)
        .where((Referral.id == row["id"]) & (Referral.version == row["version"]))
        .returning(Referral.id)
    )
    if not updated:
        raise Conflict(
            "Someone else dealt with this referral at the same moment. Nothing you entered was saved."
        )
    await ReferralMessage.insert(
        ReferralMessage(
            referral=row["id"], kind=message_kind, text=text, author=actor.id, agency=actor.agency_id, at=now
        )
    )
    # the addressee's decision is theirs to make; a restricted or erased source case's timeline is not written
    if row["from_case"] and row["from_case"] not in await inactive_case_ids():
        await CaseEvent.insert(
            CaseEvent(
                case=row["from_case"],
                kind="referral",
                actor=actor.id,
                at=now,
                summary=source_summary,
                detail={
                    "referral_id": row["id"],
                    "outcome": status,
                    # the case it became is named to the referrer by design
                    **({"resulting_case": resulting_case} if resulting_case else {}),
                },
            )
        )
    await audit.record(
        f"referral.{message_kind}",
        actor,
        object_type="referral",
        object_id=row["id"],
        detail={"status": status, **({"case_id": resulting_case} if resulting_case else {})},
    )


async def _agency_name(agency_id: int) -> str:
    row = await Agency.select(Agency.name).where(Agency.id == agency_id).first()
    return row["name"] if row else "another agency"


def _required_text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, errors=[{"field": field, "message": message}])
    if len(value) > 4000:
        raise ValidationFailed(
            "Keep it under 4,000 characters",
            errors=[{"field": field, "message": "Keep it under 4,000 characters"}],
        )
    return value


async def decline(ctx: Context, actor: Actor, referral_id: int, *, version: int | None, reason: str) -> None:
    reason = _required_text(reason, "/reason", "Enter why you are declining the referral")
    async with transaction():
        row = await _claim(actor, referral_id, version)
        name = await _agency_name(actor.agency_id)
        await _decide(
            actor,
            row,
            status="declined",
            message_kind="declined",
            text=reason,
            source_summary=f"Referral to {await target_label(ctx, row['target_kind'], row['target'])} "
            f"declined by {name}: {reason}",
        )


async def request_info(
    ctx: Context, actor: Actor, referral_id: int, *, version: int | None, question: str
) -> None:
    question = _required_text(question, "/question", "Enter what you need to know")
    async with transaction():
        row = await _claim(actor, referral_id, version)
        name = await _agency_name(actor.agency_id)
        await _decide(
            actor,
            row,
            status="info_requested",
            message_kind="info_requested",
            text=question,
            source_summary=f"{name} asks for more information about the referral: {question}",
        )


async def give_info(
    ctx: Context, actor: Actor, referral_id: int, *, version: int | None, answer: str
) -> None:
    """The referring agency answers a question; the referral goes back to waiting."""
    answer = _required_text(answer, "/answer", "Enter the information asked for")
    async with transaction():
        row = await Referral.select().where(Referral.id == referral_id).first()
        if row is None or await _referrer_agency(row) != actor.agency_id:
            raise NotFound("No referral with that number exists")
        permissions.require(actor, "referral.answer")
        if version is not None and row["version"] != version:
            raise Conflict("Someone else changed this referral while you were reading it. Check it again.")
        if row["status"] != "info_requested":
            raise Conflict("No question is waiting for an answer on this referral.")
        await refuse_write(row["from_case"], actor)  # more about a restricted case is not sent anywhere
        now = clock.now()
        updated = (
            await Referral.update({Referral.status: "open", Referral.version: row["version"] + 1})
            .where((Referral.id == referral_id) & (Referral.version == row["version"]))
            .returning(Referral.id)
        )
        if not updated:
            raise Conflict(
                "Someone else changed this referral at the same moment. Nothing you entered was saved."
            )
        await ReferralMessage.insert(
            ReferralMessage(
                referral=referral_id,
                kind="info_given",
                text=answer,
                author=actor.id,
                agency=actor.agency_id,
                at=now,
            )
        )
        if row["from_case"]:
            await CaseEvent.insert(
                CaseEvent(
                    case=row["from_case"],
                    kind="referral",
                    actor=actor.id,
                    at=now,
                    summary=f"More information sent with the referral: {answer}",
                    detail={"referral_id": referral_id},
                )
            )
        await audit.record("referral.info_given", actor, object_type="referral", object_id=referral_id)


def _person_id(referral: dict[str, Any]) -> int | None:
    """The referred person's id, from a row or from ``get_referral`` (which puts their details in ``person``)."""
    return referral["person_id"] if "person_id" in referral else referral.get("person")


def carried_answers(
    ctx: Context, referral: dict[str, Any], source: dict[str, Any] | None, area_slug: str
) -> dict[str, Any]:
    """Opening-form answers for a new case, carried from the source case where a question is the same.

    Same name and a value the new question accepts; only answers at the official level travel, since the
    receiving agency may not be entitled to more.
    """
    area = ctx.areas.get(area_slug)
    if area is None or not source:
        return {}
    target_props = area.forms[area.opening_form].schema.get("properties", {})
    source_area = ctx.areas.get(source["area"])
    out: dict[str, Any] = {}
    for form_name, answers in (source.get("data") or {}).items():
        if not isinstance(answers, dict):
            continue
        if source_area is None or form_name not in source_area.forms:
            continue  # a form the area no longer describes: its answers' level is unknown
        source_schema = source_area.forms[form_name].schema
        source_props = source_schema.get("properties", {})
        # the same filter as the case itself, so nothing above official travels even inside an official answer
        answers = filter_answers(answers, source_schema, REFERRAL_ACCESS)
        for key, value in answers.items():
            sub = target_props.get(key)
            if key in out or not isinstance(sub, dict) or value in (None, "", []):
                continue
            if (source_props.get(key) or {}).get("x-sensitivity", "official") != "official" or sub.get(
                "x-sensitivity", "official"
            ) != "official":
                continue
            if Validator(sub).is_valid(value):
                out[key] = value
    return out


async def source_case_row(referral: dict[str, Any]) -> dict[str, Any] | None:
    if not referral.get("from_case") or referral["from_case"] in await inactive_case_ids():
        # a restricted or erased case carries nothing into another (kept, not processed)
        return None
    return (
        await Case.select(Case.id, Case.area, Case.data)
        .where(Case.id == referral["from_case"])
        .output(load_json=True)
        .first()
    )


async def source_role(referral: dict[str, Any]) -> str:
    if not (referral.get("from_case") and _person_id(referral)):
        return ""
    row = (
        await CaseSubject.select(CaseSubject.role)
        .where((CaseSubject.case == referral["from_case"]) & (CaseSubject.person == _person_id(referral)))
        .first()
    )
    return row["role"] if row else ""


async def accept_new_case(
    ctx: Context,
    actor: Actor,
    referral_id: int,
    *,
    version: int | None,
    area_slug: str,
    answers: Any,
    role: str = "",
) -> dict[str, Any]:
    """Accept by opening a case in one of the agency's areas, with the referred person on it."""
    row = await _claim(actor, referral_id, version)
    area = ctx.areas.get(area_slug)
    if area is None or area_slug not in await cases.enabled_areas(actor.agency_id):
        raise ValidationFailed(
            "Select a business area your agency has enabled",
            errors=[{"field": "/area", "message": "Select a business area your agency has enabled"}],
        )
    if row["person"] and role not in area.roles:
        raise ValidationFailed(
            "Select the person’s role on the case",
            errors=[{"field": "/role", "message": "Select the person’s role on the case"}],
        )
    async with transaction():
        row = await _claim(actor, referral_id, version)
        subjects = [(row["person"], role)] if row["person"] else []
        # the referral itself is what lets the receiving agency record this person
        case = await cases.open_case(
            ctx,
            actor,
            area_slug,
            answers,
            subjects=subjects,
            trusted_person_ids=frozenset({row["person"]} if row["person"] else ()),
        )
        now = clock.now()
        await CaseEvent.insert(
            CaseEvent(
                case=case["id"],
                kind="referral",
                actor=actor.id,
                at=now,
                summary=f"Opened from a referral: {row['reason']}",
                detail={"referral_id": referral_id},
            )
        )
        name = await _agency_name(actor.agency_id)
        await _decide(
            actor,
            row,
            status="accepted",
            message_kind="accepted",
            text=f"Opened case {case['reference']}",
            resulting_case=case["id"],
            source_summary=f"Referral accepted by {name}: they opened case {case['reference']}",
        )
    return case


async def linkable_cases(actor: Actor, referral: dict[str, Any]) -> list[dict[str, Any]]:
    """Open cases of the actor's agency about the referred person, to link the referral to."""
    if not _person_id(referral):
        return []
    on = [
        r["case"]
        for r in await CaseSubject.select(CaseSubject.case).where(
            (CaseSubject.person == _person_id(referral)) & CaseSubject.removed_at.is_null()
        )
    ]
    if not on:
        return []
    return (
        await Case.select(Case.id, Case.reference, Case.area)
        .where(
            Case.id.is_in(sorted(set(on)))
            & (Case.owning_agency == actor.agency_id)
            & Case.closed_at.is_null()
        )
        .order_by(Case.id)
    )


async def accept_link(
    ctx: Context, actor: Actor, referral_id: int, *, version: int | None, case_id: int | None
) -> None:
    """Accept by linking the referral to a case the agency already has about the person."""
    row = await _claim(actor, referral_id, version)
    allowed = {c["id"]: c for c in await linkable_cases(actor, row)}
    if case_id not in allowed:
        own = (
            await Case.select(Case.id, Case.owning_agency, Case.area, Case.closed_at)
            .where((Case.id == (case_id or 0)) & (Case.owning_agency == actor.agency_id))
            .first()
        )  # one read: whose case it is and whether it is closed
        if (
            own is not None
        ):  # one of theirs, closed since the page offered it: refused as every write on a closed case
            await refuse_closed_for(actor, own)
        raise ValidationFailed(
            "Select one of your agency’s open cases about this person",
            errors=[
                {"field": "/case_id", "message": "Select one of your agency’s open cases about this person"}
            ],
        )
    async with transaction():
        row = await _claim(actor, referral_id, version)
        await refuse_closed_case(actor, allowed[case_id]["id"])  # closed since it was read
        now = clock.now()
        await CaseEvent.insert(
            CaseEvent(
                case=case_id,
                kind="referral",
                actor=actor.id,
                at=now,
                summary=f"Referral linked to this case: {row['reason']}",
                detail={"referral_id": referral_id},
            )
        )
        name = await _agency_name(actor.agency_id)
        await _decide(
            actor,
            row,
            status="accepted",
            message_kind="linked",
            text=f"Linked to case {allowed[case_id]['reference']}",
            resulting_case=case_id,
            source_summary=f"Referral accepted by {name}: linked to their case {allowed[case_id]['reference']}",
        )


#: how far from today a case taken onto a panel's list may be due for review, either way
REVIEW_WITHIN_YEARS = 5


async def accept_to_panel(
    ctx: Context, actor: Actor, referral_id: int, *, version: int | None, review_due: dt.date | None = None
) -> None:
    """The chair's agency takes the referred case onto the panel's list for its next agenda."""
    far = far_date(review_due, REVIEW_WITHIN_YEARS, "review date") if review_due else None
    if far:
        raise ValidationFailed(
            "There is a problem with the review date", errors=[{"field": "/review_due", "message": far}]
        )
    row = await _claim(actor, referral_id, version)
    if row["target_kind"] != "panel" or not row["from_case"]:
        raise ValidationFailed(
            "Only a referral of a case to a panel can go on a panel’s list",
            errors=[{"field": "/mode", "message": "Choose how to accept the referral"}],
        )
    permissions.require(actor, "referral.to_panel")
    panel = await Panel.select(Panel.id, Panel.name).where(Panel.slug == row["target"]).first()
    if panel is None:
        raise NotFound("That panel no longer exists")
    await refuse_write(row["from_case"], actor)  # a restricted or erased case goes onto no panel
    await refuse_closed_case(actor, row["from_case"])  # nor a closed one: it gets no new panel work
    async with transaction():
        row = await _claim(actor, referral_id, version)
        await refuse_closed_case(actor, row["from_case"])  # closed since it was read
        now = clock.now()
        already = (
            await PanelCase.select(PanelCase.id)
            .where(
                (PanelCase.panel == panel["id"])
                & (PanelCase.case == row["from_case"])
                & PanelCase.closed_at.is_null()
            )
            .first()
        )
        if already is None:
            await PanelCase.insert(
                PanelCase(
                    panel=panel["id"],
                    case=row["from_case"],
                    referral_id=referral_id,
                    added_at=now,
                    review_due=review_due,
                )
            )
        await _decide(
            actor,
            row,
            status="accepted",
            message_kind="accepted",
            text=f"Taken onto {panel['name']}",
            resulting_case=row["from_case"],
            source_summary=f"Referral accepted: the case goes to {panel['name']} for its next meeting",
        )
