"""What a name search may be: checked where a search comes in (pages, API), before any query is built.

A search is turned into one condition per three-letter run of its words; hundreds of words made SQLite refuse the
query ("Expression tree is too large") and PostgreSQL plan for seconds, which showed as a 500. No name needs more
than a few words, so a longer search is refused with a clear message instead.
"""

from __future__ import annotations

import re

MAX_SEARCH_WORDS = 10
MAX_SEARCH_LENGTH = 100


def name_search_problem(text: str) -> str:
    """ "" when ``text`` is a name search that can be run; else what is wrong with it, for the person searching."""
    if len(text) > MAX_SEARCH_LENGTH:
        return f"Search for a name of {MAX_SEARCH_LENGTH} characters or fewer"
    if len(re.findall(r"\w+", text)) > MAX_SEARCH_WORDS:
        return f"Search for a name of {MAX_SEARCH_WORDS} words or fewer"
    return ""
