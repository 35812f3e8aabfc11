"""Load an area directory (area.toml + forms/) into a checked, compiled Area, or list what is wrong."""

from __future__ import annotations

import difflib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from caseframe.core import schemas
from caseframe.core.agencies.types import CORE_PERSON_FLAGS, PersonFlag
from caseframe.core.errors import AreaError, Problem
from caseframe.core.forms.validation import Form, compile_form, subschema_at
from caseframe.core.referrals.engine import Count, Rule, Target
from caseframe.core.sensitivity import SENSITIVITY, sensitivity_rank
from caseframe.core.workflows.dates import DaysSince
from caseframe.core.workflows.engine import DEFAULT_TRANSITION_ROLES, Guard, State, Transition, Workflow

#: What a rule's ``when`` may test under ``case``; anything else is a typo the author should hear about.
CASE_FACTS = {"reference", "state", "risk_level", "days_open", "forms", "agency_type", "area"}
SUBJECT_FACTS = {"role", "age", "gender", "flags"}
TOP_FACTS = {"event", "area", "case", "subject", "counts", "extra"}


@dataclass(frozen=True)
class Retention:
    """How long an area's cases are kept before review (area.toml ``[retention]``), and the bounds a local
    admin may move it within for their agency."""

    years_after_closure: int
    years_after_last_activity: int
    min_years: int
    max_years: int
    basis: str = ""


@dataclass
class Area:
    """One business area, loaded, checked and compiled; shared read-only by every request."""

    slug: str
    title: str
    summary: str
    version: str
    reference_prefix: str
    path: Path
    source: str
    roles: dict[str, str]
    forms: dict[str, Form]
    opening_form: str
    risk_levels: list[str]
    risk_from: tuple[str, str] | None
    workflow: Workflow
    counts: list[Count]
    rules: list[Rule]
    agency_types: dict[str, str] = field(default_factory=dict)
    identifier_types: dict[str, str] = field(default_factory=dict)
    #: warning markers the area declares for a person's record (area.toml person_flags), by name
    person_flags: dict[str, PersonFlag] = field(default_factory=dict)
    #: None: the area declares no retention, so its cases are never due for review
    retention: Retention | None = None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def as_dict(self, *, with_schemas: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "slug": self.slug,
            "title": self.title,
            "summary": self.summary,
            "version": self.version,
            "source": self.source,
            "reference_prefix": self.reference_prefix,
            "roles": [{"name": k, "label": v} for k, v in self.roles.items()],
            "opening_form": self.opening_form,
            "forms": [{"name": f.name, "title": f.title} for f in self.forms.values()],
            "risk_levels": self.risk_levels,
            "workflow": {
                "initial": self.workflow.initial,
                "states": [
                    {"name": s.name, "label": s.label, "terminal": s.terminal}
                    for s in self.workflow.states.values()
                ],
                "transitions": [
                    {
                        "name": t.name,
                        "label": t.label,
                        "from": list(t.sources),
                        "to": t.target,
                        "roles": list(t.roles),
                    }
                    for t in self.workflow.transitions.values()
                ],
            },
            "rules": [
                {
                    "id": r.id,
                    "on": sorted(r.on),
                    "target": {"kind": r.target.kind, "name": r.target.name},
                    "reason": r.reason,
                }
                for r in self.rules
            ],
        }
        if with_schemas:
            for entry in data["forms"]:
                entry["schema"] = self.forms[entry["name"]].schema
        return data


class _Collector:
    def __init__(self, file: Path):
        self.file = str(file)
        self.problems: list[Problem] = []

    def add(self, pointer: str, reason: str, file: Path | str | None = None) -> None:
        self.problems.append(Problem(str(file) if file else self.file, pointer, reason))


def _ptr(parts) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _path_key(path) -> list[tuple[int, int, str]]:
    """Sort key for a JSON path: array indexes in numeric order (/rules/2 before /rules/10)."""
    return [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in path]


_TYPE_WORDS = {
    "object": "a table",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
}


_JSON_TYPES = {*_TYPE_WORDS, "null"}


def _branch_words(branch: Any) -> str:
    if isinstance(branch, dict):
        if "const" in branch:
            return json.dumps(branch["const"])
        if isinstance(branch.get("enum"), list):
            return " or ".join(json.dumps(v) for v in branch["enum"])
        if isinstance(branch.get("type"), str):
            return _TYPE_WORDS.get(branch["type"], branch["type"])
    return "a value of another shape"


