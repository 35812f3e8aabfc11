"""The body guards (core/web/input_guard.py): the depth counts exactly what a parser would nest into, whatever the
strings hold, and never less than that for a body no parser takes; a null character is found wherever it is
escaped, and only there; a form is UTF-8 exactly when its decoded body is."""

from __future__ import annotations

import json
import time
from urllib.parse import unquote_to_bytes

from hypothesis import given, settings
from hypothesis import strategies as st

from caseframe.core.web.input_guard import MAX_JSON_DEPTH, form_is_utf8, json_depth, json_holds_null

#: strings full of what could be mistaken for structure: brackets, quotes and backslashes, escaped
TRICKY = st.text(alphabet='[]{}"\\\\ab\nu0\x00', max_size=12)
DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4),
    max_leaves=40,
)


def nesting(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    return 0


@given(DOCUMENTS)
def test_the_depth_of_any_document_is_exact_whatever_its_strings_hold(document):
    body = json.dumps(document).encode()
    assert json_depth(body, limit=1000) == nesting(document)
    assert json_depth(json.dumps(document, ensure_ascii=False, indent=1).encode(), limit=1000) == nesting(
        document
    )


def strings(value) -> list[str]:
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    if isinstance(value, dict):
        return [*value, *(s for v in value.values() for s in strings(v))]
    return [value] if isinstance(value, str) else []


@given(DOCUMENTS)
def test_a_null_is_found_in_any_key_or_value_and_nowhere_else(document):
    holds = any("\x00" in s for s in strings(document))
    assert json_holds_null(json.dumps(document).encode()) == holds
    assert json_holds_null(json.dumps(document, ensure_ascii=False).encode()) == holds


def test_text_that_only_looks_like_an_escaped_null_is_not_one():
    assert not json_holds_null(b'{"a": "\\\\u0000"}')  # an escaped backslash, then the letters u0000
    assert json_holds_null(b'{"a": "\\\\\\u0000"}')  # an escaped backslash, then a null
    assert not json_holds_null(b"not JSON \\u0000")  # left to the handler's own message


def test_depth_is_counted_no_further_than_one_past_the_limit():
    assert json_depth(b"[" * 100_000 + b"]" * 100_000) == MAX_JSON_DEPTH + 1
    assert json_depth(b'{"a":' * 40 + b"1" + b"}" * 40, limit=50) == 40


def test_an_unclosed_or_broken_body_counts_at_least_as_deep_as_a_parser_would_go():
    assert json_depth(b"[" * 1000) == MAX_JSON_DEPTH + 1  # never closed: a parser recurses into every one
    assert json_depth(b"[[[]" + b"[" * 40) == MAX_JSON_DEPTH + 1
    assert json_depth(b'["]]]]", [[') >= 3
    assert json_depth(b'{"a": "\\\\"}') == 1  # an escaped backslash ends before the quote that closes
    assert json_depth(b'["\\"[[[["]') == 1  # an escaped quote does not close the string
    assert json_depth(b"") == 0
    assert json_depth(b"not json at all") == 0


def test_a_megabyte_of_string_or_of_brackets_is_read_at_bytes_speed():
    """A hostile megabyte took 200 ms of the event loop through a regular expression; here it must take well under
    one (a generous bound, for a loaded machine: the bytes methods take a few milliseconds)."""
    for body in (
        json.dumps({"a": "x" * 1_000_000}).encode(),
        json.dumps({"a": '\\"' * 300_000}).encode(),
        b"[" + b"[]," * 333_333 + b"[]]",
    ):
        started = time.process_time()
        assert json_depth(body) <= 2
        assert time.process_time() - started < 0.1


#: pieces of a form body: escapes high and low, lone percent signs, hex digits that follow no percent sign; and
#: (only in the first kind of body) raw bytes above 127, which browsers never send
PIECES = ["%", "C3", "A9", "e9", "%f", "41", "%0D%0A", "%c3", "%A9", "%E2%82", "%AC", "a", "+", "=", "&"]


@settings(max_examples=400)
@given(st.lists(st.sampled_from([*PIECES, "é", "\udcff"])) | st.lists(st.sampled_from(PIECES)))
def test_a_form_is_utf8_exactly_when_its_percent_decoded_body_is(pieces):
    body = "".join(pieces).encode("utf-8", "surrogateescape")
    decoded = unquote_to_bytes(body.replace(b"+", b" "))
    try:
        decoded.decode("utf-8")
        expected = True
    except UnicodeDecodeError:
        expected = False
    assert form_is_utf8(body) == expected
