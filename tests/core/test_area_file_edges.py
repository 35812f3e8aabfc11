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
