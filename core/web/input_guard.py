"""What no handler should ever see: checked for every request before its handler runs (and, for a form's body,
before the CSRF check parses it), so bad input is a clear 4xx the same on SQLite and PostgreSQL, never a parser's
or driver's error and a 500."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from litestar import Request
from litestar.exceptions import ClientException, NotFoundException

from caseframe.core.db import MAX_ID
from caseframe.core.errors import ValidationFailed
from caseframe.core.numbers import whole_number

#: a sign-in's body (an email, a password and a code fit many times over): anyone may post one, so no more is
#: read, on the page or the API
SIGN_IN_MAX_BODY = 16 * 1024

NUL_REFUSED = (
    "The request contains a null character, which cannot be stored. "
    "Remove it and try again: nothing has been saved."
)


NOT_UTF8 = (
    "The form was sent in a character encoding other than UTF-8, so it cannot be read. "
    "Nothing has been saved: send it again from the page."
)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


#: a run of percent escapes of bytes above 127, one after another: the bytes of one or more UTF-8 sequences (it
#: starts with a literal "%", so the regular expression engine skips ahead to each one in C)
_HIGH_ESCAPES = re.compile(rb"%[89A-Fa-f][0-9A-Fa-f](?:%[89A-Fa-f][0-9A-Fa-f])*")


def form_is_utf8(body: bytes) -> bool:
    """Whether a form body (``application/x-www-form-urlencoded``) decodes to UTF-8, in C for what browsers send.

    Browsers escape every byte above 127, so their bodies are ASCII: their decoded bytes above 127 are only those
    of the runs of such escapes, and what stands between two runs (a character, or the escape of one) is ASCII,
    which ends a sequence whatever it is. So the runs, joined by one ASCII byte and decoded by ``bytes.fromhex``,
    are valid UTF-8 exactly when the whole decoded body is. A body with raw bytes above 127 is decoded in Python."""
    if not body.isascii():
        return _is_utf8(unquote_to_bytes(body.replace(b"+", b" ")))
    runs = _HIGH_ESCAPES.findall(body)
    return not runs or _is_utf8(bytes.fromhex(b"%41".join(runs).replace(b"%", b"").decode("ascii")))


#: deeper than any form's answers go (a group of objects in an object is 4): a body nested deeper is refused
#: before a parser sees it, as Python's and msgspec's JSON parsers fail with a RecursionError at about 1,000
MAX_JSON_DEPTH = 32
TOO_DEEP = f"The request body is nested too deeply: at most {MAX_JSON_DEPTH} levels of objects and lists."
#: every byte but a quote and a bracket: all that is left of a body for its nesting to be counted
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_PARENTHESES = bytes.maketrans(b"[{]}", b"(())")


def json_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply ``body``'s objects and lists nest (strings skipped), counted no further than ``limit`` + 1.

    Exact for JSON a parser takes; for any other body, never less than the depth a parser would recurse to
    before failing. Every step is a bytes method, so a hostile megabyte costs a few milliseconds, where a
    regular expression or a Python loop over the body took 200.
    """
    # an escaped backslash, then an escaped quote, never ends a string: without them (and without all but quotes
    # and brackets), every other stretch between quotes is a string's content
    plain = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = b"".join(plain.split(b'"')[::2]).translate(_PARENTHESES)
    # each pass takes away the innermost pairs, so a balanced body's depth is the number of passes; an opening
    # bracket never closed may hold everything after it, so each one left counts one more
    depth = 0
    while depth <= limit:
        inner = brackets.replace(b"()", b"")
        if len(inner) == len(brackets):
            break
        brackets, depth = inner, depth + 1
    return min(depth + brackets.count(b"("), limit + 1)


def json_holds_null(body: bytes) -> bool:
    """Whether ``body`` is JSON with a null character (written ``\\u0000``) in a key or a value; a body that is not
    JSON is left to its handler's message. Once the escaped backslashes are gone, any ``\\u0000`` left is a null
    (exact for JSON), so a decoded megabyte's strings are never walked one by one."""
    if b"\\u0000" not in body.replace(b"\\\\", b""):
        return False
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _ids_in_path_are_ascii(scope: Any) -> bool:
    """Each ``{name:int}`` part of the address is ASCII digits: Litestar reads it with ``int()``, which also takes
    Arabic-Indic and fullwidth digits and underscores, so ``/cases/١`` would be case 1; and no larger than an id."""
    numbers = {
        f"{{{name}}}" for name, value in (scope.get("path_params") or {}).items() if isinstance(value, int)
    }
    if not numbers:
        return True
    template = scope.get("path_template") or ""  # "/cases/{case_id}/forms/{form_name}"
    for part, raw in zip(
        template.strip("/").split("/"), scope.get("path", "").strip("/").split("/"), strict=False
    ):
        if part in numbers and not (raw.isascii() and (whole_number(raw) or 0) <= MAX_ID):
            return False
    return True


async def refuse_unstorable_input(request: Request) -> None:
    """Turn away, before any handler runs, what no database row can hold, so SQLite and PostgreSQL answer alike:

    - an id in the address that is not ASCII digits, or is beyond 32 bits, names nothing: the same 404 as any
      unknown id;
    - a null character anywhere in the address, query, form or JSON body (PostgreSQL text cannot store one):
      a clear 422 and nothing saved, instead of a driver error half-way through a request;
    - a JSON body nested deeper than ``MAX_JSON_DEPTH``: a 400 before any parser recurses into it.
    """
    scope = request.scope
    if not _ids_in_path_are_ascii(scope):
        raise NotFoundException()
    if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
        raise ValidationFailed(NUL_REFUSED)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    await refuse_unreadable_body(request)


async def refuse_unreadable_body(request: Request) -> None:
    """The body's part of :func:`refuse_unstorable_input`, also called by the CSRF check before it parses a form
    (guards run first): reading the body here keeps it for every later reader, where a multipart parse alone
    would consume the stream. A form that is not UTF-8 is refused like a null character."""
    if getattr(request.state, "body_checked", False):
        return
    request.state.body_checked = True
    content_type = request.headers.get("content-type", "")
    form = content_type.startswith("application/x-www-form-urlencoded")
    multipart = content_type.startswith("multipart/")
    if multipart and request.route_handler.opt.get("upload"):
        await _refuse_unreadable_upload(request)
        return
    body = await request.body()  # kept by Litestar for the handler
    if not body:
        return
    if not form and not multipart and json_depth(body) > MAX_JSON_DEPTH:
        raise ClientException(TOO_DEEP)
    if b"\x00" in body or (form and b"%00" in body):
        raise ValidationFailed(NUL_REFUSED)
    if (form or multipart) and not (form_is_utf8(body) if form else _is_utf8(body)):
        raise ValidationFailed(NOT_UTF8)
    if json_holds_null(body):
        raise ValidationFailed(NUL_REFUSED)


async def _refuse_unreadable_upload(request: Request) -> None:
    """An upload route's multipart body is parsed as it streams in (its files spooled to temporary files, the route's
    own size limit enforced on the bytes received) instead of being read whole into memory; its text fields are then
    held to the same rules as any form's. File content may hold any byte."""
    try:
        form = await request.form()
    except UnicodeDecodeError:
        raise ValidationFailed(NOT_UTF8) from None
    for key in form:
        for value in form.getall(key):
            if isinstance(value, str) and "\x00" in value or "\x00" in key:
                raise ValidationFailed(NUL_REFUSED)
