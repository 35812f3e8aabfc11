"""What every service needs besides the database: the plugin manager and the loaded areas."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pluggy

from core.areas import AreaRegistry, build_registry
from core.errors import NotFound
from core.plugins import get_plugin_manager

log = logging.getLogger("caseframe")


@dataclass
class Context:
    pm: pluggy.PluginManager
    areas: AreaRegistry

    def area(self, slug: str):
        area = self.areas.get(slug)
        if area is None:
            raise NotFound(f"The business area \u2018{slug}\u2019 is not installed")
        return area

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Call an event hook after commit; a failing plugin is logged by name, never shown to users."""
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            try:
                impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception as exc:
                log.error("plugin %s failed in %s: %s", impl.plugin_name, hook, exc.__class__.__name__)


def build_context(plugins: str | None = None) -> Context:
    pm = get_plugin_manager(plugins)
    return Context(pm=pm, areas=build_registry(pm))
