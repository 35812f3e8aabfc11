"""Access to the meta-schemas in schemas/, loaded once and shared by every check."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError


def ecma_end(pattern: str) -> str:
    """``pattern`` with each ``$`` outside a character class written ``\\Z``: in ECMA-262 (JSON Schema's patterns,
    and a browser's ``pattern`` attribute) ``$`` is the end of the text, where Python's also matches before a last
    newline, so ``^[a-z]+$`` took "noise\\n" as a slug, and ``^[A-Z]{2}[0-9]{6}$`` an answer ending in a newline."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            for lead in ("^", "]"):  # [^...] and a ] first in the class are the class's own
                if pattern[i : i + 1] == lead:
                    out.append(lead)
                    i += 1
            continue
        elif c == "$":
            c = "\\Z"
        out.append(c)
        i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def compiled_pattern(pattern: str) -> re.Pattern[str]:
    """A JSON Schema pattern compiled as :data:`Validator` reads it (the compiled form checks use it too)."""
    return re.compile(ecma_end(pattern))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not compiled_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


#: draft 2020-12 with ``pattern`` read as JSON Schema says (ECMA-262's ``$``): every validator Caseframe makes
Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})


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
    return Validator(load(name))


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