def _explain(error) -> list[tuple[list[Any], str]]:
    """(path, reason) pairs for one meta-schema error, in words for an area author."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        # one problem per unknown key, pointing at the key itself
        known = list(error.schema.get("properties") or {})
        patterns = list(error.schema.get("patternProperties") or {})
        out = []
        for key in error.instance:
            if key in known or any(re.search(p, key) for p in patterns):
                continue
            reason = f"unknown key {key!r}"
            close = difflib.get_close_matches(key, known, n=1)
            if close:
                reason += f"; did you mean {close[0]!r}?"
            elif known:
                reason += "; allowed here: " + ", ".join(known)
            out.append((path + [key], reason))
        if out:
            return out
    if error.validator in ("oneOf", "anyOf") and isinstance(error.validator_value, list):
        branches = error.validator_value
        if (
            isinstance(error.instance, dict)
            and branches
            and all(isinstance(b, dict) and set(b) == {"required"} for b in branches)
        ):
            # e.g. a rule's then: exactly one of area, agency_type, panel
            names = sorted(k for b in branches for k in b["required"])
            return [(path, f"needs exactly one of: {', '.join(names)}")]
        if error.context:
            # the branch of the right shape failed inside: report what is wrong within it
            inner = [e for e in error.context if e.validator not in ("const", "enum", "type")]
            if inner:
                return [
                    pair
                    for e in sorted(inner, key=lambda e: _path_key(e.absolute_path))
                    for pair in _explain(e)
                ]
            return [(path, "must be " + " or ".join(_branch_words(b) for b in branches))]
    if error.validator == "pattern" and error.validator_value in _PATTERN_WORDS:
        return [(path, f"{error.instance!r} {_PATTERN_WORDS[error.validator_value]}")]
    return [(path, error.message)]


#: the meta-schemas' patterns, said in words (else an author reads a regular expression)
_PATTERN_WORDS = {
    "^[a-z][a-z0-9_]{1,39}$": "must be 2 to 40 lower-case letters, digits and underscores, starting with a "
    "letter (e.g. noise_nuisance)",
    "^[0-9]+\\.[0-9]+\\.[0-9]+": "must be a version such as 1.0.0",
    "^[A-Z]{2,6}$": "must be 2 to 6 capital letters (e.g. NOI)",
    "^[a-z][a-z0-9_]*$": "must be lower-case letters, digits and underscores, starting with a letter",
    "^(/[^/]+)+$": "must be a JSON pointer to a question, starting with / (e.g. /served_on)",
    "^[a-z0-9][a-z0-9-]*$": "must be lower-case letters, digits and hyphens (e.g. complex-case-panel)",
    "\\S": "must not be blank",
}


def _schema_errors(
    validator: Draft202012Validator, doc: Any, col: _Collector, file: Path, prefix: str = ""
) -> bool:
    ok = True
    for error in sorted(schemas.errors(validator, doc), key=lambda e: _path_key(e.absolute_path)):
        ok = False
        for path, reason in _explain(error):
            col.add(prefix + _ptr(path), reason, file)
    return ok


#: keywords whose values are answers, not schemas: an "x-" key inside them is data, not a hint
_DATA_KEYWORDS = {"const", "enum", "default", "examples", "required", "dependentRequired"}


#: hints the core reads only in one place: anywhere else they would be silently ignored, so they are refused
def _filtered_place(parts: list[Any]) -> bool:
    """Whether the sharing filter reaches this place of a form: the form itself, or a question reached from it
    through ``properties`` and ``items`` only (core/sharing/policy.py follows no other keyword)."""
    i = 0
    while i < len(parts):
        if parts[i] == "properties" and i + 1 < len(parts):
            i += 2
        elif parts[i] == "items":
            i += 1
        else:
            return False
    return True


_HINT_PLACES = {
    "x-sensitivity": (
        "the form, or a question reached from it through properties and items only (not under $defs, allOf, anyOf, "
        "oneOf, if/then/else, additionalProperties, patternProperties or a list of items: mark the question that "
        "uses a $ref beside the $ref, or write the question out in place)",
        _filtered_place,
        "the sharing filter would not see it, and would share the answer at the level of the question around it",
    ),
    "x-summary": (
        "a top-level question (the case summary lists top-level answers only)",
        lambda parts: len(parts) == 2 and parts[0] == "properties",
        "it would be ignored",
    ),
    "x-fact": (
        "the form itself (it keeps a whole form's answers out of the facts rules see)",
        lambda parts: parts == [],
        "it would be ignored",
    ),
}


def _check_hints(
    node: Any, parts: list[Any], col: _Collector, file: Path, siblings: dict | None = None
) -> None:
    """Every x- keyword must be a known hint with a valid value, in a place the core reads it."""
    if isinstance(node, dict):
        hints = {k: v for k, v in node.items() if isinstance(k, str) and k.startswith("x-")}
        for key, (place, allowed, otherwise) in _HINT_PLACES.items():
            if key in hints and not allowed(parts):
                col.add(_ptr(parts + [key]), f"{key} only works on {place}; here {otherwise}", file)
        if hints:
            _check_hint_values(node, hints, parts, col, file, siblings)
        for key, value in node.items():
            if key in ("properties", "$defs", "patternProperties", "dependentSchemas") and isinstance(
                value, dict
            ):
                for name, sub in value.items():
                    _check_hints(
                        sub, parts + [key, name], col, file, siblings=value if key == "properties" else None
                    )
            elif isinstance(value, (dict, list)) and not key.startswith("x-") and key not in _DATA_KEYWORDS:
                _check_hints(value, parts + [key], col, file)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _check_hints(item, parts + [i], col, file)


def _check_hint_values(
    node: dict, hints: dict[str, Any], parts: list[Any], col: _Collector, file: Path, siblings: dict | None
) -> None:
    """The hints of one schema node: known names, valid values, labels for each choice, a show-when that can hold."""
    for error in schemas.errors(schemas.validator("form-hints.schema.json"), hints):
        if error.validator == "additionalProperties":
            for key in hints:
                if key not in schemas.load("form-hints.schema.json")["properties"]:
                    col.add(
                        _ptr(parts + [key]),
                        f"unknown hint {key!r}; known hints are "
                        + ", ".join(schemas.load("form-hints.schema.json")["properties"]),
                        file,
                    )
        else:
            col.add(_ptr(parts + list(error.absolute_path)), error.message, file)
    labels = hints.get("x-labels")
    enum = (
        node.get("enum") or (node.get("items") or {}).get("enum")
        if isinstance(node.get("items", {}), dict)
        else node.get("enum")
    )
    if isinstance(labels, list) and isinstance(enum, list) and len(labels) != len(enum):
        col.add(_ptr(parts + ["x-labels"]), f"has {len(labels)} labels for {len(enum)} choices", file)
    show = hints.get("x-show-when")
    if isinstance(show, dict) and siblings is not None:
        _check_show_when(show, parts, col, file, siblings)


def _check_show_when(show: dict, parts: list[Any], col: _Collector, file: Path, siblings: dict) -> None:
    """An x-show-when names a question beside this one, and each value it lists is one that question can hold."""
    if show.get("field") not in siblings:
        col.add(
            _ptr(parts + ["x-show-when", "field"]),
            f"names {show.get('field')!r}, which is not a question beside this one",
            file,
        )
    elif isinstance(show.get("in"), list):
        sibling = siblings.get(show["field"])
        for i, value in enumerate(show["in"]):
            why = _cannot_hold(sibling, value, item=(sibling or {}).get("type") == "array")
            if why:
                col.add(
                    _ptr(parts + ["x-show-when", "in", i]),
                    f"{json.dumps(value)} {why}, so the question would never be shown",
                    file,
                )


#: every keyword of JSON Schema draft 2020-12; another key in a form (not an x- hint) is a typo JSON Schema
#: would silently ignore: a misspelt "required" makes every question optional, a misspelt "maxLength" no limit
_SCHEMA_KEYWORDS = frozenset(Draft202012Validator.VALIDATORS) | {
    "$schema",
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "$defs",
    "$comment",
    "$vocabulary",
    "definitions",  # draft 7's name for $defs: "$ref": "#/definitions/..." still resolves
    "then",
    "else",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
}
#: keywords whose value is one schema, a list of schemas, or a table of them by name
_ONE_SCHEMA = (
    "additionalProperties",
    "items",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
)
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_TABLES = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
#: branches that apply to the same answers as the schema they are in (their "required" names its questions)
_SAME_OBJECT = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else")
#: the formats answers are checked against; any other "format" would be ignored, checking nothing
FORMATS = frozenset(FormatChecker().checkers)


def _check_form_keywords(
    node: Any, parts: list[Any], col: _Collector, file: Path, questions: set[str] | None = None
) -> None:
    """Unknown keywords and formats, and a "required" naming no question (a form that could never be sent).

    ``questions`` are the question names of the object the node applies to, when it is a branch of one
    (allOf, if/then...); a node with "properties" adds its own.
    """
    if not isinstance(node, dict):
        return
    _check_keyword_names(node, parts, col, file)
    own = node.get("properties")
    known = (questions or set()) | (set(own) if isinstance(own, dict) else set())
    in_object = isinstance(own, dict) or questions is not None
    if in_object:
        _check_required_names(node, known, parts, col, file)
    for key, sub, path in _subschemas(node, parts):
        _check_form_keywords(sub, path, col, file, known if in_object and key in _SAME_OBJECT else None)


def _subschemas(node: dict, parts: list[Any]) -> list[tuple[str, Any, list[Any]]]:
    """(keyword, schema, its path) for every schema directly inside a schema node."""
    found = [(key, node[key], parts + [key]) for key in _ONE_SCHEMA if key in node]
    for key in _SCHEMA_LISTS:
        if isinstance(node.get(key), list):
            found += [(key, sub, parts + [key, i]) for i, sub in enumerate(node[key])]
    for key in _SCHEMA_TABLES:
        if isinstance(node.get(key), dict):
            found += [(key, sub, parts + [key, name]) for name, sub in node[key].items()]
    return found


def _check_keyword_names(node: dict, parts: list[Any], col: _Collector, file: Path) -> None:
    for key in node:
        if isinstance(key, str) and not key.startswith("x-") and key not in _SCHEMA_KEYWORDS:
            close = difflib.get_close_matches(key, sorted(_SCHEMA_KEYWORDS), n=1)
            col.add(
                _ptr(parts + [key]),
                f"unknown keyword {key!r}"
                + (f"; did you mean {close[0]!r}?" if close else ": JSON Schema would ignore it"),
                file,
            )
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt not in FORMATS:
        close = difflib.get_close_matches(fmt, sorted(FORMATS), n=1)
        col.add(
            _ptr(parts + ["format"]),
            f"{fmt!r} is not a format answers are checked against"
            + (f"; did you mean {close[0]!r}?" if close else "; use one of " + ", ".join(sorted(FORMATS))),
            file,
        )


def _check_required_names(node: dict, known: set[str], parts: list[Any], col: _Collector, file: Path) -> None:
    required = node.get("required")
    open_ended = (
        "$ref" in node or "patternProperties" in node or isinstance(node.get("additionalProperties"), dict)
    )
    if not isinstance(required, list) or open_ended:
        return
    for i, name in enumerate(required):
        if isinstance(name, str) and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            col.add(
                _ptr(parts + ["required", i]),
                f"requires {name!r}, which is not a question of this form, so it could never be sent"
                + (f"; did you mean {close[0]!r}?" if close else ""),
                file,
            )


def _meta_reason(error) -> str:
    """Why a form is not valid JSON Schema, in words where the meta-schema's own are a riddle."""
    where = list(error.absolute_path)
    kinds = sorted(_JSON_TYPES)
    if (
        where
        and where[-1] == "type"
        and isinstance(error.instance, str)
        and error.instance not in _JSON_TYPES
    ):
        close = difflib.get_close_matches(error.instance, kinds, n=1)
        return f"{error.instance!r} is not a JSON Schema type; " + (
            f"did you mean {close[0]!r}?" if close else "use one of " + ", ".join(kinds)
        )
    return f"not a valid JSON Schema: {error.message}"


