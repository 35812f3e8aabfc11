"""Loading areas: the test area loads, and a gallery of broken areas is each rejected with file, pointer and reason.

Every broken area is the noise fixture copied into a temporary folder with one thing changed. The
gallery checks the file the problem is reported against, the exact JSON pointer inside it, a
fragment of the reason, and that breaking one thing reports one problem (not a cascade of noise).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from caseframe.core import hookimpl
from caseframe.core.areas import build_registry, check_paths, load_area
from caseframe.core.errors import AreaError, Problem
from caseframe.core.forms.validation import compile_form
from caseframe.core.plugins import get_plugin_manager
from caseframe.core.testing import make_context

NOISE = Path(__file__).resolve().parents[1] / "fixtures/areas/noise"

#: the `when` of rule 0 ends with this; cases below add facts beside it
R0 = "counts = { properties = { reports_180d = { minimum = 3 } } }"
WHEN = "/rules/0/when/properties"


def make_area(
    where: Path,
    *,
    toml: list[tuple[str, str]] = (),
    forms: dict[str, list[tuple[str, str]]] | None = None,
    raw: dict[str, str | None] | None = None,
    slug: str | None = None,
    prefix: str | None = None,
) -> Path:
    """Copy the noise area to ``where``/noise and make each change (old text, new text) once."""
    area = where / (slug or "noise")
    shutil.copytree(NOISE, area)
    changes = list(toml)
    if slug:
        changes.append(('slug = "noise"', f'slug = "{slug}"'))
    if prefix:
        changes.append(('reference_prefix = "NOI"', f'reference_prefix = "{prefix}"'))
    text = (area / "area.toml").read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, f"the fixture no longer contains {old!r}: update the gallery"
        text = text.replace(old, new, 1)
    (area / "area.toml").write_text(text, encoding="utf-8")
    for name, edits in (forms or {}).items():
        path = area / "forms" / f"{name}.schema.json"
        text = path.read_text(encoding="utf-8")
        for old, new in edits:
            assert old in text, f"forms/{name} no longer contains {old!r}: update the gallery"
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
    for name, content in (raw or {}).items():
        path = area / "forms" / f"{name}.schema.json"
        if content is None:
            path.unlink()
        else:
            path.write_text(content, encoding="utf-8")
    return area


def listing(problems: list[Problem]) -> str:
    return (
        "\n".join(f"  {Path(p.file).name} {p.pointer!r}: {p.reason}" for p in problems) or "  (no problems)"
    )


def load_problems(area: Path) -> list[Problem]:
    with pytest.raises(AreaError) as exc:
        load_area(area)
    return exc.value.problems


# -- the fixture itself ------------------------------------------------------------------------


def test_the_noise_area_loads():
    area = load_area(NOISE)
    assert area.slug == "noise" and area.reference_prefix == "NOI"
    assert list(area.forms) == ["report", "visit"] and area.opening_form == "report"
    assert area.roles == {"complainant": "Complainant", "subject": "Alleged source"}
    assert area.workflow.initial == "open" and set(area.workflow.states) == {"open", "visited", "closed"}
    assert area.workflow.reachable() == {"open", "visited", "closed"}
    assert [r.id for r in area.rules] == ["repeat-source-to-panel", "young-complainant", "street-hotspot"]
    assert [c.name for c in area.counts] == ["reports_180d", "same_street_90d"]
    assert area.risk_from == ("visit", "/risk_level")
    assert check_paths([NOISE]) == []


def test_the_noise_area_registers_through_a_plugin():
    class Noise:
        @hookimpl
        def register_areas(self):
            return [NOISE]

    ctx = make_context(Noise())
    assert [a.slug for a in ctx.areas] == ["noise"]
    assert ctx.areas.get("noise").source  # the plugin's name is kept for the admin pages
    assert [r.id for r in ctx.areas.rules.rules_for("noise", "case_created")] == [
        "repeat-source-to-panel",
        "young-complainant",
        "street-hotspot",
    ]


# -- the gallery -------------------------------------------------------------------------------


@dataclass
class Broken:
    id: str
    file: str  # the problem's file ends with this
    pointer: str  # exactly
    reason: str  # a fragment of the reason
    toml: list[tuple[str, str]] = field(default_factory=list)
    forms: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    raw: dict[str, str | None] = field(default_factory=dict)
    #: found only when areas are checked together (check_paths, build_registry), not by load_area
    cross: bool = False
    #: how many problems breaking this one thing reports
    count: int = 1


GALLERY = [
    # area.toml: syntax and the meta-schema
    Broken(
        "bad TOML syntax", "area.toml", "", "is not valid TOML", toml=[('slug = "noise"', 'slug = "noise')]
    ),
    Broken(
        "missing required key (no workflow)",
        "area.toml",
        "",
        "'workflow' is a required property",
        toml=[("__workflow__", "")],
    ),
    Broken(
        "missing required key in a table",
        "area.toml",
        "/workflow",
        "'initial' is a required property",
        toml=[('initial = "open"\n', "")],
    ),
    Broken(
        "unknown key in area.toml",
        "area.toml",
        "/colour",
        "unknown key 'colour'",
        toml=[('version = "1.0.0"', 'version = "1.0.0"\ncolour = "red"')],
    ),
    Broken(
        "misspelt key in a table",
        "area.toml",
        "/case/risk_level",
        "did you mean 'risk_levels'?",
        toml=[("risk_levels = [", "risk_level = [")],
    ),
    Broken(
        "slug pattern wrong",
        "area.toml",
        "/slug",
        "'Noise Area' must be 2 to 40 lower-case letters, digits and underscores, starting with a letter",
        toml=[('slug = "noise"', 'slug = "Noise Area"')],
    ),
    Broken(
        "reference prefix pattern wrong",
        "area.toml",
        "/reference_prefix",
        "'noi-' must be 2 to 6 capital letters (e.g. NOI)",
        toml=[('reference_prefix = "NOI"', 'reference_prefix = "noi-"')],
    ),
    Broken(
        "unknown event in a rule",
        "area.toml",
        "/rules/2/on/0",
        "'case_closed' is not one of",
        toml=[('on = ["case_created"]', 'on = ["case_closed"]')],
    ),
    Broken(
        "unknown user role on a transition",
        "area.toml",
        "/workflow/transitions/1/roles/0",
        "'boss' is not one of",
        toml=[('roles = ["supervisor"]', 'roles = ["boss"]')],
    ),
    Broken(
        "guard with neither form nor when",
        "area.toml",
        "/workflow/transitions/0/guards/0",
        "needs exactly one of: days_since, days_until, form, when",
        toml=[('{ form = "visit", message', "{ message")],
    ),
    Broken(
        "then with two targets (oneOf)",
        "area.toml",
        "/rules/2/then",
        "needs exactly one of: agency_type, area, notify, panel",
        toml=[
            (
                'then = { agency_type = "police", reason',
                'then = { agency_type = "police", panel = "x", reason',
            )
        ],
    ),
    Broken(
        "then with no target",
        "area.toml",
        "/rules/2/then",
        "needs exactly one of: agency_type, area, notify, panel",
        toml=[('then = { agency_type = "police", reason', "then = { reason")],
    ),
    Broken(
        "count grouped by a form with no field",
        "area.toml",
        "/counts/1/by",
        "'field' is a required property",
        toml=[('by = { form = "report", field = "/street" }', 'by = { form = "report" }')],
    ),
    Broken(
        "count grouped by something neither person nor a table",
        "area.toml",
        "/counts/1/by",
        'must be "person" or a table',
        toml=[('by = { form = "report", field = "/street" }', 'by = "street"')],
    ),
    # forms
    Broken(
        "form file missing",
        "area.toml",
        "/case/forms/2",
        "has no file forms/survey.schema.json",
        toml=[('forms = ["report", "visit"]', 'forms = ["report", "visit", "survey"]')],
    ),
    Broken("form not valid JSON", "visit.schema.json", "", "is not valid JSON", raw={"visit": "{not json"}),
    Broken(
        "form JSON but not an object", "visit.schema.json", "", "must be a JSON object", raw={"visit": "[]"}
    ),
    Broken(
        "form not a valid JSON Schema",
        "report.schema.json",
        "/properties/nights/type",
        "'banana' is not a JSON Schema type; use one of array, boolean, integer, null, number, object, string",
        forms={"report": [('"type": "integer", "minimum"', '"type": "banana", "minimum"')]},
    ),
    Broken(
        "form not of type object",
        "visit.schema.json",
        "/type",
        'of type "object"',
        forms={"visit": [('"type": "object"', '"type": "array"')]},
    ),
    Broken(
        "form of another draft",
        "visit.schema.json",
        "/$schema",
        "must be draft 2020-12",
        forms={"visit": [("draft/2020-12/schema", "draft-07/schema#")]},
    ),
    Broken(
        "unknown x- hint",
        "report.schema.json",
        "/properties/street/x-colour",
        "unknown hint 'x-colour'",
        forms={"report": [('"x-summary": true', '"x-colour": "red"')]},
    ),
    Broken(
        "hint with a wrong value",
        "report.schema.json",
        "/properties/kind/x-widget",
        "'dial' is not one of",
        forms={"report": [('"x-widget": "radios"', '"x-widget": "dial"')]},
    ),
    Broken(
        "x-labels count mismatch",
        "report.schema.json",
        "/properties/kind/x-labels",
        "has 1 labels for 3 choices",
        forms={"report": [('"Loud music", "Barking dog", "Shouting"', '"Loud music"')]},
    ),
    Broken(
        "x-show-when naming a non-sibling",
        "report.schema.json",
        "/properties/details/x-show-when/field",
        "names 'nope', which is not a question beside this one",
        forms={
            "report": [
                (
                    '"x-widget": "textarea"',
                    '"x-widget": "textarea", "x-show-when": {"field": "nope", "in": ["x"]}',
                )
            ]
        },
    ),
    Broken(
        "opening_form not in forms",
        "area.toml",
        "/case/opening_form",
        "'intake' is not one of the forms",
        toml=[('opening_form = "report"', 'opening_form = "intake"')],
    ),
    Broken(
        "form file in forms/ not listed",
        "area.toml",
        "/case/forms",
        "forms/extra.schema.json is not listed in /case/forms",
        raw={"extra": '{"type": "object"}'},
    ),
    # workflow
    # and so 'visited' cannot be reached
    Broken(
        "transition to an unknown state",
        "area.toml",
        "/workflow/transitions/0/to",
        "'vanished' is not a state",
        toml=[('to = "visited"', 'to = "vanished"')],
        count=2,
    ),
    Broken(
        "transition from an unknown state",
        "area.toml",
        "/workflow/transitions/1/from/1",
        "'visitd' is not a state",
        toml=[('from = ["open", "visited"]', 'from = ["open", "visitd"]')],
    ),
    Broken(
        "transition from a terminal state",
        "area.toml",
        "/workflow/transitions/1/from/1",
        "'closed' is terminal",
        toml=[('from = ["open", "visited"]', 'from = ["open", "closed"]')],
    ),
    Broken(
        "unreachable state",
        "area.toml",
        "/workflow/states/1",
        "'visited' cannot be reached from 'open'",
        toml=[('to = "visited"', 'to = "open"')],
    ),
    Broken(
        "no terminal state",
        "area.toml",
        "/workflow/states",
        "no state is terminal",
        toml=[("terminal = true", "terminal = false")],
    ),
    Broken(
        "initial not a state",
        "area.toml",
        "/workflow/initial",
        "'new' is not a state",
        toml=[('initial = "open"', 'initial = "new"')],
    ),
    Broken(
        "duplicate state",
        "area.toml",
        "/workflow/states/2/name",
        "state 'visited' is declared twice",
        toml=[
            (
                '[[workflow.states]]\nname = "closed"',
                '[[workflow.states]]\nname = "visited"\nlabel = "Visited again"\n\n[[workflow.states]]\nname = "closed"',
            )
        ],
    ),
    Broken(
        "duplicate transition",
        "area.toml",
        "/workflow/transitions/1/name",
        "transition 'record_visit' is declared twice",
        toml=[('name = "close"', 'name = "record_visit"')],
    ),
    Broken(
        "guard naming an unknown form",
        "area.toml",
        "/workflow/transitions/0/guards/0/form",
        "'inspection' is not a form of this area",
        toml=[('{ form = "visit", message', '{ form = "inspection", message')],
    ),
    Broken(
        "guard testing an undeclared count",
        "area.toml",
        "/workflow/transitions/0/guards/0/when/properties/counts/properties/nope",
        "count 'nope', which is not declared",
        toml=[
            (
                '{ form = "visit", message',
                "{ when = { properties = { counts = { properties = { nope = { minimum = 1 } } } } }, message",
            )
        ],
    ),
    # rules: what `when` may test
    Broken(
        "rule testing an unknown form",
        "area.toml",
        f"{WHEN}/case/properties/forms/properties/survey",
        "form 'survey', which is not a form of this area",
        toml=[
            (
                R0,
                R0
                + ", case = { properties = { forms = { properties = { survey = { required = ['a', 'b'] } } } } }",
            )
        ],
    ),
    Broken(
        "rule testing an unknown field of a form",
        "area.toml",
        f"{WHEN}/case/properties/forms/properties/report/properties/colour",
        "'colour', which is not a question of form 'report'",
        toml=[
            (
                R0,
                R0 + ", case = { properties = { forms = { properties = { report = { properties = "
                "{ colour = { const = 'red' } } } } } } }",
            )
        ],
    ),
    Broken(
        "rule testing a form kept out of the facts",
        "area.toml",
        f"{WHEN}/case/properties/forms/properties/visit",
        '"x-fact": false',
        forms={"visit": [('"type": "object",', '"type": "object", "x-fact": false,')]},
        toml=[
            (
                R0,
                R0
                + ", case = { properties = { forms = { properties = { visit = { required = ['risk_level'] } } } } }",
            )
        ],
    ),
    Broken(
        "rule testing an undeclared count",
        "area.toml",
        f"{WHEN}/counts/properties/reports_90d",
        "count 'reports_90d', which is not declared in [[counts]]",
        toml=[("reports_180d = { minimum = 3 }", "reports_90d = { minimum = 3 }")],
    ),
    Broken(
        "rule testing an unknown subject fact",
        "area.toml",
        "/rules/1/when/properties/subject/properties/shoe_size",
        "subject.shoe_size, which is not a subject fact",
        toml=[("age = { type", "shoe_size = { type")],
    ),
    Broken(
        "rule testing an unknown case fact",
        "area.toml",
        f"{WHEN}/case/properties/colour",
        "case.colour, which is not a case fact",
        toml=[(R0, R0 + ", case = { properties = { colour = { const = 1 } } }")],
    ),
    Broken(
        "rule testing something not in the facts",
        "area.toml",
        "/rules/0/when/required",
        "'subjects', which is not in the facts document",
        toml=[
            (
                'when = { required = ["subject"], properties = { subject = { properties',
                'when = { required = ["subjects"], properties = { subject = { properties',
            )
        ],
    ),
    Broken(
        "rule testing a role not of the area",
        "area.toml",
        f"{WHEN}/subject/properties/role",
        "role 'landlord', which is not a role of this area",
        toml=[('role = { const = "subject" }', 'role = { const = "landlord" }')],
    ),
    Broken(
        "rule testing a role not of the area, inside anyOf",
        "area.toml",
        f"{WHEN}/subject/properties/role",
        "role 'landlord', which is not a role of this area",
        toml=[
            (
                'role = { const = "subject" }',
                'role = { anyOf = [{ const = "subject" }, { const = "landlord" }] }',
            )
        ],
    ),
    Broken(
        "rule state const not a state",
        "area.toml",
        f"{WHEN}/case/properties/state",
        "state 'shut', which is not a state of this workflow",
        toml=[(R0, R0 + ', case = { properties = { state = { const = "shut" } } }')],
    ),
    Broken(
        "rule state not-const not a state",
        "area.toml",
        f"{WHEN}/case/properties/state",
        "state 'shut', which is not a state of this workflow",
        toml=[(R0, R0 + ', case = { properties = { state = { not = { const = "shut" } } } }')],
    ),
    Broken(
        "rule when not a valid JSON Schema",
        "area.toml",
        f"{WHEN}/counts/type",
        "not a valid JSON Schema",
        toml=[(R0, 'counts = { type = "banana" }')],
    ),
    Broken(
        "duplicate rule id",
        "area.toml",
        "/rules/1/id",
        "rule id 'repeat-source-to-panel' is used twice",
        toml=[('id = "young-complainant"', 'id = "repeat-source-to-panel"')],
    ),
    # rules and guards: a value the answer can never hold (a misspelt choice) means the condition never holds
    Broken(
        "rule comparing a choice with a misspelt value",
        "area.toml",
        f"{WHEN}/case/properties/forms/properties/report/properties/kind",
        "compares 'kind' of form 'report' with \"musik\", which is not one of its choices",
        toml=[
            (
                R0,
                R0 + ", case = { properties = { forms = { properties = { report = { properties = "
                "{ kind = { const = 'musik' } } } } } } }",
            )
        ],
    ),
    Broken(
        "rule with a misspelt value among good ones (enum, inside not)",
        "area.toml",
        f"{WHEN}/case/properties/forms/properties/report/properties/kind",
        '"shoutin", which is not one of',
        toml=[
            (
                R0,
                R0 + ", case = { properties = { forms = { properties = { report = { properties = "
                "{ kind = { not = { enum = ['music', 'shoutin'] } } } } } } } }",
            )
        ],
    ),
    Broken(
        "rule comparing a number question with text",
        "area.toml",
        f"{WHEN}/case/properties/forms/properties/report/properties/nights",
        '"three", which is not a whole number, the type of the answer',
        toml=[
            (
                R0,
                R0 + ", case = { properties = { forms = { properties = { report = { properties = "
                "{ nights = { const = 'three' } } } } } } }",
            )
        ],
    ),
    Broken(
        "rule testing a risk level not declared",
        "area.toml",
        f"{WHEN}/case/properties/risk_level",
        "risk level 'hgh', which is not in /case/risk_levels",
        toml=[(R0, R0 + ', case = { properties = { risk_level = { const = "hgh" } } }')],
    ),
    Broken(
        "guard comparing a choice with a misspelt value",
        "area.toml",
        "/workflow/transitions/0/guards/0/when/properties/case/properties/forms/properties/visit/properties/risk_level",
        '"hihg", which is not one of its choices',
        toml=[
            (
                '{ form = "visit", message',
                "{ when = { properties = { case = { properties = { forms = { properties = "
                '{ visit = { properties = { risk_level = { const = "hihg" } } } } } } } } }, message',
            )
        ],
    ),
    Broken(
        "x-show-when on a value the question cannot hold",
        "report.schema.json",
        "/properties/details/x-show-when/in/0",
        '"musik" is not one of its choices',
        forms={
            "report": [
                (
                    '"x-widget": "textarea"',
                    '"x-widget": "textarea", "x-show-when": {"field": "kind", "in": ["musik"]}',
                )
            ]
        },
    ),
    # a question asked only for some answers of a more sensitive one tells those answers by being answered
    Broken(
        "x-show-when on a more sensitive question, the shown question left less sensitive",
        "visit.schema.json",
        "/properties/support_notes",
        "is shown only when 'health_impact' is answered [\"severe\"], so an answer here tells a reader that "
        '\'health_impact\' (special_category) holds one of those: mark it "x-sensitivity": "special_category" as '
        "well (it is sensitive)",
        forms={
            "visit": [
                (
                    '"x-sensitivity": "special_category"}',
                    '"x-sensitivity": "special_category", "enum": ["none", "severe"]}, "support_notes": '
                    '{"type": "string", "x-sensitivity": "sensitive", '
                    '"x-show-when": {"field": "health_impact", "in": ["severe"]}}',
                )
            ]
        },
    ),
    # hints the core reads in one place only: elsewhere they are refused, never silently ignored
    Broken(
        "x-summary on a nested question",
        "visit.schema.json",
        "/properties/address/properties/street/x-summary",
        "x-summary only works on a top-level question",
        forms={
            "visit": [
                (
                    '"health_impact": {',
                    '"address": {"type": "object", "properties": {"street": '
                    '{"type": "string", "x-summary": true}}}, "health_impact": {',
                )
            ]
        },
    ),
    Broken(
        "x-summary on a repeating group's item",
        "visit.schema.json",
        "/properties/calls/items/properties/when/x-summary",
        "x-summary only works on a top-level question",
        forms={
            "visit": [
                (
                    '"health_impact": {',
                    '"calls": {"type": "array", "items": {"type": "object", '
                    '"properties": {"when": {"type": "string", "x-summary": true}}}}, "health_impact": {',
                )
            ]
        },
    ),
    Broken(
        "x-fact on a question",
        "report.schema.json",
        "/properties/street/x-fact",
        "x-fact only works on the form itself",
        forms={"report": [('"x-summary": true', '"x-summary": true, "x-fact": false')]},
    ),
    # x-sensitivity where the sharing filter (properties and items only) would not see it: partners would read the
    # answer at the level of the question around it
    Broken(
        "x-sensitivity in a $defs the form refers to",
        "visit.schema.json",
        "/$defs/contact/properties/note/x-sensitivity",
        "x-sensitivity only works on the form, or a question reached from it through properties and items only",
        forms={
            "visit": [
                (
                    '"health_impact": {',
                    '"contact": {"$ref": "#/$defs/contact"}, "health_impact": {',
                ),
                (
                    '"properties": {',
                    '"$defs": {"contact": {"type": "object", "properties": {"note": '
                    '{"type": "string", "x-sensitivity": "special_category"}}}}, "properties": {',
                ),
            ]
        },
    ),
    Broken(
        "x-sensitivity in an allOf branch",
        "visit.schema.json",
        "/properties/contact/allOf/0/properties/note/x-sensitivity",
        "the sharing filter would not see it, and would share the answer at the level of the question around it",
        forms={
            "visit": [
                (
                    '"health_impact": {',
                    '"contact": {"type": "object", "allOf": [{"properties": {"note": '
                    '{"type": "string", "x-sensitivity": "sensitive"}}}]}, "health_impact": {',
                )
            ]
        },
    ),
    Broken(
        "x-sensitivity on additionalProperties",
        "visit.schema.json",
        "/properties/notes/additionalProperties/x-sensitivity",
        "x-sensitivity only works on the form, or a question reached from it through properties and items only",
        forms={
            "visit": [
                (
                    '"health_impact": {',
                    '"notes": {"type": "object", "additionalProperties": '
                    '{"type": "string", "x-sensitivity": "special_category"}}, "health_impact": {',
                )
            ]
        },
    ),
    # what would fail only when an answer is checked against the form (a 500 on opening a case): refused at load
    Broken(
        "a $ref to nothing in the form",
        "visit.schema.json",
        "/properties/contact/$ref",
        "refers to nothing in this file ('#/$defs/nope')",
        forms={"visit": [('"health_impact": {', '"contact": {"$ref": "#/$defs/nope"}, "health_impact": {')]},
    ),
    Broken(
        "a $ref to another address",
        "visit.schema.json",
        "/properties/contact/$ref",
        "refers to another file or address",
        forms={
            "visit": [('"health_impact": {', '"contact": {"$ref": "file:///etc/passwd"}, "health_impact": {')]
        },
    ),
    Broken(
        "a $ref loop",
        "visit.schema.json",
        "/$defs/a",
        "is a $ref loop that never reaches a smaller part of the answer (/$defs/a -> /$defs/b -> /$defs/b/allOf/0 -> /$defs/a)",
        forms={
            "visit": [
                ('"health_impact": {', '"contact": {"$ref": "#/$defs/a"}, "health_impact": {'),
                (
                    '"properties": {',
                    '"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}, "properties": {',
                ),
            ]
        },
    ),
    Broken(
        "$dynamicRef",
        "visit.schema.json",
        "/properties/contact/$dynamicRef",
        "is not supported: use $ref to #/$defs/name",
        forms={"visit": [('"health_impact": {', '"contact": {"$dynamicRef": "#meta"}, "health_impact": {')]},
    ),
    Broken(
        "an ECMA-only pattern",
        "visit.schema.json",
        "/properties/name/pattern",
        "is not a pattern Python can read",
        forms={
            "visit": [
                (
                    '"health_impact": {',
                    '"name": {"type": "string", "pattern": "^\\\\p{L}+$"}, "health_impact": {',
                )
            ]
        },
    ),
    Broken(
        "a form nested past any real form",
        "visit.schema.json",
        "",
        "is nested more than 100 levels deep",
        forms={
            "visit": [
                (
                    '"health_impact": {',
                    '"deep": '
                    + '{"type": "object", "properties": {"x": ' * 60
                    + '{"type": "string"}'
                    + "}}" * 60
                    + ', "health_impact": {',
                )
            ]
        },
    ),
    Broken(
        "a rule's condition with a $ref to nothing",
        "area.toml",
        "/rules/2/when/$ref",
        "refers to nothing in this file ('#/nope')",
        toml=[
            (
                "when = { properties = { counts = { properties = { same_street_90d = { minimum = 2 } } } } }",
                'when = { "$ref" = "#/nope", properties = { counts = { properties = { same_street_90d = { minimum = 2 } } } } }',
            )
        ],
    ),
    # rules and counts: what they point at
    Broken(
        "rule target area not installed",
        "area.toml",
        "/rules/2/then/area",
        "'parking' is not an installed area",
        toml=[('then = { agency_type = "police"', 'then = { area = "parking"')],
        cross=True,
    ),
    Broken(
        "unknown agency_type",
        "area.toml",
        "/rules/2/then/agency_type",
        "'wizards' is not a known agency type",
        toml=[('agency_type = "police"', 'agency_type = "wizards"')],
        cross=True,
    ),
    Broken(
        "count of an area not installed",
        "area.toml",
        "/counts/1/area",
        "'parking' is not an installed area",
        toml=[("window_days = 90", 'window_days = 90\narea = "parking"')],
        cross=True,
    ),
    Broken(
        "count role not of the area",
        "area.toml",
        "/counts/0/role",
        "'landlord' is not a role of this area",
        toml=[('role = "subject"', 'role = "landlord"')],
    ),
    Broken(
        "count grouped by a missing question",
        "area.toml",
        "/counts/1/by/field",
        "'/road' is not a question of form 'report'",
        toml=[('field = "/street"', 'field = "/road"')],
    ),
    # and rule 2 tests an undeclared one
    Broken(
        "duplicate count",
        "area.toml",
        "/counts/1/name",
        "count 'reports_180d' is declared twice",
        toml=[('name = "same_street_90d"', 'name = "reports_180d"')],
        count=2,
    ),
    # and the count and the rule naming 'subject' now name no role
    Broken(
        "duplicate role",
        "area.toml",
        "/roles/1/name",
        "role 'complainant' is declared twice",
        toml=[
            ('name = "subject"\nlabel = "Alleged source"', 'name = "complainant"\nlabel = "Alleged source"')
        ],
        count=3,
    ),
    # case risk
    Broken(
        "risk_from pointing at a missing question",
        "area.toml",
        "/case/risk_from/field",
        "'/danger' is not a question of form 'visit'",
        toml=[('field = "/risk_level"', 'field = "/danger"')],
    ),
    Broken(
        "risk_from naming a missing form",
        "area.toml",
        "/case/risk_from/form",
        "'inspection' is not a form",
        toml=[('risk_from = { form = "visit"', 'risk_from = { form = "inspection"')],
    ),
    # forms: what JSON Schema itself would silently accept, but a form could never work with
    Broken(
        "a form's required names no question",
        "forms/report.schema.json",
        "/required/1",
        "requires 'stret', which is not a question of this form, so it could never be sent; did you mean 'street'?",
        forms={
            "report": [
                ('"required": ["date_of_incident", "street"', '"required": ["date_of_incident", "stret"')
            ]
        },
    ),
    Broken(
        "a conditional requirement names no question",
        "forms/report.schema.json",
        "/then/required/0",
        "requires 'detail', which is not a question of this form",
        forms={
            "report": [
                (
                    '"additionalProperties": false,',
                    '"additionalProperties": false, "if": {"properties": {"kind": {"const": "dog"}}}, '
                    '"then": {"required": ["detail"]},',
                )
            ]
        },
    ),
    Broken(
        "a misspelt JSON Schema keyword in a form",
        "forms/report.schema.json",
        "/properties/street/minLenght",
        "unknown keyword 'minLenght'; did you mean 'minLength'?",
        forms={"report": [('"minLength": 1', '"minLenght": 1')]},
    ),
    Broken(
        "a misspelt required in a form",
        "forms/report.schema.json",
        "/requird",
        "unknown keyword 'requird'; did you mean 'required'?",
        forms={"report": [('"required":', '"requird":')]},
    ),
    Broken(
        "a format answers are not checked against",
        "forms/report.schema.json",
        "/properties/date_of_incident/format",
        "'dat' is not a format answers are checked against; did you mean 'date'?",
        forms={"report": [('"format": "date"', '"format": "dat"')]},
    ),
    Broken(
        "a type JSON Schema does not know, on a question an x-show-when names",
        "forms/report.schema.json",
        "/properties/nights/type",
        "'int' is not a JSON Schema type; did you mean 'integer'?",
        forms={
            "report": [
                ('"type": "integer", "minimum": 0', '"type": "int", "minimum": 0'),
                ('"x-hint": "Say what', '"x-show-when": {"field": "nights", "in": [7]}, "x-hint": "Say what'),
            ]
        },
    ),
    Broken(
        "labels for an enum that is not a list",
        "forms/report.schema.json",
        "/properties/kind/enum",
        "not a valid JSON Schema: 'music' is not of type 'array'",
        forms={"report": [('"enum": ["music", "dog", "shouting"]', '"enum": "music"')]},
    ),
    Broken(
        "a JSON pointer without its slash",
        "area.toml",
        "/case/risk_from/field",
        "'risk_level' must be a JSON pointer to a question, starting with / (e.g. /served_on)",
        toml=[('field = "/risk_level"', 'field = "risk_level"')],
    ),
    Broken(
        # the risk level is on every partner's case list, page, pack and API: from a special-category question it
        # would hand a partner under an official agreement the answer itself (found by a hostile review)
        "risk_from a question above official",
        "area.toml",
        "/case/risk_from/field",
        "'/health_impact' is 'special_category' (x-sensitivity): the case's risk level is shown to every agency",
        toml=[('field = "/risk_level"', 'field = "/health_impact"')],
    ),
    Broken(
        # the same answer when the form holding it is marked as a whole (x-sensitivity on the form itself hides
        # every question in it from a partner below that level, 4439624): the check started below the form
        "risk_from a question of a form above official",
        "area.toml",
        "/case/risk_from/field",
        "'/risk_level' is 'special_category' (x-sensitivity): the case's risk level is shown to every agency",
        forms={"visit": [('"title": "Visit",', '"title": "Visit", "x-sensitivity": "special_category",')]},
    ),
    Broken(
        "risk_from answers not risk levels",
        "area.toml",
        "/case/risk_from/field",
        "answers ['medium'] are not in /case/risk_levels",
        toml=[('risk_levels = ["standard", "medium", "high"]', 'risk_levels = ["standard", "high"]')],
    ),
]


def _apply_special(case: Broken) -> list[tuple[str, str]]:
    toml = []
    for old, new in case.toml:
        if old == "__workflow__":  # remove the whole [workflow] table and its states and transitions
            text = (NOISE / "area.toml").read_text(encoding="utf-8")
            start, end = text.index("[workflow]"), text.index("[[counts]]")
            toml.append((text[start:end], new))
        else:
            toml.append((old, new))
    return toml


@pytest.mark.parametrize("case", GALLERY, ids=[c.id for c in GALLERY])
def test_broken_area_is_rejected_with_file_pointer_and_reason(tmp_path, case: Broken):
    area = make_area(tmp_path, toml=_apply_special(case), forms=case.forms, raw=case.raw)
    if case.cross:
        load_area(area)  # fine on its own: only checking it with the others finds the problem
        problems = check_paths([area])
    else:
        problems = load_problems(area)
        assert check_paths([area]) == problems  # `caseframe areas check` reports the same
    matching = [
        p
        for p in problems
        if p.file.endswith(case.file) and p.pointer == case.pointer and case.reason in p.reason
    ]
    assert matching, f"expected {case.file} {case.pointer!r}: ...{case.reason}...; got\n{listing(problems)}"
    assert len(problems) == case.count, (
        f"breaking one thing reported {len(problems)} problems:\n{listing(problems)}"
    )
    assert all(Path(p.file).is_absolute() or p.file.startswith(str(tmp_path)) for p in problems)


def test_gallery_ids_are_unique():
    assert len({c.id for c in GALLERY}) == len(GALLERY)


def test_x_keys_inside_answers_are_data_not_hints(tmp_path):
    area = make_area(
        tmp_path,
        forms={
            "report": [
                (
                    '"x-widget": "textarea"',
                    '"x-widget": "textarea", "default": {"x-note": 1}, "examples": [{"x-a": 2}]',
                )
            ]
        },
    )
    assert load_area(area).forms["report"].schema["properties"]["details"]["default"] == {"x-note": 1}


def test_x_sensitivity_beside_a_ref_and_on_a_lists_items_is_where_the_filter_reads_it(tmp_path):
    """The places the loader allows are the places the sharing filter follows: a question that uses a $ref is
    marked beside it, and a repeating group's items are marked on ``items``; a partner below the level reads
    neither."""
    from caseframe.core.sharing.policy import Access, filter_answers

    area = make_area(
        tmp_path,
        forms={
            "visit": [
                (
                    '"health_impact": {',
                    '"contact": {"$ref": "#/$defs/contact", "x-sensitivity": "sensitive"}, '
                    '"carers": {"type": "array", "items": {"type": "string", "x-sensitivity": "special_category"}}, '
                    '"health_impact": {',
                ),
                ('"properties": {', '"$defs": {"contact": {"type": "object"}}, "properties": {'),
            ]
        },
    )
    assert check_paths([area]) == []
    schema = load_area(area).forms["visit"].schema
    answers = {"contact": {"note": "lives with a carer"}, "carers": ["Ann"], "visited_on": "2026-12-01"}
    shown = filter_answers(answers, schema, Access(kind="share", max_sensitivity="official"))
    assert "contact" not in shown and shown.get("carers") == []


def test_a_question_shown_by_a_sensitive_one_loads_once_as_sensitive_or_inside_a_group_that_is(tmp_path):
    """The check reads the level a question has where it sits: marked itself, or inside a group marked at the
    level of the question that shows it."""
    shown = (
        '"x-sensitivity": "special_category"}',
        '"x-sensitivity": "special_category", "enum": ["none", "severe"]}, "support_notes": '
        '{"type": "string", "x-sensitivity": "special_category", '
        '"x-show-when": {"field": "health_impact", "in": ["severe"]}}',
    )
    grouped = (
        '"health_impact": {',
        '"support": {"type": "object", "x-sensitivity": "sensitive", "properties": {"need": {"type": "string", '
        '"enum": ["none", "some"], "x-sensitivity": "sensitive"}, "detail": {"type": "string", '
        '"x-show-when": {"field": "need", "in": ["some"]}}}}, "health_impact": {',
    )
    for i, edit in enumerate((shown, grouped)):
        assert check_paths([make_area(tmp_path / str(i), forms={"visit": [edit]})]) == []


def test_a_problem_reads_as_file_pointer_and_reason(tmp_path):
    area = make_area(tmp_path, toml=[('initial = "open"', 'initial = "new"')])
    (problem,) = load_problems(area)
    assert str(problem) == f"{area / 'area.toml'}#/workflow/initial: 'new' is not a state"


def test_every_problem_in_an_area_is_reported_together(tmp_path):
    area = make_area(
        tmp_path,
        toml=[
            ('initial = "open"', 'initial = "new"'),
            ('role = "subject"', 'role = "landlord"'),
            ('id = "young-complainant"', 'id = "repeat-source-to-panel"'),
        ],
        forms={
            "report": [('"x-summary": true', '"x-colour": "red"')],
            "visit": [('"Standard", "Medium", "High"', '"Standard"')],
        },
    )
    problems = load_problems(area)
    found = {(Path(p.file).name, p.pointer) for p in problems}
    assert found == {
        ("area.toml", "/workflow/initial"),
        ("area.toml", "/counts/0/role"),
        ("area.toml", "/rules/1/id"),
        ("report.schema.json", "/properties/street/x-colour"),
        ("visit.schema.json", "/properties/risk_level/x-labels"),
    }, listing(problems)


def test_every_stage_reports_in_one_run(tmp_path):
    # a meta-schema problem no longer hides the forms', the workflow's, the rules' and the cross-area ones
    area = make_area(
        tmp_path,
        toml=[
            ('version = "1.0.0"', 'version = "1.0.0"\ncolour = "red"'),
            ('initial = "open"', 'initial = "new"'),
            ('role = { const = "subject" }', 'role = { const = "landlord" }'),
            ('agency_type = "police"', 'agency_type = "wizards"'),
        ],
        forms={"report": [('"x-summary": true', '"x-colour": "red"')]},
    )
    problems = check_paths([area])
    found = {(Path(p.file).name, p.pointer) for p in problems}
    assert found == {
        ("area.toml", "/colour"),
        ("report.schema.json", "/properties/street/x-colour"),
        ("area.toml", "/workflow/initial"),
        ("area.toml", f"{WHEN}/subject/properties/role"),
        ("area.toml", "/rules/2/then/agency_type"),
    }, listing(problems)
    with pytest.raises(
        AreaError
    ) as exc:  # start-up lists the same (all but the cross-area one, for one area)
        load_area(area)
    assert {(Path(p.file).name, p.pointer) for p in exc.value.problems} == found - {
        ("area.toml", "/rules/2/then/agency_type")
    }


def test_a_malformed_table_stops_only_the_checks_that_need_it(tmp_path):
    # a state without a label cannot be compiled; the forms' problems and the meta-schema's are still listed
    area = make_area(
        tmp_path,
        toml=[('label = "Open"\n', "")],
        forms={"report": [('"x-summary": true', '"x-colour": "red"')]},
    )
    problems = check_paths([area])
    assert {(Path(p.file).name, p.pointer) for p in problems} == {
        ("area.toml", "/workflow/states/0"),
        ("report.schema.json", "/properties/street/x-colour"),
    }, listing(problems)


def test_start_up_lists_every_stage_and_the_cross_area_problems_of_a_broken_area(tmp_path):
    area = make_area(
        tmp_path,
        toml=[('agency_type = "police"', 'agency_type = "wizards"')],
        forms={"report": [('"x-summary": true', '"x-colour": "red"')]},
    )

    class Plugin:
        @hookimpl
        def register_areas(self):
            return [area]

    with pytest.raises(AreaError) as exc:
        make_context(Plugin())
    assert {(Path(p.file).name, p.pointer) for p in exc.value.problems} == {
        ("report.schema.json", "/properties/street/x-colour"),
        ("area.toml", "/rules/2/then/agency_type"),
    }


def test_every_meta_schema_problem_is_reported_together(tmp_path):
    area = make_area(
        tmp_path,
        toml=[
            ('slug = "noise"', 'slug = "Noise"'),
            ('version = "1.0.0"', 'version = "one"'),
            ('label = "Open"', 'label = ""'),
        ],
    )
    assert [p.pointer for p in load_problems(area)] == ["/slug", "/version", "/workflow/states/0/label"]


def test_meta_schema_problems_are_listed_in_document_order(tmp_path):
    # array indexes sort as numbers: /rules/2 before /rules/10
    rules = "".join(
        f'\n[[rules]]\nid = "r{i}"\non = ["case_created"]\nwhen = {{}}\n'
        f'then = {{ panel = "{"BAD" if i in (2, 10) else "ok"}", reason = "x" }}\n'
        for i in range(11)
    )
    area = make_area(
        tmp_path,
        toml=[
            (
                '[[rules]]\nid = "repeat-source-to-panel"',
                rules.lstrip() + '\n[[rules]]\nid = "repeat-source-to-panel"',
            )
        ],
    )
    assert [p.pointer for p in load_problems(area)] == ["/rules/2/then/panel", "/rules/10/then/panel"]


# -- areas checked together: folders, plugins, duplicates ------------------------------------


def test_check_paths_on_a_folder_of_areas(tmp_path):
    make_area(tmp_path, slug="noise_a", prefix="NOA")
    # refers into noise_a
    make_area(
        tmp_path,
        slug="noise_b",
        prefix="NOB",
        toml=[('then = { agency_type = "police"', 'then = { area = "noise_a"')],
    )
    assert check_paths([tmp_path]) == []
    bad = make_area(tmp_path, slug="noise_c", prefix="NOC", toml=[('to = "visited"', 'to = "open"')])
    problems = check_paths([tmp_path])
    assert [(p.file, p.pointer) for p in problems] == [(str(bad / "area.toml"), "/workflow/states/1")], (
        listing(problems)
    )


def test_check_paths_on_a_folder_with_no_areas(tmp_path):
    (problem,) = check_paths([tmp_path])
    assert problem.file == str(tmp_path) and "holds no area.toml" in problem.reason


def test_check_paths_on_a_missing_directory(tmp_path):
    (problem,) = check_paths([tmp_path / "nowhere"])
    assert problem.file == str(tmp_path / "nowhere") and problem.reason == "is not a directory"


def test_check_paths_reports_problems_of_every_area(tmp_path):
    one = make_area(tmp_path, slug="noise_a", prefix="NOA", toml=[('initial = "open"', 'initial = "new"')])
    two = make_area(tmp_path, slug="noise_b", prefix="NOB", raw={"visit": "{"})
    problems = check_paths([one, two])
    assert {(Path(p.file).parent.name, Path(p.file).name) for p in problems} == {
        ("noise_a", "area.toml"),
        ("forms", "visit.schema.json"),
    }, listing(problems)


def test_duplicate_slugs_across_two_areas_in_check_paths(tmp_path):
    first = make_area(tmp_path / "one")
    second = make_area(tmp_path / "two", prefix="NOX")
    problems = check_paths([first, second])
    assert [(p.file, p.pointer) for p in problems] == [(str(second / "area.toml"), "/slug")], listing(
        problems
    )
    assert "area 'noise' is also defined in" in problems[0].reason and str(first) in problems[0].reason


def _plugin(*directories: Path):
    class Areas:
        @hookimpl
        def register_areas(self):
            return list(directories)

    return Areas()


def test_duplicate_slugs_across_two_plugins_stop_start_up(tmp_path):
    first = make_area(tmp_path / "one")
    second = make_area(tmp_path / "two", prefix="NOX")
    with pytest.raises(AreaError) as exc:
        make_context(_plugin(first), _plugin(second))
    assert [(p.file, p.pointer) for p in exc.value.problems] == [(str(second / "area.toml"), "/slug")]
    assert "also defined in" in exc.value.problems[0].reason


def test_duplicate_reference_prefixes_stop_start_up(tmp_path):
    first = make_area(tmp_path, slug="noise_a")
    second = make_area(tmp_path, slug="noise_b")
    with pytest.raises(AreaError) as exc:
        make_context(_plugin(first, second))
    (problem,) = exc.value.problems
    assert (
        problem.pointer == "/reference_prefix" and "'NOI' is already used by area 'noise_a'" in problem.reason
    )


def test_start_up_lists_the_problems_of_every_plugin(tmp_path):
    one = make_area(tmp_path, slug="noise_a", prefix="NOA", toml=[('initial = "open"', 'initial = "new"')])
    two = make_area(
        tmp_path, slug="noise_b", prefix="NOB", toml=[('agency_type = "police"', 'agency_type = "wizards"')]
    )
    pm = get_plugin_manager("", builtins=False, entrypoints=False)
    pm.register(_plugin(one))
    pm.register(_plugin(two))
    with pytest.raises(AreaError) as exc:
        build_registry(pm)
    assert [(Path(p.file).parent.name, p.pointer) for p in exc.value.problems] == [
        ("noise_a", "/workflow/initial"),
        ("noise_b", "/rules/2/then/agency_type"),
    ]
    assert re.search(r"noise_a/area\.toml#/workflow/initial: 'new' is not a state", str(exc.value))


def test_a_plugin_may_add_the_agency_type_a_rule_targets(tmp_path):
    area = make_area(tmp_path, toml=[('agency_type = "police"', 'agency_type = "wizards"')])

    class Wizards:
        @hookimpl
        def agency_types(self):
            return [{"name": "wizards", "label": "Wizards"}]

    ctx = make_context(_plugin(area), Wizards())
    assert ctx.areas.agency_types["wizards"] == "Wizards"


def test_a_failing_register_areas_hook_is_reported_by_plugin_name():
    class Failing:
        @hookimpl
        def register_areas(self):
            raise RuntimeError("no such folder")

    pm = get_plugin_manager("", builtins=False, entrypoints=False)
    pm.register(Failing(), name="broken-plugin")
    with pytest.raises(AreaError) as exc:
        build_registry(pm)
    (problem,) = exc.value.problems
    assert (
        problem.file == "plugin broken-plugin" and "register_areas() failed: no such folder" in problem.reason
    )


# -- messages for people: Form.errors ----------------------------------------------------------

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    # required deliberately not in question order: errors still come out in question order
    "required": ["address", "nights", "kind", "when", "noisy_now"],
    "properties": {
        "when": {
            "title": "Date of the incident",
            "type": "string",
            "format": "date",
            "x-errors": {"required": "Enter the date of the incident"},
        },
        "kind": {"title": "Kind of noise", "type": "string", "enum": ["music", "dog"]},
        "nights": {"title": "Nights affected", "type": "integer", "minimum": 0, "maximum": 7},
        "noisy_now": {"title": "Is it noisy now?", "type": "boolean"},
        "sources": {"title": "Sources", "type": "array", "items": {"enum": ["home", "pub"]}, "minItems": 1},
        "note": {
            "title": "Note",
            "type": "string",
            "maxLength": 5,
            "x-errors": {"maxLength": "Keep the note short"},
        },
        "address": {
            "title": "Address",
            "type": "object",
            "required": ["line_1", "postcode"],
            "properties": {
                "line_1": {"title": "Building and street", "type": "string", "minLength": 1},
                "postcode": {
                    "title": "Postcode",
                    "type": "string",
                    "x-errors": {"required": "Enter a postcode"},
                },
            },
        },
        "witnesses": {
            "title": "Witnesses",
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"title": "Full name", "type": "string"}},
            },
        },
        "other": {"title": "Other details", "type": "string"},
    },
    "if": {"required": ["kind"], "properties": {"kind": {"const": "dog"}}},
    "then": {"required": ["other"]},
}

VALID = {
    "when": "2026-03-01",
    "kind": "music",
    "nights": 2,
    "noisy_now": False,
    "address": {"line_1": "1 High Street", "postcode": "AB1 2CD"},
}


@pytest.fixture(scope="module")
def form():
    return compile_form("t", SCHEMA, Path("t.schema.json"))


def pairs(form, answers):
    return [(e.field, e.message) for e in form.errors(answers)]


def test_valid_answers_have_no_errors(form):
    assert form.errors(VALID) == [] and form.is_valid(VALID)
    assert (
        form.errors({**VALID, "sources": ["home", "pub"], "witnesses": [{"name": "A"}], "note": "ok"}) == []
    )


def test_required_answers_in_question_order_with_custom_messages(form):
    assert pairs(form, {}) == [
        ("/when", "Enter the date of the incident"),  # x-errors
        ("/kind", "Select kind of noise"),  # a choice is selected, not entered
        ("/nights", "Enter nights affected"),
        ("/noisy_now", "Select yes or no for \u2018Is it noisy now\u2019"),
        ("/address", "Enter address"),
    ]


def test_enum_date_number_and_range_messages(form):
    assert pairs(form, {**VALID, "kind": "banjo"}) == [("/kind", "Select kind of noise from the list")]
    assert pairs(form, {**VALID, "when": "2026-02-30"}) == [
        ("/when", "Date of the incident must be a real date")
    ]
    assert pairs(form, {**VALID, "when": "1st March"}) == [
        ("/when", "Date of the incident must be a real date")
    ]
    assert pairs(form, {**VALID, "nights": "three"}) == [("/nights", "Nights affected must be a number")]
    assert pairs(form, {**VALID, "nights": 2.5}) == [("/nights", "Nights affected must be a number")]
    assert pairs(form, {**VALID, "nights": 9}) == [("/nights", "Nights affected must be 7 or less")]
    assert pairs(form, {**VALID, "nights": -1}) == [("/nights", "Nights affected must be 0 or more")]
    assert pairs(form, {**VALID, "noisy_now": "yes"}) == [
        ("/noisy_now", "Select yes or no for \u2018Is it noisy now\u2019")
    ]
    assert pairs(form, {**VALID, "note": "far too long"}) == [("/note", "Keep the note short")]


def test_nested_object_fields_have_their_own_pointer(form):
    assert pairs(form, {**VALID, "address": {}}) == [
        ("/address/line_1", "Enter building and street"),
        ("/address/postcode", "Enter a postcode"),
    ]
    assert pairs(form, {**VALID, "address": {"line_1": "", "postcode": "AB1"}}) == [
        ("/address/line_1", "Enter building and street")
    ]


def test_a_wrong_choice_in_checkboxes_belongs_to_the_question(form):
    # the page shows errors against /sources, the question, not /sources/1
    assert pairs(form, {**VALID, "sources": ["home", "garage"]}) == [
        ("/sources", "Select sources from the list")
    ]
    assert pairs(form, {**VALID, "sources": []}) == [("/sources", "Select sources")]


def test_repeating_groups_keep_the_item_pointer_and_question_order(form):
    answers = {**VALID, "nights": 9, "witnesses": [{"name": "A"}, {}, {}], "address": {"line_1": "x"}}
    assert pairs(form, answers) == [
        ("/nights", "Nights affected must be 7 or less"),
        ("/address/postcode", "Enter a postcode"),
        ("/witnesses/1/name", "Enter full name"),
        ("/witnesses/2/name", "Enter full name"),
    ]


def test_conditional_requirements_and_unknown_answers(form):
    assert pairs(form, {**VALID, "kind": "dog"}) == [("/other", "Enter other details")]
    assert pairs(form, {**VALID, "colour": "red"}) == [("", "Remove the answers this form does not ask for")]


def test_many_errors_come_out_in_question_order(form):
    answers = {
        "address": {"line_1": "x"},
        "note": "far too long",
        "nights": 10,
        "kind": "banjo",
        "when": "2026-13-01",
        "noisy_now": True,
    }
    assert [f for f, _ in pairs(form, answers)] == ["/when", "/kind", "/nights", "/note", "/address/postcode"]


def test_the_noise_report_messages():
    report = load_area(NOISE).forms["report"]
    assert pairs(report, {}) == [
        ("/date_of_incident", "Enter the date of the incident"),
        ("/street", "Enter street"),
        ("/kind", "Select kind of noise"),
    ]
    assert pairs(
        report, {"date_of_incident": "2026-02-29", "street": "Elm Row", "kind": "dog", "nights": 8}
    ) == [
        ("/date_of_incident", "Date of the incident must be a real date"),
        ("/nights", "Nights affected in the last week must be 7 or less"),
    ]


# -- mistakes in a plugin's Python: a clear problem naming the plugin, never a traceback --------


def _refused(plugin: object) -> list[Problem]:
    pm = get_plugin_manager("", builtins=False, entrypoints=False)
    with pytest.raises(AreaError) as exc:
        from caseframe.core.plugins import register

        register(pm, plugin, "my-plugin")
        build_registry(pm)
    return exc.value.problems


def test_a_misspelt_hook_is_refused_with_the_hook_it_meant():
    class Misspelt:
        @hookimpl
        def validate_cases(self, area, form, data, case):
            return None

    (problem,) = _refused(Misspelt())
    assert problem.file == "plugin my-plugin"
    assert "validate_cases() is marked @hookimpl, but Caseframe has no hook called 'validate_cases'" in (
        problem.reason
    )
    assert "did you mean 'validate_case'?" in problem.reason


def test_a_hook_of_a_later_caseframe_may_be_optional():
    class Later:
        @hookimpl(optionalhook=True)
        def a_hook_of_the_future(self):
            return None

    assert make_context(Later()).areas.areas == {}


def test_a_hook_argument_the_hook_does_not_give_is_refused_with_those_it_does():
    class WrongName:
        @hookimpl
        def validate_case(self, area, form, answers, case):
            return None

    (problem,) = _refused(WrongName())
    assert problem.reason == (
        "validate_case() takes 'answers', which the hook does not give; it is given area, form, data, case "
        "(name those you need, spelt so)"
    )


@pytest.mark.parametrize(
    "returned, pointer, reason",
    [
        ("/some/area", "", "register_areas() must return a list of area directories"),
        ([NOISE, 3], "/1", "register_areas() item 1 must be a directory (a Path), not int"),
    ],
)
def test_register_areas_returning_something_else_is_one_problem(returned, pointer, reason):
    class Odd:
        @hookimpl
        def register_areas(self):
            return returned

    problems = _refused(Odd())
    assert [(p.file, p.pointer) for p in problems] == [("plugin my-plugin", pointer)]
    assert reason in problems[0].reason


@pytest.mark.parametrize(
    "returned, pointer, reason",
    [
        ({"name": "wizards", "label": "Wizards"}, "", "agency_types() must return a list of"),
        ([{"name": "wizards"}], "/0", 'agency_types() item 0 must be {"name": "...", "label": "..."}'),
    ],
)
def test_agency_types_of_the_wrong_shape_are_one_problem(returned, pointer, reason):
    class Odd:
        @hookimpl
        def agency_types(self):
            return returned

    problems = _refused(Odd())
    assert [(p.file, p.pointer) for p in problems] == [("plugin my-plugin", pointer)]
    assert reason in problems[0].reason


def test_a_document_found_valid_is_not_checked_again_and_a_changed_one_is(tmp_path):
    """Loading an area checks its files against the meta-schemas once a process (schemas.errors): every test's
    context loads the same areas. The memory is of a document's whole JSON text, so the same area broken in one
    place is checked in full and refused, however often its valid twin loaded before."""
    from caseframe.core import schemas

    meta = schemas.draft_meta_validator()
    good = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert schemas.errors(meta, good) == [] and schemas.errors(meta, good) == []
    bad = {"type": "object", "properties": {"n": {"type": "integr"}}}
    assert schemas.errors(meta, bad) and schemas.errors(meta, bad)  # never remembered
    assert schemas.errors(meta, {**good, "minProperties": -1})  # the valid one, changed
    for _ in range(2):
        load_area(NOISE)
    broken = tmp_path / "noise"
    shutil.copytree(NOISE, broken)
    form = next((broken / "forms").glob("*.schema.json"))
    form.write_text(form.read_text().replace('"type": "object"', '"type": "objekt"', 1))
    with pytest.raises(AreaError) as refused:
        load_area(broken)
    assert "objekt" in str(refused.value)
