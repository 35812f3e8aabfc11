"""Compile a form's JSON Schema once and turn its errors into messages a caseworker understands."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from caseframe.core.forms.fastcheck import compile_schema
from caseframe.core.numbers import whole_number
from caseframe.core.schemas import Validator

_FORMAT_CHECKER = FormatChecker()


@dataclass(frozen=True)
class FieldError:
    """One problem with one answer: a JSON pointer to the field and a message for a person."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class Form:
    """A compiled form of an area: its schema, its validator and quick lookups for the renderer."""

    name: str
    title: str
    schema: dict[str, Any]
    path: Path
    validator: Draft202012Validator = field(repr=False)
    #: a compiled predicate for the common case (valid answers); None falls back to jsonschema
    fast_check: Any = field(repr=False, default=None)

    def is_valid(self, data: Any) -> bool:
        return self.fast_check(data) if self.fast_check is not None else self.validator.is_valid(data)

    @property
    def in_facts(self) -> bool:
        return self.schema.get("x-fact", True)

    def errors(self, data: Any) -> list[FieldError]:
        """All problems with ``data``, one per field, in the order of the form's questions."""
        if self.is_valid(data):
            return []
        found: dict[str, FieldError] = {}
        for error in self.validator.iter_errors(data):
            for leaf in _leaves(error):
                fe = human_error(self.schema, leaf)
                found.setdefault(fe.field, fe)
        order = _field_order(self.schema)
        return sorted(found.values(), key=lambda e: _order_key(order, e.field))


def compile_form(name: str, schema: dict[str, Any], path: Path) -> Form:
    validator = Validator(schema, format_checker=_FORMAT_CHECKER)
    return Form(
        name=name,
        title=schema.get("title", name),
        schema=schema,
        path=path,
        validator=validator,
        fast_check=compile_schema(schema),
    )


def _leaves(error: ValidationError):
    # anyOf/oneOf errors wrap the real causes; show the most specific ones
    if error.context:
        best = [e for e in error.context if e.validator != "const"] or list(error.context)
        yield from (leaf for e in best[:1] for leaf in _leaves(e))
    else:
        yield error


def _pointer(parts) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def subschema_at(schema: dict[str, Any], parts: list[Any]) -> dict[str, Any] | None:
    """The schema of the answer at ``parts`` (property names and array indexes), if declared."""
    node: dict[str, Any] | None = schema
    for part in parts:
        if node is None:
            return None
        if isinstance(part, int):
            node = node.get("items") if isinstance(node.get("items"), dict) else None
            continue
        node = _property(node, part)
    return node


def _property(node: dict[str, Any], name: str) -> dict[str, Any] | None:
    props = node.get("properties", {})
    if name in props:
        return props[name]
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in node.get(key, []):
            found = _property(branch, name)
            if found is not None:
                return found
    for key in ("then", "else"):
        if isinstance(node.get(key), dict):
            found = _property(node[key], name)
            if found is not None:
                return found
    return None


def _label(sub: dict[str, Any] | None, name: str) -> str:
    title = (sub or {}).get("title") or name.replace("_", " ")
    return title.rstrip("?").strip()


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def human_error(schema: dict[str, Any], error: ValidationError) -> FieldError:
    """Turn one jsonschema error into a GOV.UK-style message about one field."""
    keyword = error.validator
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        return FieldError(_pointer(error.absolute_path), "Remove the answers this form does not ask for")
    path = _field_path(schema, error)
    sub = subschema_at(schema, path) or {}
    custom = sub.get("x-errors", {}).get(keyword)
    if custom:
        return FieldError(_pointer(path), custom)
    names = [p for p in path if not isinstance(p, int)]
    label = _label(sub, str(names[-1]) if names else "form")
    return FieldError(_pointer(path), _message(keyword, error.validator_value, sub, label))


