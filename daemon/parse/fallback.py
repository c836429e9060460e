"""The stdlib's reading of a message that mail-parser fails on (it raises on some hostile input: NUL bytes in
a header, parts it cannot walk): the same few things, text and HTML parts, Subject, headers, Date, attachments."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import logging
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

log = logging.getLogger(__name__)


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except (LookupError, ValueError):
        return payload.decode("utf-8", "replace")


def _header(value: Any) -> str:
    try:
        return str(make_header(decode_header(str(value))))
    except (UnicodeError, LookupError, ValueError, email.errors.MessageError):
        return str(value)


class StdlibMail:
    """What parse() reads of a message, from the stdlib's parser (compat32: it never raises on a header)."""

    def __init__(self, data: bytes) -> None:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
        self.headers = {str(k): _header(v) for k, v in msg.items()}
        self.subject = _header(msg.get("Subject", ""))
        try:
            self.date: dt.datetime | None = email.utils.parsedate_to_datetime(str(msg.get("Date", "")))
        except (TypeError, ValueError, IndexError):
            self.date = None
        self.text_plain: list[str] = []
        self.text_html: list[str] = []
        self.attachments: list[dict[str, Any]] = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            filename = part.get_filename()
            kind = part.get_content_type()
            if filename or not kind.startswith("text/"):
                payload = part.get_payload(decode=True)
                self.attachments.append({"filename": _header(filename or ""), "mail_content_type": kind,
                                         "payload": payload if isinstance(payload, bytes) else b""})
            elif kind == "text/html":
                self.text_html.append(_text(part))
            else:
                self.text_plain.append(_text(part))