def load_form(path: Path, name: str, col: _Collector, pointer: str) -> Form | None:
    if not path.is_file():
        col.add(pointer, f"form {name!r} has no file forms/{name}.schema.json")
        return None
    try:
        schema = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        col.add("", f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", path)
        return None
    except UnicodeDecodeError:
        col.add("", "is not UTF-8 text", path)
        return None
    except OSError as exc:  # unreadable (permissions), or not a file after all
        col.add("", f"cannot be read: {exc.strerror or exc.__class__.__name__}", path)
        return None
    except RecursionError:
        col.add("", f"is nested too deeply to read (a form is at most {MAX_DEPTH} levels deep)", path)
        return None
    except ValueError:  # the only other ValueError json.loads raises: a number of more than 4300 digits
        col.add("", "holds a number too long to read (more than 4300 digits)", path)
        return None
    if not isinstance(schema, dict):
        col.add("", "must be a JSON object (a JSON Schema)", path)
        return None
    try:
        return _checked_form(path, name, schema, col)
    except RecursionError:
        col.add("", f"is nested too deeply to check (a form is at most {MAX_DEPTH} levels deep)", path)
        return None


#: how deeply a form's JSON may nest (objects and lists in one another; a question in an object is two levels): far
#: past any real form, and short of where checking it would run out of Python's stack
MAX_DEPTH = 100


def _checked_form(path: Path, name: str, schema: dict, col: _Collector) -> Form | None:
    if _depth(schema) > MAX_DEPTH:
        col.add("", f"is nested more than {MAX_DEPTH} levels deep: no form needs as many", path)
        return None
    declared = schema.get("$schema")
    if declared is not None and "2020-12" not in str(declared):
        col.add("/$schema", f"must be draft 2020-12, not {declared}", path)
    before = len(col.problems)
    for error in schemas.errors(schemas.draft_meta_validator(), schema):
        col.add(_ptr(error.absolute_path), _meta_reason(error), path)
    if schema.get("type") != "object":
        col.add("/type", 'a form must be a JSON Schema of type "object"', path)
    _check_hints(schema, [], col, path)
    _check_telling_questions(schema, [], SENSITIVITY[0], col, path)
    _check_form_keywords(schema, [], col, path)
    for pointer, reason in schema_problems(schema):
        col.add(pointer, reason, path)
    if len(col.problems) > before:
        return None
    return compile_form(name, schema, path)


def _check_telling_questions(node: Any, parts: list[Any], level: str, col: _Collector, file: Path) -> None:
    """A question shown only for some answers of another (``x-show-when``) tells, by being answered, that the other
    holds one of them, and its own answer often says more: it must be at least as sensitive as that question, or the
    sharing filter would hide the answer and show a partner its tell. ``level`` is that of the questions around."""
    if not isinstance(node, dict):
        return
    if sensitivity_rank(node.get("x-sensitivity")) > sensitivity_rank(level):
        level = node["x-sensitivity"]
    questions = node.get("properties")
    for name, question in (questions if isinstance(questions, dict) else {}).items():
        show = question.get("x-show-when") if isinstance(question, dict) else None
        shown_by = questions.get(show.get("field")) if isinstance(show, dict) else None
        if isinstance(shown_by, dict):
            mine, theirs = (
                max(level, q.get("x-sensitivity"), key=sensitivity_rank) for q in (question, shown_by)
            )
            if sensitivity_rank(theirs) > sensitivity_rank(mine):
                col.add(
                    _ptr(parts + ["properties", name]),
                    f"is shown only when {show['field']!r} is answered {json.dumps(show.get('in'))}, so an answer "
                    f"here tells a reader that {show['field']!r} ({theirs}) holds one of those: mark it "
                    f'"x-sensitivity": "{theirs}" as well (it is {mine})',
                    file,
                )
        _check_telling_questions(question, parts + ["properties", name], level, col, file)
    if isinstance(node.get("items"), dict):
        _check_telling_questions(node["items"], parts + ["items"], level, col, file)


def _depth(node: Any, limit: int = MAX_DEPTH + 1) -> int:
    """How deeply ``node`` nests (counted no further than ``limit``)."""
    if limit <= 0 or not isinstance(node, (dict, list)):
        return 0
    children = node.values() if isinstance(node, dict) else node
    return 1 + max((_depth(c, limit - 1) for c in children), default=0)


#: keywords whose schemas apply to the same answer as the schema holding them: a $ref loop through only these
#: never reaches a smaller part of the answer, so checking any answer would never end
_SAME_ANSWER_LISTS = ("allOf", "anyOf", "oneOf")
_SAME_ANSWER_ONE = ("not", "if", "then", "else")


def schema_problems(schema: Any) -> list[tuple[str, str]]:
    """What in a schema (a form, or a rule's condition) would fail only when an answer is checked against it,
    as (pointer, reason): a $ref to another file or to nothing in this one, $dynamicRef, a $ref loop, and a
    pattern Python's regular expressions cannot read (JSON Schema's are ECMA-262: \\p{L}, (?<name>...))."""
    nodes: dict[str, Any] = {}

    def walk(node: Any, ptr: str) -> None:
        if isinstance(node, dict):
            nodes[ptr] = node
            for key, value in node.items():
                if key not in _DATA_KEYWORDS and isinstance(value, (dict, list)):
                    walk(value, f"{ptr}/{str(key).replace('~', '~0').replace('/', '~1')}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{ptr}/{i}")

    walk(schema, "")
    problems: list[tuple[str, str]] = []
    for ptr, node in nodes.items():
        problems += _node_problems(ptr, node, nodes)
    if not problems:
        problems += _ref_loops(nodes)
    return problems


def _node_problems(ptr: str, node: dict, nodes: dict[str, Any]) -> list[tuple[str, str]]:
    """:func:`schema_problems` of one schema node: its $ref, $dynamicRef, patterns and bounds."""
    problems = []
    ref = node.get("$ref")
    if isinstance(ref, str) and not (ref == "#" or (ref.startswith("#/") and ref[1:] in nodes)):
        where = "another file or address" if not ref.startswith("#") else "nothing in this file"
        problems.append(
            (f"{ptr}/$ref", f"refers to {where} ({ref[:80]!r}): refer within the file, like #/$defs/name")
        )
    if "$dynamicRef" in node:
        problems.append((f"{ptr}/$dynamicRef", "is not supported: use $ref to #/$defs/name"))
    patterns = [("pattern", node.get("pattern"))] + [
        ("patternProperties", k) for k in (node.get("patternProperties") or {}) if isinstance(k, str)
    ]
    for key, text in patterns:
        if not isinstance(text, str):
            continue
        try:
            re.compile(text)
        except re.error as exc:
            problems.append(
                (
                    f"{ptr}/{key}",
                    f"{text[:60]!r} is not a pattern Python can read ({exc}); write it without "
                    "\\p{...} classes or (?<name>...) groups",
                )
            )
    return problems + _bound_problems(ptr, node)


#: a lower bound and the upper bound it must not pass
_BOUNDS = (
    ("minLength", "maxLength"),
    ("minItems", "maxItems"),
    ("minProperties", "maxProperties"),
    ("minContains", "maxContains"),
    ("minimum", "maximum"),
)


def _bound_problems(ptr: str, node: dict) -> list[tuple[str, str]]:
    """Bounds no answer can meet: a lower one above its upper one, or a number that is not one (TOML's ``nan``
    and ``inf``, JSON's ``NaN``), which every answer fails or passes without the author meaning it to."""
    problems = []
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
        value = node.get(key)
        if isinstance(value, float) and not math.isfinite(value):
            problems.append((f"{ptr}/{key}", f"is {value}, not a number an answer can be compared with"))
    for low, high in _BOUNDS:
        a, b = node.get(low), node.get(high)
        numbers = all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (a, b)
        )
        if numbers and a > b:
            problems.append((f"{ptr}/{low}", f"is more than {high} ({a} > {b}): no answer can meet both"))
    return problems


