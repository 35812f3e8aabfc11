"""Password hashing with argon2id, off the event loop.

argon2 is slow on purpose (tens of milliseconds and 64 MiB a hash): run on the event loop, a handful of
sign-ins would stall every other request. Hashes and checks run in a small pool of threads instead
(argon2-cffi releases the GIL while it works), and when more are already waiting than the pool can get
through in a few seconds, a new one is turned away with a 429 before any hashing starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from caseframe.core.errors import ServiceError

#: argon2id with the library's current recommended parameters: what every deployment hashes with
RECOMMENDED = PasswordHasher()
_hasher = RECOMMENDED
_DUMMY = _hasher.hash("not a real password")


def use_hasher(hasher: PasswordHasher) -> None:
    """Hash new passwords and check every password with ``hasher`` from now on, its dummy hash included (an unknown
    user's check costs what a real one does). For test suites only: Caseframe's pytest plugin hashes at argon2id's
    cheapest, so a suite that makes thousands of users does not spend its minutes hashing (at the recommended
    parameters a hash takes a third of a second of two busy cores). A stored hash keeps the parameters it was made
    with, so either way every hash still checks. A deployment never calls it."""
    global _hasher, _DUMMY
    _hasher = hasher
    _DUMMY = hasher.hash("not a real password")


#: threads that hash (each uses 64 MiB while it works); CASEFRAME_HASH_THREADS overrides (``configure``). One hash
#: already runs its lanes on several cores, so half the cores are enough and leave the rest to the event loop
#: (measured on 2 cores, 24 sign-ins at once: a signed-in page took 4 ms with one thread, 12 ms with two, no faster
#: overall)
HASH_THREADS = max(1, min(4, (os.cpu_count() or 1) // 2))


def default_queue(threads: int) -> int:
    return max(8, 4 * threads)


#: hashing requests allowed to wait for a thread (about a second's work); beyond that they are turned away.
#: CASEFRAME_HASH_QUEUE overrides
HASH_QUEUE = default_queue(HASH_THREADS)
#: seconds a turned-away request is asked to wait (Retry-After)
BUSY_RETRY_SECONDS = 5

_pool = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="caseframe-argon2")
_admitted = 0


def configure(threads: int | None, queue: int | None) -> None:
    """Use the pool size and queue CASEFRAME_HASH_THREADS and CASEFRAME_HASH_QUEUE set (None: the default), checked
    by Settings; called by create_app. Hashes already under way finish in the pool they started in."""
    global _pool, HASH_THREADS, HASH_QUEUE
    if threads is not None and threads != HASH_THREADS:
        # the old pool is not shut down: what it has finishes, and its idle threads end once it is collected
        _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="caseframe-argon2")
        HASH_THREADS = threads
        HASH_QUEUE = default_queue(threads)
    if queue is not None:
        HASH_QUEUE = queue


class HashingBusy(ServiceError):
    """Too many password checks are under way: try again in a few seconds (nothing was checked or counted)."""

    status = 429


def busy_error() -> HashingBusy:
    return HashingBusy(
        "Too many people are signing in or changing passwords right now. Wait a few seconds and try again.",
        retry_after=BUSY_RETRY_SECONDS,
    )


@contextlib.contextmanager
def hashing_slot() -> Iterator[None]:
    """A place in the hashing queue for the block, or HashingBusy at once when the queue is full.

    Take it before anything else a request does with a password, so a turned-away request costs nothing."""
    global _admitted
    if _admitted >= HASH_THREADS + HASH_QUEUE:
        raise busy_error()
    _admitted += 1
    try:
        yield
    finally:
        _admitted -= 1


def hash_password_now(password: str) -> str:
    """On the calling thread: for scripts and the command line, never a request."""
    return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, computed in the hashing pool."""
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


async def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (an unknown user's empty hash costs the same and never matches)."""
    return await asyncio.get_running_loop().run_in_executor(_pool, _verify, stored, password)


#: how much of a new password the strength check reads: zxcvbn's time grows faster than the length (120 characters
#: of "ab" took half a second, 64 under a tenth) and it refuses more than 72 itself; 64 judge a passphrase well
PASSWORD_CHECKED_CHARACTERS = 64


async def new_password_problem(password: str, *, user_inputs: list[str] = ()) -> str | None:
    """``password_problem`` off the event loop, in a hashing slot (HashingBusy at once when they are all taken)."""
    with hashing_slot():
        return await asyncio.get_running_loop().run_in_executor(
            _pool, functools.partial(password_problem, password, user_inputs=user_inputs)
        )


def password_problem(password: str, *, user_inputs: list[str] = ()) -> str | None:
    """Why a new password is not good enough, in words for the user; None when it is. Tens of milliseconds of CPU:
    a request calls ``new_password_problem``, which runs it in the hashing pool."""
    from zxcvbn import zxcvbn

    if len(password) < 12:
        return "Password must be 12 characters or more"
    if len(password) > 256:
        return "Password must be 256 characters or fewer"
    # zxcvbn knows common passwords, names, keyboard patterns and dates; the user's own details count too
    result = zxcvbn(
        password[:PASSWORD_CHECKED_CHARACTERS],
        user_inputs=[u[:PASSWORD_CHECKED_CHARACTERS] for u in user_inputs if u] + ["caseframe"],
        max_length=PASSWORD_CHECKED_CHARACTERS,
    )
    if result["score"] < 3:
        return (
            "Choose a password that is harder to guess: avoid common passwords, names and patterns. "
            "Three or four random words work well"
        )
    return None
