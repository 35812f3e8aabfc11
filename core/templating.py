"""Jinja templates: plugins' template directories first (to override or extend), then the core's.

Below the web layer: pages (core.web) and documents rendered outside a request (panel packs, subject access
request exports) share this one environment, so a plugin's template override applies to both.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from caseframe.core.context import Context
from caseframe.core.errors import AreaError, Problem
from caseframe.core.plugins import hook_lists

CORE_TEMPLATES = Path(__file__).parent / "web" / "templates"


def _date(value: Any, fmt: str = "%-d %B %Y") -> str:
    """GOV.UK date style: 4 June 2026."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime(fmt)


def _datetime(value: Any) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.strftime("%-d %B %Y at %-I:%M%p").replace("AM", "am").replace("PM", "pm") if value else ""


#: what a plain dict has as attributes (its methods): Jinja's ``d.x`` gives these before an item of the same name
_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(Environment):
    """Jinja's environment, reading ``d.x`` of a plain dict without raising an exception first.

    Jinja tries ``getattr(d, "x")`` and, on AttributeError, ``d["x"]``: every field a template reads from the
    dicts the services give (a timeline entry's ``.at``, a person's ``.given_name``) raised and caught an
    exception, a sixth of rendering a case page. For a plain dict and a name that is not one of dict's own
    attributes the answer is the same, so it is looked up directly; anything else goes Jinja's way."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def plugin_template_directories(ctx: Context) -> list[Path]:
    """Every plugin's ``template_directories()``, in the order the hook gives them, each checked: a hook that fails,
    returns anything but a list, or names what is not a directory stops start-up naming the plugin (a missing
    folder made every page of the plugin a 500, and a single path given as text was read a letter at a time)."""
    dirs: list[Path] = []
    problems: list[Problem] = []
    for where, result in hook_lists(ctx.pm, "template_directories", "folders", problems):
        for i, folder in enumerate(result):
            if not isinstance(folder, (str, Path)) or not Path(folder).is_dir():
                problems.append(
                    Problem(where, f"/{i}", f"template_directories(): {folder!r} is not a folder")
                )
            else:
                dirs.append(Path(folder))
    if problems:
        raise AreaError(problems)
    return dirs


def build_environment(ctx: Context) -> Environment:
    """The Jinja environment for ``ctx``: its plugins' template directories, then the core's, with the filters
    and globals every template uses."""
    dirs = plugin_template_directories(ctx)
    env = _Environment(
        loader=ChoiceLoader(
            [FileSystemLoader([str(d) for d in dirs]), FileSystemLoader(str(CORE_TEMPLATES))]
        ),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        # checking every template file's time on each render was a third of the rendering time; a developer
        # editing templates sets CASEFRAME_TEMPLATE_RELOAD=1 to see changes without a restart
        auto_reload=os.environ.get("CASEFRAME_TEMPLATE_RELOAD", "") == "1",
    )
    env.filters["govuk_date"] = _date
    env.filters["govuk_datetime"] = _datetime
    from caseframe.core.sharing.policy import PURPOSES, SENSITIVITY_LABELS

    env.globals["purposes"] = PURPOSES
    env.globals["sensitivity_labels"] = SENSITIVITY_LABELS
    from caseframe.core.numbers import page_links

    env.globals["page_links"] = page_links
    env.globals["flag_label"] = ctx.areas.flag_label
    # the colour of a referral's status tag, the same on every page that shows one
    env.filters["referral_tag"] = lambda status: {
        "open": "govuk-tag--blue",
        "info_requested": "govuk-tag--yellow",
        "accepted": "govuk-tag--green",
    }.get(status, "govuk-tag--grey")
    from caseframe.core.documents.service import size_text

    env.filters["file_size"] = size_text
    env.filters["humanise"] = lambda s: str(s or "").replace("_", " ").replace("-", " ")
    return env