def _ref_loops(nodes: dict[str, Any]) -> list[tuple[str, str]]:
    """A $ref loop (through allOf, not, if and the like) that never reaches a smaller part of the answer."""

    def next_of(ptr: str) -> list[str]:
        node = nodes.get(ptr)
        if not isinstance(node, dict):
            return []
        out = []
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            out.append(ref[1:])
        for key in _SAME_ANSWER_LISTS:
            if isinstance(node.get(key), list):
                out += [f"{ptr}/{key}/{i}" for i in range(len(node[key]))]
        out += [f"{ptr}/{key}" for key in _SAME_ANSWER_ONE if isinstance(node.get(key), dict)]
        return out

    state: dict[str, int] = {}  # 1 on the path being followed, 2 done
    for start in nodes:
        stack = [(start, iter(next_of(start)))]
        path = [start]
        state[start] = state.get(start) or 1
        if state[start] == 2:
            continue
        while stack:
            ptr, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[ptr] = 2
                stack.pop()
                path.pop()
                continue
            if state.get(child) == 1:
                loop = path[path.index(child) :] + [child]
                return [
                    (
                        f"{loop[0]}",
                        "is a $ref loop that never reaches a smaller part of the answer ("
                        + " -> ".join(p or "#" for p in loop)
                        + "): checking an answer would never end",
                    )
                ]
            if state.get(child) is None and child in nodes:
                state[child] = 1
                stack.append((child, iter(next_of(child))))
                path.append(child)
    return []


def _compile_condition(schema: Any, col: _Collector, pointer: str) -> Draft202012Validator | None:
    try:
        errors = schemas.errors(schemas.draft_meta_validator(), schema)
    except RecursionError:
        col.add(pointer, f"is nested too deeply to check (at most {MAX_DEPTH} levels)")
        return None
    for error in errors:
        col.add(pointer + _ptr(error.absolute_path), f"not a valid JSON Schema: {error.message}")
    later = schema_problems(schema) if not errors else []
    for ptr, reason in later:
        col.add(pointer + ptr, reason)
    return None if errors or later else schemas.Validator(schema)


def _fact_paths(
    node: Any, path: tuple[str, ...], out: list[tuple[tuple[str, ...], dict, str]], ptr: str
) -> None:
    """Collect every property path a condition tests, with the schema found there."""
    if not isinstance(node, dict):
        return
    for name, sub in (node.get("properties") or {}).items():
        here = path + (name,)
        sub_ptr = f"{ptr}/properties/{name}"
        out.append((here, sub if isinstance(sub, dict) else {}, sub_ptr))
        _fact_paths(sub, here, out, sub_ptr)
    for name in node.get("required", []) if isinstance(node.get("required"), list) else []:
        out.append((path + (name,), {}, f"{ptr}/required"))
    for key in ("allOf", "anyOf", "oneOf"):
        for i, branch in enumerate(node.get(key, []) if isinstance(node.get(key), list) else []):
            _fact_paths(branch, path, out, f"{ptr}/{key}/{i}")
    for key in ("not", "if", "then", "else"):
        _fact_paths(node.get(key), path, out, f"{ptr}/{key}")


def tested_paths(condition: Any) -> list[tuple[str, ...]]:
    """Every fact path a condition tests (``("case", "forms", "report", "street")``), as the loader checks them."""
    paths: list[tuple[tuple[str, ...], dict, str]] = []
    _fact_paths(condition, (), paths, "")
    return [path for path, _, _ in paths]


def facts_needed(condition: Any) -> frozenset[str]:
    """The top-level parts of the facts document a condition tests (counts cost queries to work out)."""
    paths: list[tuple[tuple[str, ...], dict, str]] = []
    _fact_paths(condition, (), paths, "")
    return frozenset(path[0] for path, _, _ in paths)


