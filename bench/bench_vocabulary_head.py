"""The person search's vocabulary head at a realistic vocabulary, against the statement it replaced, in one run.

Every search asks whether the vocabulary of name words its process holds is current. It used to read
``count(*)`` and ``max(id)`` of cf_name_word; it now reads the one row of cf_name_vocabulary that triggers keep in
step (migration 2026-12-06T20:00:00). The search benchmark's 100,000 persons share only about a thousand distinct
name words, where a county's 100,000 persons have tens of thousands, so its figures cannot show what the old head
cost. Here the vocabulary has ``--words`` words (default 30,000) and both statements are timed on one connection,
alternately, in the same run.

    python bench/bench_vocabulary_head.py [--database-url postgresql://...] [--words 30000] [--repeat 500]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import seeded_database  # noqa: E402

OLD_HEAD = "SELECT count(*) AS n, max(id) AS last FROM cf_name_word"


async def seed(words: int) -> dict:
    from caseframe.core.persons.service import insert_rows

    rng = random.Random(5)
    vocabulary: set[str] = set()
    while len(vocabulary) < words:
        vocabulary.add("".join(rng.choices(string.ascii_lowercase, k=rng.randrange(4, 11))))
    await insert_rows("cf_name_word", ("word",), [(w,) for w in sorted(vocabulary)], conflict="word")
    return {"words": words}


async def timed(statement: str, repeat: int) -> float:
    from caseframe.core.persons.tables import NameWord

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await NameWord.raw(statement)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def main(args) -> int:
    from caseframe.core.db.engine import bind, close, engine_from_url, is_sqlite
    from caseframe.core.persons.service import _VOCABULARY_HEAD
    from caseframe.core.persons.tables import NameWord

    async with seeded_database(args.database_url, lambda: seed(args.words), "caseframe-bench-head-") as (
        url,
        _,
    ):
        engine = engine_from_url(url)
        bind(engine)
        sqlite = is_sqlite(engine)
        if not sqlite:
            await engine.start_connection_pool(min_size=1, max_size=1)
        try:
            old_row = (await NameWord.raw(OLD_HEAD))[0]
            new_row = (await NameWord.raw(_VOCABULARY_HEAD))[0]
            assert old_row["n"] == new_row["n"] == args.words, (old_row, new_row)
            for statement in (OLD_HEAD, _VOCABULARY_HEAD):  # warm both
                await timed(statement, 20)
            old, new = [], []
            for _ in range(5):  # alternately, so a busy moment falls on both
                old.append(await timed(OLD_HEAD, args.repeat // 5))
                new.append(await timed(_VOCABULARY_HEAD, args.repeat // 5))
        finally:
            if not sqlite:
                await engine.close_connection_pool()
            await close(engine)
    old_ms, new_ms = statistics.median(old), statistics.median(new)
    print(
        f"vocabulary head, {'SQLite' if sqlite else 'PostgreSQL'}, {args.words:,} name words, "
        f"median of {args.repeat} statements each, one connection"
    )
    print(f"count(*) and max(id) of cf_name_word (before)   {old_ms:7.3f} ms")
    print(f"the cf_name_vocabulary row (now)                 {new_ms:7.3f} ms")
    print(f"ratio {old_ms / new_ms:.1f}x: {old_ms - new_ms:.2f} ms less a search")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="postgresql://... (default: a temporary SQLite file)")
    parser.add_argument(
        "--words", type=int, default=30_000, help="name words in the vocabulary (default 30,000)"
    )
    parser.add_argument("--repeat", type=int, default=500, help="statements timed of each (default 500)")
    arguments = parser.parse_args()
    if arguments.words < 1 or arguments.repeat < 5:
        parser.error("--words must be at least 1 and --repeat at least 5")
    sys.exit(asyncio.run(main(arguments)))
