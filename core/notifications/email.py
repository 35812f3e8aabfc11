"""Optional e-mail for notifications: an outbox written with each notification, sent after the commit over SMTP.

Off unless ``CASEFRAME_SMTP_HOST`` is set. The sender never runs inside a user's request: rows are written in the
transaction of the change and a background task (and ``caseframe notifications run``) sends them once they are
committed, so a mail server that is down or refuses never fails the user's action. A failed send is tried again
after 1, 2 and 4 minutes, then dropped and logged (by id and the kind of error, never the text); the notification
itself stays in the app. An e-mail holds the notification's short text (a reference at most) and a link.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from caseframe.core import clock

log = logging.getLogger("caseframe.notifications")

#: tries before an e-mail is dropped
MAX_ATTEMPTS = 4
#: how often the background sender looks for committed e-mails
SEND_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    sender: str = "caseframe@localhost"
    starttls: bool = True
    username: str = ""
    password: str = ""
    #: the site's address, for the link in each e-mail (e.g. https://caseframe.example.org)
    base_url: str = "http://localhost:8000"
    timeout: float = 10.0


_config: SmtpConfig | None = None


def configure(config: SmtpConfig | None) -> None:
    """Turn e-mail on (with the server's settings) or off (None) for this process."""
    global _config
    _config = config


def config_from_settings(settings) -> SmtpConfig | None:
    if not getattr(settings, "smtp_host", ""):
        return None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password,
        base_url=settings.base_url.rstrip("/"),
    )


def enabled() -> bool:
    return _config is not None


def _message(config: SmtpConfig, to: str, text: str, notification_id: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = to
    # the notification's own short text: a reference at most, never what the case says
    msg["Subject"] = f"Caseframe: {text}"
    msg.set_content(
        f"{text}\n\nSign in to Caseframe to read it:\n{config.base_url}/notifications/{notification_id}/open\n\n"
        "You get these e-mails because you turned them on under Your account in Caseframe; turn them off there.\n"
    )
    return msg


def _send(config: SmtpConfig, msg: EmailMessage) -> None:
    with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
        if config.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if config.username:
            smtp.login(config.username, config.password)
        smtp.send_message(msg)


async def send_pending(limit: int = 100) -> tuple[int, int]:
    """Send the committed e-mails that are due; returns (sent, failed). Safe to run in several processes at once:
    each e-mail is claimed by one before it is sent."""
    from caseframe.core.db.tx import transaction
    from caseframe.core.notifications.service import email_text
    from caseframe.core.notifications.tables import Notification, NotificationEmail

    config = _config
    if config is None:
        return 0, 0
    now = clock.now()
    due = (
        await NotificationEmail.select(NotificationEmail.id, NotificationEmail.attempts)
        .where((NotificationEmail.status == "pending") & (NotificationEmail.next_try_at <= now))
        .order_by(NotificationEmail.id)
        .limit(limit)
    )
    sent = failed = 0
    for row in due:
        async with transaction():
            # claimed by moving the next try on: another sender skips it meanwhile
            claimed = (
                await NotificationEmail.update({NotificationEmail.next_try_at: now + dt.timedelta(minutes=5)})
                .where(
                    (NotificationEmail.id == row["id"])
                    & (NotificationEmail.status == "pending")
                    & (NotificationEmail.next_try_at <= now)
                )
                .returning(NotificationEmail.id)
            )
        if not claimed:
            continue
        item = (
            await NotificationEmail.select(
                NotificationEmail.notification,
                NotificationEmail.recipient,
                NotificationEmail.recipient.email.as_alias("to"),
                NotificationEmail.recipient.active.as_alias("active"),
                # a deactivated agency's users are not written to either, as they cannot sign in
                NotificationEmail.recipient.agency.active.as_alias("agency_active"),
            )
            .where(NotificationEmail.id == row["id"])
            .first()
        )
        note = (
            await Notification.select(Notification.text, Notification.case_id, Notification.kind)
            .where(Notification.id == item["notification"])
            .first()
        )
        error = ""
        item["active"] = bool(item["active"] and item["agency_active"])
        if item["active"] and note:
            try:
                # the words as the recipient's list would show them: no case they may not see is named
                text = await email_text(item["recipient"], note["text"], note["case_id"], note["kind"])
                await asyncio.to_thread(
                    _send, config, _message(config, item["to"], text, item["notification"])
                )
            except Exception as exc:  # the server's text may echo the message: only the kind of error is kept
                error = exc.__class__.__name__
        attempts = row["attempts"] + 1
        async with transaction():
            if not item["active"] or not note:
                values = {
                    NotificationEmail.status: "dropped",
                    NotificationEmail.last_error: "not sent: no longer active",
                }
            elif not error:
                values = {NotificationEmail.status: "sent", NotificationEmail.sent_at: clock.now()}
            elif attempts >= MAX_ATTEMPTS:
                values = {NotificationEmail.status: "dropped", NotificationEmail.last_error: error}
                log.warning("notification e-mail %s dropped after %s tries (%s)", row["id"], attempts, error)
            else:
                values = {
                    NotificationEmail.next_try_at: clock.now() + dt.timedelta(minutes=2 ** (attempts - 1)),
                    NotificationEmail.last_error: error,
                }
                log.warning("notification e-mail %s failed (%s); trying again later", row["id"], error)
            await NotificationEmail.update({**values, NotificationEmail.attempts: attempts}).where(
                NotificationEmail.id == row["id"]
            )
        if error:
            failed += 1
        elif item["active"] and note:
            sent += 1
    return sent, failed


_wake: asyncio.Event | None = None


def wake() -> None:
    """Called after a commit that queued e-mails: the sender in this process sends them now, not at its next round."""
    if _wake is not None:
        _wake.set()


async def run_sender() -> None:
    """The app's background sender: what was committed, when woken after a commit or every few seconds (the
    outbox rows other processes wrote, and the retries)."""
    global _wake
    _wake = asyncio.Event()
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_wake.wait(), SEND_INTERVAL_SECONDS)
        _wake.clear()
        try:
            await send_pending()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database hiccup must not end the sender
            log.error("notification e-mail sender failed: %s", exc.__class__.__name__)
