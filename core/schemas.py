"""Access to the meta-schemas in schemas/, loaded once and shared by every check."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError


def schemas_dir() -> Path:
    """The folder holding the meta-schemas (next to core/ in a checkout or an editable install)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "schemas", here / "_schemas"):
        if (candidate / "area.schema.json").exists():
            return candidate
    raise FileNotFoundError("Caseframe's meta-schemas (schemas/area.schema.json) are missing")


@cache
def load(name: str) -> dict:
    return json.loads((schemas_dir() / name).read_text(encoding="utf-8"))


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load(name))


@cache
def draft_meta_validator() -> Draft202012Validator:
    """Validates that a document is itself a valid draft 2020-12 JSON Schema."""
    return Draft202012Validator(Draft202012Validator.META_SCHEMA)


#: (a meta-schema's validator, a document's JSON text) found valid in this process; bounded, for a long-lived one
_FOUND_VALID: set[tuple[int, str]] = set()
_FOUND_VALID_MAX = 8192
#: the validators the keys name, held so that no id is reused by another object
_CHECKED_WITH: dict[int, Draft202012Validator] = {}


def errors(validator: Draft202012Validator, doc: Any) -> list[ValidationError]:
    """What is wrong with ``doc`` against one of the meta-schemas' validators above (which live as long as the
    process). A document already found valid is not checked again: the same areas are loaded by every test's
    context and by each command, and checking an area's files against the meta-schemas was most of the cost of
    loading it. A document that is not plain JSON (a TOML date) is always checked."""
    try:
        key = (id(validator), json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False))
    except (TypeError, ValueError):
        return list(validator.iter_errors(doc))
    if key in _FOUND_VALID:
        return []
    found = list(validator.iter_errors(doc))
    if not found and len(_FOUND_VALID) < _FOUND_VALID_MAX:
        _CHECKED_WITH[id(validator)] = validator
        _FOUND_VALID.add(key)
    return found
