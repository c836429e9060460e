"""The buyer's new text apart from quoted history, forwarded blocks and the signature."""

from __future__ import annotations

import regex
from mailparser_reply import EmailReplyParser

_REPLY_PARSER = EmailReplyParser(languages=["en", "de", "es", "fr", "it", "nl", "zh", "ja", "ko"])
_QUOTE_LINE = regex.compile(r"^\s*>.*$", regex.M)
_FORWARD_MARKERS = regex.compile(
    r"^\s*(?:-{3,}\s*(?:Original Message|Forwarded message|Mensaje original|原始邮件|转发的邮件)\s*-{3,}|"
    r"(?:From|De|发件人|寄件者)\s*[:：].{1,200}\n\s*(?:Sent|Date|Enviado|Fecha|发送时间|日期|寄件日期)\s*[:：])",
    regex.M | regex.I,
)
_FORWARDED = regex.compile(r"\s*-{3,}\s*(?:Forwarded message|Mensaje reenviado|转发的邮件)", regex.I)
_FROM_LINE = regex.compile(r"^\s*(?:From|De|发件人)\s*[:：].{0,120}?@(?P<domain>[\w.-]{1,100})", regex.M | regex.I)
_NAME_LINE = regex.compile(r"^(?:(?:Mr|Ms|Mrs|Dr)\.?\s*)?\p{Lu}[\p{Ll}'-]+(?:\s+\p{Lu}[\p{Ll}'.-]*){1,3}$|^\p{Han}{2,4}$")
_REAL_HEADER = regex.compile(
    r"wrote\s*:|escribi[oó]\s*:|schrieb\s*:|a [ée]crit\s*:|写道|寫道|"
    r"^\s*(?:-{2,}\s*)?(?:Original Message|Forwarded message|Mensaje original|原始邮件)|"
    r"(?:From|De|Von|发件人|寄件者)\s*[:：][^\n]*\n(?:[^\n]*\n){0,3}?\s*\*?(?:Sent|Date|Enviado|Fecha|Gesendet|Datum|发送时间|日期|寄件日期)\s*[:：]",
    regex.I | regex.M,
)
_SIG_DASHES = regex.compile(r"^-- ?$", regex.M)
_SENT_FROM = regex.compile(r"^\s*(?:Sent from my|Enviado desde mi|发自我的|Get Outlook for)\b.*$", regex.M | regex.I)
_SIGNOFF = regex.compile(
    r"^\s*(?:best regards|kind regards|warm regards|regards|best wishes|many thanks|thanks and regards|"
    r"thanks & regards|thanks|thank you|sincerely|yours (?:sincerely|faithfully|truly)|cheers|br,|"
    r"mit freundlichen gr(?:ü|ue)(?:ß|ss)en|saludos(?: cordiales)?|"
    r"atentamente|cordialmente|un saludo|此致|祝好|顺祝商祺|谢谢|感谢)[\s,.!，。]*(?:/.{0,60})?$",
    regex.M | regex.I,
)


def _forward_from_colleague(block: str, sender_domain: str) -> str:
    """The body of a forwarded block whose author shares the sender's domain, else ''."""
    if not sender_domain or not _FORWARDED.match(block):
        return ""
    author = _FROM_LINE.search(block[:600])
    if author is None or author.group("domain").lower() != sender_domain:
        return ""
    header_end = regex.search(r"\n\s*\n", block)
    return block[header_end.end() :] if header_end else ""


def split_reply(body: str, sender_domain: str = "") -> tuple[str, str, str]:
    """(new text, signature, quoted history) of a plain-text body.

    A forwarded block written by a colleague of the sender (same domain) is the buyer's own request and
    joins the new text; quoted history and other forwards never do.
    """
    body = body.replace("\r\n", "\n")
    quoted_parts: list[str] = []
    forwarded = ""
    m = _FORWARD_MARKERS.search(body)
    if m is not None and m.start() > 0:
        block = body[m.start() :]
        forwarded = _forward_from_colleague(block, sender_domain)
        if not forwarded:
            quoted_parts.append(block)
        body = body[: m.start()]
    try:
        mail = _REPLY_PARSER.read(text=body)
        replies = mail.replies
    except Exception:  # the library's regexes can fail on odd input; fall back to our own split
        replies = []
    if replies:
        # Keep the library's split only at a real reply header; its signature guess (bulleted lists) and
        # splits at signature lines such as "E-mail:" are not taken.
        cut = next((i for i, r in enumerate(replies) if i > 0 and _REAL_HEADER.search(r.headers or "")), len(replies))
        new = "\n\n".join(r.content for r in replies[:cut] if r.content)
        quoted_parts[:0] = [(r.headers + "\n" + r.content).strip() for r in replies[cut:]]
    else:
        new = body
    quote_lines = _QUOTE_LINE.findall(new)
    if quote_lines:
        quoted_parts.append("\n".join(quote_lines))
        new = _QUOTE_LINE.sub("", new)
    new, signature = split_signature(new)
    if forwarded:
        more, _, more_quoted = split_reply(forwarded)
        new = new.rstrip() + "\n\n" + more
        quoted_parts.append(more_quoted)
    return new.strip(), signature.strip(), "\n".join(p for p in quoted_parts if p).strip()


def split_signature(text: str) -> tuple[str, str]:
    """(text, signature): the signature starts at "-- ", a sign-off line, a "Sent from my ..." line, or, without
    any of these, at a person's name heading a trailing block of short lines."""
    cut = len(text)
    for pattern in (_SIG_DASHES, _SIGNOFF, _SENT_FROM):
        for m in pattern.finditer(text):
            if m.start() > 0 and len(text) - m.start() <= 1500:
                cut = min(cut, m.start())
                break
    if cut == len(text):
        cut = _name_block(text)
    return text[:cut], text[cut:]


def _name_block(text: str) -> int:
    """Start of a trailing block of 2-14 short lines headed by a name-like line (e.g. "Suha Arafat"), else len."""
    lines = text.rstrip().split("\n")
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    short, found = 0, len(text)
    for i in range(len(lines) - 1, 0, -1):
        line = lines[i].strip()
        if line and (len(line) > 70 or line.endswith(("?", ":")) or (line.endswith(".") and len(line.split()) > 6)):
            break
        short += bool(line)
        if short > 14:
            break
        if short >= 2 and _NAME_LINE.match(line) and not lines[i - 1].strip():
            found = offsets[i]  # keep looking upwards: the topmost name heads the block
    return found
