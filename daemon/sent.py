"""The seller's side: each message in the Sent folder marks the inquiry it answers as answered (with the response
time) and, when it started from one of our drafts, records how the seller changed the draft (daemon/edits.py)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import logging
from typing import TYPE_CHECKING

import regex

from daemon.edits import compare, plain_text
from daemon.mailboxes.base import Mailbox

if TYPE_CHECKING:
    from daemon.store import Store

log = logging.getLogger(__name__)
_MSG_ID = regex.compile(r"<[^<>\s]+@[^<>\s]+>")


def read_sent(mailbox: Mailbox, store: Store) -> int:
    """Record every message of the mailbox's Sent folder not recorded yet; return how many."""
    n = 0
    for key, data in mailbox.fetch_sent(lambda keys: store.known_sent(mailbox.name, keys)):
        record_sent(mailbox.name, key, data, store)
        n += 1
    return n


def record_sent(account: str, key: str, data: bytes, store: Store) -> None:
    """Record one sent message: the inquiry it answers, how long after it came, and the edits of our draft."""
    head = email.message_from_bytes(data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0], policy=email.policy.default)
    message_id = _ids(str(head.get("Message-ID", "")))
    ids = _ids(str(head.get("References", ""))) + _ids(str(head.get("In-Reply-To", "")))
    sent_at = _date(str(head.get("Date", "")))
    inquiry, draft = store.answered_inquiry(account, ids, message_id[0] if message_id else "")
    response = int((sent_at - inquiry["created_at"]).total_seconds()) if inquiry else None
    edits = compare(draft["text"], plain_text(data)) if draft else None
    store.add_sent(account, key, message_id=(message_id or [""])[0],
                   inquiry_message_id=inquiry["message_id"] if inquiry else None,
                   draft_message_id=draft["draft_message_id"] if draft else None,
                   action=draft["action"] if draft else None, language=draft["language"] if draft else None,
                   sent_at=sent_at, response_seconds=max(response, 0) if response is not None else None, edits=edits)
    log.info("mailbox=%s sent=%s answers=%s from_draft=%s", account, key, "yes" if inquiry else "no",
             "yes" if draft else "no")


def _ids(value: str) -> list[str]:
    return _MSG_ID.findall(value)


def _date(value: str) -> dt.datetime:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return dt.datetime.now(dt.UTC)
    return when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC)
