"""MIME bytes -> ParsedMessage: headers, body text (HTML turned into text), the buyer's new text, language."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import logging
from email.header import decode_header, make_header
from typing import Any

import mailparser
import regex

from daemon.parse import (
    charset,  # noqa: F401  (installs the charset aliases)
    htmltext,
)
from daemon.parse.language import detect
from daemon.parse.platforms import Platforms
from daemon.parse.quotes import split_reply
from extractors.core.model import Attachment, ParsedMessage, RawMessage

log = logging.getLogger(__name__)

SIGNAL_HEADERS = (
    "auto-submitted", "precedence", "list-id", "list-unsubscribe", "x-autoreply", "x-autorespond",
    "x-auto-response-suppress", "return-path", "content-type", "x-mailer", "x-priority",
    "x-failed-recipients", "x-ms-exchange-generated-message-source",
    "authentication-results", "received-spf", "x-spam-flag", "x-spam-status", "x-spam", "x-spamd-result",
)
_URL = regex.compile(r"https?://[^\s<>\"')\]]{1,500}", regex.I)


def _addr_list(value: Any) -> list[tuple[str, str]]:
    out = []
    for item in value or []:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            out.append((str(item[0] or ""), str(item[1] or "")))
    return out


def _stdlib_from(data: bytes) -> tuple[str, str]:
    """The sender from the stdlib parser, decoding a header whose whole `Name <addr>` is one encoded word."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    raw = msg.get("From", "")
    try:
        decoded = str(make_header(decode_header(str(raw))))
    except (UnicodeError, LookupError, ValueError):
        decoded = str(raw)
    name, addr = email.utils.parseaddr(decoded)
    return name, addr


def _clean_header(value: str) -> str:
    """Header text fit for display and for reuse in a draft: no CR/LF, no control characters."""
    return regex.sub(r"[\x00-\x1f\x7f]+", " ", value or "").strip()


def _message_ids(value: str) -> tuple[str, ...]:
    return tuple(regex.findall(r"<[^<>\s]{1,500}>", value or ""))


def _iso2022(text: str) -> str:
    """ISO-2022-JP is 7-bit: mail-parser passes its escape sequences through undecoded."""
    if "\x1b$" not in text:
        return text
    try:
        return text.encode("ascii").decode("iso-2022-jp")
    except (UnicodeError, LookupError):
        return text


def _date(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    return None


def parse(raw: RawMessage, platforms: Platforms | None = None) -> ParsedMessage:
    """Decode one message. Never raises on odd input: what cannot be read is left empty."""
    mail = mailparser.parse_from_bytes(raw.data)
    headers = {k.lower(): _clean_header(str(v)) for k, v in (mail.headers or {}).items()}
    senders = _addr_list(mail.from_)
    from_name, from_addr = senders[0] if senders else ("", "")
    if not from_addr or "@" not in from_addr:
        from_name, from_addr = _stdlib_from(raw.data)
    reply_to = _addr_list(getattr(mail, "reply_to", None) or [])
    plain = _iso2022("\n".join(t for t in (mail.text_plain or []) if t))
    html = _iso2022("\n".join(t for t in (mail.text_html or []) if t))
    html_only = not plain.strip() and bool(html.strip())
    body = plain if plain.strip() else htmltext.to_text(html)
    links = tuple(dict.fromkeys(_URL.findall(plain) + htmltext.links(html)))
    subject = _clean_header(mail.subject or "")
    new, signature, quoted = split_reply(body, from_addr.rpartition("@")[2].lower())
    platform, form = "", ""
    if platforms is not None:
        found = platforms.match(from_addr, subject, new)
        if found is not None:
            platform, new, form = found
    language, known = detect(new or subject)
    attachments = tuple(
        Attachment(
            filename=_clean_header(a.get("filename", "") or ""),
            content_type=str(a.get("mail_content_type", "") or ""),
            size=len(a.get("payload", "") or ""),
        )
        for a in (mail.attachments or [])
    )
    digest = hashlib.sha256(
        "\x00".join((from_addr.lower(), subject, headers.get("date", ""), body)).encode("utf-8", "surrogatepass")
    ).hexdigest()
    return ParsedMessage(
        key=raw.key,
        message_id=_message_ids(headers.get("message-id", ""))[:1][0] if _message_ids(headers.get("message-id", "")) else "",
        subject=subject,
        from_name=_clean_header(from_name),
        from_addr=_clean_header(from_addr).lower(),
        reply_to=_clean_header(reply_to[0][1]).lower() if reply_to else "",
        to=tuple(_clean_header(a) for _, a in _addr_list(mail.to)),
        cc=tuple(_clean_header(a) for _, a in _addr_list(getattr(mail, "cc", None) or [])),
        date=_date(mail.date),
        in_reply_to=(_message_ids(headers.get("in-reply-to", "")) or ("",))[0],
        references=_message_ids(headers.get("references", "")),
        headers=tuple((k, headers[k]) for k in SIGNAL_HEADERS if k in headers),
        text=new,
        signature=signature,
        quoted=quoted,
        full_text=body,
        language=language,
        language_known=known,
        is_html_only=html_only,
        attachments=attachments,
        platform=platform,
        form=form,
        links=links,
        content_hash=digest,
    )