def _check_fact_refs(
    condition: dict,
    area: dict,
    forms: dict[str, Form],
    count_names: set[str],
    state_names: set[str],
    col: _Collector,
    pointer: str,
) -> None:
    paths: list[tuple[tuple[str, ...], dict, str]] = []
    _fact_paths(condition, (), paths, pointer)
    roles = {r.get("name") for r in area.get("roles", []) if isinstance(r, dict)}
    bad_forms: set[str] = set()
    for path, sub, ptr in paths:
        head = path[0]
        if head not in TOP_FACTS:
            col.add(
                ptr,
                f"tests {head!r}, which is not in the facts document (use one of {', '.join(sorted(TOP_FACTS))})",
            )
        elif head == "counts" and len(path) > 1 and path[1] not in count_names:
            col.add(ptr, f"tests count {path[1]!r}, which is not declared in [[counts]]")
        elif head == "subject" and len(path) > 1:
            _check_subject_ref(path, sub, roles, _declared_flags(area), col, ptr)
        elif head == "case" and len(path) > 1:
            _check_case_ref(path, sub, area, forms, state_names, bad_forms, col, ptr)


def _declared_flags(area: dict) -> set[str]:
    """The warning markers a rule of this area may name: the core's and the area's own."""
    own = {f.get("name") for f in area.get("person_flags", []) if isinstance(f, dict)}
    return set(CORE_PERSON_FLAGS) | {name for name in own if isinstance(name, str)}


def _check_subject_ref(
    path: tuple[str, ...], sub: dict, roles: set[Any], flags: set[str], col: _Collector, ptr: str
) -> None:
    """A condition on subject.<fact>: a subject fact, a role of this area if it is the role, and a declared
    warning marker if it is the markers (a misspelt one would never match, and its level would be unknown)."""
    if path[1] not in SUBJECT_FACTS:
        col.add(
            ptr, f"tests subject.{path[1]}, which is not a subject fact ({', '.join(sorted(SUBJECT_FACTS))})"
        )
    elif path[1] == "role" and len(path) == 2:
        for value in _constants(sub):
            if value not in roles:
                col.add(ptr, f"tests role {value!r}, which is not a role of this area")
    elif path[1] == "flags" and len(path) == 2:
        for name in tested_words(sub):
            if name not in flags:
                col.add(
                    ptr,
                    f"tests warning marker {name!r}, which neither the core nor this area's [[person_flags]] "
                    "declares",
                )


def _check_case_ref(
    path: tuple[str, ...],
    sub: dict,
    area: dict,
    forms: dict[str, Form],
    state_names: set[str],
    bad_forms: set[str],
    col: _Collector,
    ptr: str,
) -> None:
    """A condition on case.<fact>: a case fact, and a state, form answer or risk level this area has."""
    if path[1] not in CASE_FACTS:
        col.add(ptr, f"tests case.{path[1]}, which is not a case fact ({', '.join(sorted(CASE_FACTS))})")
    elif path[1] == "state" and len(path) == 2:
        for value in _constants(sub):
            if value not in state_names:
                col.add(ptr, f"tests state {value!r}, which is not a state of this workflow")
    elif path[1] == "forms" and len(path) > 2:
        _check_form_ref(path, sub, area, forms, bad_forms, col, ptr)
    elif path[1] == "risk_level" and len(path) == 2:
        levels = area.get("case", {}).get("risk_levels", [])
        for value in _constants(sub):
            if value is not None and value not in levels:
                col.add(ptr, f"tests risk level {value!r}, which is not in /case/risk_levels")


def _check_form_ref(
    path: tuple[str, ...],
    sub: dict,
    area: dict,
    forms: dict[str, Form],
    bad_forms: set[str],
    col: _Collector,
    ptr: str,
) -> None:
    """A condition on case.forms.<form>[.<question>...]: a form of this area rules see, a question it asks,
    and values that question's answer can hold. A bad form is reported once, not again for each question."""
    form = forms.get(path[2])
    if path[2] not in area.get("case", {}).get("forms", []):
        if path[2] not in bad_forms:
            col.add(ptr, f"tests form {path[2]!r}, which is not a form of this area")
        bad_forms.add(path[2])
    elif form is not None and not form.in_facts:
        if path[2] not in bad_forms:
            col.add(ptr, f'tests form {path[2]!r}, whose answers rules never see (it has "x-fact": false)')
        bad_forms.add(path[2])
    elif form is not None and len(path) > 3:
        question = subschema_at(form.schema, list(path[3:]))
        if question is None:
            col.add(ptr, f"tests {'/'.join(path[3:])!r}, which is not a question of form {path[2]!r}")
            return
        for value, item in _tested_values(sub):
            why = _cannot_hold(question, value, item=item)
            if why:
                col.add(
                    ptr,
                    f"compares {'/'.join(path[3:])!r} of form {path[2]!r} with "
                    f"{json.dumps(value)}, which {why}, so the condition could never hold",
                )


def _constants(sub: Any) -> list[Any]:
    """Every value a condition names for one fact, also under not/anyOf/oneOf/allOf/if/then/else."""
    if not isinstance(sub, dict):
        return []
    values: list[Any] = []
    if "const" in sub:
        values.append(sub["const"])
    if isinstance(sub.get("enum"), list):
        values.extend(sub["enum"])
    for key in ("not", "if", "then", "else"):
        values.extend(_constants(sub.get(key)))
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in sub.get(key, []) if isinstance(sub.get(key), list) else []:
            values.extend(_constants(branch))
    return values


def _tested_values(sub: Any, item: bool = False) -> list[tuple[Any, bool]]:
    """Every value a condition compares one answer with, and whether it is compared with an item of a list
    answer (under ``contains`` or ``items``) rather than the whole answer."""
    if not isinstance(sub, dict):
        return []
    values: list[tuple[Any, bool]] = []
    if "const" in sub:
        values.append((sub["const"], item))
    if isinstance(sub.get("enum"), list):
        values.extend((v, item) for v in sub["enum"])
    for key in ("not", "if", "then", "else"):
        values.extend(_tested_values(sub.get(key), item))
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in sub.get(key, []) if isinstance(sub.get(key), list) else []:
            values.extend(_tested_values(branch, item))
    if not item:
        for key in ("contains", "items"):
            values.extend(_tested_values(sub.get(key), True))
    return values


def tested_words(sub: Any) -> list[Any]:
    """Every value a condition compares a list of words with (the words themselves, or the list's items, under
    ``contains`` or ``items``): e.g. the warning markers a rule on ``subject.flags`` looks for."""
    out: list[Any] = []
    for value, _ in _tested_values(sub):
        out += value if isinstance(value, list) else [value]
    return out


