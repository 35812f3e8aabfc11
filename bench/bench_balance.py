"""Keep-alive connections evened out over the workers, against left where the kernel hashed them: the tail it cuts.

A page that costs a fixed 2.5 ms of CPU (no database, so nothing else varies) is served as ``caseframe serve`` serves
(``core/web/serving.py``), on 2 workers, and driven by wrk at 16 keep-alive connections, in turns: with the workers
evening out their connections (``ConnectionShares``), and without (the workers are not told where the counts are,
as before). Each turn prints how the 16 connections were split over the workers midway (from ``ss``), pages a
second and wrk's p50, p95 and p99; then the medians of the turns and their ratios.

    python bench/bench_balance.py [--turns 3] [--duration 8]

With the connections split 10 and 6, the 10 on one worker wait for each other: every worker serves about the same
number of pages a second, so the busier one's requests take 10/8 as long as an even split's. The even split
serves the same pages a second with a lower p95.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import Server, free_port  # noqa: E402
from bench_http import ensure_wrk, wrk  # noqa: E402

#: CPU each request burns
BURN_SECONDS = 0.0025


def create_burn_app():  # type: ignore[no-untyped-def]
    """The page: a fixed amount of CPU, then the worker's pid."""
    from litestar import Litestar, get

    @get("/health", sync_to_thread=False)
    def health() -> str:
        return "ok"

    @get("/burn", sync_to_thread=False)
    def burn() -> str:
        end = time.thread_time() + BURN_SECONDS
        while time.thread_time() < end:
            pass
        return str(os.getpid())

    return Litestar(route_handlers=[health, burn])


# the server: caseframe's serve(); "off" points the supervisor at another environment variable than the one its
# workers read, so they find no counts and never close a connection to even them out
SERVE = """
import sys
from caseframe.core.web import serving
if sys.argv[2] == "off":
    serving.SHARES_ENV = "BENCH_BALANCE_UNUSED"
serving.serve("127.0.0.1", int(sys.argv[1]), 2, "bench_balance:create_burn_app")
"""


def split(port: int) -> str:
    """How the established connections to ``port`` are spread over the processes holding them, e.g. "8/8"."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True
    ).stdout
    counts: dict[str, int] = {}
    for line in out.splitlines():
        pid = line.split("pid=", 1)[1].split(",", 1)[0] if "pid=" in line else "?"
        counts[pid] = counts.get(pid, 0) + 1
    return "/".join(str(n) for n in sorted(counts.values(), reverse=True)) or "?"


def turn(mode: str, duration: float) -> dict:
    port = free_port()
    env = {
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH", "")]
        )
    }
    server = Server(
        f"balance-{mode}", [sys.executable, "-c", SERVE, str(port), mode], port, workers=2, env=env
    )
    try:
        asyncio.run(server.ready())
        seen: dict[str, str] = {}
        midway = threading.Timer(duration / 2, lambda: seen.update(split=split(port)))
        midway.start()
        result = wrk(f"{server.base}/burn", 16, duration, cookie="none=1")
        midway.join()
        return {**result, "split": seen.get("split", "?")}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=3, choices=range(1, 11), metavar="1-10")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run (default 8)")
    args = parser.parse_args()
    if not 2 <= args.duration <= 120:
        parser.error("--duration must be 2 to 120 seconds")
    ensure_wrk()
    load = os.getloadavg()[0]
    print(
        f"2 workers, a page of {BURN_SECONDS * 1000:g} ms of CPU, wrk 16 connections {args.duration:g} s a run, "
        f"{args.turns} turns each way; load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'connections':<12} {'split':>6} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    results: dict[str, list[dict]] = {"even": [], "hashed": []}
    for _ in range(args.turns):
        for mode, name in (("on", "even"), ("off", "hashed")):
            r = turn(mode, args.duration)
            results[name].append(r)
            print(
                f"{name:<12} {r['split']:>6} {r['rps']:>8.1f} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['p99']:>7.1f}"
            )
    med = {
        name: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p95", "p99")}
        for name, rs in results.items()
    }
    print("medians")
    for name, m in med.items():
        print(f"{name:<12} {'':>6} {m['rps']:>8.1f} {m['p50']:>7.1f} {m['p95']:>7.1f} {m['p99']:>7.1f}")
    even, hashed = med["even"], med["hashed"]
    print(
        f"even / hashed: req/s {even['rps'] / hashed['rps']:.2f}x, p50 {even['p50'] / hashed['p50']:.2f}x, "
        f"p95 {even['p95'] / hashed['p95']:.2f}x, p99 {even['p99'] / hashed['p99']:.2f}x"
    )


if __name__ == "__main__":
    main()
