"""Loading areas: the test area loads, and a gallery of broken areas is each rejected with file, pointer and reason."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.areas import check_paths, load_area
from core.errors import AreaError
from core.forms.validation import compile_form

NOISE = Path(__file__).resolve().parents[1] / "fixtures/areas/noise"


def broken(tmp_path: Path, toml: tuple[str, str] | None = None, form: tuple[str, str, str] | None = None,
           raw_form: tuple[str, str] | None = None) -> Path:
    area = tmp_path / "noise"
    shutil.copytree(NOISE, area)
    if toml:
        text = (area / "area.toml").read_text()
        assert toml[0] in text, toml[0]
        (area / "area.toml").write_text(text.replace(toml[0], toml[1], 1))
    if form:
        path = area / "forms" / f"{form[0]}.schema.json"
        text = path.read_text()
        assert form[1] in text, form[1]
        path.write_text(text.replace(form[1], form[2], 1))
    if raw_form:
        (area / "forms" / f"{raw_form[0]}.schema.json").write_text(raw_form[1])
    return area


def problems_of(area: Path):
    with pytest.raises(AreaError) as exc:
        load_area(area)
    return exc.value.problems


def test_the_test_area_loads():
    area = load_area(NOISE)
    assert area.slug == "noise" and list(area.forms) == ["report", "visit"]
    assert area.workflow.initial == "open" and len(area.rules) == 3


GALLERY = [
    # (description, toml change, form change, file suffix, pointer, reason fragment)
    ("bad TOML", ('slug = "noise"', 'slug = "noise'), None, "area.toml", "", "is not valid TOML"),
    ("unknown key", ('version = "1.0.0"', 'version = "1.0.0"\ncolour = "red"'), None, "area.toml", "", "unknown key"),
    ("slug pattern", ('slug = "noise"', 'slug = "Noise Area"'), None, "area.toml", "/slug", "does not match"),
    ("missing required key", ('initial = "open"\n', ""), None, "area.toml", "/workflow",
     "'initial' is a required property"),
    ("opening form not a form", ('opening_form = "report"', 'opening_form = "intake"'), None, "area.toml",
     "/case/opening_form", "is not one of the forms"),
    ("form file missing", ('forms = ["report", "visit"]', 'forms = ["report", "visit", "survey"]'), None,
     "area.toml", "/case/forms/2", "has no file forms/survey.schema.json"),
    ("transition to unknown state", ('to = "visited"', 'to = "vanished"'), None, "area.toml",
     "/workflow/transitions/0/to", "'vanished' is not a state"),
    ("transition from unknown state", ('from = ["open"]', 'from = ["opened"]'), None, "area.toml",
     "/workflow/transitions/0/from/0", "'opened' is not a state"),
    ("unreachable state", ('to = "visited"', 'to = "open"'), None, "area.toml", "/workflow/states/1",
     "'visited' cannot be reached from 'open'"),
    ("initial not a state", ('initial = "open"', 'initial = "new"'), None, "area.toml", "/workflow/initial",
     "'new' is not a state"),
    ("no terminal state", ("terminal = true", "terminal = false"), None, "area.toml", "/workflow/states",
     "no state is terminal"),
    ("guard names unknown form", ('{ form = "visit", message', '{ form = "inspection", message'), None, "area.toml",
     "/workflow/transitions/0/guards/0/form", "'inspection' is not a form"),
    ("rule tests undeclared count", ("reports_180d = { minimum = 3 }", "reports_90d = { minimum = 3 }"), None,
     "area.toml", "/rules/0/when", "count 'reports_90d', which is not declared"),
    ("rule tests role not of the area", ('role = { const = "subject" }', 'role = { const = "landlord" }'), None,
     "area.toml", "/rules/0/when", "role 'landlord', which is not a role"),
    ("rule tests unknown subject fact", ("age = { type", "shoe_size = { type"), None, "area.toml", "/rules/1/when",
     "subject.shoe_size, which is not a subject fact"),
    ("rule target area not installed", ('then = { agency_type = "police"', 'then = { area = "parking"'), None,
     "area.toml", "/rules/2/then/area", "'parking' is not an installed area"),
    ("unknown agency type", ('agency_type = "police"', 'agency_type = "wizards"'), None, "area.toml",
     "/rules/2/then/agency_type", "'wizards' is not a known agency type"),
    ("two targets", ('then = { agency_type = "police", reason', 'then = { agency_type = "police", panel = "x", reason'),
     None, "area.toml", "/rules/2/then", "exactly one of"),
    ("duplicate rule id", ('id = "young-complainant"', 'id = "repeat-source-to-panel"'), None, "area.toml",
     "/rules/1/id", "is used twice"),
    ("risk_from missing question", ('field = "/risk_level"', 'field = "/danger"'), None, "area.toml",
     "/case/risk_from/field", "'/danger' is not a question"),
    ("count by unknown field", ('field = "/street"', 'field = "/road"'), None, "area.toml", "/counts/1/by/field",
     "'/road' is not a question"),
    ("form not a JSON Schema", None, ("report", '"type": "integer", "minimum"', '"type": "banana", "minimum"'),
     "report.schema.json", "/properties/nights/type", "not a valid JSON Schema"),
    ("unknown x- hint", None, ("report", '"x-summary": true', '"x-colour": "red"'), "report.schema.json",
     "/properties/street/x-colour", "unknown hint 'x-colour'"),
    ("labels do not match choices", None, ("report", '"Loud music", "Barking dog", "Shouting"', '"Loud music"'),
     "report.schema.json", "/properties/kind/x-labels", "1 labels for 3 choices"),
    ("x-show-when names a non-sibling", None,
     ("report", '"x-widget": "textarea"', '"x-widget": "textarea", "x-show-when": {"field": "nope", "in": [1]}'),
     "report.schema.json", "/properties/details/x-show-when/field", "not a question beside this one"),
    ("rule tests unknown form field", ("counts = { properties = { reports_180d = { minimum = 3 } } }",
                                       "case = { properties = { forms = { properties = { report = { properties = "
                                       "{ colour = { const = 1 } } } } } } }"),
     None, "area.toml", "/rules/0/when", "'colour', which is not a question of form 'report'"),
    ("rule tests unknown form", ("counts = { properties = { reports_180d = { minimum = 3 } } }",
                                 "case = { properties = { forms = { properties = { survey = { const = 1 } } } } }"),
     None, "area.toml", "/rules/0/when", "form 'survey', which is not a form of this area"),
]


@pytest.mark.parametrize("description, toml, form, suffix, pointer, reason", GALLERY, ids=[g[0] for g in GALLERY])
def test_broken_area_is_rejected_with_file_pointer_and_reason(tmp_path, description, toml, form, suffix, pointer,
                                                              reason):
    area = broken(tmp_path, toml=toml, form=form)
    problems = problems_of(area) if description != "rule target area not installed" and \
        description != "unknown agency type" and description != "two targets" else None
    if problems is None:  # cross-area checks run when areas are registered or checked together
        problems = check_paths([area]) or problems_of(area)
    assert any(p.file.endswith(suffix) and p.pointer.startswith(pointer) and reason in p.reason for p in problems), \
        "\n".join(map(str, problems))


def test_form_not_json_and_not_an_object(tmp_path):
    area = broken(tmp_path, raw_form=("visit", "{not json"))
    assert any("is not valid JSON" in p.reason and p.file.endswith("visit.schema.json") for p in problems_of(area))
    area2 = broken(tmp_path / "b", raw_form=("visit", '{"type": "array"}'))
    assert any('type "object"' in p.reason for p in problems_of(area2))


def test_unlisted_form_file_is_reported(tmp_path):
    area = broken(tmp_path)
    (area / "forms" / "extra.schema.json").write_text('{"type": "object"}')
    assert any("forms/extra.schema.json is not listed" in p.reason for p in problems_of(area))


def test_every_problem_in_an_area_is_reported_together(tmp_path):
    area = broken(tmp_path, toml=('to = "visited"', 'to = "vanished"'),
                  form=("report", '"x-summary": true', '"x-colour": "red"'))
    problems = problems_of(area)
    assert len(problems) >= 2
    assert {Path(p.file).name for p in problems} >= {"area.toml", "report.schema.json"}


def test_check_paths_on_a_folder_of_areas_and_duplicate_slugs(tmp_path):
    shutil.copytree(NOISE, tmp_path / "a")
    shutil.copytree(NOISE, tmp_path / "b")
    problems = check_paths([tmp_path])
    assert any("is also defined in" in p.reason for p in problems)
    assert check_paths([NOISE]) == []


SCHEMA = {
    "type": "object", "required": ["when", "kind", "count", "address"],
    "properties": {
        "when": {"title": "Date of the incident", "type": "string", "format": "date"},
        "kind": {"title": "Kind of noise", "type": "string", "enum": ["a", "b"]},
        "count": {"title": "Nights affected", "type": "integer", "minimum": 0, "maximum": 7},
        "note": {"title": "Note", "type": "string", "maxLength": 5, "x-errors": {"maxLength": "Keep the note short"}},
        "address": {"title": "Address", "type": "object", "required": ["postcode"],
                    "properties": {"postcode": {"title": "Postcode", "type": "string"}}},
    },
}


def test_errors_are_in_the_govuk_style_and_in_question_order():
    form = compile_form("t", SCHEMA, Path("t.json"))
    assert [(e.field, e.message) for e in form.errors({})] == [
        ("/when", "Enter date of the incident"), ("/kind", "Select kind of noise"),
        ("/count", "Enter nights affected"), ("/address", "Enter address")]
    errors = {e.field: e.message for e in form.errors(
        {"when": "2026-02-31", "kind": "z", "count": 9, "note": "far too long", "address": {}})}
    assert errors == {"/when": "Date of the incident must be a real date", "/kind": "Select kind of noise from the list",
                      "/count": "Nights affected must be 7 or less", "/note": "Keep the note short",
                      "/address/postcode": "Enter postcode"}
    assert {e.message for e in form.errors({"when": "2026-01-01", "kind": "a", "count": "x", "address": {"postcode": "A"}})} \
        == {"Nights affected must be a number"}
    assert json.dumps(SCHEMA)  # the schema itself is untouched by compiling
