"""Errors the core raises for people to read: each says where the problem is and what it is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    """One thing wrong with an area or plugin: the file, a JSON pointer inside it, and why."""

    file: str
    pointer: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}#{self.pointer}" if self.pointer else self.file
        return f"{where}: {self.reason}"


class AreaError(Exception):
    """One or more areas or plugins are broken; start-up stops with every problem listed."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DemoDataError(Exception):
    """A plugin's demo_data does not have the documented shape (DemoData in core/payloads.py, docs/hooks.md) or
    names an agency, person, form, transition or role that does not exist; every problem is listed."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class ServiceError(Exception):
    """A request the services refuse, with a message meant for the person who asked."""

    status = 400
    #: the heading a page and a problem body give this refusal; None for the status's own
    title: str | None = None

    def __init__(
        self, message: str, *, errors: list[dict[str, str]] | None = None, retry_after: int | None = None
    ):
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        #: seconds to wait before trying again (sent as Retry-After), for a refusal that passes
        self.retry_after = retry_after


class NotFound(ServiceError):
    """The record does not exist, or the user may not know that it does."""

    status = 404


class Forbidden(ServiceError):
    """The user may see the record but may not do this to it."""

    status = 403


class Gone(ServiceError):
    """The record was erased under the retention policy; only a tombstone of it is kept."""

    status = 410


class ValidationFailed(ServiceError):
    """Submitted answers do not pass the form; ``errors`` lists each field and message."""

    status = 422


#: what a form that sent one of its fields twice is told (a page sends each once; a tampered or replayed one may not)
REPEATED_FIELD = "The form sent a field more than once, so it cannot be read. Nothing has been saved: send it again from the page."


class PreconditionRequired(ServiceError):
    """A change that must say which version it was made from (so nothing is overwritten unseen) did not."""

    status = 428


class Conflict(ServiceError):
    """Someone else changed the record since it was read; nothing was overwritten."""

    status = 409


#: what every write refused on a closed case says (``caseframe.core.cases.view.refuse_closed``)
CASE_CLOSED_MESSAGE = "This case is closed: reopen it to change it."


class CaseClosed(ServiceError):
    """A write on a closed case: its record is read, not changed, until the area's reopen step (if it has one)
    opens it again. Not a ``Conflict`` (nobody else's change is in the way, so re-reading would not help)."""

    status = 409
    title = "This case is closed"

    def __init__(self, message: str = CASE_CLOSED_MESSAGE, *, case_id: int | None = None):
        super().__init__(message)
        #: the case refused, said only where the reader may see it: its page links "Back to the case" (else to My
        #: work, naming no case they may not see)
        self.case_id = case_id
