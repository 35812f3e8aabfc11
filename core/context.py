"""What every service needs besides the database: the plugin manager and the loaded areas."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import pluggy

from caseframe.core.areas import AreaRegistry, build_registry
from caseframe.core.db.tx import after_commit, in_transaction, run_after_commit
from caseframe.core.errors import NotFound
from caseframe.core.plugins import get_plugin_manager

log = logging.getLogger("caseframe")


class Context:
    # a plain class, not a dataclass: a handler is given it as the dependency ``ctx`` (core/web/dependencies.py),
    # and Litestar would try to validate a dataclass's fields (a plugin manager) on every request
    __slots__ = ("pm", "areas")

    def __init__(self, pm: pluggy.PluginManager, areas: AreaRegistry) -> None:
        self.pm = pm
        self.areas = areas

    def __repr__(self) -> str:
        return f"Context(areas={sorted(self.areas.areas)!r})"

    def area(self, slug: str):
        area = self.areas.get(slug)
        if area is None:
            raise NotFound(f"The business area \u2018{slug}\u2019 is not installed")
        return area

    async def emit(self, hook: str, **kwargs: Any) -> None:
        """Call an event hook once the change is committed: after the outermost transaction (and only if
        it commits), or now, outside one. Implementations may be plain or ``async def``; both have run
        when the outermost transaction (or this call) ends. A failing plugin is logged by name, never
        shown to users, and never undoes the change."""
        for call in self._calls(hook, kwargs):
            if in_transaction():
                after_commit(call)
            else:
                await run_after_commit(call)

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Like :meth:`emit`, for code that cannot await: outside a transaction, an ``async def``
        implementation runs in the background."""
        for call in self._calls(hook, kwargs):
            after_commit(call)

    def _calls(self, hook: str, kwargs: dict[str, Any]) -> list[_HookCall]:
        return [
            _HookCall(impl, hook, {k: kwargs[k] for k in impl.argnames if k in kwargs})
            for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls())
        ]


def _plugin_label(impl: Any) -> str:
    """A name to log for a plugin: pluggy names an object registered without a name by its id."""
    plugin = impl.plugin
    name = getattr(plugin, "__name__", None) or type(plugin).__qualname__
    return impl.plugin_name if not impl.plugin_name.isdigit() else name


class _HookCall:
    """One plugin's implementation of an event hook, called with its arguments after commit."""

    __slots__ = ("impl", "hook", "kwargs")

    def __init__(self, impl: Any, hook: str, kwargs: dict[str, Any]) -> None:
        self.impl, self.hook, self.kwargs = impl, hook, kwargs

    def __call__(self) -> Any:
        try:
            result = self.impl.function(**self.kwargs)
        except Exception as exc:
            log.error(
                "plugin %s failed in %s: %s", _plugin_label(self.impl), self.hook, exc.__class__.__name__
            )
            return None
        if inspect.isawaitable(result):
            return self._finish(result)
        return result

    async def _finish(self, result: Any) -> None:
        try:
            await result
        except Exception as exc:
            log.error(
                "plugin %s failed in %s: %s", _plugin_label(self.impl), self.hook, exc.__class__.__name__
            )


def build_context(plugins: str | None = None) -> Context:
    pm = get_plugin_manager(plugins)
    return Context(pm=pm, areas=build_registry(pm))
