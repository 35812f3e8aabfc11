"""JSON Schema form -> GOV.UK Design System HTML, every value escaped."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from caseframe.core.forms.validation import FieldError, Form

E = escape


def _id(name: str) -> str:
    return name.replace(".", "-")


def _label(name: str, sub: dict) -> str:
    return sub.get("title") or name.replace("_", " ").capitalize()


def _kind(sub: dict) -> str:
    widget = sub.get("x-widget")
    if widget:
        return widget
    t = sub.get("type")
    if t == "object":
        return "object"
    if t == "array":
        items = sub.get("items") or {}
        if items.get("type") == "object":
            return "group"
        return "checkboxes"
    if t == "boolean":
        return "yesno"
    if "enum" in sub:
        return "radios" if len(sub["enum"]) <= 6 else "select"
    if t in ("integer", "number"):
        return "number"
    if sub.get("format") == "date":
        return "date"
    if (sub.get("maxLength") or 0) > 200:
        return "textarea"
    return "text"


def _choices(sub: dict) -> list[tuple[Any, str]]:
    source = sub.get("items", {}) if sub.get("type") == "array" else sub
    values = source.get("enum", [])
    labels = (
        sub.get("x-labels")
        or source.get("x-labels")
        or [str(v).replace("_", " ").capitalize() for v in values]
    )
    return list(zip(values, labels, strict=False))


def _tag(sub: dict) -> Markup:
    if sub.get("x-sensitivity") in ("sensitive", "special_category"):
        return Markup(' <strong class="govuk-tag govuk-tag--orange">Sensitive</strong>')
    return Markup("")


@dataclass
class _Question:
    """What every kind of question shows: its name and id, its label, hint and error, and the markup around them."""

    pointer: str
    key: str
    sub: dict
    value: Any
    name: str
    fid: str
    error: str | None
    label: str
    hint: str | None
    described: list[str]
    aria: Markup
    hint_html: Markup
    error_html: Markup
    group_class: str
    show_attrs: Markup
    tag: Markup


class _Renderer:
    def __init__(self, errors: dict[str, str], prefix: str):
        self.errors = errors
        self.prefix = prefix

    def name(self, pointer: str) -> str:
        return self.prefix + pointer.replace("/", ".")

    def question(
        self, pointer: str, key: str, sub: dict, value: Any, required: bool, siblings: dict, values: dict
    ) -> Markup:
        kind = _kind(sub)
        render = _KIND_RENDERERS.get(kind)
        if render is None:
            return Markup("")
        return render(self, self._question(pointer, key, sub, value, kind, required), kind)

    def _question(
        self, pointer: str, key: str, sub: dict, value: Any, kind: str, required: bool
    ) -> _Question:
        name = self.name(pointer)
        fid = _id(name)
        error = self.errors.get(pointer)
        label = _label(key, sub) + ("" if required or kind in ("object", "group") else " (optional)")
        hint = sub.get("x-hint")
        described = []
        if hint:
            described.append(f"{fid}-hint")
        if error:
            described.append(f"{fid}-error")
        aria = Markup(f' aria-describedby="{E(" ".join(described))}"') if described else Markup("")
        hint_html = (
            Markup(f'<div id="{E(fid)}-hint" class="govuk-hint">{E(hint)}</div>') if hint else Markup("")
        )
        error_html = (
            Markup(
                f'<p id="{E(fid)}-error" class="govuk-error-message"><span class="govuk-visually-hidden">'
                f"Error:</span> {E(error)}</p>"
            )
            if error
            else Markup("")
        )
        group_class = "govuk-form-group" + (" govuk-form-group--error" if error else "")
        show = sub.get("x-show-when")
        show_attrs = Markup("")
        if show:
            show_attrs = Markup(
                f' data-show-when-field="{E(self.name(pointer.rsplit("/", 1)[0] + "/" + show["field"]))}"'
                f' data-show-when-in="{E(json.dumps(show["in"]))}"'
            )
        return _Question(
            pointer,
            key,
            sub,
            value,
            name,
            fid,
            error,
            label,
            hint,
            described,
            aria,
            hint_html,
            error_html,
            group_class,
            show_attrs,
            _tag(sub),
        )

    def _text(self, q: _Question, kind: str) -> Markup:
        v = "" if q.value is None else q.value
        fid, name, error, aria = q.fid, q.name, q.error, q.aria
        if kind == "textarea":
            field = Markup(
                f'<textarea class="govuk-textarea{" govuk-textarea--error" if error else ""}" id="{E(fid)}" '
                f'name="{E(name)}" rows="5"{aria}>{E(v)}</textarea>'
            )
        else:
            extra = ' inputmode="numeric"' if kind == "number" else ""
            width = " govuk-input--width-5" if kind == "number" else ""
            field = Markup(
                f'<input class="govuk-input{width}{" govuk-input--error" if error else ""}" id="{E(fid)}" '
                f'name="{E(name)}" type="text"{extra} value="{E(v)}"{aria}>'
            )
        return Markup(
            f'<div class="{q.group_class}"{q.show_attrs}><label class="govuk-label govuk-label--s" for="{E(fid)}">'
            f"{E(q.label)}{q.tag}</label>{q.hint_html}{q.error_html}{field}</div>"
        )

    def _date(self, q: _Question, kind: str) -> Markup:
        value, fid, name, error = q.value, q.fid, q.name, q.error
        parts = str(value or "").split("-") if value else ["", "", ""]
        year, month, day = (parts + ["", "", ""])[:3] if len(parts) == 3 else ("", "", "")
        items = []
        for part, val, width in (
            ("day", day.lstrip("0") if day else "", 2),
            ("month", month.lstrip("0") if month else "", 2),
            ("year", year, 4),
        ):
            items.append(
                f'<div class="govuk-date-input__item"><div class="govuk-form-group">'
                f'<label class="govuk-label govuk-date-input__label" for="{E(fid)}-{part}">{part.capitalize()}</label>'
                f'<input class="govuk-input govuk-date-input__input govuk-input--width-{width}'
                f'{" govuk-input--error" if error else ""}" id="{E(fid)}-{part}" name="{E(name)}.{part}" '
                f'type="text" inputmode="numeric" value="{E(val)}"></div></div>'
            )
        date_hint = q.hint_html or Markup(
            f'<div id="{E(fid)}-hint" class="govuk-hint">For example, 27 3 2026</div>'
        )
        described = q.described if q.hint else [f"{fid}-hint", *q.described]
        return Markup(
            f'<div class="{q.group_class}"{q.show_attrs}><fieldset class="govuk-fieldset" role="group" '
            f'aria-describedby="{E(" ".join(described))}"><legend class="govuk-fieldset__legend '
            f'govuk-fieldset__legend--s">{E(q.label)}{q.tag}</legend>{date_hint}{q.error_html}'
            f'<div class="govuk-date-input" id="{E(fid)}">{"".join(items)}</div></fieldset></div>'
        )

    def _choice(self, q: _Question, kind: str) -> Markup:
        value, fid, name = q.value, q.fid, q.name
        if kind == "yesno":
            choices = [(True, "Yes"), (False, "No")]
            chosen = [value]
        else:
            choices = _choices(q.sub)
            chosen = value if isinstance(value, list) else [value]
        multi = kind == "checkboxes"
        base = "govuk-checkboxes" if multi else "govuk-radios"
        inline = " govuk-radios--inline" if kind == "yesno" else ""
        items = []
        for i, (val, text) in enumerate(choices):
            iid = fid if i == 0 else f"{fid}-{i}"
            posted = "yes" if val is True else "no" if val is False else val
            checked = (
                " checked" if any(c is not None and c == val and type(c) is type(val) for c in chosen) else ""
            )
            items.append(
                f'<div class="{base}__item"><input class="{base}__input" id="{E(iid)}" name="{E(name)}" '
                f'type="{"checkbox" if multi else "radio"}" value="{E(posted)}"{checked}>'
                f'<label class="govuk-label {base}__label" for="{E(iid)}">{E(text)}</label></div>'
            )
        module = "govuk-checkboxes" if multi else "govuk-radios"
        return Markup(
            f'<div class="{q.group_class}"{q.show_attrs}><fieldset class="govuk-fieldset"{q.aria}>'
            f'<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">{E(q.label)}{q.tag}</legend>'
            f'{q.hint_html}{q.error_html}<div class="{base}{inline} {base}--small" data-module="{module}">'
            f"{''.join(items)}</div></fieldset></div>"
        )

    def _select(self, q: _Question, kind: str) -> Markup:
        options = ['<option value="">Choose</option>']
        for val, text in _choices(q.sub):
            selected = " selected" if q.value == val else ""
            options.append(f'<option value="{E(val)}"{selected}>{E(text)}</option>')
        return Markup(
            f'<div class="{q.group_class}"{q.show_attrs}><label class="govuk-label govuk-label--s" for="{E(q.fid)}">'
            f'{E(q.label)}{q.tag}</label>{q.hint_html}{q.error_html}<select class="govuk-select'
            f'{" govuk-select--error" if q.error else ""}" id="{E(q.fid)}" name="{E(q.name)}"{q.aria}>'
            f"{''.join(options)}</select></div>"
        )

    def _object(self, q: _Question, kind: str) -> Markup:
        inner = self.fields(q.sub, q.value if isinstance(q.value, dict) else {}, q.pointer)
        return Markup(
            f'<div class="{q.group_class}"{q.show_attrs} id="{E(q.fid)}"><fieldset class="govuk-fieldset">'
            f'<legend class="govuk-fieldset__legend govuk-fieldset__legend--m">{E(q.label)}{q.tag}</legend>'
            f"{q.hint_html}{q.error_html}{inner}</fieldset></div>"
        )

    def _group(self, q: _Question, kind: str) -> Markup:
        items_schema = q.sub.get("items") or {}
        rows = list(q.value) if isinstance(q.value, list) else []
        item_title = items_schema.get("title") or _label(q.key, q.sub)
        blocks = []
        for i, item in enumerate(rows + [{}]):
            inner = self.fields(items_schema, item if isinstance(item, dict) else {}, f"{q.pointer}/{i}")
            blocks.append(
                f'<fieldset class="govuk-fieldset cf-card"><legend class="govuk-fieldset__legend '
                f'govuk-fieldset__legend--s">{E(item_title)} {i + 1}{" (add another)" if i == len(rows) else ""}'
                f"</legend>{inner}</fieldset>"
            )
        return Markup(
            f'<div class="{q.group_class}"{q.show_attrs} id="{E(q.fid)}"><h2 class="govuk-heading-m">{E(q.label)}{q.tag}</h2>'
            f'{q.hint_html}{q.error_html}<div id="{E(q.fid)}-hint-group" class="govuk-hint">Leave an item blank to remove it.'
            f"</div>{''.join(blocks)}</div>"
        )

    def fields(self, schema: dict, values: dict, pointer: str = "") -> Markup:
        required = set(schema.get("required", []))
        props = schema.get("properties", {})
        return Markup("").join(
            self.question(f"{pointer}/{key}", key, sub, values.get(key), key in required, props, values)
            for key, sub in props.items()
            if isinstance(sub, dict)
        )


#: how each kind of question (see _kind) is drawn
_KIND_RENDERERS: dict[str, Callable[[_Renderer, _Question, str], Markup]] = {
    "text": _Renderer._text,
    "number": _Renderer._text,
    "textarea": _Renderer._text,
    "date": _Renderer._date,
    "radios": _Renderer._choice,
    "yesno": _Renderer._choice,
    "checkboxes": _Renderer._choice,
    "select": _Renderer._select,
    "object": _Renderer._object,
    "group": _Renderer._group,
}


def render_form(
    form: Form, values: dict | None, errors: list[FieldError] | None, *, prefix: str = "f"
) -> Markup:
    """The HTML of every question of ``form`` with ``values`` filled in and ``errors`` shown."""
    errs = {e.field: e.message for e in errors or []}
    return _Renderer(errs, prefix).fields(form.schema, values or {})


def error_summary(errors: list[FieldError] | None, *, prefix: str = "f") -> Markup:
    """The GOV.UK error summary linking to each field with a problem."""
    if not errors:
        return Markup("")
    items = []
    for e in errors:
        target = _id(prefix + e.field.replace("/", ".")) if e.field else "main-content"
        items.append(f'<li><a href="#{E(target)}">{E(e.message)}</a></li>')
    return Markup(
        '<div class="govuk-error-summary" data-module="govuk-error-summary"><div role="alert">'
        '<h2 class="govuk-error-summary__title">There is a problem</h2><div class="govuk-error-summary__body">'
        f'<ul class="govuk-list govuk-error-summary__list">{"".join(items)}</ul></div></div></div>'
    )
