"""MIME bytes -> ParsedMessage: headers, body text (HTML turned into text), the buyer's new text, language."""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import hashlib
import logging
from typing import Any

import mailparser
import regex

from daemon.limits import DEFAULT_LIMITS, MAX_SUBJECT_CHARS, Limits, cut_text
from daemon.parse import (
    charset,  # noqa: F401  (installs the charset aliases)
    htmltext,
    sandbox,
)
from daemon.parse.addresses import clean, first_mailbox, mailboxes
from daemon.parse.attachments import Reader, read_all
from daemon.parse.fallback import StdlibMail
from daemon.parse.language import detect
from daemon.parse.platforms import Platforms
from daemon.parse.quotes import split_reply
from daemon.parse.screen import header_size
from extractors.core.errors import MessageError
from extractors.core.model import ParsedMessage, RawMessage

log = logging.getLogger(__name__)

SIGNAL_HEADERS = (
    "auto-submitted", "precedence", "list-id", "list-unsubscribe", "x-autoreply", "x-autorespond",
    "x-auto-response-suppress", "return-path", "content-type", "x-mailer", "x-priority",
    "x-failed-recipients", "x-ms-exchange-generated-message-source",
    "authentication-results", "received-spf", "x-spam-flag", "x-spam-status", "x-spam", "x-spamd-result",
    "x-rspamd-action",
)
MAX_FIELD_BYTES = 8192  # a header field (folded lines included) longer than this is cut
HTML_PER_TEXT = 4  # characters of HTML read for each character of text extraction may get
_URL = regex.compile(r"https?://[^\s<>\"')\]]{1,500}", regex.I)


ADDRESS_HEADERS = ("from", "reply-to", "to", "cc")
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def address_headers(data: bytes) -> dict[str, str]:
    """The address headers as written (encoded words undecoded, raw UTF-8 read as UTF-8 per RFC 6532), the
    first of each name; read from the header section only."""
    head = _HEADERS.parsebytes(data[: header_size(data)])
    found: dict[str, str] = {}
    for name, value in head.raw_items():
        key = name.lower()
        if key in ADDRESS_HEADERS and key not in found and isinstance(value, str):
            found[key] = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return found


def _clean_header(value: str) -> str:
    """Header text fit for display and for reuse in a draft: no CR/LF, no control characters."""
    return clean(value)


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


def _cut_markup(html: str, limit: int) -> str:
    """HTML of more text than extraction reads cut before the tag at or before limit characters."""
    if len(html) <= limit:
        return html
    at = html.rfind("<", 0, limit)
    return html[: at if at > 0 else limit]


def _date(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    return None


def _read(data: bytes) -> Any:
    """mail-parser's reading of the message; the stdlib's where mail-parser fails on it."""
    try:
        mail = mailparser.parse_from_bytes(data)
        _ = (mail.headers, mail.subject, mail.date, mail.attachments, mail.text_plain, mail.text_html)
        return mail
    except RecursionError:
        raise
    except Exception as e:  # noqa: BLE001 - mail-parser raises assorted errors on hostile input
        log.debug("mail-parser failed (%s: %s); reading the message with the stdlib", type(e).__name__, e)
        return StdlibMail(data)


def bounded_fields(data: bytes, limit: int = MAX_FIELD_BYTES) -> tuple[bytes, list[str]]:
    """The message with every header field longer than limit bytes cut at a space before it (the stdlib's
    encoded-word decoder takes quadratic time on a long field full of `=?`), and a note for each cut."""
    end = header_size(data)
    head = data[:end]
    if len(head) <= limit:
        return data, []
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    notes: list[str] = []
    for n, field in enumerate(fields):
        if len(field) > limit:
            name = field.split(b":", 1)[0][:40].decode("ascii", "replace")
            cut = field[: max(field.rfind(b" ", 0, limit), limit // 2)]
            notes.append(f"header field {clean(name)!r} cut at {len(cut):,} of {len(field):,} bytes")
            fields[n] = cut.rstrip(b"\r\n") + b"\r\n"
    return b"".join(fields) + data[end:], notes


def parse(raw: RawMessage, platforms: Platforms | None = None, *, limits: Limits = DEFAULT_LIMITS,
          reader: Reader | None = sandbox.DEFAULT) -> ParsedMessage:
    """Decode one message. Never raises on odd input (what cannot be read is left empty) except MessageError for
    a MIME structure nested too deeply to read. Addresses come from a strict parse of the address headers: a
    message without a usable From address has from_addr ''. Text over the limit is cut, and the cut noted.
    Attachments are read by `reader` (the attachment sandbox; None: only classified by their first bytes)."""
    data, notes = bounded_fields(raw.data)
    try:
        mail = _read(data)
        plain = _iso2022("\n".join(t for t in (mail.text_plain or []) if t))
        html = _iso2022("\n".join(t for t in (mail.text_html or []) if t))
        headers = {k.lower(): _clean_header(str(v)) for k, v in (mail.headers or {}).items()}
    except RecursionError as e:
        raise MessageError("its MIME parts are nested too deeply to read") from e
    fields = address_headers(data)
    from_name, from_addr = first_mailbox(fields.get("from", ""))
    reply_to = first_mailbox(fields.get("reply-to", ""))[1]
    html_only = not plain.strip() and bool(html.strip())
    if html_only:
        html = _cut_markup(html, limits.max_text_chars * HTML_PER_TEXT)
    body = plain if plain.strip() else htmltext.to_text(html)
    if len(body) > limits.max_text_chars:
        cut = cut_text(body, limits.max_text_chars)
        notes.append(f"text cut at {len(cut):,} of {len(body):,} characters ([daemon] max_text_chars)")
        body = cut
    links = tuple(dict.fromkeys(_URL.findall(plain[: limits.max_text_chars]) + htmltext.links(html)))
    subject = _clean_header(mail.subject or "")
    if len(subject) > MAX_SUBJECT_CHARS:
        notes.append(f"subject cut at {MAX_SUBJECT_CHARS:,} of {len(subject):,} characters")
        subject = cut_text(subject, MAX_SUBJECT_CHARS)
    new, signature, quoted = split_reply(body, from_addr.rpartition("@")[2])
    platform, form = "", ""
    if platforms is not None:
        found = platforms.match(from_addr, subject, new)
        if found is not None:
            platform, new, form = found
    language, known = detect(new or subject)
    attachments = read_all(mail.attachments or [], reader, _clean_header)
    digest = hashlib.sha256(
        "\x00".join((from_addr.lower(), subject, headers.get("date", ""), body)).encode("utf-8", "surrogatepass")
    ).hexdigest()
    return ParsedMessage(
        key=raw.key,
        message_id=_message_ids(headers.get("message-id", ""))[:1][0] if _message_ids(headers.get("message-id", "")) else "",
        subject=subject,
        from_name=from_name,
        from_addr=from_addr,
        reply_to=reply_to,
        to=tuple(a for _, a in mailboxes(fields.get("to", ""))),
        cc=tuple(a for _, a in mailboxes(fields.get("cc", ""))),
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
        links=tuple(dict.fromkeys(links + tuple(u for a in attachments for u in a.links))),
        content_hash=digest,
        notes=tuple(notes),
        tables=htmltext.tables(html) if html.strip() else (),
    )