def _cannot_hold(question: Any, value: Any, *, item: bool = False) -> str:
    """Why an answer to ``question`` (or an item of a list answer) can never equal ``value``; "" if it can."""
    if not isinstance(question, dict):
        return ""
    if item:
        question = question.get("items")
        if not isinstance(question, dict):
            return ""
    if isinstance(question.get("enum"), list):
        if value not in question["enum"] or any(
            type(value) is not type(v) for v in question["enum"] if v == value
        ):
            choices = ", ".join(json.dumps(v) for v in question["enum"])
            return f"is not one of its choices ({choices})"
        return ""
    if "const" in question:
        return (
            ""
            if value == question["const"]
            else f"is not its one allowed answer {json.dumps(question['const'])}"
        )
    if "$ref" in question or "$dynamicRef" in question:
        return ""  # described elsewhere: leave it to the form's own validator at run time
    kinds = question.get("type")
    if isinstance(kinds, str):
        kinds = [kinds]
    if isinstance(kinds, list):
        # a type JSON Schema does not know ("bool") is reported by the meta-schema; it cannot be compared here
        kinds = [k for k in kinds if isinstance(k, str) and k in _JSON_TYPES]
    if isinstance(kinds, list) and kinds:
        checker = Draft202012Validator.TYPE_CHECKER
        if not any(checker.is_type(value, kind) for kind in kinds):
            return f"is not {' or '.join(_TYPE_WORDS.get(k, k) for k in kinds)}, the type of the answer"
    return ""


def _date_condition(
    decl: dict[str, Any],
    forms: dict[str, Form],
    form_names: set[str],
    col: _Collector,
    pointer: str,
    *,
    for_rule: bool,
) -> DaysSince | None:
    """Check one ``days_since``/``days_until`` condition (a date question, whole days that can hold); compile it."""
    kind = "days_until" if "days_until" in decl else "days_since"
    since = decl.get(kind)
    bounds = {k: decl[k] for k in ("at_least", "at_most") if k in decl}
    if since is None:
        for key in bounds:
            col.add(
                f"{pointer}/{key}",
                f"{key} only goes with days_since or days_until (whole days from or to a date answer)",
            )
        return None
    before = len(col.problems)
    if not bounds:
        col.add(
            pointer,
            f"{kind} needs at_least or at_most: how many whole days "
            f"{'until' if kind == 'days_until' else 'since'} the date",
        )
    for key, value in bounds.items():
        if isinstance(value, float):  # TOML 7.0 passes the meta-schema's "integer"; a day count is whole
            example = int(value) if math.isfinite(value) and abs(value) < 1e9 else 30
            col.add(f"{pointer}/{key}", f"must be a whole number of days, e.g. {example}, not {value}")
    if len(bounds) == 2 and bounds["at_least"] > bounds["at_most"]:
        col.add(
            f"{pointer}/at_most",
            f"is less than at_least ({bounds['at_least']:g}), so the condition could never hold",
        )
    form_name, field_ptr = since["form"], since["field"]
    form = forms.get(form_name)
    question = _date_question(
        form_name, field_ptr, form, form_names, col, f"{pointer}/{kind}", for_rule=for_rule
    )
    if len(col.problems) > before:
        return None
    return DaysSince(
        form_name,
        field_ptr,
        decl.get("at_least"),
        decl.get("at_most"),
        question=question,
        form_title=form.title if form is not None else form_name,
        until=kind == "days_until",
    )


def _date_question(
    form_name: str,
    field_ptr: str,
    form: Form | None,
    form_names: set[str],
    col: _Collector,
    pointer: str,
    *,
    for_rule: bool,
) -> str:
    """The title of the date question a days condition counts from (a date question of a form of this area,
    whose answers a rule sees); "" when it is not one, after saying why."""
    if form_name not in form_names:
        col.add(f"{pointer}/form", f"{form_name!r} is not a form of this area")
        return ""
    if form is None:
        return ""
    sub = subschema_at(form.schema, [int(p) if p.isdigit() else p for p in field_ptr.strip("/").split("/")])
    if sub is None:
        col.add(f"{pointer}/field", f"{field_ptr!r} is not a question of form {form_name!r}")
    elif sub.get("type") != "string" or sub.get("format") != "date":
        col.add(
            f"{pointer}/field",
            f"{field_ptr!r} of form {form_name!r} is not a date question "
            '(it needs "type": "string", "format": "date")',
        )
    elif for_rule and not form.in_facts:
        col.add(
            f"{pointer}/form", f'rules never see the answers of form {form_name!r} (it has "x-fact": false)'
        )
    else:
        return sub.get("title") or field_ptr.strip("/").split("/")[-1].replace("_", " ").capitalize()
    return ""


def load_area(directory: Path, source: str = "path") -> Area:
    """Load and check one area directory; raise AreaError listing every problem found."""
    directory = Path(directory)
    toml_path = directory / "area.toml"
    col = _Collector(toml_path)
    if not directory.is_dir():
        raise AreaError([Problem(str(directory), "", "is not a directory")])
    if not toml_path.is_file():
        raise AreaError([Problem(str(directory), "", "has no area.toml")])
    try:  # a byte order mark (Notepad's "UTF-8 with BOM") is read past, as for the forms
        raw = tomllib.loads(toml_path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise AreaError([Problem(str(toml_path), "", f"is not valid TOML: {exc}")]) from None
    except UnicodeDecodeError:
        raise AreaError([Problem(str(toml_path), "", "is not UTF-8 text")]) from None
    except RecursionError:  # Python's TOML reader recurses once a level: a few hundred levels end it
        raise AreaError(
            [
                Problem(
                    str(toml_path), "", "nests its tables or lists too deeply to be read (hundreds of levels)"
                )
            ]
        ) from None
    except OSError as exc:  # unreadable (permissions)
        raise AreaError([Problem(str(toml_path), "", f"cannot be read: {exc.strerror or exc}")]) from None
    schema_ok = _schema_errors(schemas.validator("area.schema.json"), raw, col, toml_path)
    refused = list(col.problems)
    try:
        area = _compile_area(directory, source, raw, col)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError, StopIteration):
        if schema_ok:
            raise
        # a part the meta-schema already refused is missing or malformed: the checks after it cannot run,
        # and what it found says why; every problem found before here is still reported
        area = None
    if not schema_ok:
        # a later check of a table the meta-schema refused would only repeat its problem in other words
        # (a misspelt risk_levels also "lacks" risk levels): keep those of the forms and of other tables
        sections = {_section(p.pointer) for p in refused}
        col.problems = refused + [
            p
            for p in col.problems[len(refused) :]
            if p.file != col.file or _section(p.pointer) not in sections
        ]
    if col.problems or area is None:
        raise AreaError(col.problems)
    return area


def _section(pointer: str) -> str:
    """The table of area.toml a pointer is in: /case, /workflow, or one rule or count (/rules/3)."""
    parts = pointer.split("/")[1:3]
    return "/".join(parts[:2] if parts[:1] in (["rules"], ["counts"], ["roles"]) else parts[:1])


