"""Posted form fields -> JSON answers for a form, typed by its schema; odd input is left for the form's validation to
name, and a single answer sent twice is refused (nothing is saved)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from caseframe.core.errors import REPEATED_FIELD, ValidationFailed
from caseframe.core.forms.render import _kind
from caseframe.core.forms.validation import Form
from caseframe.core.numbers import date_text, whole_number


def _getall(data: Any, name: str) -> list[str]:
    if hasattr(data, "getall"):
        values = data.getall(name, [])
    else:
        raw = data.get(name)
        values = raw if isinstance(raw, list) else [] if raw is None else [raw]
    return [v.strip() for v in values if isinstance(v, str)]


def _first(data: Any, name: str) -> str:
    """The one text a single-answer question sent. Two answers to it (a page sends one) are refused, as
    ``form_text`` refuses them elsewhere, rather than one of them being kept without a word."""
    values = [v for v in _getall(data, name) if v]
    if len(values) > 1:
        raise ValidationFailed(
            REPEATED_FIELD, errors=[{"field": f"/{name}", "message": "Enter this only once"}]
        )
    return values[0] if values else ""


#: a number as typed in a form: ASCII digits, an optional sign and decimal point (never other scripts' digits)
_NUMBER = re.compile(r"-?(?:[0-9]{1,18}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})")


def _number(text: str, kind: str) -> Any:
    """A typed number as JSON's; anything else stays text, for the form's validation to name."""
    cleaned = text.replace(",", "")
    if not _NUMBER.fullmatch(cleaned) or (kind == "integer" and "." in cleaned):
        return text
    return float(cleaned) if "." in cleaned else int(cleaned)


def _value(sub: dict, data: Any, name: str) -> tuple[bool, Any]:
    kind = _kind(sub)
    if kind == "object":
        out = _object(sub, data, name)
        return bool(out), out
    if kind == "group":
        items = []
        i = 0
        item_schema = sub.get("items") or {}
        keys = list(data.keys()) if hasattr(data, "keys") else []
        indexes = sorted(
            {
                n
                for k in keys
                if k.startswith(name + ".")
                for n in [whole_number(k[len(name) + 1 :].split(".", 1)[0])]
                if n is not None
            }
        )
        for i in indexes[:500]:
            item = _object(item_schema, data, f"{name}.{i}")
            if item:
                items.append(item)
        return bool(items), items
    if kind == "checkboxes":
        values = [v for v in _getall(data, name) if v]
        item_type = (sub.get("items") or {}).get("type")
        if item_type in ("integer", "number"):
            values = [_number(v, item_type) for v in values]
        return bool(values), values
    if kind == "date" or sub.get("format") == "date":
        parts = [_first(data, f"{name}.{p}") for p in ("year", "month", "day")]
        if not any(parts):
            return False, None
        return True, date_text(*parts)
    text = _first(data, name)
    if text == "":
        return False, None
    if sub.get("type") == "boolean" or kind == "yesno":
        return True, True if text == "yes" else False if text == "no" else text
    if sub.get("type") in ("integer", "number"):
        return True, _number(text, sub["type"])
    return True, text


def _object(schema: dict, data: Any, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        present, value = _value(sub, data, f"{prefix}.{key}")
        if present:
            out[key] = value
    return out


def parse_form(form: Form, data: Mapping[str, Any], *, prefix: str = "f") -> dict[str, Any]:
    """The answers ``data`` (posted fields) gives for ``form``; blank answers are left out."""
    return _object(form.schema, data, prefix)
