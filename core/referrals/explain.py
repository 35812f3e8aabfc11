"""Why a rule fired, in plain words: each fact the rule tested, what it was, and what the rule looks for.

Only the facts a rule's ``when`` names are shown: whoever reads a referral learns why it was made,
not everything else on the source case.
"""

from __future__ import annotations

from typing import Any

from caseframe.core.areas.loader import Area, tested_paths, tested_words
from caseframe.core.auth.actor import Actor
from caseframe.core.context import Context
from caseframe.core.forms.summary import display
from caseframe.core.forms.validation import subschema_at
from caseframe.core.numbers import index_or_name
from caseframe.core.referrals.engine import Rule
from caseframe.core.sharing.policy import Access, case_access, filter_answers, may_see_field

NOT_SHARED = "Not shared with your agency"
#: what a referral carries to an agency that may not see the case it came from: official-level answers,
#: as the answers carried over when it opens a case
REFERRAL_ACCESS = Access(kind="referral", max_sensitivity="official")

EVENT_WORDS = {
    "case_created": "a case was opened",
    "form_saved": "a form was saved",
    "case_transitioned": "the case moved on",
    "subject_added": "a person was added to the case",
}


def rule_by_id(ctx: Context, qualified_id: str | None) -> Rule | None:
    if not qualified_id or ":" not in qualified_id:
        return None
    area = ctx.areas.get(qualified_id.split(":", 1)[0])
    return next((r for r in area.rules if r.qualified_id == qualified_id), None) if area else None


