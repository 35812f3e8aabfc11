"""The compiled fast path answers exactly as jsonschema does, on every built-in form and rule."""

from __future__ import annotations

import copy
import random

import pytest
from jsonschema import FormatChecker

from caseframe.core.context import build_context
from caseframe.core.forms.fastcheck import compile_schema, equal
from caseframe.core.plugins import DEFAULT_PLUGINS
from caseframe.core.schemas import Validator

EDGE_VALUES = [
    None,
    True,
    False,
    0,
    1,
    1.0,
    1.5,
    -3,
    "",
    "x",
    "2026-02-31",
    "2026-02-28",
    "26-1-1",
    [],
    [1, 1],
    [True, 1],
    ["a", "a"],
    {},
    {"a": 1},
    "<script>",
    10**6,
]


@pytest.fixture(scope="module")
def ctx():
    return build_context(",".join(DEFAULT_PLUGINS))


def mutations(doc, rng: random.Random, count: int = 60):
    """The document itself, then copies with one answer replaced, removed or added."""
    yield doc
    if not isinstance(doc, dict):
        return
    keys = list(doc)
    for _ in range(count):
        changed = copy.deepcopy(doc)
        choice = rng.random()
        if keys and choice < 0.45:
            changed[rng.choice(keys)] = rng.choice(EDGE_VALUES)
        elif keys and choice < 0.75:
            del changed[rng.choice(keys)]
        else:
            changed[rng.choice(["extra", *keys])] = rng.choice(EDGE_VALUES)
        yield changed


def test_forms_agree_with_jsonschema(ctx):
    rng = random.Random(7)
    checked = 0
    for area in ctx.areas:
        demo = [c for d in ctx.pm.hook.demo_data() if d for c in d.get("cases", []) if c["area"] == area.slug]
        for name, form in area.forms.items():
            fast = compile_schema(form.schema)
            assert fast is not None, f"{area.slug}/{name} fell back to jsonschema"
            slow = Validator(form.schema, format_checker=FormatChecker())
            samples = [c["forms"][name] for c in demo if name in c["forms"]] or [{}]
            for sample in samples:
                for doc in mutations(sample, rng):
                    assert fast(doc) == slow.is_valid(doc), (area.slug, name, doc)
                    checked += 1
    assert checked > 1000


def test_rules_and_guards_agree_with_jsonschema(ctx):
    facts_samples = []
    for role in ("victim", "perpetrator", "licence_holder", "rough_sleeper", "nominal"):
        for count in (0, 2, 3, 5):
            facts_samples.append(
                {
                    "event": "case_created",
                    "area": "x",
                    "case": {
                        "reference": "A",
                        "state": "reported",
                        "risk_level": rng_level(count),
                        "days_open": count,
                        "forms": {
                            "pathways": {"accommodation": "red" if count else "green"},
                            "assessment": {
                                "needs": ["mental_health"] if count else [],
                                "consent_to_refer": bool(count),
                            },
                            "complaint": {"safeguarding_concern": count > 2},
                            "outreach": {"seen_bedded_down": count > 0},
                        },
                    },
                    "subject": {"role": role, "age": 20 + count, "gender": "", "flags": []},
                    "counts": {
                        n: count
                        for n in (
                            "reports_as_perpetrator_180d",
                            "reports_as_victim_183d",
                            "victim_reports_365d",
                            "complaints_365d",
                        )
                    },
                }
            )
    facts_samples.append({"event": "case_created", "area": "x", "case": {"forms": {}}, "counts": {}})
    conditions = [r.when for a in ctx.areas for r in a.rules]
    conditions += [
        a.raw["workflow"]["transitions"][i]["guards"][j]["when"]
        for a in ctx.areas
        for i, t in enumerate(a.raw["workflow"]["transitions"])
        for j, g in enumerate(t.get("guards", []))
        if "when" in g
    ]
    for condition in conditions:
        fast = compile_schema(condition)
        assert fast is not None
        slow = Validator(condition)
        for facts in facts_samples:
            assert fast(facts) == slow.is_valid(facts), (condition, facts)


def rng_level(count: int) -> str:
    return ["standard", "medium", "high", "high", "high", "high"][count]


def test_unsupported_keywords_fall_back():
    assert compile_schema({"type": "object", "patternProperties": {"^a": {}}}) is None
    assert compile_schema({"type": "string", "format": "email"}) is None
    assert compile_schema({"$ref": "#/$defs/x"}) is None


def test_equality_follows_json_schema():
    assert equal(1, 1.0) and not equal(True, 1) and not equal(0, False)
    assert equal([1, {"a": True}], [1.0, {"a": True}]) and not equal([1], [True])