def _field_path(schema: dict[str, Any], error: ValidationError) -> list[Any]:
    """Where the page shows an error: the missing question for "required", the question (not the item) for
    a wrong choice in a list of choices."""
    path = list(error.absolute_path)
    if error.validator == "required":
        # the missing property is named in the message: 'x' is a required property
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path = path + [missing]
    if path and isinstance(path[-1], int):
        # a wrong value in a list of choices (checkboxes) belongs to the question, which is where
        # the page shows it; items of a repeating group of questions keep their own pointer
        item = subschema_at(schema, path)
        if not (isinstance(item, dict) and (item.get("type") == "object" or "properties" in item)):
            path = path[:-1]
    return path


def _message(keyword: Any, value: Any, sub: dict[str, Any], label: str) -> str:
    """The message for a person about one failed keyword (``value`` is the keyword's value in the schema)."""
    low = _lower_first(label)
    if keyword == "required":
        if sub.get("type") == "boolean":
            return f"Select yes or no for \u2018{label}\u2019"
        items = sub.get("items") if isinstance(sub.get("items"), dict) else {}
        return f"Select {low}" if "enum" in sub or "enum" in items else f"Enter {low}"
    if keyword == "type":
        return _type_message(value, label, low)
    if keyword == "format" and sub.get("format") == "date":
        return f"{label} must be a real date"
    build = _MESSAGES.get(keyword)
    return build(label, low, value) if build is not None else f"Check {low}"


def _type_message(expected: Any, label: str, low: str) -> str:
    if expected in ("integer", "number"):
        return f"{label} must be a number"
    if expected == "boolean":
        return f"Select yes or no for \u2018{label}\u2019"
    if expected == "array":
        return f"Select {low}"
    return f"Enter {low}"


#: keyword -> message, from the question's label, the label lower-cased for mid-sentence, the keyword's value
_MESSAGES: dict[str, Callable[[str, str, Any], str]] = {
    "format": lambda label, low, v: f"Enter {low} in the correct format",
    "enum": lambda label, low, v: f"Select {low} from the list",
    "minLength": lambda label, low, v: f"Enter {low}"
    if v == 1
    else f"{label} must be {v} characters or more",
    "maxLength": lambda label, low, v: f"{label} must be {v} characters or fewer",
    "minimum": lambda label, low, v: f"{label} must be {v} or more",
    "exclusiveMinimum": lambda label, low, v: f"{label} must be {v} or more",
    "maximum": lambda label, low, v: f"{label} must be {v} or less",
    "exclusiveMaximum": lambda label, low, v: f"{label} must be {v} or less",
    "minItems": lambda label, low, v: f"Select at least {v} for {low}" if v > 1 else f"Select {low}",
    "maxItems": lambda label, low, v: f"Select no more than {v} for {low}",
    "pattern": lambda label, low, v: f"Enter {low} in the correct format",
}


def _field_order(schema: dict[str, Any]) -> dict[str, int]:
    """Position of each question, by pointer without array indexes (/people/name for /people/0/name)."""
    order: dict[str, int] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for name, sub in node.get("properties", {}).items():
            ptr = f"{prefix}/{name}"
            order.setdefault(ptr, len(order))
            if isinstance(sub, dict) and sub.get("type") == "object":
                walk(sub, ptr)
            elif isinstance(sub, dict) and isinstance(sub.get("items"), dict):
                walk(sub["items"], ptr)

    walk(schema, "")
    return order


def _order_key(order: dict[str, int], pointer: str) -> tuple[int, list[int]]:
    """Sort errors in question order; within a repeating group, by item; unknown fields last."""
    parts = pointer.split("/")[1:]
    indexes = [n for n in map(whole_number, parts) if n is not None]
    named = [p for p in parts if whole_number(p) is None]
    while named:
        ptr = "/" + "/".join(named)
        if ptr in order:
            return order[ptr], indexes
        named.pop()  # a question not found (e.g. asked only in a then-branch) sorts with its parent
    return len(order), indexes
