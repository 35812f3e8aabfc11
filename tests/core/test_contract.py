"""The plugin contract: documented hooks, no area words in the core, the docs' example is valid."""
from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

import pytest

from core import hookspecs
from core.docs import hook_names

ROOT = Path(__file__).resolve().parents[2]

#: words that belong to business areas, never to the core
AREA_WORDS = ["asb", "anti-social", "antisocial", "offender", "offending", "iom", "licence", "license",
              "licensing", "taxi", "hackney", "hate", "rough sleep\\w*", "sleeper", "homeless\\w*", "fly-?tip\\w*",
              "encampment\\w*", "caravan\\w*", "perpetrator", "graffiti", "burglary"]


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_says_when_it_is_called_and_what_it_returns(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert len(doc) > 120 and "Called" in doc, f"hook {name} needs a docstring saying when it is called"


def test_no_area_word_appears_in_the_core():
    # DEFAULT_PLUGINS names the built-in plugin modules (plugins.<slug>): that is the one allowed mention
    pattern = re.compile(r"(?<!plugins\.)\b(" + "|".join(AREA_WORDS) + r")\b", re.IGNORECASE)
    hits = []
    for path in sorted((ROOT / "core").rglob("*")):
        if path.suffix not in {".py", ".html", ".json", ".toml", ".md", ".txt", ".css", ".js"}:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not hits, "area words in core/ (the plugin contract is missing something):\n" + "\n".join(hits)


def test_the_area_format_example_is_a_valid_area(tmp_path):
    from core.areas import load_area

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
    found = {".".join(p.parent.relative_to(ROOT).parts) for top in ("core", "plugins")
             for p in (ROOT / top).rglob("__init__.py")}
    assert found - listed == set(), f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"
