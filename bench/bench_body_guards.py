"""What the request-body guards (core/web/input_guard.py) cost on hostile megabytes, against parsing the same body.

Every signed-in POST's body passes these guards on the event loop before its handler runs: the JSON depth, an
escaped null in JSON, and (a form) whether it decodes to UTF-8. The baseline is what the handler does next with the
body anyway, as Litestar parses it: ``msgspec.json.decode`` for JSON, ``parse_url_encoded_form_data`` for a form. The guards' earlier code (a regular
expression over the body, a walk of every decoded string, ``unquote_to_bytes``) is timed too, in the same run.

    python bench/bench_body_guards.py [--check] [--repeat 5]

Target: every guard under 20 ms on each of these megabytes (so the 2 MB a request may carry costs the worker no
more than 40 ms before its handler runs), or under what parsing the same body costs the handler anyway. With
``--check``, exits 1 if one misses.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import msgspec
from litestar._parsers import parse_url_encoded_form_data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from caseframe.core.web.input_guard import form_is_utf8, json_depth, json_holds_null  # noqa: E402

# -- the earlier code, for the before column --------------------------------------------------------------------

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def depth_before(body: bytes, limit: int = 32) -> int:
    depth = deepest = 0
    for byte in _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def null_before(body: bytes) -> bool:
    if b"\\u0000" not in body.lower():
        return False
    try:
        return _holds_nul(json.loads(body))
    except ValueError:
        return False


def utf8_before(body: bytes) -> bool:
    try:
        unquote_to_bytes(body.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# -- the bodies ------------------------------------------------------------------------------------------------

MEGABYTE = 1_000_000
JSON_BODIES = {
    "a 1 MB string": json.dumps({"note": "x" * MEGABYTE}).encode(),
    "1 MB of escaped quotes": json.dumps({"note": '"' * (MEGABYTE // 2)}).encode(),
    "333,000 empty lists": b"[" + b"[]," * 333_333 + b"[]]",
    "100,000 short strings, one null": json.dumps(["abcdefg"] * 100_000 + ["\x00"]).encode(),
}
FORM_BODIES = {
    "a 1 MB note, ASCII escapes": b"note=" + b"Flat+3%2C+Tarnford%0D%0A" * (MEGABYTE // 24),
    "a 1 MB note, accented": b"note=" + b"Zo%C3%AB+%C3%A9" * (MEGABYTE // 15),
}


#: the most a guard may cost on one of these megabytes, in CPU milliseconds
TARGET_MS = 20.0


def best_ms(fn: Callable[[bytes], Any], body: bytes, repeat: int) -> float:
    """The fastest of ``repeat`` calls, in CPU milliseconds (the least disturbed by other work on the machine)."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        fn(body)
        times.append(time.process_time() - started)
    return min(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a guard misses its target")
    parser.add_argument(
        "--repeat", type=int, default=5, help="calls of each, the fastest counted (default 5)"
    )
    args = parser.parse_args()
    #: (guard, its earlier code, its code now, the bodies, how the handler parses them; not Litestar's form cache)
    guards = [
        ("depth", depth_before, json_depth, JSON_BODIES, msgspec.json.decode),
        ("null", null_before, json_holds_null, JSON_BODIES, msgspec.json.decode),
        ("utf-8", utf8_before, form_is_utf8, FORM_BODIES, parse_url_encoded_form_data.__wrapped__),
    ]
    rows = [
        (guard, label, *(best_ms(fn, body, args.repeat) for fn in (before, now, parse)))
        for guard, before, now, bodies, parse in guards
        for label, body in bodies.items()
    ]
    print(
        f"request-body guards on hostile bodies, CPU ms (fastest of {args.repeat}); baseline: parsing the body"
    )
    print(f"{'guard':<7}{'body':<34}{'before':>9}{'now':>9}{'parse':>9}{'now/parse':>11}{'before/now':>12}")
    missed = []
    for guard, label, before, now, base in rows:
        print(
            f"{guard:<7}{label:<34}{before:>9.2f}{now:>9.2f}{base:>9.2f}{now / base:>10.2f}x{before / max(now, 0.001):>11.1f}x"
        )
        if now >= TARGET_MS and now >= base:
            missed.append(f"{guard} on {label}")
    if missed:
        print("Missed: " + "; ".join(missed))
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
