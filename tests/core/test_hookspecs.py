"""The hook contract: every hook says when it is called, is in the hook reference, and plugins implement real hooks."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from caseframe.core import PROJECT, hookspecs
from caseframe.core.plugins import DEFAULT_PLUGINS, get_plugin_manager

ROOT = Path(__file__).resolve().parents[2]
HOOKS_DOC = ROOT / "docs" / "hooks.md"
EXAMPLES = ROOT / "examples"


def hookspec_names() -> list[str]:
    """Every function in core/hookspecs.py marked with @hookspec, found without core.docs."""
    marker = f"{PROJECT}_spec"
    return sorted(
        name
        for name, fn in vars(hookspecs).items()
        if inspect.isfunction(fn) and fn.__module__ == hookspecs.__name__ and hasattr(fn, marker)
    )


HOOKS = hookspec_names()

#: "Called once at start-up", "Called after a case...", "Called when...", "Called for every...", ...
SAYS_WHEN = re.compile(
    r"\bcalled\s+(once|only|after|before|when|whenever|for|on|every|at|while)\b", re.IGNORECASE
)


def sentences(text: str) -> list[str]:
    text = re.sub(r"``[^`]*``|`[^`]*`", "code", text)  # code may hold dots: ``extra.<plugin name>``
    text = re.sub(r"\b(e\.g|i\.e|etc|cf)\.", "x", text)
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if len(s.split()) >= 3]


def test_the_hook_list_is_not_empty_and_matches_the_plugin_manager():
    assert len(HOOKS) >= 5, "no hookspecs found: has the marker in core/__init__.py changed?"
    pm = get_plugin_manager("", builtins=False, entrypoints=False)
    known = {name for name in dir(pm.hook) if not name.startswith("_")}
    assert set(HOOKS) <= known


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_docstring_saying_when_it_is_called(name):
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert doc, f"hook {name} has no docstring: say when it is called and what it returns"
    found = sentences(doc)
    assert len(found) >= 2, (
        f"hook {name}: the docstring has {len(found)} sentence(s); write at least two, "
        f"saying when it is called and what it returns:\n{doc}"
    )
    assert SAYS_WHEN.search(doc), (
        f"hook {name}: the docstring does not say when it is called "
        f"(e.g. 'Called once at start-up', 'Called after ...'):\n{doc}"
    )


def test_sentence_counting_itself():
    assert len(sentences("Return the areas, e.g. ``a.b``. Called once at start-up.")) == 2
    assert len(sentences("Return the areas.")) == 1


@pytest.mark.skipif(not HOOKS_DOC.exists(), reason="docs/hooks.md does not exist yet")
def test_every_hook_is_in_the_hook_reference():
    text = HOOKS_DOC.read_text(encoding="utf-8")
    headings = re.findall(r"^##\s+`?([a-z_][a-z0-9_]*)\s*\(", text, flags=re.MULTILINE)
    missing = [name for name in HOOKS if name not in headings]
    assert not missing, f"docs/hooks.md has no section for: {', '.join(missing)} (run 'caseframe docs')"
    stale = [name for name in headings if name not in HOOKS]
    assert not stale, f"docs/hooks.md documents hooks that no longer exist: {', '.join(stale)}"


def _example_modules(monkeypatch) -> list[object]:
    modules = []
    for package in sorted(EXAMPLES.glob("*/pyproject.toml")):
        for init in sorted(package.parent.glob("*/__init__.py")):
            monkeypatch.syspath_prepend(str(package.parent))
            modules.append(importlib.import_module(init.parent.name))
    return modules


def test_built_in_and_example_plugins_implement_only_real_hooks(monkeypatch):
    # pluggy accepts an implementation of a misspelt hook and never calls it; check_pending finds it
    pm = get_plugin_manager(",".join(DEFAULT_PLUGINS), entrypoints=False)
    for module in _example_modules(monkeypatch):
        if not pm.is_registered(module):
            pm.register(module)
    pm.check_pending()
    implemented = {
        impl.function.__name__ for name in HOOKS for impl in getattr(pm.hook, name).get_hookimpls()
    }
    assert "register_areas" in implemented