def _words(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").strip().capitalize()


def _label(ctx: Context, area: Area | None, path: tuple[str, ...]) -> tuple[str, dict[str, Any] | None, Any]:
    """The question a fact path answers, the schema to display its value with, and how to show values."""
    head = path[0] if path else ""
    if head == "event":
        return "What happened", None, lambda v: EVENT_WORDS.get(v, _words(str(v)).lower())
    if head == "area":
        return (
            "Business area",
            None,
            lambda v: (ctx.areas.get(v).title if ctx.areas.get(v) else _words(str(v))),
        )
    if head == "subject" and len(path) == 2:
        if path[1] == "role" and area is not None:
            return "Their role on the case", None, lambda v: area.roles.get(v, _words(str(v))).lower()
        if path[1] == "flags":
            return "Warning markers on their record", None, lambda v: ctx.areas.flag_label(str(v)).lower()
        return (
            {"age": "Their age", "gender": "Their gender"}.get(path[1], _words(path[1])),
            None,
            None,
        )
    if head == "counts" and len(path) == 2:
        count = next((c for c in (area.counts if area else []) if c.name == path[1]), None)
        return (count.label if count and count.label else _words(path[1])), None, None
    if head == "case" and len(path) >= 2:
        if path[1] == "forms" and len(path) >= 4 and area is not None and path[2] in area.forms:
            form = area.forms[path[2]]
            sub = subschema_at(form.schema, [index_or_name(p) for p in path[3:]])
            return f"{form.title}: {(sub or {}).get('title') or _words(path[-1])}", sub, None
        return (
            {
                "risk_level": "Risk level",
                "state": "Stage of the case",
                "days_open": "Days the case has been open",
                "reference": "Case reference",
            }.get(path[1], _words(path[1])),
            None,
            None,
        )
    return " ".join(_words(p) for p in path[-2:]), None, None


def _looks_for(node: dict[str, Any], schema: dict[str, Any] | None, show) -> str:
    parts = []
    fmt = (lambda v: show(v)) if show else (lambda v: display(schema, v))
    if "const" in node:
        parts.append(f"the rule looks for {fmt(node['const'])}")
    if "enum" in node:
        parts.append("the rule looks for one of " + ", ".join(fmt(v) for v in node["enum"]))
    if "minimum" in node:
        parts.append(f"the rule needs {node['minimum']} or more")
    if "exclusiveMinimum" in node:
        parts.append(f"the rule needs more than {node['exclusiveMinimum']}")
    if "maximum" in node:
        parts.append(f"the rule needs {node['maximum']} or fewer")
    if "exclusiveMaximum" in node:
        parts.append(f"the rule needs under {node['exclusiveMaximum']}")
    if isinstance(node.get("contains"), dict) and "const" in node["contains"]:
        parts.append(f"the rule looks for {fmt(node['contains']['const'])}")
    if isinstance(node.get("not"), dict) and "const" in node["not"]:
        parts.append(f"the rule looks for anything but {fmt(node['not']['const'])}")
    return "; ".join(parts)


def _walk(node: Any, facts: Any, path: tuple[str, ...], out: list[tuple[str, ...]]) -> None:
    if not isinstance(node, dict):
        return
    props = node.get("properties") or {}
    for key in node.get("required") or []:
        if key not in props and path + (key,) not in out:
            out.append(path + (key,))
    for key, sub in props.items():
        if isinstance(facts, dict) and key in facts:
            # a table of facts the rule names by "required" alone is walked too, so each fact gets a line of its
            # own (and its own level: a plugin's withheld fact does not hide the others beside it)
            inner = isinstance(sub, dict) and ("properties" in sub or "required" in sub)
            if isinstance(sub, dict) and (inner or any(k in sub for k in ("allOf", "anyOf", "oneOf"))):
                _walk(sub, facts[key], path + (key,), out)
            if isinstance(sub, dict) and not inner and path + (key,) not in out:
                out.append(path + (key,))
    for combinator in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(combinator) or []:
            _walk(sub, facts, path, out)


def _node_at(schema: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The merged constraints the rule puts on one fact path (across allOf/anyOf branches)."""
    found: dict[str, Any] = {}

    def visit(node: Any, rest: tuple[str, ...]) -> None:
        if not isinstance(node, dict):
            return
        if not rest:
            found.update({k: v for k, v in node.items() if k not in ("properties", "required")})
            return
        visit((node.get("properties") or {}).get(rest[0]), rest[1:])
        for combinator in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(combinator) or []:
                visit(sub, rest)

    visit(schema, path)
    return found


def _value_at(facts: Any, path: tuple[str, ...]) -> Any:
    node = facts
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


async def facts_access(
    actor: Actor, case_id: int | None, cache: dict[int | None, Access | None], *, addressee: bool = False
) -> Access | None:
    """How much of the facts a rule saw on ``case_id`` the actor may read: what it may see of that case
    (all of it for its owner, up to the ISA's level for a partner); failing that, an agency the referral is
    addressed to reads official-level answers (what the referral carries to it), and anyone else nothing."""
    if case_id not in cache:
        from caseframe.core.cases.tables import Case

        row = (
            await Case.select(Case.id, Case.owning_agency, Case.area).where(Case.id == case_id).first()
            if case_id is not None
            else None
        )
        cache[case_id] = await case_access(actor, row) if row is not None else None
        if row is not None and cache[case_id] is None:
            from caseframe.core.retention.service import withholds

            # a restricted or erased case's facts are no one's to read, not even the addressee's
            if await withholds(actor, row):
                cache[case_id] = WITHHELD
    if cache[case_id] is WITHHELD:
        return None
    return cache[case_id] or (REFERRAL_ACCESS if addressee else None)


#: the cache's mark for a case retention withholds from the reader
WITHHELD: Any = object()


def filter_facts(ctx: Context, facts: Any, access: Access) -> Any:
    """A rule's stored facts without the answers ``access`` may not see: the same filter as the case itself.
    A form the area no longer describes has no known level, so none of its answers are kept; nor is a fact a
    plugin added (``extra``) above the level it declared, or of a level it never declared."""
    if access.is_owner or not isinstance(facts, dict):
        return facts
    out = dict(facts)
    if "extra" in facts:
        extra = facts["extra"] if isinstance(facts["extra"], dict) else {}
        kept = {
            plugin: {k: v for k, v in values.items() if access.may_see(ctx.areas.fact_level(plugin, k))}
            for plugin, values in extra.items()
            if isinstance(values, dict)
        }
        out["extra"] = {plugin: values for plugin, values in kept.items() if values}
    subject = facts.get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("flags"), list):
        out["subject"] = {
            **subject,
            "flags": [
                f for f in subject["flags"] if isinstance(f, str) and access.may_see(ctx.areas.flag_level(f))
            ],
        }
    area = ctx.areas.get(facts.get("area", ""))
    if isinstance(facts.get("counts"), dict):
        out["counts"] = {k: v for k, v in facts["counts"].items() if not _count_hidden(area, k, access)}
    case = facts.get("case")
    if not isinstance(case, dict) or not isinstance(case.get("forms"), dict):
        return out
    forms = {
        name: filter_answers(answers, area.forms[name].schema, access)
        for name, answers in case["forms"].items()
        if area is not None and name in area.forms
    }
    return {**out, "case": {**case, "forms": forms}}


def _count_hidden(area: Area | None, name: str, access: Access) -> bool:
    """Whether a count is grouped by a question above what ``access`` may see ("reports with the same answer to
    it"): the number is worked out from that answer, so it is withheld as the answer is. A count the area no
    longer declares (or of an area no longer loaded) has no known question, and is withheld too."""
    count = next((c for c in (area.counts if area else []) if c.name == name), None)
    if count is None:
        return True
    if not count.by_form:
        return False
    form = area.forms.get(count.by_form) if area is not None else None
    return form is None or not may_see_field(access, form.schema, "/" + (count.by_field or "").strip("/"))


def _hidden(
    ctx: Context, area: Area | None, path: tuple[str, ...], access: Access | None, node: Any = None
) -> bool:
    """Whether a tested fact is an answer, a count grouped by one, a plugin's fact, or a warning marker (one the
    rule's constraint ``node`` names), above what ``access`` may see."""
    if access is None or access.is_owner:
        return False
    if path == ("subject", "flags"):
        return any(not access.may_see(ctx.areas.flag_level(str(f))) for f in tested_words(node))
    if path[:1] == ("counts",):
        return len(path) >= 2 and _count_hidden(area, path[1], access)
    if path[:1] == ("extra",):
        return len(path) < 3 or not access.may_see(ctx.areas.fact_level(path[1], path[2]))
    if len(path) < 3 or path[:2] != ("case", "forms"):
        return False
    form = area.forms.get(path[2]) if area is not None else None
    return form is None or not may_see_field(access, form.schema, "/" + "/".join(path[3:]))


def tells_hidden(ctx: Context | None, rule_id: str | None, access: Access) -> bool:
    """Whether a rule having fired tells ``access`` of an answer above its level: the rule tests one (a question, a
    count grouped by one, a plugin's fact, a date answer), so that it fired, whom it referred or told and its reason
    say what the answer is as plainly as its value would ("Mental health need identified at assessment"). Whoever
    reads a case's timeline or referrals below that level is told nothing of the firing; its addressee still reads
    it in its inbox (the area sends it there). A rule the area no longer declares tested what is no longer known, so
    it tells too; a referral made by hand (no rule) tells nothing by itself."""
    if not rule_id or access.is_owner:
        return False
    rule = rule_by_id(ctx, rule_id) if ctx is not None else None
    if ctx is None or rule is None:
        return True
    area = ctx.areas.get(rule.area)
    paths = tested_paths(rule.when)
    paths += [("case", "forms", d.form, *[p for p in d.field.split("/") if p]) for d in rule.dates]
    return any(_hidden(ctx, area, path, access, _node_at(rule.when, path)) for path in paths)


def explain(
    ctx: Context,
    rule_id: str | None,
    when: dict[str, Any] | None,
    facts: dict[str, Any],
    access: Access,
) -> list[dict[str, str]]:
    """One line per fact the rule tested: ``{"question", "answer", "looks_for"}``, as ``access`` may read them: an
    answer above its level reads "Not shared with your agency" (and what the rule looks for is not said either,
    since it would give the answer away). There is no unfiltered default: a reader with no access to the case
    (``facts_access`` gave None) is shown no line at all by its caller."""
    rule = rule_by_id(ctx, rule_id)
    when = when if when is not None else (rule.when if rule else {})
    area = ctx.areas.get(facts.get("area", "")) if isinstance(facts, dict) else None
    paths: list[tuple[str, ...]] = []
    _walk(when, facts, (), paths)
    # the lines are those the rule tested; their values only what the access may see
    shown = filter_facts(ctx, facts, access)
    lines = []
    for path in paths:
        value = _value_at(shown, path)
        question, schema, show = _label(ctx, area, path)
        if _hidden(ctx, area, path, access, _node_at(when, path)):
            lines.append({"question": question, "answer": NOT_SHARED, "looks_for": ""})
            continue
        if value is None:
            answer = "Not recorded"
        elif isinstance(value, list) and not value:
            answer = "None"
        elif show is not None:
            answer = ", ".join(show(v) for v in value) if isinstance(value, list) else show(value)
        else:
            answer = display(schema, value)
        lines.append(
            {
                "question": question,
                "answer": answer,
                "looks_for": _looks_for(_node_at(when, path), schema, show),
            }
        )
    if rule is not None and rule.subject_roles and ("subject", "role") not in paths:
        # a role-only rule tests the person's role outside ``when``: say so as if it were there
        question, _, show = _label(ctx, area, ("subject", "role"))
        value = _value_at(shown, ("subject", "role"))
        lines.append(
            {
                "question": question,
                "answer": "Not recorded" if value is None else show(value),
                "looks_for": "the rule looks for " + " or ".join(show(r) for r in sorted(rule.subject_roles)),
            }
        )
    for condition in rule.dates if rule is not None else ():
        # a date condition's answer, with how many days the rule needs since it
        path = ("case", "forms", condition.form, *condition.field.strip("/").split("/"))
        question, schema, _ = _label(ctx, area, path)
        if _hidden(ctx, area, path, access):
            lines.append({"question": question, "answer": NOT_SHARED, "looks_for": ""})
            continue
        value = _value_at(shown, path)
        lines.append(
            {
                "question": question,
                "answer": "Not recorded" if value is None else display(schema, value),
                "looks_for": condition.looks_for(),
            }
        )
    return lines
