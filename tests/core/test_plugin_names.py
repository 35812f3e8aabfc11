"""A plugin's name (the key of its facts under extra.<name>) is the same however the plugin is loaded."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from caseframe.core import hookimpl, plugins
from caseframe.core.plugins import get_plugin_manager, plugin_key
from caseframe.core.testing import make_context
from tests.fixtures import fact_plugin
from tests.fixtures.areas import noise_plugin


def _names(pm, hook: str) -> list[str]:
    """The name each implementation of ``hook`` is registered under, and the key its facts would go under."""
    impls = getattr(pm.hook, hook).get_hookimpls()
    return sorted({impl.plugin_name for impl in impls} | {plugin_key(impl.plugin) for impl in impls})


# its import name
@pytest.mark.parametrize(
    "module, name",
    [
        (fact_plugin, "intel_feed"),  # declares CASEFRAME_PLUGIN_NAME
        (noise_plugin, "tests.fixtures.areas.noise_plugin"),
    ],
)
def test_entry_point_module_name_and_object_give_one_name(monkeypatch, module, name):
    hook = "extra_referral_facts" if module is fact_plugin else "register_areas"
    # by entry point, whose own name ("whatever") only selects it
    ep = EntryPoint(name="whatever", value=module.__name__, group=plugins.ENTRY_POINT_GROUP)
    monkeypatch.setattr(
        plugins, "entry_points", lambda group: [ep] if group == plugins.ENTRY_POINT_GROUP else []
    )
    by_entry_point = get_plugin_manager("whatever", builtins=False)
    # by module name, as the built-ins are
    monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", [module.__name__])
    by_module_name = get_plugin_manager(module.__name__, entrypoints=False)
    # by the module object, as a plugin's own tests load it
    by_object = make_context(module).pm
    assert _names(by_entry_point, hook) == _names(by_module_name, hook) == _names(by_object, hook) == [name]


def test_an_object_plugin_is_named_by_its_declaration_or_its_class():
    class Declared:
        CASEFRAME_PLUGIN_NAME = "my_feed"

    class Plain:
        @hookimpl
        def agency_types(self):
            return []

    assert plugin_key(Declared()) == "my_feed"
    assert (
        plugin_key(Plain())
        == f"{__name__}.test_an_object_plugin_is_named_by_its_declaration_or_its_class.<locals>.Plain"
    )
    # two objects of one class may still be loaded together (tests do), each under a name of its own
    ctx = make_context(Plain(), Plain())
    assert len({impl.plugin_name for impl in ctx.pm.hook.agency_types.get_hookimpls()}) == 2


def test_one_module_offered_by_two_entry_points_is_one_plugin(monkeypatch):
    eps = [
        EntryPoint(name=n, value=fact_plugin.__name__, group=plugins.ENTRY_POINT_GROUP) for n in ("a", "b")
    ]
    monkeypatch.setattr(plugins, "entry_points", lambda group: eps)
    monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", [])
    pm = get_plugin_manager(builtins=False)
    assert [n for n, _ in pm.list_name_plugin()] == ["intel_feed"]