def _compile_area(directory: Path, source: str, raw: dict[str, Any], col: _Collector) -> Area | None:
    """The checks after the meta-schema's: forms, workflow, counts, rules; each adds what it finds to ``col``.

    They run even when the meta-schema found problems, so one run of ``caseframe areas check`` lists every
    problem; a part it refused may stop them (the caller catches that), never hide what came before.
    """
    slug = raw["slug"]
    forms = _area_forms(directory, raw, col)
    form_names = set(raw["case"]["forms"])
    risk_levels = raw["case"].get("risk_levels", [])
    risk_from = _risk_from(raw["case"], forms, form_names, col)
    roles = _area_roles(raw, col)
    wf = raw["workflow"]
    states = _workflow_states(wf, col)
    counts = _area_counts(raw, forms, form_names, roles, col)
    count_names = {c.name for c in counts}
    transitions: dict[str, Transition] = {}
    for i, t in enumerate(wf["transitions"]):
        if t["name"] in transitions:
            col.add(f"/workflow/transitions/{i}/name", f"transition {t['name']!r} is declared twice")
        transitions[t["name"]] = _transition(
            t, f"/workflow/transitions/{i}", raw, forms, form_names, count_names, states, col
        )
    workflow = Workflow(wf["initial"], states, transitions)
    _check_reachable(wf, states, col)
    rules = _area_rules(raw, forms, form_names, count_names, states, roles, col)
    retention = _retention(raw.get("retention"), col)

    if col.problems:
        return None
    return Area(
        slug=slug,
        title=raw["title"],
        summary=raw["summary"],
        version=raw["version"],
        reference_prefix=raw["reference_prefix"],
        path=directory,
        source=source,
        roles=roles,
        forms={n: forms[n] for n in raw["case"]["forms"]},
        opening_form=raw["case"]["opening_form"],
        risk_levels=risk_levels,
        risk_from=risk_from,
        workflow=workflow,
        counts=counts,
        rules=rules,
        agency_types={t["name"]: t["label"] for t in raw.get("agency_types", [])},
        identifier_types={t["name"]: t["label"] for t in raw.get("identifier_types", [])},
        person_flags={
            t["name"]: PersonFlag(t["label"].strip(), t["sensitivity"]) for t in raw.get("person_flags", [])
        },
        retention=retention,
        raw=raw,
    )


def _area_forms(directory: Path, raw: dict[str, Any], col: _Collector) -> dict[str, Form]:
    """The forms /case/forms lists, each loaded and checked; the opening form one of them, no unlisted file."""
    forms: dict[str, Form] = {}
    for i, name in enumerate(raw["case"]["forms"]):
        form = load_form(directory / "forms" / f"{name}.schema.json", name, col, f"/case/forms/{i}")
        if form is not None:
            forms[name] = form
    form_names = set(raw["case"]["forms"])
    if raw["case"]["opening_form"] not in form_names:
        col.add(
            "/case/opening_form", f"{raw['case']['opening_form']!r} is not one of the forms in /case/forms"
        )
    forms_dir = directory / "forms"
    if forms_dir.is_dir():
        for extra in sorted(forms_dir.glob("*.schema.json")):
            if extra.name.removesuffix(".schema.json") not in form_names:
                col.add("/case/forms", f"forms/{extra.name} is not listed in /case/forms")
    return forms


def _risk_from(
    case: dict[str, Any], forms: dict[str, Form], form_names: set[str], col: _Collector
) -> tuple[str, str] | None:
    """The (form, field) /case/risk_from names: a question of a form of this area whose answers are risk levels."""
    if "risk_from" not in case:
        return None
    risk_levels = case.get("risk_levels", [])
    rf = case["risk_from"]
    if not risk_levels:
        col.add("/case/risk_from", "needs /case/risk_levels to say which values are risk levels")
    if rf["form"] not in form_names:
        col.add("/case/risk_from/form", f"{rf['form']!r} is not a form of this area")
    elif rf["form"] in forms:
        sub = subschema_at(forms[rf["form"]].schema, rf["field"].strip("/").split("/"))
        if sub is None:
            col.add("/case/risk_from/field", f"{rf['field']!r} is not a question of form {rf['form']!r}")
        elif "enum" in sub and not set(sub["enum"]) <= set(risk_levels):
            col.add(
                "/case/risk_from/field",
                f"answers {sorted(set(sub['enum']) - set(risk_levels))} are not in /case/risk_levels",
            )
        level = _most_sensitive_on_the_way(forms[rf["form"]].schema, rf["field"])
        if level != SENSITIVITY[0]:
            col.add(
                "/case/risk_from/field",
                f"{rf['field']!r} is {level!r} (x-sensitivity): the case's risk level is shown to every agency "
                f"that reads the case, so it must come from an {SENSITIVITY[0]!r} question",
            )
    return (rf["form"], rf["field"])


def _most_sensitive_on_the_way(schema: dict[str, Any], pointer: str) -> str:
    """The most sensitive x-sensitivity level of the question at ``pointer``, every question it sits in, and the
    form itself (a form marked as a whole hides every question in it, however each is marked)."""
    node: Any = schema
    level = SENSITIVITY[0]
    if sensitivity_rank(schema.get("x-sensitivity")) > sensitivity_rank(level):
        level = schema["x-sensitivity"]
    for part in [p for p in pointer.strip("/").split("/") if p]:
        if not isinstance(node, dict):
            break
        node = (
            node["items"]
            if part.isdigit() and isinstance(node.get("items"), dict)
            else ((node.get("properties") or {}).get(part))
        )
        if isinstance(node, dict) and sensitivity_rank(node.get("x-sensitivity")) > sensitivity_rank(level):
            level = node["x-sensitivity"]
    return level


def _area_roles(raw: dict[str, Any], col: _Collector) -> dict[str, str]:
    """Role name -> label, each declared once."""
    roles: dict[str, str] = {}
    for i, role in enumerate(raw["roles"]):
        if role["name"] in roles:
            col.add(f"/roles/{i}/name", f"role {role['name']!r} is declared twice")
        roles[role["name"]] = role["label"]
    return roles


def _workflow_states(wf: dict[str, Any], col: _Collector) -> dict[str, State]:
    """The workflow's states, each declared once, the initial one among them and at least one terminal."""
    states: dict[str, State] = {}
    for i, st in enumerate(wf["states"]):
        if st["name"] in states:
            col.add(f"/workflow/states/{i}/name", f"state {st['name']!r} is declared twice")
        states[st["name"]] = State(st["name"], st["label"], st.get("terminal", False))
    if wf["initial"] not in states:
        col.add("/workflow/initial", f"{wf['initial']!r} is not a state")
    if not any(s.terminal for s in states.values()):
        col.add("/workflow/states", "no state is terminal, so no case could ever be closed")
    return states


def _area_counts(
    raw: dict[str, Any], forms: dict[str, Form], form_names: set[str], roles: dict[str, str], col: _Collector
) -> list[Count]:
    """The [[counts]], each named once, counting by a question of a form of this area and a role it has."""
    slug = raw["slug"]
    counts: list[Count] = []
    count_names: set[str] = set()
    for i, c in enumerate(raw.get("counts", [])):
        if c["name"] in count_names:
            col.add(f"/counts/{i}/name", f"count {c['name']!r} is declared twice")
        count_names.add(c["name"])
        by = c.get("by", "person")
        count = Count(
            c["name"], c["window_days"], c.get("area", slug), c.get("role"), label=c.get("label", "")
        )
        if isinstance(by, dict):
            count.by_form, count.by_field = by["form"], by["field"]
            if by["form"] not in form_names:
                col.add(f"/counts/{i}/by/form", f"{by['form']!r} is not a form of this area")
            elif (
                by["form"] in forms
                and subschema_at(forms[by["form"]].schema, by["field"].strip("/").split("/")) is None
            ):
                col.add(f"/counts/{i}/by/field", f"{by['field']!r} is not a question of form {by['form']!r}")
        if count.area == slug and count.role is not None and count.role not in roles:
            col.add(f"/counts/{i}/role", f"{count.role!r} is not a role of this area")
        counts.append(count)
    return counts


