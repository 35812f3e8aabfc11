"""JSON Schema's ``pattern`` read as JSON Schema says (ECMA-262): ``$`` is the end of the text. Python's ``$`` also
matches before a last newline, so "asb\\n" passed as an area's slug (and its cases' references held a newline),
and an answer ending in a newline passed a form's pattern, where a browser's ``pattern`` attribute refuses it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from caseframe.core.areas import check_paths
from caseframe.core.forms.fastcheck import compile_schema
from caseframe.core.forms.validation import compile_form
from caseframe.core.schemas import Validator, ecma_end

NOISE = Path(__file__).resolve().parents[1] / "fixtures/areas/noise"


@pytest.mark.parametrize(
    "pattern, read_as",
    [
        ("^[a-z][a-z0-9_]{1,39}$", r"^[a-z][a-z0-9_]{1,39}\Z"),
        (r"^a\$b$", r"^a\$b\Z"),  # an escaped dollar is a dollar
        ("^[$]x$", r"^[$]x\Z"),  # so is one in a class
        ("^[]$]$", r"^[]$]\Z"),  # a ] first in a class is the class's own
        ("^[^]$]+$", r"^[^]$]+\Z"),
        ("cat|dog$", r"cat|dog\Z"),
        ("^[0-9]+", "^[0-9]+"),
    ],
)
def test_a_dollar_that_ends_the_pattern_is_the_end_of_the_text(pattern, read_as):
    assert ecma_end(pattern) == read_as


def test_a_trailing_newline_no_longer_passes_a_pattern():
    national_insurance = {"type": "string", "pattern": "^[A-Z]{2}[0-9]{6}[A-D]$"}
    assert Validator(national_insurance).is_valid("QQ123456C")
    assert not Validator(national_insurance).is_valid("QQ123456C\n")
    assert Draft202012Validator(national_insurance).is_valid("QQ123456C\n")  # what it was


#: patterns and the same written by hand with Python's end of the text
PATTERNS = [
    ("^[a-z][a-z0-9_]*$", r"^[a-z][a-z0-9_]*\Z"),
    ("^[A-Z]{2,6}$", r"^[A-Z]{2,6}\Z"),
    ("^(/[^/]+)+$", r"^(/[^/]+)+\Z"),
    ("^[a-z0-9][a-z0-9-]*$", r"^[a-z0-9][a-z0-9-]*\Z"),
    ("x$|^y", r"x\Z|^y"),
    ("^[$]+$", r"^[$]+\Z"),
]


@given(st.sampled_from(PATTERNS), st.text(alphabet="abxyAZ09/$-_\n", max_size=8))
def test_only_a_last_newline_is_read_otherwise(patterns, text):
    pattern, by_hand = patterns
    ours = Validator({"pattern": pattern}).is_valid(text)
    assert ours == bool(re.search(by_hand, text))
    fast = compile_schema({"type": "string", "pattern": pattern})
    assert fast is None or fast(text) == ours  # the compiled check reads it the same way
    if not text.endswith("\n"):
        assert ours == Draft202012Validator({"pattern": pattern}).is_valid(text)


def test_a_form_answer_ending_in_a_newline_is_an_error_in_words():
    form = compile_form(
        "id",
        {
            "type": "object",
            "properties": {
                "pnc": {"type": "string", "title": "PNC number", "pattern": "^[0-9]{2}/[0-9]{1,7}[A-Z]$"}
            },
        },
        Path("id.json"),
    )
    assert form.errors({"pnc": "12/345678A"}) == []
    errors = form.errors({"pnc": "12/345678A\n"})
    assert [e.field for e in errors] == ["/pnc"] and "correct format" in errors[0].message


@pytest.mark.parametrize("key, value", [("slug", "noise"), ("reference_prefix", "NOI")])
def test_an_area_whose_slug_or_prefix_ends_in_a_newline_is_refused(tmp_path, key, value):
    area = tmp_path / "noise"
    shutil.copytree(NOISE, area)
    toml = (area / "area.toml").read_text(encoding="utf-8")
    (area / "area.toml").write_text(
        toml.replace(f'{key} = "{value}"', f'{key} = "{value}\\n"', 1), encoding="utf-8"
    )
    problems = [str(p) for p in check_paths([area])]
    assert problems and any(key in p for p in problems), problems


def test_new_area_refuses_a_name_ending_in_a_newline_and_writes_nothing(tmp_path):
    from caseframe.core.scaffold import ScaffoldError, new_area

    with pytest.raises(ScaffoldError):
        new_area("noise\n", tmp_path)
    assert list(tmp_path.iterdir()) == []
