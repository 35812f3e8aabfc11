"""CSV downloads that open safely in a spreadsheet: formula-like cells neutralised, UTF-8 with a BOM, no-store."""
from __future__ import annotations

import csv
import io
import re
from typing import Any, AsyncIterator, Iterable

from litestar.response import Stream

from core import clock

#: a cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice and Sheets
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Excel reads a CSV as UTF-8 only when it starts with the byte order mark
BOM = "\ufeff"


def cell(value: Any) -> str:
    """A value as a CSV cell a spreadsheet will never run: what a user typed may start with ``=``."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_line(values: Iterable[Any]) -> str:
    """One CSV record of neutralised cells, with its line ending."""
    out = io.StringIO()
    csv.writer(out).writerow([cell(v) for v in values])
    return out.getvalue()


def download_name(what: str) -> str:
    """``caseframe-<what>-<today>.csv``, with ``what`` reduced to letters, digits and hyphens."""
    stem = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-") or "export"
    return f"caseframe-{stem}-{clock.today().isoformat()}.csv"


def csv_download(lines: AsyncIterator[str], filename: str) -> Stream:
    """Stream ``lines`` (each from :func:`csv_line`) as a UTF-8 CSV attachment, BOM first, never kept by a
    browser or proxy; streamed so a large export never sits whole in the server's memory."""
    async def body() -> AsyncIterator[bytes]:
        yield BOM.encode()
        async for line in lines:
            yield line.encode("utf-8")

    return Stream(body(), media_type="text/csv; charset=utf-8", headers={
        "Cache-Control": "no-store", "Pragma": "no-cache",
        "Content-Disposition": f'attachment; filename="{filename}"'})
