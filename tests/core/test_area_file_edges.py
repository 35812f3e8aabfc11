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
