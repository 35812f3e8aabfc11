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

ANNOTATIONS = {"title", "description", "$schema", "$id", "$comment", "default", "examples", "deprecated",
               "readOnly", "writeOnly"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not handle."""


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


TYPES: dict[str, Check] = {
    "string": lambda x: isinstance(x, str),
    "integer": lambda x: (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer()),
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
    if key == "type":
        names = value if isinstance(value, list) else [value]
        tests = [TYPES[n] for n in names]
        return lambda x: any(t(x) for t in tests)
    if key == "enum":
        options = list(value)
        return lambda x: any(equal(x, o) for o in options)
    if key == "const":
        return lambda x: equal(x, value)
    if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": lambda x: x >= value, "maximum": lambda x: x <= value,
              "exclusiveMinimum": lambda x: x > value, "exclusiveMaximum": lambda x: x < value}[key]
        return lambda x: not _is_number(x) or op(x)
    if key == "minLength":
        return lambda x: not isinstance(x, str) or len(x) >= value
    if key == "maxLength":
        return lambda x: not isinstance(x, str) or len(x) <= value
    if key == "pattern":
        pattern = re.compile(value)
        return lambda x: not isinstance(x, str) or pattern.search(x) is not None
    if key == "format":
        if value != "date":
            raise Unsupported(f"format {value}")
        return _is_date
    if key == "required":
        names = list(value)
        return lambda x: not isinstance(x, dict) or all(n in x for n in names)
    if key == "properties":
        compiled = {name: _compile(sub) for name, sub in value.items()}
        return lambda x: not isinstance(x, dict) or all(c(x[n]) for n, c in compiled.items() if n in x)
    if key == "additionalProperties":
        if "patternProperties" in schema:
            raise Unsupported("patternProperties")
        known = set(schema.get("properties", {}))
        extra = _compile(value)
        return lambda x: not isinstance(x, dict) or all(extra(v) for k, v in x.items() if k not in known)
    if key == "items":
        if not isinstance(value, (dict, bool)):
            raise Unsupported("items array")
        item = _compile(value)
        return lambda x: not isinstance(x, list) or all(item(v) for v in x)
    if key == "minItems":
        return lambda x: not isinstance(x, list) or len(x) >= value
    if key == "maxItems":
        return lambda x: not isinstance(x, list) or len(x) <= value
    if key == "uniqueItems":
        if not value:
            return lambda x: True
        return lambda x: not isinstance(x, list) or all(
            not equal(x[i], x[j]) for i in range(len(x)) for j in range(i + 1, len(x)))
    if key == "contains":
        inner = _compile(value)
        if "minContains" in schema or "maxContains" in schema:
            raise Unsupported("minContains")
        return lambda x: not isinstance(x, list) or any(inner(v) for v in x)
    if key == "not":
        inner = _compile(value)
        return lambda x: not inner(x)
    if key == "allOf":
        parts = [_compile(s) for s in value]
        return lambda x: all(p(x) for p in parts)
    if key == "anyOf":
        parts = [_compile(s) for s in value]
        return lambda x: any(p(x) for p in parts)
    if key == "oneOf":
        parts = [_compile(s) for s in value]
        return lambda x: sum(1 for p in parts if p(x)) == 1
    if key == "if":
        condition = _compile(value)
        then = _compile(schema.get("then", True))
        otherwise = _compile(schema.get("else", True))
        return lambda x: then(x) if condition(x) else otherwise(x)
    if key in ("then", "else"):
        return lambda x: True  # applied through "if"
    raise Unsupported(key)