def _transition(
    t: dict[str, Any],
    base: str,
    raw: dict[str, Any],
    forms: dict[str, Form],
    form_names: set[str],
    count_names: set[str],
    states: dict[str, State],
    col: _Collector,
) -> Transition:
    """One workflow transition: from states, to a state, with its guards compiled. A transition leaving a
    terminal (closed) state reopens the case, so it must lead to a state that is not terminal."""
    reopens_to_terminal = t["to"] in states and states[t["to"]].terminal
    for j, src in enumerate(t["from"]):
        if src not in states:
            col.add(f"{base}/from/{j}", f"{src!r} is not a state")
        elif states[src].terminal and reopens_to_terminal:
            col.add(
                f"{base}/from/{j}",
                f"{src!r} is terminal: a transition leaving it reopens the case, so it must lead to a state "
                "that is not terminal",
            )
    if t["to"] not in states:
        col.add(f"{base}/to", f"{t['to']!r} is not a state")
    guards = [
        _guard(g, f"{base}/guards/{j}", raw, forms, form_names, count_names, states, col)
        for j, g in enumerate(t.get("guards", []))
    ]
    return Transition(
        t["name"],
        t["label"],
        tuple(t["from"]),
        t["to"],
        tuple(t.get("roles", DEFAULT_TRANSITION_ROLES)),
        guards,
    )


def _guard(
    g: dict[str, Any],
    ptr: str,
    raw: dict[str, Any],
    forms: dict[str, Form],
    form_names: set[str],
    count_names: set[str],
    states: dict[str, State],
    col: _Collector,
) -> Guard:
    """One transition guard: a form that must be saved, a days condition, or a condition on the facts."""
    dated = "days_since" in g or "days_until" in g
    if not dated and any(k in g for k in ("at_least", "at_most")):
        _date_condition(g, forms, form_names, col, ptr, for_rule=False)
    if "form" in g:
        if g["form"] not in form_names:
            col.add(f"{ptr}/form", f"{g['form']!r} is not a form of this area")
        return Guard(g["message"], form=g["form"])
    if dated:
        days = _date_condition(g, forms, form_names, col, ptr, for_rule=False)
        return Guard(g["message"], days=days)
    validator = _compile_condition(g["when"], col, f"{ptr}/when")
    _check_fact_refs(g["when"], raw, forms, count_names, set(states), col, f"{ptr}/when")
    return Guard(g["message"], when=validator, needs=facts_needed(g["when"]))


def _check_reachable(wf: dict[str, Any], states: dict[str, State], col: _Collector) -> None:
    """Every state can be reached from the initial one."""
    if wf["initial"] not in states:
        return
    # over every declared transition, so a duplicated name (reported above) does not also hide states
    reachable = Workflow(
        wf["initial"],
        states,
        {
            str(i): Transition(str(i), t["label"], tuple(t["from"]), t["to"], (), [])
            for i, t in enumerate(wf["transitions"])
        },
    ).reachable()
    for i, st in enumerate(wf["states"]):
        if st["name"] not in reachable:
            col.add(f"/workflow/states/{i}", f"state {st['name']!r} cannot be reached from {wf['initial']!r}")


def _area_rules(
    raw: dict[str, Any],
    forms: dict[str, Form],
    form_names: set[str],
    count_names: set[str],
    states: dict[str, State],
    roles: dict[str, str],
    col: _Collector,
) -> list[Rule]:
    """The [[rules]], each id used once, compiled; a rule whose condition is no valid JSON Schema is left out."""
    rules: list[Rule] = []
    seen_ids: set[str] = set()
    for i, r in enumerate(raw.get("rules", [])):
        if r["id"] in seen_ids:
            col.add(f"/rules/{i}/id", f"rule id {r['id']!r} is used twice")
        seen_ids.add(r["id"])
        rule = _rule(r, f"/rules/{i}", raw, forms, form_names, count_names, states, roles, col)
        if rule is not None:
            rules.append(rule)
    return rules


def _rule(
    r: dict[str, Any],
    base: str,
    raw: dict[str, Any],
    forms: dict[str, Form],
    form_names: set[str],
    count_names: set[str],
    states: dict[str, State],
    roles: dict[str, str],
    col: _Collector,
) -> Rule | None:
    """One referral rule checked and compiled; None if its condition cannot be compiled."""
    when = r.get("when", {})  # none: the rule's event (and its once, subject_roles and dates) is enough
    validator = _compile_condition(when, col, f"{base}/when")
    _check_fact_refs(when, raw, forms, count_names, set(states), col, f"{base}/when")
    for j, role in enumerate(r.get("subject_roles", [])):
        if role not in roles:
            col.add(f"{base}/subject_roles/{j}", f"{role!r} is not a role of this area")
    dates = [
        _date_condition(d, forms, form_names, col, f"{base}/dates/{j}", for_rule=True)
        for j, d in enumerate(r.get("dates", []))
    ]
    if validator is None:
        return None  # not a valid JSON Schema (reported above): it cannot be compiled into a rule
    then = r["then"]
    action, message, target = "refer", "", then
    if "notify" in then:  # tell, not refer: the target is inside notify, with the message
        action, target = "notify", then["notify"]
        message = target["message"].strip()
    kind = next(k for k in ("area", "agency_type", "agency", "panel") if k in target)
    needs = (
        facts_needed(when) | ({"case"} if dates else set()) | ({"subject"} if "subject_roles" in r else set())
    )
    return Rule(
        r["id"],
        raw["slug"],
        frozenset(r["on"]),
        when,
        Target(kind, target[kind]),
        then["reason"],
        validator,
        needs=frozenset(needs),
        once=r.get("once", "person"),
        subject_roles=frozenset(r.get("subject_roles", [])),
        dates=tuple(d for d in dates if d is not None),
        action=action,
        message=message,
    )


def _retention(decl: Any, col: _Collector) -> Retention | None:
    """The area's retention period, checked for bounds the meta-schema cannot compare (min <= period <= max)."""
    if not isinstance(decl, dict):
        return None
    years, low, high = decl["years_after_closure"], decl["min_years"], decl["max_years"]
    idle = decl.get("years_after_last_activity", years)
    if low > high:
        col.add("/retention/min_years", f"{low} is more than max_years ({high})")
        return None
    for key, value in (("years_after_closure", years), ("years_after_last_activity", idle)):
        if not low <= value <= high:
            col.add(
                f"/retention/{key}",
                f"{value} is outside min_years..max_years ({low} to {high}), "
                "so no local admin could ever set it back",
            )
    return Retention(years, idle, low, high, decl.get("basis", ""))
