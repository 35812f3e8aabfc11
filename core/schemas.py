"""Access to the meta-schemas in schemas/, loaded once and shared by every check."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator


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
