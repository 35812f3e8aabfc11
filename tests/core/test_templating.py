"""The template environment's shortcut for ``d.x`` on a plain dict reads exactly what Jinja's own getattr reads."""

from __future__ import annotations

from collections import OrderedDict

import pytest
from jinja2 import Environment

from caseframe.core.context import build_context
from caseframe.core.templating import build_environment


@pytest.fixture(scope="module")
def env():
    return build_environment(build_context())


CASES = [
    ("{{ d.name }}", {"name": "Jordan <Riley>"}),  # an item, escaped as before
    ("[{{ d.missing }}]", {"name": "x"}),  # a missing item is undefined: renders empty
    ("{{ d.missing is defined }}", {}),
    ("{{ d.items is callable }}", {"items": "a question called items"}),  # dict's own attribute comes first
    ("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"items": 1, "get": 2}),
    ("{{ d.get('a') }}", {"a": 1, "get": "shadow"}),
    ("{{ d.nested.deeper }}", {"nested": {"deeper": "found"}}),
    ("{{ d.name }}", OrderedDict(name="a dict subclass goes Jinja's way")),
    ("{{ d.__class__ is defined }}", {"__class__": "item"}),
    ("{{ d[1] }}-{{ d.x }}", {1: "one", "x": None}),
]


@pytest.mark.parametrize(("source", "value"), CASES)
def test_dict_fields_render_as_jinja_renders_them(env, source, value):
    plain = Environment(autoescape=True)
    assert env.from_string(source).render(d=value) == plain.from_string(source).render(d=value)


def test_strict_undefined_still_raises_for_a_missing_item(env):
    from jinja2 import StrictUndefined, UndefinedError

    strict = env.overlay(undefined=StrictUndefined)
    with pytest.raises(UndefinedError):
        strict.from_string("{{ d.missing }}").render(d={})
