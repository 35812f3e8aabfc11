"""CSV downloads: cells a spreadsheet cannot run as formulas, UTF-8 with a byte-order mark for Excel."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any

from litestar import Response
from litestar.response import Stream

from caseframe.core.web.pages import NO_STORE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The cell's text; one a spreadsheet would read as a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_response(header: list[str], rows: Iterable[Iterable[Any]], filename: str) -> Response:
    """A download of ``rows`` under ``header``; ``filename`` is ours (never what a user typed)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_line(values: Iterable[Any]) -> str:
    """One CSV record of neutralised cells, with its line ending: for :func:`csv_stream`."""
    out = io.StringIO()
    csv.writer(out).writerow([safe_cell(v) for v in values])
    return out.getvalue()


def download_name(what: str) -> str:
    """``caseframe-<what>-<today>.csv``, with ``what`` reduced to letters, digits and hyphens."""
    from caseframe.core import clock

    stem = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-") or "export"
    return f"caseframe-{stem}-{clock.today().isoformat()}.csv"


def csv_stream(lines: AsyncIterator[str], filename: str) -> Stream:
    """Stream ``lines`` (each from :func:`csv_line`) as a CSV download, byte-order mark first, so a large
    export never sits whole in the server's memory; no-store like every personal response."""

    async def body() -> AsyncIterator[bytes]:
        yield "\ufeff".encode()
        async for line in lines:
            yield line.encode("utf-8")

    return Stream(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )
