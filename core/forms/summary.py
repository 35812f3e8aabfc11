"""Answers in words: each question's title and the answer as a person would read it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from caseframe.core.forms.validation import Form, subschema_at
from caseframe.core.numbers import index_or_name


def display(schema: dict[str, Any] | None, value: Any) -> str:
    """One answer as text: enum labels, Yes/No, GOV.UK dates, lists joined."""
    schema = schema or {}
    if value is None or value == "" or value == []:
        return "Not answered"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        if items.get("type") == "object" or any(isinstance(v, dict) for v in value):
            return f"{len(value)} item{'s' if len(value) != 1 else ''}"
        if "x-labels" in schema and "x-labels" not in items:
            items = {**items, "x-labels": schema["x-labels"]}
        return ", ".join(display(items, v) for v in value)
    if isinstance(value, dict):
        return "; ".join(
            f"{(schema.get('properties', {}).get(k) or {}).get('title', k)}: "
            f"{display((schema.get('properties') or {}).get(k), v)}"
            for k, v in value.items()
        )
    if "enum" in schema and "x-labels" in schema and value in schema["enum"]:
        return schema["x-labels"][schema["enum"].index(value)]
    if schema.get("format") == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value).strftime("%-d %B %Y")
        except ValueError:
            return value
    return str(value)


def label_of(form: Form, pointer: str) -> str:
    parts = [p for p in pointer.strip("/").split("/") if p]
    sub = subschema_at(form.schema, [index_or_name(p) for p in parts])
    return (sub or {}).get("title") or (parts[-1].replace("_", " ").capitalize() if parts else form.title)


def rows(
    form: Form, answers: dict[str, Any] | None, *, hidden: set[str] | None = None
) -> list[dict[str, Any]]:
    """Top-level questions with their answers, for a GOV.UK summary list."""
    answers = answers or {}
    out = []
    for name, sub in form.schema.get("properties", {}).items():
        if name not in answers:
            continue
        out.append(
            {
                "name": name,
                "question": sub.get("title", name.replace("_", " ").capitalize()),
                "answer": display(sub, answers.get(name)),
                "summary": bool(sub.get("x-summary")),
                "sensitivity": sub.get("x-sensitivity", "official"),
            }
        )
    return out


def change_text(form: Form, change: dict[str, Any]) -> dict[str, str]:
    parts = [p for p in change["field"].strip("/").split("/") if p]
    sub = subschema_at(form.schema, [index_or_name(p) for p in parts])
    return {
        "question": label_of(form, change["field"]),
        "from": display(sub, change.get("from")),
        "to": display(sub, change.get("to")),
    }


def rows_without_schema(answers: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Answers of a form whose area is no longer installed: still readable, labelled by their names."""
    return [
        {
            "name": name,
            "question": name.replace("_", " ").capitalize(),
            "answer": display({}, value),
            "summary": False,
            "sensitivity": "official",
        }
        for name, value in (answers or {}).items()
    ]
