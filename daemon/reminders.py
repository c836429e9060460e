"""Reminders: a high-priority inquiry still unanswered past its due time gets a flagged note in the INBOX, once.

An inquiry is answered when a message of the Sent folder answers it (daemon/sent.py). The note is from and to the
seller's own address; the pipeline never treats it as an inquiry."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import html
import logging
from typing import TYPE_CHECKING, Any

from daemon import mime
from daemon.mailboxes.base import Mailbox

if TYPE_CHECKING:
    from daemon.store import Store

log = logging.getLogger(__name__)
NOTE_PREFIX = "<triage-note."  # the Message-ID of our own notes in the INBOX


def note_id(kind: str, key: str, domain: str) -> str:
    digest = hashlib.sha256(f"{kind}|{key}".encode()).hexdigest()[:32]
    return f"{NOTE_PREFIX}{kind}.{digest}@{domain}>"


def reminder(row: dict[str, Any], sender: tuple[str, str], now: dt.datetime) -> tuple[str, bytes]:
    """(Message-ID, bytes) of the note about one overdue inquiry."""
    name, address = sender
    domain = address.rpartition("@")[2] or "localhost"
    late = now - row["due_at"]
    hours = int(late.total_seconds() // 3600)
    missing = [k for k, v in (row.get("checklist") or {}).items() if v is None]
    mid = note_id("reminder", f"{row['account']}|{row['message_id']}|{row['id']}", domain)
    text = (f"This inquiry is still unanswered, {hours} h past its due time ({row['due_at']:%Y-%m-%d %H:%M} UTC).\n\n"
            f"From: {row['sender']}\nSubject: {row['subject']}\n"
            f"Clarity: {row['clarity']}/18, priority {row['priority']}, tier {row['tier'] or '-'}\n"
            f"Still missing: {', '.join(missing) or 'nothing'}\n\n"
            "Our draft is in Drafts. This note is not sent to anyone.\n")
    headers = [("From", mime.address(name, address)), ("To", mime.address(name, address)),
               ("Subject", mime.unstructured(f"Reminder: unanswered inquiry from {row['sender']}", "Subject")),
               ("Date", email.utils.format_datetime(now)), ("Message-ID", mid)]
    if row["message_id"]:
        headers += [("In-Reply-To", row["message_id"]), ("References", row["message_id"])]
    body = html.escape(text).replace("\n", "<br>\n")
    return mid, mime.message(headers, text, f"<!DOCTYPE html><html><body><p>{body}</p></body></html>")


def send_reminders(mailbox: Mailbox, store: Store, sender: tuple[str, str], now: dt.datetime | None = None) -> int:
    """Put a flagged note in the INBOX for each high-priority inquiry of this mailbox that is past its due time and
    unanswered (once each); return how many."""
    if not mailbox.can_append_note:
        return 0
    now = now or dt.datetime.now(dt.UTC)
    n = 0
    for row in store.overdue(mailbox.name, now):
        mailbox.check_held()
        _mid, data = reminder(row, sender, now)
        mailbox.append_note(data)
        store.mark_reminded(row["id"], now)
        log.info("mailbox=%s uid=%s reminder: unanswered %s past its due time", mailbox.name, row["uid"],
                 now - row["due_at"])
        n += 1
    return n
