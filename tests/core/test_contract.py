"""The plugin contract: the docs' example area is valid and every package ships (hooks and area words: own files)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_area_format_example_is_a_valid_area(tmp_path):
    from caseframe.core.areas import load_area

    text = (ROOT / "docs/area-format.md").read_text(encoding="utf-8")
    example = text.split("```toml", 1)[1].split("```", 1)[0]
    tomllib.loads(example)
    area = tmp_path / "noise"
    (area / "forms").mkdir(parents=True)
    (area / "area.toml").write_text(example, encoding="utf-8")
    fixture = ROOT / "tests/fixtures/areas/noise/forms"
    for name in ("report", "visit"):
        (area / "forms" / f"{name}.schema.json").write_text((fixture / f"{name}.schema.json").read_text())
    assert load_area(area).slug == "noise"


def test_every_package_ships_in_the_distribution():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    # core/ installs as caseframe.core and plugins/ as caseframe.areas (package-dir)
    installed_as = {"core": ("caseframe", "core"), "plugins": ("caseframe", "areas")}
    found = {
        ".".join(installed_as[top] + p.parent.relative_to(ROOT / top).parts)
        for top in installed_as
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert found - listed == set(), (
        f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"
    )
