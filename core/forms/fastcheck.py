"""Compile the common subset of JSON Schema into plain Python predicates.

Forms and referral rules are checked on every save and event; jsonschema's general machinery costs
tens of microseconds a check. The keywords areas use in practice compile here into closures; a
schema using anything else compiles to None and the caller keeps jsonschema. Only *is it valid*
is answered here: messages for people still come from jsonschema, on the rare invalid document.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

ANNOTATIONS = {
    "title",
    "description",
    "$schema",
    "$id",
    "$comment",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not handle."""


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


TYPES: dict[str, Check] = {
    "string": lambda x: isinstance(x, str),
    "integer": lambda x: (isinstance(x, int) and not isinstance(x, bool))
    or (isinstance(x, float) and x.is_integer()),
    "number": _is_number,
    "boolean": lambda x: isinstance(x, bool),
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "null": lambda x: x is None,
}


def equal(a: Any, b: Any) -> bool:
    """JSON Schema equality: true is not 1, 1 is 1.0, containers compare deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=False))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _is_date(x: Any) -> bool:
    if not isinstance(x, str) or not _DATE.match(x):
        return not isinstance(x, str)
    try:
        dt.date.fromisoformat(x)
    except ValueError:
        return False
    return True


def compile_schema(schema: Any) -> Check | None:
    """A predicate equivalent to ``Draft202012Validator(schema).is_valid``, or None if unsupported."""
    try:
        return _compile(schema)
    except Unsupported:
        return None


def _compile(schema: Any) -> Check:
    if schema is True:
        return lambda x: True
    if schema is False:
        return lambda x: False
    if not isinstance(schema, dict):
        raise Unsupported(repr(schema))
    checks: list[Check] = []
    for key, value in schema.items():
        if key in ANNOTATIONS or key.startswith("x-"):
            continue
        checks.append(_keyword(key, value, schema))
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]
    return lambda x: all(c(x) for c in checks)


def _keyword(key: str, value: Any, schema: dict) -> Check:
    compile_keyword = _KEYWORDS.get(key)
    if compile_keyword is None:
        raise Unsupported(key)
    return compile_keyword(value, schema)


# One compiler per keyword: (the keyword's value, the schema it is in) -> predicate. Each predicate is what
# runs on every save, so it stays one closure with no dispatch of its own.


def _type(value: Any, schema: dict) -> Check:
    names = value if isinstance(value, list) else [value]
    tests = [TYPES[n] for n in names]
    return lambda x: any(t(x) for t in tests)


def _enum(value: Any, schema: dict) -> Check:
    options = list(value)
    return lambda x: any(equal(x, o) for o in options)


def _const(value: Any, schema: dict) -> Check:
    return lambda x: equal(x, value)


def _minimum(value: Any, schema: dict) -> Check:
    return lambda x: not _is_number(x) or x >= value


def _maximum(value: Any, schema: dict) -> Check:
    return lambda x: not _is_number(x) or x <= value


def _exclusive_minimum(value: Any, schema: dict) -> Check:
    return lambda x: not _is_number(x) or x > value


def _exclusive_maximum(value: Any, schema: dict) -> Check:
    return lambda x: not _is_number(x) or x < value


def _min_length(value: Any, schema: dict) -> Check:
    return lambda x: not isinstance(x, str) or len(x) >= value


def _max_length(value: Any, schema: dict) -> Check:
    return lambda x: not isinstance(x, str) or len(x) <= value


def _pattern(value: Any, schema: dict) -> Check:
    from caseframe.core.schemas import compiled_pattern

    pattern = compiled_pattern(value)  # as the validator reads it: $ is the end of the text
    return lambda x: not isinstance(x, str) or pattern.search(x) is not None


def _format(value: Any, schema: dict) -> Check:
    if value != "date":
        raise Unsupported(f"format {value}")
    return _is_date


def _required(value: Any, schema: dict) -> Check:
    names = list(value)
    return lambda x: not isinstance(x, dict) or all(n in x for n in names)


def _properties(value: Any, schema: dict) -> Check:
    compiled = {name: _compile(sub) for name, sub in value.items()}
    return lambda x: not isinstance(x, dict) or all(c(x[n]) for n, c in compiled.items() if n in x)


def _additional_properties(value: Any, schema: dict) -> Check:
    if "patternProperties" in schema:
        raise Unsupported("patternProperties")
    known = set(schema.get("properties", {}))
    extra = _compile(value)
    return lambda x: not isinstance(x, dict) or all(extra(v) for k, v in x.items() if k not in known)


def _items(value: Any, schema: dict) -> Check:
    if not isinstance(value, (dict, bool)):
        raise Unsupported("items array")
    item = _compile(value)
    return lambda x: not isinstance(x, list) or all(item(v) for v in x)


def _min_items(value: Any, schema: dict) -> Check:
    return lambda x: not isinstance(x, list) or len(x) >= value


def _max_items(value: Any, schema: dict) -> Check:
    return lambda x: not isinstance(x, list) or len(x) <= value


def _unique_items(value: Any, schema: dict) -> Check:
    if not value:
        return lambda x: True
    return lambda x: not isinstance(x, list) or all(
        not equal(x[i], x[j]) for i in range(len(x)) for j in range(i + 1, len(x))
    )


def _contains(value: Any, schema: dict) -> Check:
    inner = _compile(value)
    if "minContains" in schema or "maxContains" in schema:
        raise Unsupported("minContains")
    return lambda x: not isinstance(x, list) or any(inner(v) for v in x)


def _not(value: Any, schema: dict) -> Check:
    inner = _compile(value)
    return lambda x: not inner(x)


def _all_of(value: Any, schema: dict) -> Check:
    parts = [_compile(s) for s in value]
    return lambda x: all(p(x) for p in parts)


def _any_of(value: Any, schema: dict) -> Check:
    parts = [_compile(s) for s in value]
    return lambda x: any(p(x) for p in parts)


def _one_of(value: Any, schema: dict) -> Check:
    parts = [_compile(s) for s in value]
    return lambda x: sum(1 for p in parts if p(x)) == 1


def _if(value: Any, schema: dict) -> Check:
    condition = _compile(value)
    then = _compile(schema.get("then", True))
    otherwise = _compile(schema.get("else", True))
    return lambda x: then(x) if condition(x) else otherwise(x)


def _applied_through_if(value: Any, schema: dict) -> Check:
    return lambda x: True


_KEYWORDS: dict[str, Callable[[Any, dict], Check]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "minimum": _minimum,
    "maximum": _maximum,
    "exclusiveMinimum": _exclusive_minimum,
    "exclusiveMaximum": _exclusive_maximum,
    "minLength": _min_length,
    "maxLength": _max_length,
    "pattern": _pattern,
    "format": _format,
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "items": _items,
    "minItems": _min_items,
    "maxItems": _max_items,
    "uniqueItems": _unique_items,
    "contains": _contains,
    "not": _not,
    "allOf": _all_of,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "if": _if,
    "then": _applied_through_if,
    "else": _applied_through_if,
}
