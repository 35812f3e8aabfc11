"""Area files and plugin settings at their edges: one clear problem, never an exception the loader did not name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from caseframe.core.areas import check_paths
from caseframe.core.plugins import get_plugin_manager

NOISE = Path(__file__).resolve().parents[1] / "fixtures/areas/noise"


@pytest.mark.parametrize("deep", ["[" * 600 + "]" * 600, "{a = " * 400 + "1" + "}" * 400])
def test_an_area_toml_nested_hundreds_deep_is_one_problem_naming_the_file(tmp_path, deep):
    area = tmp_path / "noise"
    shutil.copytree(NOISE, area)
    with (area / "area.toml").open("a", encoding="utf-8") as toml:
        toml.write(f"\nx_deep = {deep}\n")
    problems = [str(p) for p in check_paths([area])]
    assert len(problems) == 1, problems
    assert "area.toml" in problems[0] and "too deeply" in problems[0]


@pytest.mark.parametrize("blank", ["", " ", ",", " , "])
def test_a_blank_plugins_setting_loads_every_plugin_as_unset_does(blank):
    everything = {name for name, _ in get_plugin_manager(None).list_name_plugin()}
    assert {name for name, _ in get_plugin_manager(blank).list_name_plugin()} == everything


def test_areas_check_says_an_area_clashes_with_an_installed_one_as_start_up_would(tmp_path):
    """``caseframe areas check`` said "All areas are valid" of an area named or prefixed as an installed one, which
    start-up then refused."""
    from caseframe.core.areas.registry import build_registry

    installed = get_plugin_manager()
    taken = next(iter(build_registry(installed)))
    area = tmp_path / "noise"
    shutil.copytree(NOISE, area)
    toml = (area / "area.toml").read_text(encoding="utf-8")
    (area / "area.toml").write_text(
        toml.replace('slug = "noise"', f'slug = "{taken.slug}"', 1), encoding="utf-8"
    )
    problems = [str(p) for p in check_paths([area], installed)]
    assert any(
        f"area {taken.slug!r} is already installed, from {taken.path / 'area.toml'}" in p for p in problems
    )
    (area / "area.toml").write_text(
        toml.replace('reference_prefix = "NOI"', f'reference_prefix = "{taken.reference_prefix}"', 1),
        encoding="utf-8",
    )
    problems = [str(p) for p in check_paths([area], installed)]
    assert any("is already the reference prefix of the installed area" in p for p in problems), problems
    assert (
        check_paths([taken.path], installed) == []
    )  # an installed area checked where it is: no clash with itself


def test_an_area_saved_with_a_byte_order_mark_loads(tmp_path):
    """Windows editors save "UTF-8 with BOM": area.toml was "not valid TOML: Invalid statement (at line 1, column
    1)", and a form "not valid JSON", for a mark no one sees."""
    from caseframe.core.areas import load_area

    area = tmp_path / "noise"
    shutil.copytree(NOISE, area)
    for name in ("area.toml", "forms/report.schema.json"):
        path = area / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert check_paths([area]) == []
    assert load_area(area).forms["report"].title


@pytest.mark.parametrize(
    "old, new, pointer, words",
    [
        ('"minimum": 0, "maximum": 7', '"minimum": 8, "maximum": 7', "/properties/nights/minimum", "8 > 7"),
        ('"minimum": 0, "maximum": 7', '"minimum": NaN, "maximum": 7', "/properties/nights/minimum", "nan"),
        (
            '"x-widget": "textarea"',
            '"minLength": 10, "maxLength": 5',
            "/properties/details/minLength",
            "10 > 5",
        ),
    ],
)
def test_a_question_no_answer_can_meet_is_named_in_a_form(tmp_path, old, new, pointer, words):
    area = tmp_path / "noise"
    shutil.copytree(NOISE, area)
    form = area / "forms/report.schema.json"
    form.write_text(form.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    problems = [p for p in check_paths([area]) if p.pointer == pointer]
    assert problems and words in problems[0].reason and str(form) == problems[0].file, check_paths([area])


def test_a_rule_condition_with_no_number_in_it_is_named(tmp_path):
    area = tmp_path / "noise"
    shutil.copytree(NOISE, area)
    toml = area / "area.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            "reports_180d = { minimum = 3 }", "reports_180d = { minimum = nan }"
        ),
        encoding="utf-8",
    )
    problems = [str(p) for p in check_paths([area])]
    assert any("reports_180d/minimum: is nan" in p for p in problems), problems
